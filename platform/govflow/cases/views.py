"""The staff workspace: my work (inbox, queue, done), starting a case, the task and case pages, attachments,
comments, reassigning, notifications.

Views parse input and call selectors (reads, always scoped) and services (writes). A GovflowError that
escapes a view becomes a page through core.middleware (OutOfScope: 403 with no case data).
"""

from __future__ import annotations

import io
import logging
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from viewflow.workflow.status import STATUS

from govflow.audit.masking import mask_text, mask_value
from govflow.audit.receivers import client_address
from govflow.audit.views import timeline_context
from govflow.errors import Conflict, OutOfScope, ValidationFailed
from govflow.forms.rendering import build_form, render_readonly
from govflow.forms.services import FormInvalid
from govflow.forms.views import FormWizard
from govflow.roles.selectors import user_may_supervise, user_sees_personal_data
from govflow.workflows.selectors import flow_class_for
from govflow.workflows.timing import expression_context

from . import selectors as sel
from .forms import AttachmentForm, CommentForm, ReassignForm, StartAreaForm, WorkFilterForm
from .models import Case
from .services import (
    StepFailed,
    attachment_add,
    attachment_max_bytes,
    case_start_and_notify,
    comment_add,
    notifications_mark_read,
    start_draft_delete,
    start_draft_save,
    task_claim,
    task_complete_and_notify,
    task_reassign_and_notify,
    task_unclaim,
)

logger = logging.getLogger(__name__)

FORM_PREFIX = "f"
OPEN_STATUSES = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)
TASK_STATUS_LABELS = {
    STATUS.NEW: gettext_lazy("待认领"),
    STATUS.ASSIGNED: gettext_lazy("办理中"),
    STATUS.STARTED: gettext_lazy("办理中"),
    STATUS.DONE: gettext_lazy("已办结"),
    STATUS.CANCELED: gettext_lazy("已取消"),
    STATUS.SCHEDULED: gettext_lazy("等待中"),
    STATUS.ERROR: gettext_lazy("出错"),
}
WORK_LISTS = {"inbox": sel.task_inbox, "queue": sel.task_queue, "done": sel.task_done}


