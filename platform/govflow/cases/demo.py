"""Demo cases: play the scenarios of fixtures/demo_cases.json through the real runtime (manage.py load_demo).

A scenario starts one case as a demo user and then completes (or only claims) its steps as the users it
names, through the same services the web pages call (case_start_and_notify, task_claim,
task_complete_and_notify), so every rule, form check, document, notification and audit event is the real
one. A step may instead fire the case's due timers (the end of a posting period, an escalation), as
`run_worker` would.

Dates: the shipped procedures carry 2011-2016 rules (the social fee's income bases exist for 2012 only, the
working-day calendar covers 2011-2016), so a scenario and each step may give the moment they happen ("at",
ISO 8601); django.utils.timezone.now is patched to it while that step runs, the way the procedure tests move
the clock. Without "at" a step keeps the previous step's moment (the scenario's, then the real clock).
The patched clock is visible to every thread of the process: this is for the load_demo command and
tests, never for a running server.

Each scenario is one transaction: a failing step raises DemoCaseError naming the scenario and the step and
saves nothing of it. A loaded scenario is remembered by an audit event `demo.loaded` with its key, so running
the loader again skips it (no new model is needed).

Scenario format (a list of these):

    {"key": "jl-rangu-liu-confirmed",            # unique, never reused
     "note": "…",                                  # for readers only
     "procedure": "assistance", "area": "371703102201", "as": "rangu_cun1",
     "at": "2013-03-01T09:30:00+08:00",            # optional
     "data": {…},                                  # the start form
     "steps": [
        {"as": "rangu_cun1", "node": "village_review", "at": "…", "data": {…}},   # claim, then complete
        {"fire_timers": true, "at": "…"},                                         # at least one must be due
        {"as": "xian_shenpi", "node": "county_review", "claim_only": true}],      # left in the inbox
     "expect": {"status": "open", "outcome": "", "open": ["county_review"]}}      # optional final check

"node" is optional: without it the step takes the one open task of the case that the user may act on.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from govflow.audit.models import AuditEvent
from govflow.audit.services import audit_record
from govflow.errors import GovflowError

from .models import Case
from .selectors import user_may_act_on
from .services import case_start_and_notify, task_claim, task_complete_and_notify

logger = logging.getLogger(__name__)

__all__ = ["LOADED_ACTION", "DemoCaseError", "demo_cases_load", "demo_keys_loaded"]

LOADED_ACTION = "demo.loaded"
_OPEN = (STATUS.NEW, STATUS.ASSIGNED)


class DemoCaseError(CommandError):
    """A demo scenario could not be played (bad fixture, or a rule refused it); nothing of it was saved."""


def demo_keys_loaded() -> set[str]:
    """The keys of the scenarios already loaded into this database."""
    rows = AuditEvent.objects.filter(action=LOADED_ACTION).values_list("data", flat=True)
    return {str(data.get("key")) for data in rows if isinstance(data, dict) and data.get("key")}


def demo_cases_load(scenarios: list[dict[str, Any]]) -> int:
    """Play every scenario not loaded yet, each in its own transaction; returns how many cases were made."""
    _check_keys(scenarios)
    loaded = demo_keys_loaded()
    made = 0
    for scenario in scenarios:
        if scenario["key"] in loaded:
            continue
        case = _play(scenario)
        loaded.add(scenario["key"])
        made += 1
        logger.info("demo case %s: %s %s %s", scenario["key"], case.reference, case.status, case.outcome)
    return made


# --- one scenario ----------------------------------------------------------------------------------------


def _check_keys(scenarios: Any) -> None:
    if not isinstance(scenarios, list):
        raise DemoCaseError("demo cases: the file must hold a list of scenarios.")
    seen: set[str] = set()
    for index, scenario in enumerate(scenarios):
        key = scenario.get("key") if isinstance(scenario, dict) else None
        if not isinstance(key, str) or not key:
            raise DemoCaseError(f"demo cases: scenario #{index + 1} has no key.")
        if key in seen:
            raise DemoCaseError(f"demo cases: the key {key!r} is used twice.")
        for field in ("procedure", "area", "as"):
            if not isinstance(scenario.get(field), str):
                raise DemoCaseError(f"demo case {key!r}: {field!r} is missing.")
        if not isinstance(scenario.get("steps", []), list):
            raise DemoCaseError(f"demo case {key!r}: 'steps' must be a list.")
        seen.add(key)


def _play(scenario: dict[str, Any]) -> Case:
    key = scenario["key"]
    where = f"demo case {key!r}, start ({scenario['procedure']} at {scenario['area']} as {scenario['as']})"
    try:
        with transaction.atomic():
            moment = _moment(scenario.get("at"), None)
            with _clock(moment):
                case = case_start_and_notify(
                    user=_user(scenario["as"]),
                    procedure_key=scenario["procedure"],
                    area_code=scenario["area"],
                    data=scenario.get("data") or {},
                )
            for number, step in enumerate(scenario.get("steps", []), start=1):
                where = f"demo case {key!r}, step {number} ({_describe(step)})"
                if not isinstance(step, dict):
                    raise DemoCaseError("a step must be an object.")
                moment = _moment(step.get("at"), moment)
                with _clock(moment):
                    if step.get("fire_timers"):
                        _fire_timers(case)
                    else:
                        _act(case, step)
            where = f"demo case {key!r}, final check"
            _expect(case, scenario.get("expect"))
            audit_record(
                action=LOADED_ACTION,
                area_code=case.area_code,
                procedure_key=case.procedure_key,
                case_id=case.pk,
                data={"key": key, "reference": case.reference},
            )
    except DemoCaseError as exc:
        if str(exc).startswith("demo case"):
            raise
        raise DemoCaseError(f"{where}: {exc}") from exc
    except Exception as exc:
        raise DemoCaseError(f"{where}: {_explain(exc)}") from exc
    case.refresh_from_db()
    return case


def _act(case: Case, step: dict[str, Any]) -> None:
    """Claim the step's task as its user (unless it is theirs already), then complete it with the data."""
    if not isinstance(step.get("as"), str):
        raise DemoCaseError("a step needs 'as' (a username) or 'fire_timers'.")
    user = _user(step["as"])
    task = _task_for(case, user, step.get("node"))
    if task.owner_id is None:
        task = task_claim(user=user, task_id=task.pk)
    elif task.owner_id != user.pk:
        raise DemoCaseError(f"the task is claimed by someone else (user id {task.owner_id}).")
    if step.get("claim_only"):
        return
    task_complete_and_notify(user=user, task_id=task.pk, data=step.get("data") or {})


