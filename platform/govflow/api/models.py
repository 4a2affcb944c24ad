"""Webhooks: subscriptions of other systems to case events, and the deliveries made to them.

The logic (matching audit events, signing, sending, retrying) lives in govflow.api.webhooks.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

WEBHOOK_EVENTS = ("case.started", "task.completed", "case.ended")


class WebhookSubscription(models.Model):
    """A URL that receives signed POSTs for some events of some procedures (no procedures = all)."""

    url = models.URLField(_("地址"), max_length=500)
    secret = models.CharField(_("密钥"), max_length=128)
    procedures = models.JSONField(_("事项"), default=list, blank=True)
    events = models.JSONField(_("事件"), default=list)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    active = models.BooleanField(_("启用"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated = models.DateTimeField(_("修改时间"), auto_now=True)

    class Meta:
        verbose_name = _("推送订阅")
        verbose_name_plural = _("推送订阅")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.url

    def matches(self, *, action: str, procedure_key: str) -> bool:
        return action in self.events and (not self.procedures or procedure_key in self.procedures)


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one subscription; each attempt is appended to `attempts_log`."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        DELIVERED = "delivered", _("已送达")
        FAILED = "failed", _("发送失败")

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("推送订阅"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_seq = models.BigIntegerField(_("审计序号"))
    event = models.CharField(_("事件"), max_length=64)
    payload = models.JSONField(_("内容"), default=dict)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(_("最近状态码"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    attempts_log = models.JSONField(_("尝试记录"), default=list, blank=True)
    created = models.DateTimeField(_("创建时间"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("推送记录")
        verbose_name_plural = _("推送记录")
        ordering = ["-pk"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "event_seq"], name="api_webhook_delivery_once"),
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="api_webhook_due_idx")]

    def __str__(self) -> str:
        return f"#{self.event_seq} {self.event} -> {self.subscription_id}"