def _next_url(request: HttpRequest, fallback: str) -> str:
    """A `next` parameter that points into this site, or the fallback."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/")
        and not target.startswith("//")
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
    ):
        return target
    return fallback


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _status_label(status: str) -> str:
    label = TASK_STATUS_LABELS.get(status)
    return str(label) if label is not None else status


# --- my work ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def work_list(request: HttpRequest, tab: str = "inbox") -> HttpResponse:
    """Inbox, queue or done list with counts, filters, search, sort and pagination (constant queries)."""
    user = request.user
    form = WorkFilterForm(request.GET or None, user=user, kind="tasks")
    filters = form.filters()
    default_sort = "-finished" if tab == "done" else "due"
    tasks = sel.tasks_filtered(WORK_LISTS[tab](user=user), filters, default_sort=default_sort)
    counts = sel.work_counts(user=user)
    filtered = any(getattr(filters, name) for name in ("procedure", "area", "status", "due", "q"))
    paginator = Paginator(tasks, sel.PAGE_SIZE)
    if not filtered:
        paginator.count = counts[tab]  # the tab's count is this list's count: one COUNT query fewer
    page = paginator.get_page(request.GET.get("page"))
    if not filters.sort:
        form.initial["sort"] = default_sort
    context = {
        "tab": tab,
        "form": form,
        "filtered": filtered,
        "counts": counts,
        "page": page,
        "rows": sel.task_rows(user=user, tasks=page.object_list),
        "query": _query_without_page(request),
        "status_labels": TASK_STATUS_LABELS,
    }
    return render(request, "cases/work.html", context)


@login_required
@require_POST
def task_claim_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """Claim from the queue; with open=1 go straight to the task ("claim and open")."""
    queue = reverse("cases:queue")
    try:
        task_claim(user=request.user, task_id=task_id, client_address=client_address(request))
    except Conflict as exc:
        messages.error(request, str(exc.message))
        return redirect(_next_url(request, queue))
    if request.POST.get("open"):
        return redirect("cases:task", task_id=task_id)
    messages.success(request, _("已认领，任务已移入“我的待办”。"))
    return redirect(_next_url(request, queue))


@login_required
@require_POST
def task_unclaim_view(request: HttpRequest, task_id: int) -> HttpResponse:
    try:
        task_unclaim(user=request.user, task_id=task_id, client_address=client_address(request))
    except Conflict as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已退回任务池。"))
    return redirect(_next_url(request, reverse("cases:inbox")))


# --- the task page ---------------------------------------------------------------------------------------


def _summary(*, user: Any, case: Case, task: Any = None) -> dict[str, Any]:
    open_steps = sel.case_open_steps(case=case)
    return {
        "case": case,
        "procedure": case.workflow.title,
        "area_name": sel.area_names([case.area_code]).get(case.area_code, case.area_code),
        "id_card": sel.shown_id_card(user=user, case=case),
        "current": [sel.task_title(t) for t in open_steps if t.flow_task_type == "HUMAN"],
        "open_steps": open_steps,
        "due": getattr(task, "scheduled", None),
        "due_state": sel.due_state(task.scheduled)
        if task is not None and task.status in OPEN_STATUSES
        else "",
    }


def _steps_readonly(*, user: Any, case: Case) -> list[dict[str, Any]]:
    mask = not user_sees_personal_data(user=user, area_code=case.area_code)
    return [
        {
            "step": step,
            # Masked by widget (ID and mobile fields) and by shape (an ID typed into any text field).
            "html": render_readonly(
                step.form_version, mask_value(step.document) if mask else step.document, mask_personal=mask
            ),
        }
        for step in sel.case_step_data(case=case)
    ]


def _comments(*, user: Any, case: Case) -> list[Any]:
    """The case's comments, their text masked for users who may not see personal data in its area."""
    mask = not user_sees_personal_data(user=user, area_code=case.area_code)
    comments = list(sel.case_comments(case=case))
    for comment in comments:
        comment.shown_text = mask_text(comment.text) if mask else comment.text
    return comments


def _case_extras(request: HttpRequest, case: Case, *, task: Any = None) -> dict[str, Any]:
    """Attachments, comments and what the user may add, shared by the task and case pages."""
    user = request.user
    contribute = sel.user_may_contribute(user=user, case=case)
    return {
        "attachments": list(sel.case_attachments(case=case)),
        "comments": _comments(user=user, case=case),
        "may_contribute": contribute,
        "comment_form": CommentForm() if contribute else None,
        "attachment_form": AttachmentForm() if contribute else None,
        "max_upload": attachment_max_bytes(),
        "here": request.get_full_path(),
        "context_task": task,
    }


def _task_form(task: Any, user: Any, *, data: Any = None, files: Any = None) -> Any:
    spec = sel.task_spec(task)
    if not spec.get("form"):
        return None
    case = task.process.case
    form_version = sel.form_version_for_node(case_or_version=case, form_key=spec["form"])
    initial = (case.process.data or {}).get(spec["id"]) if data is None else None
    return build_form(
        form_version,
        data=data,
        files=files,
        initial=initial if isinstance(initial, dict) else None,
        user=user,
        prefix=FORM_PREFIX,
        context=expression_context(case.process.data or {}),
    )


def _task_context(request: HttpRequest, task: Any, form: Any) -> dict[str, Any]:
    user = request.user
    case = task.process.case
    is_open = task.status in OPEN_STATUSES
    may_act = is_open and sel.user_may_act_on(user=user, task=task)
    return {
        "task": task,
        "title": sel.task_title(task),
        "status_label": _status_label(task.status),
        "is_open": is_open,
        "may_act": may_act,
        "is_owner": may_act and task.owner_id == user.pk,
        "in_queue": may_act and task.owner_id is None,
        "may_reassign": is_open and user_may_supervise(user=user, area_code=case.area_code),
        "form": form if may_act or form is not None and form.is_bound else None,
        "last_error": (task.data or {}).get("last_error") if isinstance(task.data, dict) else None,
        "steps": _steps_readonly(user=user, case=case),
        **_summary(user=user, case=case, task=task),
        **_case_extras(request, case, task=task),
    }


