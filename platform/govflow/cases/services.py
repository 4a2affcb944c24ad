"""The only door to the engine: start a case, claim, unclaim, reassign and complete tasks, fire timers.

Web views, the API, the worker and designer test-runs all call these. Each call is one transaction: the
engine's step, the case data, the case row and the audit events commit together or not at all. viewflow
checks no permissions when its activations are driven from code, so every function here checks role and
area itself, and the flow lock (a blocking row lock, see workflows.nodes.RowLock) makes the second of two
simultaneous completions see the task done and get a Conflict instead of creating a second next task.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.workflow.exceptions import FlowLockFailed, FlowRuntimeError
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import PROCESS, STATUS

from govflow.audit.services import audit_record, data_diff
from govflow.documents.rendering import DocumentError
from govflow.errors import Conflict, GovflowError, NotFound, OutOfScope, ValidationFailed
from govflow.expressions import ExpressionError
from govflow.forms.models import FormVersion
from govflow.forms.selectors import form_version_get
from govflow.forms.services import submission_validate
from govflow.roles.models import CODE_LENGTH, Area, Level
from govflow.roles.selectors import user_grants, user_holds_role, user_may_supervise
from govflow.workflows.compiler import node_attr
from govflow.workflows.models import WorkflowVersion
from govflow.workflows.nodes import lock_process
from govflow.workflows.selectors import FlowMissing, flow_class_for, node_spec, workflow_version_get
from govflow.workflows.services import sequence_next
from govflow.workflows.timing import expression_context

from .models import Case
from .selectors import task_routing, user_may_act_on

logger = logging.getLogger(__name__)

__all__ = ["StepFailed", "case_start", "task_claim", "task_complete", "task_reassign", "task_unclaim"]


class StepFailed(GovflowError):
    """A step could not run on this case's data (e.g. a service task divided by zero). Nothing was saved."""

    default_code = "step_failed"
    default_message = gettext_lazy("办理失败，未保存任何更改。")
    status = 422


def _start_spec(version: WorkflowVersion) -> dict[str, Any]:
    return next(n for n in version.document["nodes"] if n["kind"] == "start")


_PINNED_FORMS: dict[int, FormVersion] = {}


def _form_for(version: WorkflowVersion, key: str) -> FormVersion:
    """The form version pinned when the workflow was published (running cases keep their forms). Published
    versions never change, so they are kept in memory for the life of the process."""
    pk = (version.form_versions or {}).get(key)
    if pk is not None:
        found = _PINNED_FORMS.get(pk)
        if found is None:
            found = FormVersion.objects.filter(pk=pk).first()
            if found is not None and found.status != FormVersion.Status.DRAFT:
                if len(_PINNED_FORMS) > 1000:
                    _PINNED_FORMS.clear()
                _PINNED_FORMS[pk] = found
        if found is not None:
            return found
    return form_version_get(key=key)


def case_reference(*, county: str, code: str, year: int) -> str:
    """371727-SF-2013-000042: one gap-free sequence per county, procedure code and year."""
    number = sequence_next(f"case:{county}:{code}:{year}")
    return f"{county}-{code}-{year}-{number:06d}"


def case_summary(document: dict[str, Any], data: dict[str, Any]) -> dict[str, str]:
    """The case's searchable summary (applicant, id_card) from the workflow's `summary` expressions.

    A summary that cannot be evaluated yet (its data comes in a later step) is left empty."""
    from govflow.expressions import compile_expression

    values: dict[str, str] = {}
    context = expression_context(data)
    for name, source in (document.get("summary") or {}).items():
        try:
            value = compile_expression(source).evaluate(context)
        except ExpressionError:
            value = None
        values[name] = "" if value is None else str(value)[: 100 if name == "applicant" else 18]
    return values


def _update_summary(case: Case, process: Any) -> None:
    document = process.flow_class.document if process.flow_class is not None else {}
    if not document.get("summary"):
        return
    values = case_summary(document, process.data)
    if any(getattr(case, k) != v for k, v in values.items()):
        Case.objects.filter(pk=case.pk).update(**values)
        for key, value in values.items():
            setattr(case, key, value)


def _starting_role(user: Any, roles: list[str], area_code: str) -> str | None:
    for grant in user_grants(user=user):
        if grant.role_key in roles and grant.covers(area_code) and grant.can_act:
            return grant.role_key
    return None


