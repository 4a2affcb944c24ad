"""Reading cases and tasks, always through the user's scope (areas) and roles.

The queue matches each task's routing (owner_permission, area) against the user's grants, read once per
request (roles.selectors.user_grants): a handful of equality pairs that a partial index on open tasks serves
directly (migration cases 0004). Never viewflow's user_queue, which loads every guardian row and filters
with a concatenation no index can use; an EXISTS against guardian's tables was measured at 0.3 s per count
with 1M tasks, the pairs at a few milliseconds (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from govflow.errors import OutOfScope
from govflow.roles.selectors import PERMISSION_PREFIX, scope_q, user_can_see_area, user_grants

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


def routing_q(*, user: Any) -> Q:
    """Tasks routed to a (role, area) the user holds and acts in; matches nothing without grants."""
    pairs = Q(pk__in=[])
    for grant in user_grants(user=user):
        if grant.can_act:
            pairs |= Q(
                owner_permission=f"roles.{PERMISSION_PREFIX}{grant.role_key}",
                owner_permission_obj_pk=grant.area_code,
            )
    return pairs


def task_queue(*, user: Any) -> QuerySet[Task]:
    """Unclaimed human tasks routed to a role the user holds at that area."""
    return (
        Task.objects.filter(flow_task_type="HUMAN", status=STATUS.NEW, owner__isnull=True)
        .filter(routing_q(user=user))
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


# --- the staff workspace: lists, the task and case pages, start options, notifications -------------------

import datetime as dt  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402

from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.translation import get_language  # noqa: E402

from govflow.audit.masking import mask_id_card  # noqa: E402
from govflow.roles.models import CODE_LENGTH, Area  # noqa: E402
from govflow.roles.selectors import user_sees_personal_data  # noqa: E402

PAGE_SIZE = 25
DUE_SOON_DAYS = 3
TASK_SORTS: dict[str, tuple[Any, ...]] = {
    "due": (F("scheduled").asc(nulls_last=True), "created"),
    "-due": (F("scheduled").desc(nulls_last=True), "-created"),
    "created": ("created", "pk"),
    "-created": ("-created", "-pk"),
    "reference": ("process__case__reference",),
    "-reference": ("-process__case__reference",),
    "finished": ("finished", "pk"),
    "-finished": ("-finished", "-pk"),
}
CASE_SORTS: dict[str, tuple[Any, ...]] = {
    "created": ("created",),
    "-created": ("-created",),
    "reference": ("reference",),
    "-reference": ("-reference",),
}


def localized(title: Any, fallback: str = "") -> str:
    """A {"zh", "en"} title of a definition in the active language (Chinese unless English is asked for)."""
    if isinstance(title, str):
        return title
    if not isinstance(title, dict):
        return fallback
    if (get_language() or "").startswith("en") and title.get("en"):
        return str(title["en"])
    return str(title.get("zh") or title.get("en") or fallback)


def task_spec(task: Any) -> dict[str, Any]:
    """The definition entry of a task's node; {} when its flow no longer resolves (shown, not a 500)."""
    from govflow.workflows.selectors import node_spec

    try:
        flow_task = task.flow_task
        return node_spec(flow_task) if flow_task is not None else {}
    except Exception:  # a missing compiled class must not break a list page
        return {}


def task_title(task: Any) -> str:
    spec = task_spec(task)
    return localized(spec.get("title"), spec.get("id", "") or str(getattr(task, "flow_task_type", "")))


def task_done(*, user: Any) -> QuerySet[Task]:
    """Human tasks the user completed, newest first."""
    return (
        Task.objects.filter(flow_task_type="HUMAN", owner=user, status=STATUS.DONE)
        .select_related("process__case")
        .order_by("-finished", "-pk")
    )


def work_counts(*, user: Any) -> dict[str, int]:
    """How many tasks are in the user's inbox, queue and done list (three COUNT queries)."""
    return {
        "inbox": task_inbox(user=user).count(),
        "queue": task_queue(user=user).count(),
        "done": task_done(user=user).count(),
    }


