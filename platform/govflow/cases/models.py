"""Cases: the platform's record of one running procedure, one row per viewflow process.

The case's business data (form data under each task's key, values set by service tasks, and the reserved
`case` object) lives in the process's JSON `data`, where the engine's conditions read it without a query.
This row holds what inboxes, reports and scoping filter on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Process

from govflow.workflows.models import WorkflowVersion


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("办理中")
        CLOSED = "closed", _("已办结")
        FAILED = "failed", _("出错")

    process = models.OneToOneField(
        Process, on_delete=models.CASCADE, primary_key=True, related_name="case", verbose_name=_("流程实例")
    )
    workflow = models.ForeignKey(
        WorkflowVersion, on_delete=models.PROTECT, related_name="cases", verbose_name=_("流程版本")
    )
    procedure_key = models.SlugField(_("事项"), max_length=64)
    reference = models.CharField(_("案件编号"), max_length=40, unique=True)
    area_code = models.CharField(_("区划代码"), max_length=12)
    title = models.CharField(_("标题"), max_length=200, blank=True)
    # Filled from the workflow's `summary` expressions after every step, for search and lists.
    applicant = models.CharField(_("当事人"), max_length=100, blank=True, db_index=True)
    id_card = models.CharField(_("公民身份号码"), max_length=18, blank=True, db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("结果"), max_length=40, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("发起人"),
    )
    created = models.DateTimeField(_("发起时间"))
    finished = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-created"]
        indexes = [
            # Scoping is a prefix match on the area code (LIKE '371727102%').
            models.Index(fields=["area_code"], name="case_area_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["status", "area_code"], name="case_status_area"),
            models.Index(fields=["procedure_key", "created"], name="case_procedure_created"),
        ]

    def __str__(self) -> str:
        return self.reference


# --- the staff workspace: start drafts, attachments, comments, notifications -----------------------------


class StartDraft(models.Model):
    """A start form saved before it was complete; resumed later by the same user."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("用户")
    )
    procedure_key = models.SlugField(_("事项"), max_length=64)
    area_code = models.CharField(_("区划代码"), max_length=12, blank=True)
    # The form as typed (field name -> list of strings), not yet validated.
    data = models.JSONField(_("已填内容"), default=dict, blank=True)
    step = models.CharField(_("当前步骤"), max_length=64, blank=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated = models.DateTimeField(_("保存时间"), auto_now=True)

    class Meta:
        verbose_name = _("发起草稿")
        verbose_name_plural = _("发起草稿")
        ordering = ["-updated"]
        indexes = [models.Index(fields=["user", "-updated"], name="startdraft_user_updated")]

    def __str__(self) -> str:
        return f"{self.procedure_key} {self.area_code}"


def attachment_upload_to(instance: Attachment, filename: str) -> str:
    """A random name: the original name is kept on the row, never used as a path."""
    from uuid import uuid4

    return f"attachments/{instance.created:%Y/%m}/{uuid4().hex}"


class Attachment(models.Model):
    """A file attached to a case (optionally at one task), with its hash, size and type."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="attachments", verbose_name=_("案件")
    )
    task = models.ForeignKey(
        "viewflow.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("环节"),
    )
    file = models.FileField(_("文件"), upload_to=attachment_upload_to, max_length=200)
    filename = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("类型"), max_length=100)
    size = models.PositiveBigIntegerField(_("大小"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("上传人"),
    )
    created = models.DateTimeField(_("上传时间"))

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return self.filename


class Comment(models.Model):
    """A remark on a case (optionally at one task); @username mentions notify colleagues."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="comments", verbose_name=_("案件"))
    task = models.ForeignKey(
        "viewflow.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("环节"),
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("作者"),
    )
    text = models.TextField(_("内容"), max_length=2000)
    mentions = models.JSONField(_("提及"), default=list, blank=True)
    created = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("意见")
        verbose_name_plural = _("意见")
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return self.text[:40]


class Notification(models.Model):
    """Something a user should look at: a task routed to them, a mention, a deadline."""

    class Kind(models.TextChoices):
        TASK_ROUTED = "task_routed", _("新任务待认领")
        TASK_ASSIGNED = "task_assigned", _("任务已改派给您")
        MENTION = "mention", _("有人提到了您")
        REMINDER = "reminder", _("任务催办")
        ESCALATION = "escalation", _("任务超期升级")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="govflow_notifications",
        verbose_name=_("用户"),
    )
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.CASCADE, related_name="+", verbose_name=_("案件")
    )
    task = models.ForeignKey(
        "viewflow.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("环节"),
    )
    text = models.CharField(_("内容"), max_length=300, blank=True)
    # The audit event a deadline notification came from, so the worker never sends one twice.
    source_seq = models.BigIntegerField(_("来源事件"), null=True, blank=True)
    created = models.DateTimeField(_("时间"))
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created", "-pk"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
            models.Index(fields=["user", "-created"], name="notification_user_created"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.user_id}"