@login_required
@require_http_methods(["GET", "POST"])
def task_page(request: HttpRequest, task_id: int) -> HttpResponse:
    """The task: case summary, its form, earlier steps, attachments, comments; POST completes it."""
    user = request.user
    task = sel.task_get_for_viewer(user=user, task_id=task_id)
    if request.method == "POST":
        return _task_complete(request, task)
    form = None
    if task.status in OPEN_STATUSES and sel.user_may_act_on(user=user, task=task):
        form = _task_form(task, user)
    return render(request, "cases/task.html", _task_context(request, task, form))


def _task_complete(request: HttpRequest, task: Any) -> HttpResponse:
    user = request.user
    form = _task_form(task, user, data=request.POST, files=request.FILES)
    status = 200
    if form is None or form.is_valid():
        try:
            task_complete_and_notify(
                user=user,
                task_id=task.pk,
                data=form.cleaned_document if form is not None else {},
                files=form.cleaned_files if form is not None else None,
                client_address=client_address(request),
            )
        except FormInvalid as exc:
            if form is not None:
                form.attach_errors(exc.field_errors)
            messages.error(request, str(exc.message))
            status = 400
        except (StepFailed, Conflict) as exc:
            messages.error(request, str(exc.message))
            status = exc.status
        else:
            messages.success(request, _("“%(title)s”已办结。") % {"title": sel.task_title(task)})
            following = sel.next_inbox_task(user=user, exclude=task.pk)
            if following is not None:
                return redirect("cases:task", task_id=following.pk)
            return redirect("cases:inbox")
    else:
        messages.error(request, _("表单有误，请按提示修改后再提交。"))
        status = 400
    task = sel.task_get_for_viewer(user=user, task_id=task.pk)  # its state after a conflict or a failure
    return render(request, "cases/task.html", _task_context(request, task, form), status=status)


@login_required
@require_http_methods(["GET", "POST"])
def task_reassign_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """A supervisor of the case's area gives the open task to someone holding its role at its area."""
    user = request.user
    task = sel.task_get_for_viewer(user=user, task_id=task_id)
    case = task.process.case
    if not user_may_supervise(user=user, area_code=case.area_code):
        raise OutOfScope()
    candidates = sel.reassign_candidates(task=task)
    form = ReassignForm(request.POST or None, candidates=candidates)
    if request.method == "POST" and form.is_valid():
        to_user = form.cleaned_data["to_user"]
        try:
            task_reassign_and_notify(
                actor=user, task_id=task.pk, to_user=to_user, client_address=client_address(request)
            )
        except ValidationFailed as exc:
            form.add_error("to_user", str(exc.message))
        except Conflict as exc:
            messages.error(request, str(exc.message))
        else:
            name = to_user.get_full_name() or to_user.get_username()
            messages.success(request, _("已改派给 %(name)s。") % {"name": name})
            return redirect("cases:case", case_id=case.pk)
    context = {
        "task": task,
        "title": sel.task_title(task),
        "status_label": _status_label(task.status),
        "form": form,
        "has_candidates": candidates.exists(),
        **_summary(user=user, case=case, task=task),
    }
    return render(request, "cases/reassign.html", context, status=400 if form.errors else 200)


# --- the case page and list ------------------------------------------------------------------------------


def _diagram(case: Case) -> str:
    """The workflow chart with this case's done, current and pending steps coloured (empty on failure)."""
    from viewflow.workflow.chart import calc_cell_status, calc_layout_data, grid_to_svg

    try:
        flow_class = flow_class_for(case.workflow)
        grid = calc_layout_data(flow_class)
        calc_cell_status(flow_class, grid, case.pk)
        return mark_safe(grid_to_svg(grid))  # noqa: S308 - viewflow's template escapes the node titles
    except Exception:  # a chart that cannot be drawn must not hide the case
        logger.warning("diagram of case %s failed", case.pk, exc_info=True)
        return ""


