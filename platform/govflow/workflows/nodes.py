"""viewflow nodes as govflow needs them: a blocking row lock, user tasks routed to a role at an area with a
due date, service tasks that evaluate expressions, ends that record the case's outcome, and the actions of
non-interrupting boundary timeouts (remind, escalate).

These are viewflow's own engine nodes (not its view-bearing `flow.*` nodes: govflow serves tasks through its
own generic views) with the smallest overrides that make them data-driven.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, transaction
from django.utils import timezone
from viewflow.workflow import nodes
from viewflow.workflow.activation import Activation
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.nodes.end import TerminateEndActivation
from viewflow.workflow.nodes.view import ViewActivation
from viewflow.workflow.status import STATUS

from govflow.audit.services import audit_record, data_diff
from govflow.expressions import compile_expression
from govflow.roles.selectors import PERMISSION_PREFIX, area_content_type, role_area_code
from govflow.workflows.definitions import LEVEL_ABOVE
from govflow.workflows.timing import deadline, expression_context

logger = logging.getLogger(__name__)

LOCK_TIMEOUT_MS = 5000


class RowLock:
    """Lock the process row with a blocking SELECT ... FOR UPDATE, bounded by the connection's lock timeout
    on PostgreSQL (set for every connection by the workflows app).

    viewflow's default is no lock at all, and its NOWAIT lock poisons an enclosing transaction when it fails.
    A blocking lock inside a savepoint serialises two people completing one task: the second waits, then sees
    the task done and gets a conflict. A lock timeout turns a stuck holder into FlowLockFailed.
    """

    @contextmanager
    def __call__(self, flow_class: Any, process_pk: int):  # type: ignore[no-untyped-def]
        with transaction.atomic():
            lock_process(flow_class.process_class._default_manager.filter(pk=process_pk), process_pk)
            yield


ROW_LOCK = RowLock()


def lock_process(queryset: Any, label: Any) -> None:
    """SELECT ... FOR UPDATE the process row(s) of `queryset`; FlowLockFailed when the wait times out."""
    try:
        queryset.select_for_update(of=("self",)).exists()
    except DatabaseError as exc:
        raise FlowLockFailed(f"Lock failed for process {label}") from exc


def case_info(process: Any) -> dict[str, Any]:
    return process.data.setdefault("case", {})


def json_value(value: Any) -> Any:
    """Expression results as JSON stores them: exact decimals become int or float, dates ISO strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    return value


def route(task: Any, *, role: str, area_code: str) -> None:
    """Put a task in the queue of the users who hold `role` at `area_code` (viewflow's owner_permission and
    owner_permission_obj, which the queue's EXISTS query and guardian both read)."""
    task.owner_permission = f"roles.{PERMISSION_PREFIX}{role}"
    task.owner_permission_content_type = area_content_type()
    task.owner_permission_obj_pk = area_code


class UserTaskActivation(ViewActivation):
    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):  # type: ignore[no-untyped-def]
        flow_class = flow_task.flow_class
        process = prev_activation.process
        task = flow_class.task_class(process=process, flow_task=flow_task, token=token)
        task.data = data if data is not None else {}
        task.seed = seed
        spec = flow_task.spec
        route(
            task,
            role=spec["role"],
            area_code=role_area_code(case_area_code=case_info(process)["area"], level=spec["level"]),
        )
        if spec.get("due"):
            # A human task is never a TIMER row, so viewflow's timer sweep ignores this column here.
            task.scheduled = deadline(spec["due"], start=timezone.now(), data=process.data)
        task.save()
        task.previous.add(prev_activation.task)
        return cls(task)


class UserTask(nodes.View):
    activation_class = UserTaskActivation

    def __init__(self, spec: dict[str, Any]) -> None:
        super().__init__(None)
        self.spec = spec

    def can_assign(self, user: Any, task: Any) -> bool:  # govflow's services decide, never viewflow's views
        return False

    def can_execute(self, user: Any, task: Any) -> bool:
        return False


def _record_service(activation: Any, action: str, before: dict[str, Any], data: dict[str, Any]) -> None:
    info = case_info(activation.process)
    audit_record(
        action=action,
        area_code=info.get("area", ""),
        procedure_key=activation.flow_class.procedure_key,
        case_id=activation.process.pk,
        task_id=activation.task.pk,
        diff=data_diff(before, {k: data.get(k) for k in before}),
        data={"node": activation.flow_task.node_id},
    )


