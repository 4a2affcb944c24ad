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
from .selectors import task_routing

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
        if found is not None and found.key != key:
            found = None  # a reused primary key (SQLite after a rollback): never serve another form
        if found is None:
            found = FormVersion.objects.filter(pk=pk).first()
            if found is not None and found.status != FormVersion.Status.DRAFT:
                if len(_PINNED_FORMS) > 1000:
                    _PINNED_FORMS.clear()
                _PINNED_FORMS[pk] = found
        if found is not None:
            return found
    return form_version_get(key=key)


_VERSIONS: dict[int, WorkflowVersion] = {}


def _workflow_version(case: Case) -> WorkflowVersion:
    """The case's workflow version; published versions never change, so they are kept in memory."""
    found = _VERSIONS.get(case.workflow_id)
    if found is None or found.key != case.procedure_key:
        found = WorkflowVersion.objects.defer("document").get(pk=case.workflow_id)
        if found.status != WorkflowVersion.Status.DRAFT:
            if len(_VERSIONS) > 1000:
                _VERSIONS.clear()
            _VERSIONS[case.workflow_id] = found
    return found


def forget_cached_forms() -> None:
    """Drop the in-process caches of published versions (tests roll back transactions and reuse keys)."""
    _PINNED_FORMS.clear()
    _VERSIONS.clear()


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
            try:
                task = Task.objects.select_related("process", "process__case").get(pk=task_id)
            except Task.DoesNotExist:
                raise NotFound() from None
            if getattr(task.process, "case", None) is None:
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


def _holds_task_role(user: Any, task: Task) -> bool:
    role, area = task_routing(task)
    return any(g.role_key == role and g.area_code == area and g.can_act for g in user_grants(user=user))


def _require_open(task: Task) -> None:
    if task.status not in (STATUS.NEW, STATUS.ASSIGNED):
        raise Conflict(_("该任务已办结或已取消，请刷新后查看。"))


def task_claim(*, user: Any, task_id: int, client_address: str | None = None) -> Task:
    """Take an unclaimed task from the queue into the user's inbox."""
    with transaction.atomic(), _locked(task_id) as (task, activation):
        if task.owner_id != user.pk and not _holds_task_role(user, task):
            raise OutOfScope()  # says nothing about the task, whoever holds it
        if task.owner_id not in (None, user.pk):
            raise Conflict(_("该任务已被他人认领。"))
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
            if task.owner_id != user.pk and not _holds_task_role(user, task):
                raise OutOfScope()  # outsiders learn nothing about the task's state
            _require_open(task)
            if task.owner_id is None:
                task.assigned = timezone.now()
                activation.assign(user)  # claim and complete in one step
            elif task.owner_id != user.pk:
                raise Conflict(_("该任务已被他人认领。"))
            spec = node_spec(task.flow_task)
            process = task.process
            case = process.case
            version = _workflow_version(case)
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
    """Fire due timers and boundary timeouts (viewflow's own sweep, under each process's flow lock), then
    flag the cases where a step after a timer failed, so the failure is visible instead of only logged."""
    from viewflow.workflow.timers import fire_due_timers

    fired = fire_due_timers()
    _flag_failed_cases()
    deadline_notifications_send()
    return fired


def _flag_failed_cases() -> None:
    """Open cases with a task in ERROR (a background step failed): mark them failed, with one audit event."""
    failed = (
        Task.objects.filter(status=STATUS.ERROR, process__case__status=Case.Status.OPEN)
        .select_related("process__case")
        .order_by("pk")
    )
    for task in failed:
        case = task.process.case
        error = (task.data or {}).get("_exception", {}).get("title", "")
        with transaction.atomic():
            if not Case.objects.filter(pk=case.pk, status=Case.Status.OPEN).update(status=Case.Status.FAILED):
                continue
            audit_record(
                action="task.failed",
                area_code=case.area_code,
                procedure_key=case.procedure_key,
                case_id=case.pk,
                task_id=task.pk,
                data={"error": error[:500], "node": getattr(task.flow_task, "node_id", "")},
            )
        logger.error("case %s: step %s failed after a timer: %s", case.reference, task.pk, error)


# --- the staff workspace: starting and completing with notifications, attachments, comments, drafts -------

import hashlib  # noqa: E402
import re  # noqa: E402
from pathlib import PurePath  # noqa: E402

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.template.defaultfilters import filesizeformat  # noqa: E402

