"""Workflow definitions, their immutable published versions, and the per-county number sequences."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from govflow.forms.fields import OrderedJSONField
from govflow.forms.models import ImmutableWhenPublished


class WorkflowDefinition(models.Model):
    key = models.SlugField(_("标识"), max_length=64, unique=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("流程")
        verbose_name_plural = _("流程")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class WorkflowVersion(ImmutableWhenPublished, models.Model):
    """One version of a procedure's workflow. Once published its document never changes: running cases and
    the compiled flow class (named after the pk and checksum) depend on it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        RETIRED = "retired", _("已停用")

    definition = models.ForeignKey(WorkflowDefinition, on_delete=models.PROTECT, related_name="versions")
    key = models.SlugField(_("标识"), max_length=64, db_index=True)
    version = models.PositiveIntegerField(_("版本"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    title_zh = models.CharField(_("中文标题"), max_length=200)
    title_en = models.CharField(_("英文标题"), max_length=200, blank=True)
    code = models.CharField(_("编号代码"), max_length=6, blank=True)
    document = OrderedJSONField(_("流程定义"))
    checksum = models.CharField(_("校验和"), max_length=64)
    errors = models.JSONField(_("校验错误"), default=list, blank=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_note = models.TextField(_("变更说明"), blank=True)
    # {form key: FormVersion pk}, pinned when published: running cases keep the forms they started with.
    form_versions = models.JSONField(_("表单版本"), default=dict, blank=True)

    CONTENT_FIELDS = ("title_zh", "title_en", "code", "document", "checksum")

    class Meta:
        verbose_name = _("流程版本")
        verbose_name_plural = _("流程版本")
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["definition", "version"], name="unique_workflow_version")
        ]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    @property
    def flow_class_name(self) -> str:
        """The attribute of govflow.workflows.flows that resolves to this version's compiled class."""
        return f"V{self.pk}_{self.checksum[:12]}"

    @property
    def title(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").startswith("en") and self.title_en:
            return self.title_en
        return self.title_zh


class Sequence(models.Model):
    """A gap-free counter, e.g. case numbers of one procedure in one county and year. Incremented under a
    row lock inside the caller's transaction, so a rolled-back step gives its number back."""

    scope = models.CharField(_("范围"), max_length=100, unique=True)
    last = models.PositiveBigIntegerField(_("当前值"), default=0)

    class Meta:
        verbose_name = _("编号序列")
        verbose_name_plural = _("编号序列")

    def __str__(self) -> str:
        return f"{self.scope}: {self.last}"


class CaseDocument(models.Model):
    """A generated document (告知书, 决定书...) stored on its case with the hash of its bytes."""

    process = models.ForeignKey(
        "viewflow.Process", on_delete=models.CASCADE, related_name="documents", verbose_name=_("案件")
    )
    task = models.ForeignKey(
        "viewflow.Task",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("环节"),
    )
    key = models.CharField(_("文书标识"), max_length=40)
    title = models.CharField(_("文书名称"), max_length=200)
    filename = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    pdf = models.BinaryField(_("PDF"))
    text = models.TextField(_("文本"), blank=True)
    created = models.DateTimeField(_("生成时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("文书")
        verbose_name_plural = _("文书")
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return self.filename