@dataclass
class WorkFilters:
    """The filters, search and sort of a work list or the case list (all optional)."""

    procedure: str = ""
    area: str = ""
    status: str = ""
    due: str = ""
    q: str = ""
    sort: str = ""


def tasks_filtered(qs: QuerySet[Task], filters: WorkFilters, *, default_sort: str = "due") -> QuerySet[Task]:
    """A task list narrowed by procedure, area (prefix), case status, due (overdue / soon) and a search of
    the case reference, applicant and citizen ID; sorted by a whitelisted key. One query per page."""
    if filters.procedure:
        qs = qs.filter(process__case__procedure_key=filters.procedure)
    if filters.area:
        qs = qs.filter(process__case__area_code__startswith=filters.area)
    if filters.status:
        qs = qs.filter(process__case__status=filters.status)
    now = timezone.now()
    if filters.due == "overdue":
        qs = qs.filter(scheduled__lt=now)
    elif filters.due == "soon":
        qs = qs.filter(scheduled__gte=now, scheduled__lt=now + dt.timedelta(days=DUE_SOON_DAYS))
    text = filters.q.strip()
    if text:
        qs = qs.filter(
            Q(process__case__reference__icontains=text)
            | Q(process__case__applicant__icontains=text)
            | Q(process__case__id_card=text.upper())
        )
    order = TASK_SORTS.get(filters.sort) or TASK_SORTS[default_sort]
    return (
        qs.select_related("process__case__workflow", "owner")
        .defer(
            "process__data",
            "process__case__workflow__document",
            "process__case__workflow__errors",
            "process__case__workflow__form_versions",
        )
        .order_by(*order)
    )


def cases_filtered(qs: QuerySet[Case], filters: WorkFilters) -> QuerySet[Case]:
    """The case list narrowed like tasks_filtered (no due filter), newest first by default."""
    if filters.procedure:
        qs = qs.filter(procedure_key=filters.procedure)
    if filters.area:
        qs = qs.filter(area_code__startswith=filters.area)
    if filters.status:
        qs = qs.filter(status=filters.status)
    text = filters.q.strip()
    if text:
        qs = qs.filter(Q(reference__icontains=text) | Q(applicant__icontains=text) | Q(id_card=text.upper()))
    order = CASE_SORTS.get(filters.sort) or CASE_SORTS["-created"]
    return qs.defer("workflow__document", "workflow__errors", "workflow__form_versions").order_by(
        *order, "-pk"
    )


def area_names(codes: Any) -> dict[str, str]:
    """{code: name} for the given area codes, in one query."""
    wanted = {c for c in codes if c}
    if not wanted:
        return {}
    return dict(Area.objects.filter(code__in=wanted).values_list("code", "name"))


def due_state(moment: dt.datetime | None, *, now: dt.datetime | None = None) -> str:
    """ "overdue", "soon" (within DUE_SOON_DAYS) or "" for a due moment."""
    if moment is None:
        return ""
    now = now or timezone.now()
    if moment < now:
        return "overdue"
    if moment < now + dt.timedelta(days=DUE_SOON_DAYS):
        return "soon"
    return ""


def shown_id_card(*, user: Any, case: Case) -> str:
    """The case's citizen ID in full for roles that see personal data in its area, masked otherwise."""
    if not case.id_card:
        return ""
    if user_sees_personal_data(user=user, area_code=case.area_code):
        return case.id_card
    return mask_id_card(case.id_card)


@dataclass
class TaskRow:
    task: Task
    case: Case
    title: str
    procedure: str
    area_name: str
    id_card: str
    due: dt.datetime | None
    due_state: str


