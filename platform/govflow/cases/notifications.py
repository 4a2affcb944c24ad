"""E-mail for notifications, sent after the transaction that created them commits.

Mail goes out only when the deployment configured an outgoing server (EMAIL_HOST set in the settings) and the
user has an address. A failing mail server never breaks a step: errors are logged, the in-app notification
stays.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from .models import Notification

logger = logging.getLogger(__name__)


def email_configured() -> bool:
    """True when the settings name an outgoing mail server (Django's default "localhost" does not count)."""
    return bool(settings.is_overridden("EMAIL_HOST") and getattr(settings, "EMAIL_HOST", ""))


def notification_link(notification: Notification) -> str:
    if notification.task_id:
        return reverse("cases:task", args=[notification.task_id])
    if notification.case_id:
        return reverse("cases:case", args=[notification.case_id])
    return reverse("cases:notifications")


def notification_emails_send(notification_ids: Iterable[int]) -> int:
    """Send one message per notification whose user has an e-mail address; returns how many were sent."""
    if not email_configured():
        return 0
    rows = list(
        Notification.objects.filter(pk__in=list(notification_ids))
        .select_related("user", "case")
        .exclude(user__email="")
    )
    if not rows:
        return 0
    site = str(getattr(settings, "GOVFLOW_SITE_URL", "")).rstrip("/")
    messages = []
    with translation.override(settings.LANGUAGE_CODE):
        for n in rows:
            reference = n.case.reference if n.case is not None else ""
            subject = f"[govflow] {n.get_kind_display()} {reference}".strip()
            body = "\n".join(
                line
                for line in (
                    str(n.get_kind_display()),
                    _("案件编号：%(ref)s") % {"ref": reference} if reference else "",
                    n.text,
                    _("请登录办理：%(url)s") % {"url": site + notification_link(n)},
                )
                if line
            )
            messages.append(EmailMessage(subject=subject, body=body, to=[n.user.email]))
    try:
        return get_connection(fail_silently=False).send_messages(messages) or 0
    except Exception:
        logger.exception("sending %d notification e-mail(s) failed", len(messages))
        return 0