@login_required
@require_GET
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """Everything the user may see of one case."""
    user = request.user
    case = sel.case_get_for_user(user=user, case_id=case_id)
    open_rows = [
        {
            "task": t,
            "title": sel.task_title(t),
            "human": t.flow_task_type == "HUMAN",
            "status_label": _status_label(t.status),
            "due_state": sel.due_state(t.scheduled) if t.flow_task_type == "HUMAN" else "",
            "may_act": t.flow_task_type == "HUMAN" and sel.user_may_act_on(user=user, task=t),
        }
        for t in sel.case_open_steps(case=case)
        if t.flow_task_type == "HUMAN" or sel.task_spec(t)  # boundary timers are not steps
    ]
    context = {
        **_summary(user=user, case=case),
        "case_status": case.get_status_display(),
        "open_rows": open_rows,
        "may_reassign": case.status == Case.Status.OPEN
        and user_may_supervise(user=user, area_code=case.area_code),
        "steps": _steps_readonly(user=user, case=case),
        "documents": list(sel.case_documents(case=case)),
        "diagram": _diagram(case),
        **timeline_context(user=user, case_id=case.pk, area_code=case.area_code),
        **_case_extras(request, case),
    }
    return render(request, "cases/case.html", context)


@login_required
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = WorkFilterForm(request.GET or None, user=user, kind="cases")
    filters = form.filters()
    cases = sel.cases_filtered(sel.cases_for_user(user=user), filters)
    page = Paginator(cases, sel.PAGE_SIZE).get_page(request.GET.get("page"))
    if not filters.sort:
        form.initial["sort"] = "-created"
    context = {
        "form": form,
        "filtered": any(getattr(filters, name) for name in ("procedure", "area", "status", "q")),
        "page": page,
        "rows": sel.case_rows(user=user, cases=page.object_list),
        "query": _query_without_page(request),
    }
    return render(request, "cases/case_list.html", context)


@login_required
@require_GET
def case_document_download(request: HttpRequest, case_id: int, document_id: int) -> FileResponse:
    document = sel.case_document_get_for_user(user=request.user, case_id=case_id, document_id=document_id)
    return FileResponse(
        io.BytesIO(bytes(document.pdf)),
        as_attachment=True,
        filename=document.filename,
        content_type="application/pdf",
    )


# --- attachments and comments ----------------------------------------------------------------------------


@login_required
@require_POST
def attachment_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    fallback = reverse("cases:case", args=[case_id]) + "#attachments"
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        sel.case_get_for_user(user=request.user, case_id=case_id)  # outsiders learn nothing, not even this
        messages.error(request, _("请选择要上传的文件。"))
        return redirect(_next_url(request, fallback))
    try:
        attachment = attachment_add(
            user=request.user,
            case_id=case_id,
            upload=form.cleaned_data["file"],
            task_id=_int_or_none(request.POST.get("task")),
            client_address=client_address(request),
        )
    except ValidationFailed as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已上传“%(name)s”。") % {"name": attachment.filename})
    return redirect(_next_url(request, fallback))