def service_function(spec: dict[str, Any], sequence_next: Callable[..., str]) -> Callable[[Any], None]:
    """The callable of a service task: set variables from expressions in order, then issue a number."""
    assignments = [(item["var"], compile_expression(item["expr"])) for item in spec.get("set", [])]
    number = spec.get("number")
    document_keys = spec.get("documents", [])

    def run(activation: Any) -> None:
        process = activation.process
        data = process.data
        before = {var: data.get(var) for var, _expr in assignments}
        context = expression_context(data)
        for var, expression in assignments:
            value = json_value(expression.evaluate(context))
            context[var] = value
            data[var] = value
        if number:
            before[number["var"]] = data.get(number["var"])
            data[number["var"]] = sequence_next(
                county=case_info(process)["area"][:6], sequence=number["sequence"], fmt=number["format"]
            )
        process.save(update_fields=["data"])
        _record_service(activation, "service.executed", before, data)
        if document_keys:
            generate_documents(activation, document_keys)

    return run


def generate_documents(activation: Any, keys: list[str]) -> None:
    """Render the named templates from the case data, store each PDF on the case, audit each one."""
    from govflow.documents.rendering import render
    from govflow.workflows.models import CaseDocument

    process = activation.process
    templates = {t["key"]: t for t in activation.flow_class.document.get("documents", [])}
    info = case_info(process)
    context = expression_context(process.data)
    context["reference"] = info.get("reference", "")
    for key in keys:
        for rendered in render(templates[key], context):
            stored = CaseDocument.objects.create(
                process=process,
                task=activation.task,
                key=rendered.key,
                title=rendered.title,
                filename=rendered.filename,
                sha256=rendered.sha256,
                pdf=rendered.pdf,
                text=rendered.text,
            )
            audit_record(
                action="document.generated",
                area_code=info.get("area", ""),
                procedure_key=activation.flow_class.procedure_key,
                case_id=process.pk,
                task_id=activation.task.pk,
                data={
                    "document": stored.pk,
                    "key": key,
                    "filename": stored.filename,
                    "sha256": stored.sha256,
                },
            )


def condition(source: str) -> Callable[[Any], bool]:
    expression = compile_expression(source)

    def check(activation: Any) -> bool:
        return bool(expression.evaluate(expression_context(activation.process.data)))

    return check


def delay(duration: dict[str, Any]) -> Callable[[Any], Any]:
    def due(activation: Any) -> Any:
        return deadline(duration, start=timezone.now(), data=activation.process.data)

    return due


class OutcomeEndActivation(TerminateEndActivation):
    @Activation.status.super()
    def activate(self) -> None:
        case_info(self.process)["outcome"] = self.flow_task.outcome
        super().activate.original()


class OutcomeEnd(nodes.TerminateEnd):
    """Finishes the case with an outcome, cancelling whatever else is open (a terminate end event)."""

    activation_class = OutcomeEndActivation

    def __init__(self, outcome: str) -> None:
        super().__init__()
        self.outcome = outcome


def _host_task(activation: Any) -> Any:
    """The user task a boundary action belongs to: this task <- boundary timer task <- host task."""
    timer_task = activation.task.previous.first()
    return timer_task.previous.first() if timer_task is not None else None


def boundary_action(spec: dict[str, Any], host_spec: dict[str, Any]) -> Callable[[Any], None]:
    """Remind or escalate the still-open host task; neither interrupts it."""

    def run(activation: Any) -> None:
        host = _host_task(activation)
        if host is None or host.status not in (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED):
            return
        info = case_info(activation.process)
        common = {
            "area_code": info.get("area", ""),
            "procedure_key": activation.flow_class.procedure_key,
            "case_id": activation.process.pk,
            "task_id": host.pk,
        }
        if spec["action"] == "remind":
            host.data["reminded"] = timezone.now().isoformat()
            host.save(update_fields=["data"])
            audit_record(action="task.reminded", data={"boundary": spec["id"]}, **common)
            return
        above = LEVEL_ABOVE[host_spec["level"]]
        area = role_area_code(case_area_code=info["area"], level=above)
        before = {
            "permission": host.owner_permission,
            "area": host.owner_permission_obj_pk,
            "owner": host.owner_id,
        }
        route(host, role=spec["role"], area_code=area)
        host.owner = None
        host.status = STATUS.NEW
        host.data["escalated"] = timezone.now().isoformat()
        host.save()
        audit_record(
            action="task.escalated",
            diff=data_diff(before, {"permission": host.owner_permission, "area": area, "owner": None}),
            data={"boundary": spec["id"], "role": spec["role"], "area": area},
            **common,
        )

    return run
