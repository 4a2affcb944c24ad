"""The append-only, hash-chained audit log.

Events store ids and codes, not foreign keys: an event must outlive (and never cascade with) the rows it
describes, and the log sits on the ground floor so that every other package can write to it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(Exception):
    pass


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):  # type: ignore[override]
        raise AppendOnlyError("audit events cannot be updated")

    def delete(self):  # type: ignore[override]
        raise AppendOnlyError("audit events cannot be deleted")


class AuditEvent(models.Model):
    seq = models.BigIntegerField(_("序号"), unique=True)
    created = models.DateTimeField(_("时间"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_name = models.CharField(_("操作人姓名"), max_length=150, blank=True)
    role_key = models.CharField(_("角色"), max_length=64, blank=True)
    area_code = models.CharField(_("区划"), max_length=12, blank=True)
    action = models.CharField(_("动作"), max_length=64, db_index=True)
    procedure_key = models.CharField(_("事项"), max_length=64, blank=True)
    case_id = models.BigIntegerField(_("案件"), null=True, blank=True, db_index=True)
    task_id = models.BigIntegerField(_("任务"), null=True, blank=True)
    diff = models.JSONField(_("数据变更"), default=list, blank=True)
    data = models.JSONField(_("详情"), default=dict, blank=True)
    client_address = models.GenericIPAddressField(_("客户端地址"), null=True, blank=True)
    prev_hash = models.CharField(_("前一哈希"), max_length=64)
    hash = models.CharField(_("哈希"), max_length=64)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("审计事件")
        verbose_name_plural = _("审计事件")
        ordering = ["seq"]
        indexes = [
            models.Index(
                fields=["area_code"], name="audit_area_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["actor", "created"], name="audit_actor_created_idx"),
            models.Index(fields=["procedure_key", "created"], name="audit_proc_created_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action}"

    def save(self, *args, **kwargs):  # type: ignore[override]
        if not self._state.adding:
            raise AppendOnlyError("audit events cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[override]
        raise AppendOnlyError("audit events cannot be deleted")


class AuditChainHead(models.Model):
    """One row holding the last sequence number and hash. Writers lock it, so the chain stays a line."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    class Meta:
        verbose_name = _("审计链头")
        verbose_name_plural = _("审计链头")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"