def task_rows(*, user: Any, tasks: Any) -> list[TaskRow]:
    """Rows for a page of tasks from tasks_filtered (one extra query for the area names)."""
    tasks = list(tasks)
    names = area_names(t.process.case.area_code for t in tasks)
    now = timezone.now()
    rows = []
    for task in tasks:
        case = task.process.case
        rows.append(
            TaskRow(
                task=task,
                case=case,
                title=task_title(task),
                procedure=case.workflow.title,
                area_name=names.get(case.area_code, case.area_code),
                id_card=shown_id_card(user=user, case=case),
                due=task.scheduled,
                due_state=due_state(task.scheduled, now=now) if task.status != STATUS.DONE else "",
            )
        )
    return rows


@dataclass
class CaseRow:
    case: Case
    area_name: str
    id_card: str


def case_rows(*, user: Any, cases: Any) -> list[CaseRow]:
    cases = list(cases)
    names = area_names(c.area_code for c in cases)
    return [
        CaseRow(
            case=c, area_name=names.get(c.area_code, c.area_code), id_card=shown_id_card(user=user, case=c)
        )
        for c in cases
    ]


def task_get_for_viewer(*, user: Any, task_id: int) -> Task:
    """A task whose page the user may open: one they may act on, or any task of a case in their scope (a
    colleague who lost a race still sees the case). Raises OutOfScope otherwise, also for a missing task."""
    task = (
        Task.objects.select_related("process__case__workflow", "owner").filter(pk=task_id).first()
        if isinstance(task_id, int)
        else None
    )
    case = getattr(task.process, "case", None) if task is not None else None
    if task is None or case is None:
        raise OutOfScope()
    if user_may_act_on(user=user, task=task) or user_can_see_area(user=user, area_code=case.area_code):
        return task
    raise OutOfScope()


def user_may_contribute(*, user: Any, case: Case) -> bool:
    """Staff who act in the case's area (not supervisors only) may attach files and comment."""
    return any(g.can_act and g.covers(case.area_code) for g in user_grants(user=user))


def next_inbox_task(*, user: Any, exclude: int | None = None) -> Task | None:
    qs = task_inbox(user=user)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.first()


def form_version_for_node(*, case_or_version: Any, form_key: str) -> Any:
    """The form version pinned for a node's form (running cases keep the forms they started with)."""
    from .services import _form_for

    version = getattr(case_or_version, "workflow", case_or_version)
    return _form_for(version, form_key)


@dataclass
class StepData:
    node_id: str
    title: str
    form_version: Any
    document: dict[str, Any]
    finished: Any = None
    actor: Any = None


def case_step_data(*, case: Case) -> list[StepData]:
    """The data each finished step with a form stored, in the order the steps ran (the latest run of a step
    that ran twice, as the case data holds it)."""
    process = case.process
    data = process.data or {}
    steps: dict[str, StepData] = {}
    for task in case_tasks(case=case).filter(status=STATUS.DONE).select_related("owner"):
        spec = task_spec(task)
        node_id = spec.get("id")
        if not node_id or not spec.get("form") or not isinstance(data.get(node_id), dict):
            continue
        steps.pop(node_id, None)
        steps[node_id] = StepData(
            node_id=node_id,
            title=localized(spec.get("title"), node_id),
            form_version=form_version_for_node(case_or_version=case, form_key=spec["form"]),
            document=data[node_id],
            finished=task.finished,
            actor=task.owner if spec.get("kind") != "start" else case.started_by,
        )
    return list(steps.values())


def case_open_steps(*, case: Case) -> list[Task]:
    return list(open_tasks(case=case).select_related("owner"))


@dataclass
class StartOption:
    """A procedure the user may start, with the areas (at its start level) where they may start it."""

    version: Any
    form_key: str
    level: str
    areas: list[tuple[str, str]] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.version.key)


