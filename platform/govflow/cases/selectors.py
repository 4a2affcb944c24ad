"""Reading cases and tasks, always through the user's scope (areas) and roles.

The queue is an EXISTS query against guardian's tables (roles.selectors.grant_exists), never viewflow's
user_queue, which loads every grant into Python and cannot use an index.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from govflow.errors import OutOfScope
from govflow.roles.selectors import PERMISSION_PREFIX, grant_exists, scope_q, user_can_see_area, user_grants

from .models import Case

OPEN_HUMAN = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


def cases_for_user(*, user: Any) -> QuerySet[Case]:
    """Cases in the user's areas (any role: clerks, reviewers and supervisors see their subtree)."""
    return Case.objects.filter(scope_q(user=user, field="area_code")).select_related("workflow")


def case_get_for_user(*, user: Any, case_id: int) -> Case:
    case = Case.objects.select_related("workflow", "process").filter(pk=case_id).first()
    if case is None or not user_can_see_area(user=user, area_code=case.area_code):
        raise OutOfScope()
    return case


def task_queue(*, user: Any) -> QuerySet[Task]:
    """Unclaimed human tasks routed to a role the user holds at that area."""
    return (
        Task.objects.filter(flow_task_type="HUMAN", status=STATUS.NEW, owner__isnull=True)
        .filter(grant_exists(user=user))
        .select_related("process__case")
        .order_by("scheduled", "created")
    )


def task_inbox(*, user: Any) -> QuerySet[Task]:
    """Tasks the user has claimed and not finished."""
    return (
        Task.objects.filter(flow_task_type="HUMAN", owner=user, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
        .select_related("process__case")
        .order_by("scheduled", "created")
    )


def task_routing(task: Any) -> tuple[str, str]:
    """(role key, area code) a human task is routed to."""
    permission = (task.owner_permission or "").split(".", 1)[-1]
    return permission.removeprefix(PERMISSION_PREFIX), task.owner_permission_obj_pk or ""


def user_may_act_on(*, user: Any, task: Any) -> bool:
    """The owner, or (unclaimed) a holder of the task's role at the task's area."""
    if task.owner_id is not None:
        return bool(task.owner_id == getattr(user, "pk", None))
    role, area = task_routing(task)
    return any(g.role_key == role and g.area_code == area and g.can_act for g in user_grants(user=user))


def task_get_for_user(*, user: Any, task_id: int) -> Task:
    """A task the user may see: one they may act on, or any task of a case in their supervised area."""
    task = Task.objects.select_related("process__case").filter(pk=task_id).first()
    case = getattr(task.process, "case", None) if task is not None else None
    if task is None or case is None:
        raise OutOfScope()
    if user_may_act_on(user=user, task=task) or user_can_see_area(
        user=user, area_code=case.area_code, supervise_only=True
    ):
        return task
    raise OutOfScope()


def case_tasks(*, case: Case) -> QuerySet[Task]:
    return Task.objects.filter(process_id=case.pk).order_by("created", "pk")


def open_tasks(*, case: Case) -> QuerySet[Task]:
    return case_tasks(case=case).filter(Q(status__in=OPEN_HUMAN) | Q(status=STATUS.SCHEDULED))