@login_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    attachment = sel.attachment_get_for_user(user=request.user, attachment_id=attachment_id)
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type=attachment.content_type,
    )


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@login_required
@require_POST
def comment_post(request: HttpRequest, case_id: int) -> HttpResponse:
    """Add a comment; an htmx request gets the refreshed comment list, a plain one a redirect back."""
    user = request.user
    fallback = reverse("cases:case", args=[case_id]) + "#comments"
    form = CommentForm(request.POST)
    task_id = _int_or_none(request.POST.get("task"))
    notes: list[str] = []
    error = ""
    if form.is_valid():
        try:
            _comment, skipped = comment_add(
                user=user,
                case_id=case_id,
                text=form.cleaned_data["text"],
                task_id=task_id,
                client_address=client_address(request),
            )
        except ValidationFailed as exc:
            error = str(exc.message)
        else:
            form = CommentForm()
            if skipped:
                notes.append(
                    _("以下用户不存在或无权查看此案件，未通知：%(names)s")
                    % {"names": "、".join("@" + n for n in skipped)}
                )
    else:
        sel.case_get_for_user(user=user, case_id=case_id)
        error = _("请填写意见（不超过2000字）。")
    if request.headers.get("HX-Request"):
        case = sel.case_get_for_user(user=user, case_id=case_id)
        context = {
            "case": case,
            "comments": _comments(user=user, case=case),
            "comment_form": form,
            "may_contribute": sel.user_may_contribute(user=user, case=case),
            "here": _next_url(request, fallback),
            "context_task": {"pk": task_id} if task_id else None,
            "comment_notes": notes,
            "comment_error": error,
        }
        return render(request, "cases/_comments.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("意见已发表。"))
    for note in notes:
        messages.warning(request, note)
    return redirect(_next_url(request, fallback))


# --- starting a case -------------------------------------------------------------------------------------


@login_required
@require_GET
def start_index(request: HttpRequest) -> HttpResponse:
    """The procedures the user may start, and their saved drafts."""
    options = sel.start_options(user=request.user)
    titles = {o.key: o.version.title for o in options}
    drafts = list(sel.start_drafts(user=request.user))
    names = sel.area_names(d.area_code for d in drafts)
    rows = [
        {
            "draft": d,
            "title": titles.get(d.procedure_key, d.procedure_key),
            "area_name": names.get(d.area_code, d.area_code),
            "startable": d.procedure_key in titles,
        }
        for d in drafts
    ]
    return render(request, "cases/start_index.html", {"options": options, "drafts": rows})


def _draft_data(post: QueryDict) -> dict[str, list[str]]:
    """The start form as typed (our prefix only), to save in a draft."""
    return {key: post.getlist(key) for key in post if key.startswith(FORM_PREFIX + "-")}


def _draft_query(data: dict[str, Any]) -> QueryDict:
    query = QueryDict("", mutable=True)
    for key, values in (data or {}).items():
        if isinstance(values, list):
            query.setlist(key, [str(v) for v in values])
    return query


@login_required
@require_http_methods(["GET", "POST"])
def start_page(request: HttpRequest, key: str) -> HttpResponse:
    """Pick the area, fill the start form (a wizard when it has steps); save a draft or start the case."""
    user = request.user
    option = sel.start_option_get(user=user, procedure_key=key)
    version = option.version
    form_version = (
        sel.form_version_for_node(case_or_version=version, form_key=option.form_key)
        if option.form_key
        else None
    )
    if form_version is not None and (form_version.ui_schema or {}).get("steps"):
        return StartWizard.as_view()(request, key=key, option=option, form_version=form_version)
    draft_id = _int_or_none(
        request.POST.get("draft") if request.method == "POST" else request.GET.get("draft")
    )
    draft = sel.start_draft_get(user=user, draft_id=draft_id) if draft_id is not None else None
    if draft is not None and draft.procedure_key != option.key:
        raise OutOfScope()
    rule_context = expression_context({"settings": version.document.get("settings", {})})
    status = 200

    def blank_form(data: Any = None, files: Any = None, quiet: bool = False) -> Any:
        if form_version is None:
            return None
        built = build_form(
            form_version, data=data, files=files, user=user, prefix=FORM_PREFIX, context=rule_context
        )
        if quiet:
            built.env.quiet = True
        return built

    if request.method == "POST":
        area_form = StartAreaForm(request.POST, areas=option.areas)
        area_code = request.POST.get("area", "")
        if request.POST.get("action") == "draft":
            saved = start_draft_save(
                user=user,
                procedure_key=option.key,
                area_code=area_code if area_code in dict(option.areas) else "",
                data=_draft_data(request.POST),
                draft_id=draft.pk if draft is not None else None,
            )
            messages.success(request, _("草稿已保存，可在“发起事项”页继续填写。"))
            return redirect(reverse("cases:start", args=[option.key]) + f"?draft={saved.pk}")
        form = blank_form(request.POST, request.FILES)
        area_ok = area_form.is_valid()
        form_ok = form is None or form.is_valid()
        if area_ok and form_ok:
            try:
                case = case_start_and_notify(
                    user=user,
                    procedure_key=option.key,
                    area_code=area_form.cleaned_data["area"],
                    data=form.cleaned_document if form is not None else {},
                    files=form.cleaned_files if form is not None else None,
                    draft_id=draft.pk if draft is not None else None,
                    client_address=client_address(request),
                )
            except FormInvalid as exc:
                if form is not None:
                    form.attach_errors(exc.field_errors)
                messages.error(request, str(exc.message))
                status = 400
            except ValidationFailed as exc:
                for message in exc.field_errors.get("area", []):
                    area_form.add_error("area", message)
                messages.error(request, str(exc.message))
                status = 400
            except StepFailed as exc:
                messages.error(request, str(exc.message))
                status = exc.status
            else:
                messages.success(request, _("案件已发起：%(ref)s") % {"ref": case.reference})
                return redirect("cases:case", case_id=case.pk)
        else:
            messages.error(request, _("表单有误，请按提示修改后再提交。"))
            status = 400
    elif draft is not None:
        area_form = StartAreaForm(initial={"area": draft.area_code}, areas=option.areas)
        form = blank_form(_draft_query(draft.data), quiet=True)
    else:
        area_form = StartAreaForm(areas=option.areas)
        form = blank_form()
    context = {
        "option": option,
        "version": version,
        "form_version": form_version,
        "area_form": area_form,
        "form": form,
        "draft": draft,
    }
    return render(request, "cases/start.html", context, status=status)


class StartWizard(FormWizard):
    """The start form of a procedure whose form has steps: one page per step (django-formtools), the area
    picked on every page, "save draft" on every page, and case_start at the end.

    start_page resolves the procedure (scope first) and passes `option` and `form_version` as view kwargs."""

    template_name = "cases/start_wizard.html"

    def get_form_version(self) -> Any:
        return self.kwargs["form_version"]

    @property
    def option(self) -> Any:
        return self.kwargs["option"]

    def get_form_context(self) -> dict[str, Any]:
        return expression_context({"settings": self.option.version.document.get("settings", {})})

    # -- the area and the draft live in the wizard's storage ---------------------------------------------

    def _extra(self, **changes: Any) -> dict[str, Any]:
        extra = dict(self.storage.extra_data)
        if changes:
            extra.update(changes)
            self.storage.extra_data = extra
        return extra

    def _area_form(self, data: Any = None) -> StartAreaForm:
        area = self._extra().get("area", "")
        return StartAreaForm(data, initial={"area": area} if area else {}, areas=self.option.areas)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = super().get(request, *args, **kwargs)  # resets the storage: first step
        draft_id = _int_or_none(request.GET.get("draft"))
        if draft_id is None:
            return response
        draft = sel.start_draft_get(user=request.user, draft_id=draft_id)
        if draft.procedure_key != self.option.key:
            raise OutOfScope()
        steps = draft.data.get("steps") if isinstance(draft.data, dict) else None
        for step, values in (steps or {}).items():
            if step in self.get_form_list() and isinstance(values, dict):
                self.storage.set_step_data(
                    step, {k: [str(x) for x in v] for k, v in values.items() if isinstance(v, list)}
                )
        self._extra(area=draft.area_code, draft=draft.pk)
        current = draft.step if draft.step in self.get_form_list() else self.steps.first
        self.storage.current_step = current
        form = self.get_form(step=current, data=self.storage.get_step_data(current))
        form.env.quiet = True  # a draft shows what was typed, without errors until it is submitted
        return self.render(form)

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        request = self.request
        area_form = self._area_form(request.POST)
        if area_form.is_valid():
            self._extra(area=area_form.cleaned_data["area"])
        if request.POST.get("action") == "draft":
            return self._save_draft(current=request.POST)
        if not area_form.is_valid() and not request.POST.get("wizard_goto_step"):
            form = self.get_form(data=request.POST, files=request.FILES)
            form.is_valid()
            messages.error(request, _("请选择办理区划。"))
            return self.render(form, area_form=area_form)
        return super().post(*args, **kwargs)

    def _save_draft(self, *, current: Any = None) -> HttpResponse:
        """Keep every step as typed (the current one from `current`, the POST) in a draft; files are not kept."""
        steps: dict[str, dict[str, list[str]]] = {}
        for step in self.get_form_list():
            stored = self.storage.get_step_data(step)
            if stored is not None:
                steps[step] = {k: stored.getlist(k) for k in stored if k.startswith(f"{step}-")}
        step_now = self.steps.current
        if current is not None:
            steps[step_now] = {k: current.getlist(k) for k in current if k.startswith(f"{step_now}-")}
        extra = self._extra()
        area = str(extra.get("area") or "")
        draft = start_draft_save(
            user=self.request.user,
            procedure_key=self.option.key,
            area_code=area if area in dict(self.option.areas) else "",
            data={"steps": steps},
            step=step_now,
            draft_id=_int_or_none(extra.get("draft")),
        )
        self.storage.reset()
        messages.success(self.request, _("草稿已保存，可在“发起事项”页继续填写。"))
        return redirect(reverse("cases:start", args=[self.option.key]) + f"?draft={draft.pk}")

    def get_context_data(self, form: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(form=form, **kwargs)
        context.setdefault("area_form", self._area_form())
        context["option"] = self.option
        context["version"] = self.option.version
        context["draft_id"] = self._extra().get("draft")
        return context

    def done_document(self, document: dict[str, Any]) -> HttpResponse:
        request = self.request
        extra = self._extra()
        try:
            case = case_start_and_notify(
                user=request.user,
                procedure_key=self.option.key,
                area_code=str(extra.get("area") or ""),
                data=document,
                files=self.cleaned_files,
                draft_id=_int_or_none(extra.get("draft")),
                client_address=client_address(request),
            )
        except (ValidationFailed, StepFailed) as exc:
            # Nothing was started: keep what was typed as a draft rather than lose it.
            messages.error(request, str(exc.message))
            return self._save_draft()
        messages.success(request, _("案件已发起：%(ref)s") % {"ref": case.reference})
        return redirect("cases:case", case_id=case.pk)


@login_required
@require_POST
def start_draft_delete_view(request: HttpRequest, draft_id: int) -> HttpResponse:
    start_draft_delete(user=request.user, draft_id=draft_id)
    messages.success(request, _("草稿已删除。"))
    return redirect("cases:start_index")


# --- notifications ---------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def notification_list(request: HttpRequest) -> HttpResponse:
    """The user's notifications, newest first; POST marks them all read."""
    if request.method == "POST":
        count = notifications_mark_read(user=request.user)
        messages.success(request, _("已将 %(n)s 条通知标为已读。") % {"n": count})
        return redirect("cases:notifications")
    page = Paginator(sel.notifications_for_user(user=request.user), sel.PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "cases/notifications.html",
        {"page": page, "unread": sel.notifications_unread_count(user=request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Mark one notification read and go to what it is about."""
    from .notifications import notification_link

    notification = sel.notification_get_for_user(user=request.user, notification_id=notification_id)
    notifications_mark_read(user=request.user, notification_ids=[notification.pk])
    return redirect(notification_link(notification))


@login_required
@require_GET
def notification_badge(request: HttpRequest) -> HttpResponse:
    """The bell's unread count (htmx polls it every 60 s)."""
    return render(
        request, "cases/_bell_count.html", {"unread": sel.notifications_unread_count(user=request.user)}
    )