def start_options(*, user: Any) -> list[StartOption]:
    """Published procedures whose start node names a role the user holds (and may act with), with the areas
    of the start level inside those grants' areas."""
    from govflow.workflows.selectors import published_workflows

    grants = [g for g in user_grants(user=user) if g.can_act]
    if not grants:
        return []
    options = []
    area_cache: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for version in published_workflows():
        start = next((n for n in version.document.get("nodes", []) if n.get("kind") == "start"), None)
        if start is None:
            continue
        level = str(start.get("level", ""))
        length = CODE_LENGTH.get(level)
        if length is None:
            continue
        areas: dict[str, str] = {}
        for grant in grants:
            if grant.role_key not in start.get("roles", []) or len(grant.area_code) > length:
                continue
            key = (grant.area_code, level)
            if key not in area_cache:
                if len(grant.area_code) == length:
                    area_cache[key] = [(grant.area_code, grant.area_name)]
                else:
                    area_cache[key] = list(
                        Area.objects.filter(code__startswith=grant.area_code, level=level)
                        .order_by("code")
                        .values_list("code", "name")
                    )
            areas.update(area_cache[key])
        if areas:
            options.append(
                StartOption(
                    version=version,
                    form_key=str(start.get("form") or ""),
                    level=level,
                    areas=sorted(areas.items()),
                )
            )
    return options


def start_option_get(*, user: Any, procedure_key: str) -> StartOption:
    for option in start_options(user=user):
        if option.key == procedure_key:
            return option
    raise OutOfScope()


def start_drafts(*, user: Any) -> QuerySet[Any]:
    from .models import StartDraft

    return StartDraft.objects.filter(user=user).order_by("-updated")


def start_draft_get(*, user: Any, draft_id: int) -> Any:
    from .models import StartDraft

    draft = StartDraft.objects.filter(pk=draft_id, user=user).first()
    if draft is None:
        raise OutOfScope()
    return draft


def case_attachments(*, case: Case) -> QuerySet[Any]:
    from .models import Attachment

    return Attachment.objects.filter(case=case).select_related("uploaded_by").order_by("created", "pk")


def attachment_get_for_user(*, user: Any, attachment_id: int) -> Any:
    """An attachment of a case in the user's scope; OutOfScope otherwise (also when it does not exist)."""
    from .models import Attachment

    found = Attachment.objects.select_related("case").filter(pk=attachment_id).first()
    if found is None or not user_can_see_area(user=user, area_code=found.case.area_code):
        raise OutOfScope()
    return found


def case_document_get_for_user(*, user: Any, case_id: int, document_id: int) -> Any:
    from govflow.workflows.models import CaseDocument

    case = case_get_for_user(user=user, case_id=case_id)
    found = CaseDocument.objects.filter(pk=document_id, process_id=case.pk).first()
    if found is None:
        raise OutOfScope()
    return found


def case_documents(*, case: Case) -> QuerySet[Any]:
    from govflow.workflows.models import CaseDocument

    return CaseDocument.objects.filter(process_id=case.pk).defer("pdf", "text").order_by("created", "pk")


def case_comments(*, case: Case) -> QuerySet[Any]:
    from .models import Comment

    return Comment.objects.filter(case=case).select_related("author").order_by("created", "pk")


def reassign_candidates(*, task: Task) -> QuerySet[Any]:
    """Users holding the task's role at the task's area, except its current owner."""
    from govflow.roles.selectors import users_for_role

    role, area = task_routing(task)
    qs = users_for_role(role_key=role, area_code=area)
    return qs.exclude(pk=task.owner_id) if task.owner_id else qs


def notifications_for_user(*, user: Any) -> QuerySet[Any]:
    from .models import Notification

    return (
        Notification.objects.filter(user=user)
        .select_related("case")
        .defer("case__title")
        .order_by("-created", "-pk")
    )


def notifications_unread_count(*, user: Any) -> int:
    from .models import Notification

    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notification_get_for_user(*, user: Any, notification_id: int) -> Any:
    from .models import Notification

    found = Notification.objects.filter(pk=notification_id, user=user).first()
    if found is None:
        raise OutOfScope()
    return found