def _task_for(case: Case, user: Any, node: str | None) -> Task:
    tasks = list(
        Task.objects.filter(process_id=case.pk, flow_task_type="HUMAN", status__in=_OPEN).order_by("pk")
    )
    if node:
        found = [t for t in tasks if _node_id(t) == node]
    else:
        found = [t for t in tasks if user_may_act_on(user=user, task=t)]
    if len(found) != 1:
        wanted = f"open task {node!r}" if node else f"one open task for {user.get_username()}"
        raise DemoCaseError(f"expected {wanted}; open tasks: {_open_nodes(case) or 'none'}.")
    return found[0]


def _fire_timers(case: Case) -> int:
    """Fire this case's due timers and boundary deadlines, as run_worker does for every case (the others are
    left alone so one scenario's clock never moves another's case). Raises if none was due."""
    fired = 0
    tried: set[int] = set()
    while True:
        due = [
            task
            for task in Task.objects.filter(
                process_id=case.pk,
                flow_task_type="TIMER",
                status=STATUS.SCHEDULED,
                scheduled__lte=timezone.now(),
            ).order_by("scheduled", "pk")
            if task.pk not in tried
        ]
        if not due:
            break
        for task in due:
            tried.add(task.pk)
            with task.activation() as activation:
                start = getattr(activation, "start", None)
                if start is not None and start.can_proceed():
                    activation.start()
                    activation.execute()
                    fired += 1
    failed = Task.objects.filter(process_id=case.pk, status=STATUS.ERROR).first()
    if failed is not None:
        error = (failed.data or {}).get("_exception", {}).get("title", "")
        raise DemoCaseError(f"a step after a timer failed: {error or failed.flow_task}.")
    if not fired:
        scheduled = Task.objects.filter(process_id=case.pk, flow_task_type="TIMER", status=STATUS.SCHEDULED)
        moments = ", ".join(timezone.localtime(t.scheduled).isoformat() for t in scheduled if t.scheduled)
        raise DemoCaseError(
            f"no timer was due at {timezone.localtime().isoformat()} (scheduled: {moments or 'none'})."
        )
    return fired


