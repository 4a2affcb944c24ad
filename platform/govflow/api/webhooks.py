"""Webhooks: push case events (case.started, task.completed, case.ended) to other systems.

Nothing is sent from a request. `sweep()` (run by `manage.py deliver_webhooks`) does two things:

1. enqueue: reads the audit events after a cursor row (workflows.models.Sequence, as the deadline
   notifications do) and creates one WebhookDelivery per matching subscription and event. Audit events are
   numbered under the chain head's row lock in commit order, so the cursor only ever sees committed
   changes: a rolled-back case start leaves no event and sends nothing. (subscription, event seq) is
   unique, so enqueuing twice never sends twice.
2. deliver: POSTs each due delivery as JSON, signed with the subscription's secret
   (X-Govflow-Signature: sha256=<HMAC-SHA256 hex of the body>). A 2xx answer marks it delivered; anything
   else (other status, redirect, timeout, refused connection) is retried after 1, 2, 4 ... minutes, and
   after MAX_ATTEMPTS attempts it is failed. Every attempt is logged on the delivery.

Sending uses urllib.request (no extra dependency), never follows redirects, and times out after 5 s.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from govflow.audit.models import AuditEvent
from govflow.roles.models import CODE_LENGTH
from govflow.roles.selectors import user_grants
from govflow.workflows.models import Sequence

from .models import WEBHOOK_EVENTS, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

CURSOR = "cursor:webhooks"
MAX_ATTEMPTS = 8
TIMEOUT_SECONDS = 5.0
LOCAL_HOSTS = ("127.0.0.1", "localhost")
USER_AGENT = "govflow-webhooks/1"


# --- who may manage them, and what a valid subscription is ------------------------------------------------


def user_may_manage_webhooks(*, user: Any) -> bool:
    """Administrators: superusers, and designers whose role sits at county level."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    county = CODE_LENGTH["county"]
    return any(g.can_design and len(g.area_code) <= county for g in user_grants(user=user))


def url_allowed(url: str) -> bool:
    """https anywhere; plain http only to this machine (127.0.0.1, localhost), for tests and local relays."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return False
    if not parts.hostname or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and parts.hostname in LOCAL_HOSTS


def new_secret() -> str:
    return secrets.token_hex(32)


# --- signing --------------------------------------------------------------------------------------------


def body_bytes(payload: dict[str, Any]) -> bytes:
    """The exact bytes POSTed (and signed): compact UTF-8 JSON with sorted keys."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signature(secret: str, body: bytes) -> str:
    """The X-Govflow-Signature header value: "sha256=" + HMAC-SHA256 of the body, hex."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does (constant-time comparison)."""
    return hmac.compare_digest(signature(secret, body), header or "")


# --- enqueue --------------------------------------------------------------------------------------------


def event_payload(event: AuditEvent) -> dict[str, Any]:
    return {
        "event": event.action,
        "seq": event.seq,
        "procedure": event.procedure_key,
        "case_id": event.case_id,
        "task_id": event.task_id,
        "area": event.area_code,
        "time": event.created.isoformat(),
        "data": event.data or {},
    }


def enqueue(*, limit: int = 1000, now: dt.datetime | None = None) -> int:
    """Deliveries for the audit events after the cursor; returns how many were created.

    A subscription receives only events recorded after it was created (a new subscription does not get
    the whole history replayed).
    """
    now = now or timezone.now()
    with transaction.atomic():
        cursor, _created = Sequence.objects.select_for_update().get_or_create(scope=CURSOR)
        events = list(
            AuditEvent.objects.filter(action__in=WEBHOOK_EVENTS, seq__gt=cursor.last).order_by("seq")[:limit]
        )
        if not events:
            return 0
        subscriptions = list(WebhookSubscription.objects.filter(active=True))
        done = set(
            WebhookDelivery.objects.filter(event_seq__in=[e.seq for e in events]).values_list(
                "subscription_id", "event_seq"
            )
        )
        rows = [
            WebhookDelivery(
                subscription=sub,
                event_seq=event.seq,
                event=event.action,
                payload=event_payload(event),
                next_attempt_at=now,
            )
            for event in events
            for sub in subscriptions
            if event.created >= sub.created
            and sub.matches(action=event.action, procedure_key=event.procedure_key)
            and (sub.pk, event.seq) not in done
        ]
        WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)  # the unique pair guards races
        cursor.last = events[-1].seq
        cursor.save(update_fields=["last"])
        return len(rows)


# --- deliver --------------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx one: never follow it (the body is signed for one URL)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST the body; returns (status code or None, error text or "")."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(1024)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        return None, str(exc.reason)[:300]
    except (TimeoutError, OSError, ValueError) as exc:
        return None, (str(exc) or exc.__class__.__name__)[:300]


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the n-th failed attempt: 1, 2, 4 ... minutes."""
    return dt.timedelta(minutes=2 ** max(attempts - 1, 0))


def attempt(delivery: WebhookDelivery, *, now: dt.datetime | None = None) -> WebhookDelivery:
    """One attempt at one delivery: send, log, then mark delivered, reschedule, or fail."""
    now = now or timezone.now()
    sub = delivery.subscription
    body = body_bytes(delivery.payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-Govflow-Event": delivery.event,
        "X-Govflow-Delivery": str(delivery.pk),
        "X-Govflow-Signature": signature(sub.secret, body),
    }
    if url_allowed(sub.url):
        started = time.monotonic()
        code, error = post(sub.url, body, headers)
        elapsed_ms = int((time.monotonic() - started) * 1000)
    else:  # saved before the rule tightened, or edited in the admin: never send there
        code, error, elapsed_ms = None, "URL not allowed", 0
    delivery.attempts += 1
    delivery.last_status_code = code
    delivery.last_error = error[:500]
    delivery.attempts_log = [
        *delivery.attempts_log,
        {"at": now.isoformat(), "status_code": code, "error": error, "duration_ms": elapsed_ms},
    ]
    if code is not None and 200 <= code < 300:
        delivery.status = WebhookDelivery.Status.DELIVERED
        delivery.delivered_at = now
        delivery.next_attempt_at = None
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
        delivery.next_attempt_at = None
        logger.warning(
            "webhook delivery %s failed after %s attempts: %s", delivery.pk, delivery.attempts, error
        )
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "attempts_log",
            "status",
            "delivered_at",
            "next_attempt_at",
        ]
    )
    return delivery


def deliver_due(*, limit: int = 100, now: dt.datetime | None = None) -> int:
    """Attempt every pending delivery that is due (of active subscriptions); returns how many were tried.

    Each attempt holds its delivery's row lock (skipping rows another worker holds), so two workers never
    send the same attempt twice.
    """
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, subscription__active=True
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    tried = 0
    for pk in due:
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("subscription")
                .filter(pk=pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
                .first()
            )
            if delivery is None:
                continue
            attempt(delivery, now=now)
            tried += 1
    return tried


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """One pass of the webhook worker: enqueue new events, then attempt the due deliveries."""
    queued = enqueue(now=now)
    tried = deliver_due(now=now)
    return {"queued": queued, "tried": tried}
