"""Request and response bodies of the API.

Responses are built from plain dicts by the presenters in views.py (so a serializer never reaches back into
the database); requests are validated here, and their errors come out keyed by JSON path (exceptions.py).
Status-like fields are documented strings, not enums: several objects have a `status` with different
values, and one enum name per field keeps the schema free of naming collisions.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

# --- errors -------------------------------------------------------------------------------------------


class DefinitionErrorSerializer(serializers.Serializer):
    file = serializers.CharField(required=False, help_text="The file (name as sent) the error is in.")
    path = serializers.CharField(required=False, help_text='JSON path in the file, e.g. "nodes/3/role".')
    message = serializers.CharField()
    node = serializers.CharField(required=False, help_text="Node id, for workflow errors.")


class ErrorSerializer(serializers.Serializer):
    """The one shape of every error response."""

    code = serializers.CharField(
        help_text="Stable machine-readable code: invalid, form_invalid, definition_invalid, forbidden, "
        "not_found, conflict, too_large, step_failed, not_authenticated, authentication_failed, "
        "parse_error, throttled, method_not_allowed, unsupported_media_type, server_error..."
    )
    message = serializers.CharField(help_text="A translated message for people (Accept-Language / ?lang=).")
    field_errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Messages by JSON path in the request body ("data/spouses/0/id_card"); "" is the whole body.',
    )
    errors = DefinitionErrorSerializer(many=True, required=False, help_text="Errors of definition files.")


# --- areas, me, tokens ----------------------------------------------------------------------------------


class AreaSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="6 (county), 9 (township) or 12 (village) digits.")
    name = serializers.CharField()
    level = serializers.CharField(help_text="county | township | village")
    parent = serializers.CharField(allow_null=True)


class AreaNodeSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    level = serializers.CharField(help_text="county | township | village")


AreaNodeSerializer._declared_fields["children"] = AreaNodeSerializer(many=True)


class AreaDetailSerializer(AreaSerializer):
    path = AreaSerializer(many=True, help_text="Ancestors within the user's scope, top first.")
    children = AreaSerializer(many=True)


class GrantSerializer(serializers.Serializer):
    role = serializers.CharField()
    role_name = serializers.CharField()
    area_code = serializers.CharField()
    area_name = serializers.CharField()
    area_level = serializers.CharField()
    can_act = serializers.BooleanField()
    can_supervise = serializers.BooleanField()
    can_design = serializers.BooleanField()
    can_start = serializers.ListField(child=serializers.CharField(), help_text='Procedure keys, or ["*"].')
    sees_personal_data = serializers.BooleanField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    may_design = serializers.BooleanField()
    may_supervise = serializers.BooleanField()
    grants = GrantSerializer(many=True, help_text="Every role the user holds, with the area it is held at.")


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(required=False, max_length=150)
    password = serializers.CharField(required=False, max_length=128, style={"input_type": "password"})

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("username")) != bool(attrs.get("password")):
            raise serializers.ValidationError(_("用户名和密码须同时提供。"))
        return attrs


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text='Send it as "Authorization: Token <token>". Shown once.')
    created = serializers.DateTimeField()


class TokenStatusSerializer(serializers.Serializer):
    exists = serializers.BooleanField()
    created = serializers.DateTimeField(allow_null=True)


# --- procedures and forms ----------------------------------------------------------------------------


class FormSerializer(serializers.Serializer):
    key = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    schema = serializers.JSONField(help_text="JSON Schema (Draft 2020-12) of the data.")
    ui = serializers.JSONField(help_text="UI schema: order, widgets, steps, help texts, visibility rules.")


class StartSpecSerializer(serializers.Serializer):
    node = serializers.CharField()
    form = serializers.CharField(allow_null=True)
    level = serializers.CharField(help_text="Level of the area a case is started at.")
    roles = serializers.ListField(child=serializers.CharField())


class NodeSummarySerializer(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    title = serializers.CharField()
    form = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    level = serializers.CharField(allow_null=True)


class ProcedureSerializer(serializers.Serializer):
    key = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    title_zh = serializers.CharField()
    title_en = serializers.CharField()
    code = serializers.CharField()
    description = serializers.CharField()
    published_at = serializers.DateTimeField(allow_null=True)
    start = StartSpecSerializer()
    may_start = serializers.BooleanField(help_text="The user holds a starting role covering some area.")


class ProcedureDetailSerializer(ProcedureSerializer):
    status = serializers.CharField(help_text="published | retired")
    start_form = FormSerializer(allow_null=True)
    start_areas = AreaSerializer(many=True, help_text="Areas where this user may start a case.")
    nodes = NodeSummarySerializer(many=True)


# --- cases, tasks, events ------------------------------------------------------------------------------


class CaseRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    reference = serializers.CharField()
    title = serializers.CharField()
    procedure_key = serializers.CharField()
    area_code = serializers.CharField()
    status = serializers.CharField(help_text="open | closed | failed")
    applicant = serializers.CharField(help_text="From the workflow's summary expressions (may be empty).")
    id_card = serializers.CharField(help_text="Citizen ID, masked unless the user's role sees personal data.")


class TaskSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    node = serializers.CharField(help_text="Node id in the workflow definition.")
    title = serializers.CharField()
    form = serializers.CharField(allow_null=True)
    status = serializers.CharField(help_text="NEW (in a queue) | ASSIGNED (claimed) | DONE | CANCELED...")
    owner = serializers.CharField(allow_null=True, help_text="Username of the claimant.")
    role = serializers.CharField(help_text="Role the task is routed to.")
    area_code = serializers.CharField(help_text="Area the role acts at.")
    created = serializers.DateTimeField()
    assigned = serializers.DateTimeField(allow_null=True)
    due = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    last_error = serializers.JSONField(allow_null=True, help_text="The last failed completion, if any.")
    case = CaseRefSerializer()


class TaskDetailSerializer(TaskSerializer):
    form_definition = FormSerializer(allow_null=True, help_text="The form to complete the task with.")
    data = serializers.JSONField(help_text="Data saved at this node so far (masked like case data).")
    may_act = serializers.BooleanField(help_text="The user may claim / complete it.")


class CaseSerializer(CaseRefSerializer):
    version = serializers.IntegerField()
    outcome = serializers.CharField()
    started_by = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField()
    finished = serializers.DateTimeField(allow_null=True)


class CaseDetailSerializer(CaseSerializer):
    procedure_title = serializers.CharField()
    open_tasks = TaskSerializer(many=True)


class CaseStartSerializer(serializers.Serializer):
    procedure = serializers.SlugField(max_length=64, help_text="Procedure key.")
    area = serializers.RegexField(r"^\d{6}(\d{3}){0,2}$", help_text="Area code where the case is started.")
    data = serializers.DictField(required=False, default=dict, help_text="The start form's data.")


class CaseDataSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    masked = serializers.BooleanField(help_text="ID and mobile numbers are masked (ask with ?reveal=true).")
    data = serializers.JSONField(
        help_text="The case data: one object per form node, plus `case`, `settings`."
    )


class ChangeSerializer(serializers.Serializer):
    path = serializers.CharField()
    label = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    created = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True, help_text="Username.")
    actor_name = serializers.CharField()
    role = serializers.CharField()
    area_code = serializers.CharField()
    action = serializers.CharField()
    action_label = serializers.CharField()
    procedure_key = serializers.CharField()
    case_id = serializers.IntegerField(allow_null=True)
    task_id = serializers.IntegerField(allow_null=True)
    changes = ChangeSerializer(many=True)
    details = serializers.DictField(child=serializers.CharField())
    masked = serializers.BooleanField()


class AuditEventSerializer(EventSerializer):
    client_address = serializers.CharField(allow_null=True)
    prev_hash = serializers.CharField()
    hash = serializers.CharField()


class EventFilterSerializer(serializers.Serializer):
    actor = serializers.CharField(required=False, max_length=150, help_text="Username or part of a name.")
    area = serializers.RegexField(r"^\d{1,12}$", required=False, help_text="Area-code prefix.")
    procedure = serializers.CharField(required=False, max_length=64)
    action = serializers.CharField(required=False, max_length=64, help_text='Exact, or a family: "task.".')
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    case_id = serializers.IntegerField(required=False, min_value=1)


class _WorkFilterSerializer(serializers.Serializer):
    """The filters of the web work lists (cases.selectors.WorkFilters)."""

    procedure = serializers.CharField(required=False, max_length=64, help_text="Procedure key.")
    area = serializers.RegexField(r"^\d{1,12}$", required=False, help_text="Area-code prefix.")
    status = serializers.ChoiceField(
        choices=["open", "closed", "failed"], required=False, help_text="Case status."
    )
    q = serializers.CharField(
        required=False, max_length=100, help_text="Part of the reference or applicant, or a whole citizen ID."
    )


class CaseFilterSerializer(_WorkFilterSerializer):
    reference = serializers.CharField(required=False, max_length=40, help_text="Exact case reference.")
    created_from = serializers.DateField(required=False)
    created_to = serializers.DateField(required=False)
    mine = serializers.BooleanField(required=False, help_text="Only cases the user started.")
    sort = serializers.ChoiceField(
        choices=["created", "-created", "reference", "-reference"],
        required=False,
        help_text="Default -created.",
    )


class TaskFilterSerializer(_WorkFilterSerializer):
    due = serializers.ChoiceField(choices=["overdue", "soon"], required=False)
    sort = serializers.ChoiceField(
        choices=["due", "-due", "created", "-created", "reference", "-reference", "finished", "-finished"],
        required=False,
        help_text="Default: due (done list: -finished).",
    )


class TaskCompleteSerializer(serializers.Serializer):
    data = serializers.DictField(required=False, default=dict, help_text="The task form's data.")


class TaskReassignSerializer(serializers.Serializer):
    to_user = serializers.CharField(max_length=150, help_text="Username of the new owner.")


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    task_id = serializers.IntegerField(allow_null=True)
    uploaded_by = serializers.CharField(allow_null=True)
    created = serializers.DateTimeField()
    url = serializers.CharField(help_text="Where to download the file.")


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        help_text="PDF, JPEG, PNG, DOC(X), XLS(X) or OFD; content must match the type."
    )
    task_id = serializers.IntegerField(required=False, help_text="The step of this case it belongs to.")


class CommentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    task_id = serializers.IntegerField(allow_null=True)
    author = serializers.CharField(allow_null=True)
    author_name = serializers.CharField()
    text = serializers.CharField(help_text="ID and mobile numbers masked for roles without personal data.")
    mentions = serializers.ListField(child=serializers.CharField(), help_text="Usernames that were notified.")
    created = serializers.DateTimeField()


class CommentCreateSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="Up to 2000 characters; @username notifies a colleague.")
    task_id = serializers.IntegerField(required=False)


class CommentResultSerializer(CommentSerializer):
    not_notified = serializers.ListField(
        child=serializers.CharField(),
        help_text="Mentioned names that are unknown or outside the case's area.",
    )


class DocumentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    title = serializers.CharField()
    filename = serializers.CharField()
    sha256 = serializers.CharField()
    task_id = serializers.IntegerField(allow_null=True)
    created = serializers.DateTimeField()
    url = serializers.CharField(help_text="Where to download the PDF.")


class NotificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="task_routed | task_assigned | mention | reminder | escalation")
    kind_label = serializers.CharField()
    text = serializers.CharField()
    case_id = serializers.IntegerField(allow_null=True)
    case_reference = serializers.CharField(allow_null=True)
    task_id = serializers.IntegerField(allow_null=True)
    created = serializers.DateTimeField()
    read_at = serializers.DateTimeField(allow_null=True)


class NotificationFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, help_text="Only unread notifications.")


class NotificationReadSerializer(serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=1000, help_text="Default: all unread."
    )


class NotificationReadResultSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class CandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()


# --- definitions ----------------------------------------------------------------------------------------

_NAME_RE = re.compile(r"^(?:[A-Za-z0-9_-]+/)*[A-Za-z0-9_.-]+\.(?:json|bpmn)$")


class LibraryFileSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=200, help_text='Library path, e.g. "forms/apply.json", "workflows/fee.json" or ".bpmn".'
    )
    document = serializers.JSONField(required=False, help_text="The JSON document (for .json files).")
    content = serializers.CharField(
        required=False, allow_blank=False, trim_whitespace=False, help_text="The XML text of a .bpmn file."
    )

    def validate_name(self, value: str) -> str:
        if not _NAME_RE.match(value) or ".." in value:
            raise serializers.ValidationError(_("文件名应为 forms/名称.json 之类，仅限字母、数字、-、_。"))
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        is_bpmn = attrs["name"].endswith(".bpmn")
        if is_bpmn and "content" not in attrs:
            raise serializers.ValidationError({"content": [_("BPMN 文件须提供 content。")]})
        if not is_bpmn and "document" not in attrs:
            raise serializers.ValidationError({"document": [_("JSON 文件须提供 document。")]})
        return attrs


class LibraryFilesSerializer(serializers.Serializer):
    files = LibraryFileSerializer(many=True, allow_empty=False, max_length=500)

    def validate_files(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [f["name"] for f in value]
        if len(set(names)) != len(names):
            raise serializers.ValidationError(_("文件名不能重复。"))
        return value


class ValidateResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    errors = DefinitionErrorSerializer(many=True)


class ImportResultSerializer(serializers.Serializer):
    created = serializers.ListField(child=serializers.CharField(), help_text="Files that made a new version.")
    unchanged = serializers.ListField(child=serializers.CharField(), help_text="Files already up to date.")


class ExportSerializer(serializers.Serializer):
    key = serializers.CharField()
    version = serializers.IntegerField()
    files = LibraryFileSerializer(many=True, help_text="Send these back to /definitions/import/ unchanged.")


class VersionSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="workflows | forms")
    key = serializers.CharField()
    version = serializers.IntegerField()
    status = serializers.CharField(help_text="draft | published | retired")
    title = serializers.CharField()
    checksum = serializers.CharField()
    errors = DefinitionErrorSerializer(many=True)
    created = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)
    change_note = serializers.CharField()


class DraftSerializer(serializers.Serializer):
    document = serializers.DictField(help_text="The whole definition document (its key is set from the URL).")


class PublishSerializer(serializers.Serializer):
    change_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class PublishResultSerializer(serializers.Serializer):
    version = VersionSerializer()
    changes = serializers.ListField(
        child=serializers.DictField(), help_text="What changed against the previously published version."
    )


# --- webhooks -------------------------------------------------------------------------------------------

WEBHOOK_EVENT_NAMES = ("case.started", "task.completed", "case.ended")  # = api.models.WEBHOOK_EVENTS


class WebhookWriteSerializer(serializers.Serializer):
    """Create (url required) or change (every field optional) a webhook subscription."""

    url = serializers.CharField(
        max_length=500, help_text="https://... (plain http only to 127.0.0.1 or localhost)."
    )
    procedures = serializers.ListField(
        child=serializers.SlugField(max_length=64),
        required=False,
        max_length=200,
        help_text="Procedure keys; empty or omitted: every procedure.",
    )
    events = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        min_length=1,
        max_length=len(WEBHOOK_EVENT_NAMES),
        help_text="Any of case.started, task.completed, case.ended (default: all three).",
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=200)
    active = serializers.BooleanField(required=False, help_text="Paused subscriptions get nothing.")
    rotate_secret = serializers.BooleanField(
        required=False, default=False, help_text="Change only: replace the secret (shown once in the answer)."
    )

    def validate_url(self, value: str) -> str:
        from .webhooks import url_allowed

        value = value.strip()
        if not url_allowed(value):
            raise serializers.ValidationError(_("地址须以 https:// 开头（本机测试可用 http://127.0.0.1）。"))
        return value

    def validate_events(self, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in WEBHOOK_EVENT_NAMES]
        if unknown:
            raise serializers.ValidationError(_("未知事件：%(e)s。") % {"e": "、".join(unknown)})
        return [e for e in WEBHOOK_EVENT_NAMES if e in value]

    def validate_procedures(self, value: list[str]) -> list[str]:
        return sorted(set(value))


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    procedures = serializers.ListField(child=serializers.CharField(), help_text="Empty: every procedure.")
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    active = serializers.BooleanField()
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()
    created_by = serializers.CharField(allow_null=True, help_text="Username of who registered it.")


class WebhookWithSecretSerializer(WebhookSerializer):
    secret = serializers.CharField(
        required=False,
        help_text="HMAC-SHA256 key for X-Govflow-Signature. Present only when created or rotated.",
    )


class WebhookAttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True, help_text="null: no HTTP answer (see error).")
    error = serializers.CharField(allow_blank=True)
    duration_ms = serializers.IntegerField()


class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="Also sent as the X-Govflow-Delivery header.")
    event = serializers.CharField()
    seq = serializers.IntegerField(help_text="The audit event's sequence number.")
    status = serializers.CharField(help_text="pending | delivered | failed")
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    created = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    payload = serializers.DictField(help_text="The JSON body POSTed.")
    attempts_log = WebhookAttemptSerializer(many=True)


class WebhookDeliveryFilterSerializer(serializers.Serializer):
    status = serializers.RegexField(
        r"^(pending|delivered|failed)$", required=False, help_text="pending | delivered | failed"
    )