from govflow.audit.masking import mask_text  # noqa: E402
from govflow.roles.selectors import user_can_see_area, users_for_role  # noqa: E402

from .models import Attachment, Comment, Notification, StartDraft  # noqa: E402
from .selectors import OPEN_HUMAN, case_get_for_user, task_spec, user_may_contribute  # noqa: E402

# Extension -> (content type, accepted leading bytes). The type is taken from this table, never from the
# client, and the first bytes must match, so a renamed executable or HTML page is refused.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
ATTACHMENT_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".doc": ("application/msword", (_OLE,)),
    ".xls": ("application/vnd.ms-excel", (_OLE,)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (_ZIP,)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (_ZIP,)),
    ".ofd": ("application/ofd", (_ZIP,)),
}
MENTION_RE = re.compile(r"(?<![A-Za-z0-9_.+@-])@([A-Za-z0-9_][A-Za-z0-9_.+-]{0,149})")
COMMENT_MAX_CHARS = 2000


def attachment_max_bytes() -> int:
    return int(getattr(settings, "GOVFLOW_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))


def _clean_filename(name: str) -> str:
    base = PurePath(str(name).replace("\\", "/")).name
    base = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>|:*?')
    return (base or "file")[-200:]


def _attachment_type(filename: str, head: bytes) -> str:
    suffix = PurePath(filename).suffix.lower()
    known = ATTACHMENT_TYPES.get(suffix)
    if known is None:
        raise ValidationFailed(
            _("不接受这种文件。允许的格式：%(types)s。") % {"types": "、".join(sorted(ATTACHMENT_TYPES))},
            field_errors={"file": [_("文件格式不被接受。")]},
        )
    content_type, signatures = known
    if not any(head.startswith(sig) for sig in signatures):
        raise ValidationFailed(
            _("文件内容与扩展名 %(ext)s 不符。") % {"ext": suffix},
            field_errors={"file": [_("文件已损坏或格式不符。")]},
        )
    return content_type


def _store_attachment(
    *,
    user: Any,
    case: Case,
    upload: Any,
    task_id: int | None,
    filename: str | None,
    check_type: bool,
    client_address: str | None = None,
) -> Attachment:
    size = int(getattr(upload, "size", 0) or 0)
    limit = attachment_max_bytes()
    if size <= 0:
        raise ValidationFailed(_("文件是空的。"), field_errors={"file": [_("文件是空的。")]})
    if size > limit:
        raise ValidationFailed(
            _("文件不能超过%(size)s。") % {"size": filesizeformat(limit)},
            field_errors={"file": [_("文件过大。")]},
        )
    name = _clean_filename(filename or getattr(upload, "name", "") or "file")
    digest = hashlib.sha256()
    head = b""
    upload.seek(0)
    for chunk in upload.chunks():
        if len(head) < 16:
            head += chunk[:16]
        digest.update(chunk)
    upload.seek(0)
    if check_type:
        content_type = _attachment_type(name, head)
    else:  # a form's file field checked the type against the form definition's own list
        suffix = PurePath(name).suffix.lower()
        content_type = ATTACHMENT_TYPES.get(suffix, (str(getattr(upload, "content_type", "")), ()))[0]
        content_type = content_type or "application/octet-stream"
    attachment = Attachment(
        case=case,
        task_id=task_id,
        filename=name,
        content_type=content_type[:100],
        size=size,
        sha256=digest.hexdigest(),
        uploaded_by=user,
        created=timezone.now(),
    )
    attachment.file.save("upload", upload, save=False)
    try:
        attachment.save()
        _case_audit(
            case,
            "attachment.added",
            user,
            task_id=task_id,
            data={"attachment": attachment.pk, "filename": name, "sha256": attachment.sha256, "size": size},
            client_address=client_address,
        )
    except Exception:
        attachment.file.delete(save=False)
        raise
    return attachment


def _case_audit(case: Case, action: str, actor: Any, *, task_id: int | None = None, **extra: Any) -> None:
    grants = [g for g in user_grants(user=actor) if g.covers(case.area_code)]
    grant = max(grants, key=lambda g: len(g.area_code), default=None)
    audit_record(
        action=action,
        actor=actor,
        role_key=grant.role_key if grant is not None else "",
        area_code=case.area_code,
        procedure_key=case.procedure_key,
        case_id=case.pk,
        task_id=task_id,
        **extra,
    )


def _case_task_id(case: Case, task_id: int | None) -> int | None:
    if task_id is None:
        return None
    if not Task.objects.filter(pk=task_id, process_id=case.pk).exists():
        raise OutOfScope()
    return task_id


def attachment_add(
    *,
    user: Any,
    case_id: int,
    upload: Any,
    task_id: int | None = None,
    client_address: str | None = None,
) -> Attachment:
    """Store an uploaded file on a case (under MEDIA_ROOT, random name) with its SHA-256, size and type.

    Raises OutOfScope (case outside the user's areas, or the user only supervises), ValidationFailed (empty,
    over GOVFLOW_MAX_UPLOAD_BYTES, a type not in ATTACHMENT_TYPES, or content that does not match it)."""
    case = case_get_for_user(user=user, case_id=case_id)
    if not user_may_contribute(user=user, case=case):
        raise OutOfScope()
    with transaction.atomic():
        task_id = _case_task_id(case, task_id)
        attachment = _store_attachment(
            user=user,
            case=case,
            upload=upload,
            task_id=task_id,
            filename=None,
            check_type=True,
            client_address=client_address,
        )
    return attachment


def _form_files_store(*, user: Any, case: Case, files: dict[str, Any] | None, task_id: int | None) -> None:
    """Files uploaded through a form's file fields (checked by the form definition's own rules)."""
    for path, upload in (files or {}).items():
        if upload is None:
            continue
        _store_attachment(
            user=user,
            case=case,
            upload=upload,
            task_id=task_id,
            filename=f"{path.replace('/', '-')}-{getattr(upload, 'name', 'file')}",
            check_type=False,
        )


def mentioned_usernames(text: str) -> list[str]:
    """The @usernames in a comment, in order, without repeats."""
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text or ""):
        seen.setdefault(match.group(1).rstrip(".-"), None)
    return list(seen)


def comment_add(
    *,
    user: Any,
    case_id: int,
    text: str,
    task_id: int | None = None,
    client_address: str | None = None,
) -> tuple[Comment, list[str]]:
    """Add a comment to a case; each @username of an active colleague who may see the case is notified.

    Returns the comment and the mentioned names that were NOT notified (unknown, or outside the case's area).
    Raises OutOfScope, ValidationFailed (empty or longer than COMMENT_MAX_CHARS)."""
    case = case_get_for_user(user=user, case_id=case_id)
    if not user_may_contribute(user=user, case=case):
        raise OutOfScope()
    text = (text or "").strip()
    if not text or len(text) > COMMENT_MAX_CHARS:
        raise ValidationFailed(
            _("意见不能为空，且不超过%(n)s字。") % {"n": COMMENT_MAX_CHARS},
            field_errors={"text": [_("请填写意见。") if not text else _("意见过长。")]},
        )
    names = mentioned_usernames(text)
    users = {
        u.get_username(): u
        for u in get_user_model().objects.filter(username__in=names, is_active=True).exclude(pk=user.pk)
    }
    notified = [
        users[n] for n in names if n in users and user_can_see_area(user=users[n], area_code=case.area_code)
    ]
    skipped = [n for n in names if n not in {u.get_username() for u in notified} and n != user.get_username()]
    with transaction.atomic():
        task_id = _case_task_id(case, task_id)
        comment = Comment.objects.create(
            case=case,
            task_id=task_id,
            author=user,
            text=text,
            mentions=[u.get_username() for u in notified],
            created=timezone.now(),
        )
        _case_audit(
            case,
            "comment.added",
            user,
            task_id=task_id,
            data={"comment": comment.pk, "mentions": comment.mentions},
            client_address=client_address,
        )
        author = user.get_full_name() or user.get_username()
        excerpt = mask_text(text)[:200]
        _notify(
            [
                Notification(
                    user=u,
                    kind=Notification.Kind.MENTION,
                    case=case,
                    task_id=task_id,
                    text=f"{author}：{excerpt}"[:300],
                    created=comment.created,
                )
                for u in notified
            ]
        )
    return comment, skipped


# --- notifications -------------------------------------------------------------------------------------


def _notify(rows: list[Notification]) -> list[Notification]:
    """Save notifications and, after the commit, e-mail those whose users have an address."""
    if not rows:
        return []
    created = Notification.objects.bulk_create(rows)
    ids = [n.pk for n in created if n.pk is not None]
    if ids:
        from .notifications import notification_emails_send

        transaction.on_commit(lambda: notification_emails_send(ids))
    return created


def _node_title_zh(task: Task) -> str:
    spec = task_spec(task)
    title = spec.get("title")
    if isinstance(title, dict):
        return str(title.get("zh") or title.get("en") or spec.get("id", ""))
    return str(title or spec.get("id", ""))


def _open_human_ids(case_id: int) -> set[int]:
    return set(
        Task.objects.filter(process_id=case_id, flow_task_type="HUMAN", status__in=OPEN_HUMAN).values_list(
            "pk", flat=True
        )
    )


def tasks_routed_notify(*, case: Case, known: set[int], actor: Any = None) -> list[Notification]:
    """Notify the people who may take each open human task of the case that is not in `known`: the owner if
    it already has one, otherwise every user holding its role at its area. The actor is not notified."""
    tasks = Task.objects.filter(process_id=case.pk, flow_task_type="HUMAN", status__in=OPEN_HUMAN).exclude(
        pk__in=known
    )
    now = timezone.now()
    rows: list[Notification] = []
    actor_id = getattr(actor, "pk", None)
    for task in tasks:
        title = _node_title_zh(task)
        if task.owner_id is not None:
            recipients = [task.owner_id]
            kind = Notification.Kind.TASK_ASSIGNED
        else:
            role, area = task_routing(task)
            recipients = list(users_for_role(role_key=role, area_code=area).values_list("pk", flat=True))
            kind = Notification.Kind.TASK_ROUTED
        rows.extend(
            Notification(user_id=pk, kind=kind, case=case, task=task, text=title[:300], created=now)
            for pk in recipients
            if pk != actor_id
        )
    with transaction.atomic():
        return _notify(rows)


def case_start_and_notify(
    *,
    user: Any,
    procedure_key: str,
    area_code: str,
    data: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
    draft_id: int | None = None,
    client_address: str | None = None,
) -> Case:
    """case_start, then store the start form's files, drop the draft it came from and notify whoever may take
    the first tasks. Raises what case_start raises; nothing after the start runs when it fails."""
    case = case_start(
        user=user, procedure_key=procedure_key, area_code=area_code, data=data, client_address=client_address
    )
    with transaction.atomic():
        if files:
            start_task = Task.objects.filter(process_id=case.pk).order_by("created", "pk").first()
            _form_files_store(
                user=user, case=case, files=files, task_id=start_task.pk if start_task else None
            )
        if draft_id is not None:
            StartDraft.objects.filter(pk=draft_id, user=user).delete()
        tasks_routed_notify(case=case, known=set(), actor=user)
    return case


def task_complete_and_notify(
    *,
    user: Any,
    task_id: int,
    data: dict[str, Any] | None = None,
    files: dict[str, Any] | None = None,
    client_address: str | None = None,
) -> Task:
    """task_complete, then store the form's files and notify whoever may take the tasks it created.

    Raises what task_complete raises (FormInvalid, Conflict, OutOfScope, StepFailed)."""
    process_id = Task.objects.filter(pk=task_id).values_list("process_id", flat=True).first()
    known = _open_human_ids(process_id) if process_id is not None else set()
    task = task_complete(user=user, task_id=task_id, data=data, client_address=client_address)
    case = task.process.case
    with transaction.atomic():
        _form_files_store(user=user, case=case, files=files, task_id=task.pk)
        tasks_routed_notify(case=case, known=known | {task.pk}, actor=user)
    return task


def task_reassign_and_notify(
    *, actor: Any, task_id: int, to_user: Any, client_address: str | None = None
) -> Task:
    """task_reassign, then tell the new owner. Raises what task_reassign raises."""
    task = task_reassign(actor=actor, task_id=task_id, to_user=to_user, client_address=client_address)
    with transaction.atomic():
        _notify(
            [
                Notification(
                    user=to_user,
                    kind=Notification.Kind.TASK_ASSIGNED,
                    case=task.process.case,
                    task=task,
                    text=_node_title_zh(task)[:300],
                    created=timezone.now(),
                )
            ]
        )
    return task


@transaction.atomic
def notifications_mark_read(*, user: Any, notification_ids: list[int] | None = None) -> int:
    """Mark the user's notifications read (all unread ones when no ids are given); returns how many."""
    qs = Notification.objects.filter(user=user, read_at__isnull=True)
    if notification_ids is not None:
        qs = qs.filter(pk__in=notification_ids)
    return qs.update(read_at=timezone.now())


DEADLINE_CURSOR = "cursor:notifications:deadlines"


def deadline_notifications_send(*, limit: int = 1000) -> int:
    """Turn the engine's task.reminded / task.escalated audit events into notifications (for the worker to
    call after timers_fire). A cursor row remembers the last event handled, so each is sent once."""
    from govflow.audit.models import AuditEvent
    from govflow.workflows.models import Sequence

    with transaction.atomic():
        cursor, _created = Sequence.objects.select_for_update().get_or_create(scope=DEADLINE_CURSOR)
        events = list(
            AuditEvent.objects.filter(action__in=["task.reminded", "task.escalated"], seq__gt=cursor.last)
            .order_by("seq")
            .values("seq", "action", "task_id", "case_id", "data")[:limit]
        )
        if not events:
            return 0
        tasks = {
            t.pk: t
            for t in Task.objects.filter(
                pk__in=[e["task_id"] for e in events if e["task_id"]]
            ).select_related("process__case")
        }
        now = timezone.now()
        rows: list[Notification] = []
        for event in events:
            task = tasks.get(event["task_id"])
            case = getattr(task.process, "case", None) if task is not None else None
            if task is None or case is None or task.status not in OPEN_HUMAN:
                continue
            title = _node_title_zh(task)
            if event["action"] == "task.reminded":
                kind = Notification.Kind.REMINDER
                if task.owner_id is not None:
                    recipients = [task.owner_id]
                else:
                    role, area = task_routing(task)
                    recipients = list(
                        users_for_role(role_key=role, area_code=area).values_list("pk", flat=True)
                    )
            else:
                kind = Notification.Kind.ESCALATION
                info = event["data"] or {}
                role, area = str(info.get("role", "")), str(info.get("area", ""))
                if not role or not area:
                    role, area = task_routing(task)
                recipients = list(users_for_role(role_key=role, area_code=area).values_list("pk", flat=True))
            rows.extend(
                Notification(
                    user_id=pk,
                    kind=kind,
                    case=case,
                    task=task,
                    text=title[:300],
                    source_seq=event["seq"],
                    created=now,
                )
                for pk in recipients
            )
        cursor.last = events[-1]["seq"]
        cursor.save(update_fields=["last"])
        return len(_notify(rows))


# --- start drafts --------------------------------------------------------------------------------------


def start_draft_save(
    *,
    user: Any,
    procedure_key: str,
    area_code: str,
    data: dict[str, Any],
    step: str = "",
    draft_id: int | None = None,
) -> StartDraft:
    """Save (or update) the user's draft of a start form; the typed values are kept as they are, unvalidated.

    Raises OutOfScope when the draft is someone else's or the user may not start the procedure there."""
    from .selectors import start_option_get

    option = start_option_get(user=user, procedure_key=procedure_key)
    if area_code and area_code not in dict(option.areas):
        raise OutOfScope()
    with transaction.atomic():
        if draft_id is not None:
            draft = StartDraft.objects.select_for_update().filter(pk=draft_id, user=user).first()
            if draft is None:
                raise OutOfScope()
        else:
            draft = StartDraft(user=user, procedure_key=procedure_key)
        draft.area_code = area_code
        draft.data = data
        draft.step = step[:64]
        draft.save()
        audit_record(
            action="start_draft.saved",
            actor=user,
            role_key=next(
                (g.role_key for g in user_grants(user=user) if area_code and g.covers(area_code)), ""
            ),
            area_code=area_code,
            procedure_key=procedure_key,
            data={"draft": draft.pk},
        )
    return draft


@transaction.atomic
def start_draft_delete(*, user: Any, draft_id: int) -> None:
    """Delete one of the user's drafts. Raises OutOfScope for someone else's (or a missing) draft."""
    draft = StartDraft.objects.filter(pk=draft_id, user=user).first()
    if draft is None:
        raise OutOfScope()
    audit_record(
        action="start_draft.deleted",
        actor=user,
        area_code=draft.area_code,
        procedure_key=draft.procedure_key,
        data={"draft": draft.pk},
    )
    draft.delete()