def _expect(case: Case, expect: Any) -> None:
    if not expect:
        return
    case.refresh_from_db()
    problems = []
    if "status" in expect and case.status != expect["status"]:
        problems.append(f"status is {case.status!r}, expected {expect['status']!r}")
    if "outcome" in expect and case.outcome != expect["outcome"]:
        problems.append(f"outcome is {case.outcome!r}, expected {expect['outcome']!r}")
    if "open" in expect and _open_nodes(case) != sorted(expect["open"]):
        problems.append(f"open tasks are {_open_nodes(case)}, expected {sorted(expect['open'])}")
    if problems:
        raise DemoCaseError("; ".join(problems) + ".")


# --- helpers ---------------------------------------------------------------------------------------------


def _user(username: str) -> Any:
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise DemoCaseError(f"no active user {username!r} (see fixtures/demo_users.json).")
    return user


def _node_id(task: Task) -> str:
    return str(getattr(task.flow_task, "node_id", "") or "")


def _open_nodes(case: Case) -> list[str]:
    tasks = Task.objects.filter(process_id=case.pk, flow_task_type="HUMAN", status__in=_OPEN)
    return sorted(_node_id(t) for t in tasks)


def _moment(text: Any, default: dt.datetime | None) -> dt.datetime | None:
    if text is None:
        return default
    try:
        moment = dt.datetime.fromisoformat(str(text))
    except ValueError as exc:
        raise DemoCaseError(f"'at' is not an ISO 8601 moment: {text!r}.") from exc
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


@contextmanager
def _clock(moment: dt.datetime | None) -> Iterator[None]:
    """django.utils.timezone.now returns `moment`, and so do the copies of it that modules imported by name
    (viewflow's nodes) and the model fields whose default is it (the process's and tasks' `created`), so the
    case's start and task times agree with its reference, deadlines and audit events."""
    if moment is None:
        yield
        return
    real = timezone.now

    def fake() -> dt.datetime:
        return moment

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(timezone, "now", fake))
        for module in list(sys.modules.values()):
            if module is not timezone and getattr(module, "__dict__", {}).get("now") is real:
                stack.enter_context(mock.patch.object(module, "now", fake))
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if field.default is real:
                    stack.enter_context(mock.patch.object(field, "_get_default", fake))
        yield


def _describe(step: Any) -> str:
    if not isinstance(step, dict):
        return "?"
    if step.get("fire_timers"):
        return f"fire timers at {step.get('at', 'the same moment')}"
    action = "claim" if step.get("claim_only") else "complete"
    return f"{action} {step.get('node') or 'the open task'} as {step.get('as')}"


def _explain(exc: Exception) -> str:
    if isinstance(exc, GovflowError):
        text = str(exc.message)
        if exc.field_errors:
            fields = "; ".join(
                f"{path or '(form)'}: {' '.join(map(str, msgs))}" for path, msgs in exc.field_errors.items()
            )
            text = f"{text} [{fields}]"
        return f"{type(exc).__name__}: {text}"
    return f"{type(exc).__name__}: {exc}"
