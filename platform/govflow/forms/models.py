"""Form definitions and their immutable published versions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from .fields import OrderedJSONField


class PublishedVersionImmutable(Exception):
    pass


class ImmutableWhenPublished:
    """For definition versions (forms, workflows): once a version leaves draft, its CONTENT_FIELDS never
    change again: running cases, their history and compiled classes depend on them. Status may change."""

    CONTENT_FIELDS: tuple[str, ...] = ()

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk and not self._state.adding:  # type: ignore[attr-defined]
            stored = (
                type(self)
                ._default_manager.filter(pk=self.pk)  # type: ignore[attr-defined]
                .values(*self.CONTENT_FIELDS, "status")
                .first()
            )
            locked = stored is not None and stored["status"] != "draft"
            if locked and any(stored[f] != getattr(self, f) for f in self.CONTENT_FIELDS):
                raise PublishedVersionImmutable(f"{self} is published and cannot change")
        super().save(*args, **kwargs)  # type: ignore[misc]


class FormDefinition(models.Model):
    key = models.SlugField(_("标识"), max_length=64, unique=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("表单")
        verbose_name_plural = _("表单")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class FormVersion(ImmutableWhenPublished, models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        PUBLISHED = "published", _("已发布")
        RETIRED = "retired", _("已停用")

    definition = models.ForeignKey(FormDefinition, on_delete=models.PROTECT, related_name="versions")
    key = models.SlugField(_("标识"), max_length=64, db_index=True)
    version = models.PositiveIntegerField(_("版本"))
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    title_zh = models.CharField(_("中文标题"), max_length=200)
    title_en = models.CharField(_("英文标题"), max_length=200, blank=True)
    schema = OrderedJSONField(_("表单结构"))
    ui_schema = OrderedJSONField(_("界面设置"), default=dict, blank=True)
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

    class Meta:
        verbose_name = _("表单版本")
        verbose_name_plural = _("表单版本")
        ordering = ["key", "-version"]
        constraints = [models.UniqueConstraint(fields=["definition", "version"], name="unique_form_version")]

    def __str__(self) -> str:
        return f"{self.key} v{self.version}"

    CONTENT_FIELDS = ("title_zh", "title_en", "schema", "ui_schema", "checksum")