def case_start(
    *,
    user: Any,
    procedure_key: str,
    area_code: str,
    data: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> Case:
    """Start a case of the latest published version in an area, with the start form's data.

    Raises NotFound (no such procedure), OutOfScope (the user may not start it there), ValidationFailed (the
    area is not at the procedure's start level), FormInvalid (bad data, by field)."""
    version = workflow_version_get(key=procedure_key)
    flow_class = flow_class_for(version)
    start = _start_spec(version)
    role_key = _starting_role(user, start["roles"], area_code)
    if role_key is None:
        raise OutOfScope(_("您无权在此区划发起该事项。"))
    if len(area_code) != CODE_LENGTH[start["level"]] or not Area.objects.filter(code=area_code).exists():
        raise ValidationFailed(
            _("该事项须在%(level)s级区划发起。") % {"level": Level(start["level"]).label},
            field_errors={"area": [_("区划不正确。")]},
        )
    today = timezone.localdate()
    clean: dict[str, Any] = {}
    if start.get("form"):
        clean = submission_validate(
            form=_form_for(version, start["form"]),
            data=data or {},
            user=user,
            context=expression_context({"settings": version.document.get("settings", {})}, today),
        )
    with transaction.atomic():
        reference = case_reference(county=area_code[:6], code=version.code, year=today.year)
        process_data: dict[str, Any] = {
            "case": {"area": area_code, "reference": reference, "started": today.isoformat()},
            # The version's settings, as the case's rules read them (immutable with the version).
            "settings": version.document.get("settings", {}),
        }
        if start.get("form"):
            process_data[start["id"]] = clean
        try:
            process = getattr(flow_class, node_attr(start["id"])).run(user=user, _process_data=process_data)
        except (ExpressionError, DocumentError) as exc:
            raise StepFailed(_("发起失败：%(e)s") % {"e": exc.message}) from exc
        case = Case.objects.create(
            process=process,
            workflow=version,
            procedure_key=version.key,
            reference=reference,
            area_code=area_code,
            title=f"{version.title_zh} {reference}",
            started_by=user,
            created=process.created,
            **case_summary(version.document, process.data),
        )
        audit_record(
            action="case.started",
            actor=user,
            role_key=role_key,
            area_code=area_code,
            procedure_key=version.key,
            case_id=case.pk,
            diff=data_diff({}, clean),
            data={"reference": reference, "version": version.version},
            client_address=client_address,
        )
        if process.status == PROCESS.DONE:  # the same object the engine's activations updated
            _close_case(process)
            case.refresh_from_db()
    return case


@contextmanager
def _locked(task_id: int) -> Iterator[tuple[Task, Any]]:
    """The task and its activation under the case's row lock (the flow lock every compiled flow uses),
    read after the lock is held so a concurrent step's changes are seen. Callers hold the transaction."""
    try:
        with transaction.atomic(savepoint=False):
            lock_process(Process.objects.filter(task__pk=task_id), f"of task {task_id}")
            task = (
                Task.objects.select_related("process", "process__case", "process__case__workflow")
                .defer("process__case__workflow__document")  # the compiled class holds it already
                .filter(pk=task_id)
                .first()
            )
            if task is None or getattr(task.process, "case", None) is None:
                raise NotFound()
            if task.flow_task is None:
                raise FlowMissing()
            yield task, task.flow_task.activation_class(task)
    except FlowLockFailed as exc:
        raise Conflict(_("该案件正由他人办理，请稍后再试。")) from exc


def _audit(task: Task, action: str, actor: Any, **extra: Any) -> None:
    case = task.process.case
    role, _area = task_routing(task)
    audit_record(
        action=action,
        actor=actor,
        role_key=role,
        area_code=case.area_code,
        procedure_key=case.procedure_key,
        case_id=case.pk,
        task_id=task.pk,
        **extra,
    )


def _require_open(task: Task) -> None:
    if task.status not in (STATUS.NEW, STATUS.ASSIGNED):
        raise Conflict(_("该任务已办结或已取消，请刷新后查看。"))


def task_claim(*, user: Any, task_id: int, client_address: str | None = None) -> Task:
    """Take an unclaimed task from the queue into the user's inbox."""
    with transaction.atomic(), _locked(task_id) as (task, activation):
        if not user_may_act_on(user=user, task=task):
            if task.owner_id is not None and task.status == STATUS.ASSIGNED:
                raise Conflict(_("该任务已被他人认领。"))
            raise OutOfScope()
        _require_open(task)
        if task.owner_id == user.pk:
            return task
        task.assigned = timezone.now()
        activation.assign(user)
        _audit(task, "task.claimed", user, client_address=client_address)
    return task


def task_unclaim(*, user: Any, task_id: int, client_address: str | None = None) -> Task:
    """Put a claimed task back into its role's queue."""
    with transaction.atomic(), _locked(task_id) as (task, activation):
        if task.owner_id != user.pk:
            raise OutOfScope()
        _require_open(task)
        activation.unassign()
        _audit(task, "task.unclaimed", user, client_address=client_address)
    return task


def task_reassign(*, actor: Any, task_id: int, to_user: Any, client_address: str | None = None) -> Task:
    """A supervisor of the case's area gives an open task to someone who holds its role at its area."""
    with transaction.atomic(), _locked(task_id) as (task, activation):
        case = task.process.case
        if not user_may_supervise(user=actor, area_code=case.area_code):
            raise OutOfScope()
        _require_open(task)
        role, area = task_routing(task)
        if not user_holds_role(user=to_user, role_key=role, area_code=area):
            raise ValidationFailed(
                _("%(user)s 不是此任务所需角色的办理人。") % {"user": to_user.get_username()},
                field_errors={"to_user": [_("此人不能办理该任务。")]},
            )
        before = task.owner_id
        task.assigned = timezone.now()
        if task.status == STATUS.NEW:
            activation.assign(to_user)
        else:
            activation.reassign(to_user)
        _audit(
            task,
            "task.reassigned",
            actor,
            diff=data_diff({"owner": before}, {"owner": to_user.pk}),
            client_address=client_address,
        )
    return task


def task_complete(
    *, user: Any, task_id: int, data: dict[str, Any] | None = None, client_address: str | None = None
) -> Task:
    """Finish a user task with its form data; the engine then creates the next tasks.

    The data is validated by the task's form (FormInvalid by field), merged into the case data under the
    task's node id, and the step runs as one transaction. A second, simultaneous completion gets Conflict.
    A step that fails on this data (StepFailed) saves nothing and leaves the task open."""
    try:
        with transaction.atomic(), _locked(task_id) as (task, activation):
            if task.owner_id is None and user_may_act_on(user=user, task=task) and task.status == STATUS.NEW:
                activation.assign(user)  # claim and complete in one step
                task.assigned = timezone.now()
            elif not user_may_act_on(user=user, task=task):
                if task.status not in (STATUS.NEW, STATUS.ASSIGNED):
                    raise Conflict(_("该任务已办结或已取消，请刷新后查看。"))
                raise OutOfScope()
            _require_open(task)
            spec = node_spec(task.flow_task)
            process = task.process
            case = process.case
            version = case.workflow
            clean = submission_validate(
                form=_form_for(version, spec["form"]),
                data=data or {},
                user=user,
                context=expression_context(process.data),
            )
            before = process.data.get(spec["id"], {})
            process.data[spec["id"]] = clean
            process.save(update_fields=["data"])
            activation.start(None)
            activation.execute()
            _update_summary(case, process)
            _audit(
                task,
                "task.completed",
                user,
                diff=data_diff(before, clean),
                data={"node": spec["id"]},
                client_address=client_address,
            )
    except (ExpressionError, DocumentError, FlowRuntimeError) as exc:
        message = str(getattr(exc, "message", None) or exc)
        logger.warning("task %s failed to complete: %s", task_id, message, exc_info=True)
        _record_failure(task_id, user, message)
        raise StepFailed(_("办理失败，未保存任何更改：%(e)s") % {"e": message}) from exc
    return task


def _record_failure(task_id: int, user: Any, message: str) -> None:
    """After the rollback: the failure itself is an event supervisors and the user can see."""
    task = Task.objects.select_related("process__case").filter(pk=task_id).first()
    case = getattr(task.process, "case", None) if task else None
    if task is None or case is None:
        return
    role, _area = task_routing(task)
    with transaction.atomic():
        audit_record(
            action="task.failed",
            actor=user,
            role_key=role,
            area_code=case.area_code,
            procedure_key=case.procedure_key,
            case_id=case.pk,
            task_id=task.pk,
            data={"error": message},
        )
        data = dict(task.data or {})
        data["last_error"] = {"message": message, "at": timezone.now().isoformat()}
        Task.objects.filter(pk=task.pk).update(data=data)


def _close_case(process: Any) -> None:
    info = (process.data or {}).get("case", {})
    updated = Case.objects.filter(pk=process.pk, status=Case.Status.OPEN).update(
        status=Case.Status.CLOSED,
        outcome=info.get("outcome", ""),
        finished=process.finished or timezone.now(),
    )
    if updated:
        audit_record(
            action="case.ended",
            area_code=info.get("area", ""),
            procedure_key=getattr(process.flow_class, "procedure_key", ""),
            case_id=process.pk,
            data={"outcome": info.get("outcome", ""), "reference": info.get("reference", "")},
        )


def on_flow_finished(sender: Any, process: Any, **kwargs: Any) -> None:
    """viewflow's flow_finished signal, sent inside the step's transaction wherever the step ran."""
    _close_case(process)


def timers_fire() -> int:
    """Fire due timers and boundary timeouts (viewflow's own sweep, under each process's flow lock)."""
    from viewflow.workflow.timers import fire_due_timers

    return fire_due_timers()
