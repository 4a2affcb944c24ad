"""Webhooks: administrators register URLs; the worker sends signed case events after commit, with retries.

The receiver is a real HTTP server on 127.0.0.1 (a thread), so urllib, headers and timeouts are exercised.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from govflow.api import webhooks
from govflow.api.models import WebhookDelivery, WebhookSubscription
from govflow.audit.models import AuditEvent
from govflow.cases.services import case_start, task_complete

from .conftest import PROCEDURE, VILLAGE_A, open_task_id
from .test_auth_and_errors import assert_error


class Receiver:
    """Records every POST; answers with the next status of `statuses` (200 once they run out)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                code = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self) -> list[str]:
        return [json.loads(r["body"])["event"] for r in self.requests]


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def register(api, url: str, **fields) -> dict:
    response = api("designer").post("/api/v1/webhooks/", {"url": url, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def start_case(staff):
    return case_start(
        user=staff["clerk_a"],
        procedure_key=PROCEDURE,
        area_code=VILLAGE_A,
        data={"applicant": "张三", "amount": 100},
    )


def test_signed_post_a_receiver_can_verify(every_kind, staff, api, receiver):
    hook = register(api, receiver.url, events=["case.started"])
    assert len(hook["secret"]) == 64 and hook["procedures"] == [] and hook["events"] == ["case.started"]
    case = start_case(staff)
    assert receiver.requests == []  # nothing is sent from the request itself
    assert webhooks.sweep() == {"queued": 1, "tried": 1}
    [request] = receiver.requests
    body, headers = request["body"], request["headers"]
    expected = "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Govflow-Signature"] == expected
    assert webhooks.signature_valid(hook["secret"], body, headers["X-Govflow-Signature"])
    assert not webhooks.signature_valid("another secret", body, headers["X-Govflow-Signature"])
    assert headers["X-Govflow-Event"] == "case.started"
    assert headers["Content-Type"].startswith("application/json")
    payload = json.loads(body)
    event = AuditEvent.objects.get(action="case.started", case_id=case.pk)
    assert payload == {
        "event": "case.started",
        "seq": event.seq,
        "procedure": PROCEDURE,
        "case_id": case.pk,
        "task_id": None,
        "area": VILLAGE_A,
        "time": event.created.isoformat(),
        "data": event.data,
    }
    delivery = WebhookDelivery.objects.get()
    assert headers["X-Govflow-Delivery"] == str(delivery.pk)
    assert delivery.status == "delivered" and delivery.attempts == 1 and delivery.last_status_code == 200
    assert delivery.attempts_log[0]["status_code"] == 200 and delivery.attempts_log[0]["error"] == ""
    assert webhooks.sweep() == {"queued": 0, "tried": 0}  # sent once


def test_only_matching_procedures_and_events_are_delivered(every_kind, staff, api, receiver) -> None:
    ended = register(api, receiver.url + "/ended", procedures=[PROCEDURE], events=["case.ended"])
    other = register(api, receiver.url + "/other", procedures=["another_procedure"])
    register(api, receiver.url + "/all")
    paused = register(api, receiver.url + "/paused", active=False)
    case = start_case(staff)
    task_complete(user=staff["reviewer_x"], task_id=open_task_id(case), data={"decision": "reject"})
    webhooks.sweep()
    by_path: dict[str, list[str]] = {}
    for request in receiver.requests:
        by_path.setdefault(request["path"], []).append(json.loads(request["body"])["event"])
    in_seq_order = list(
        AuditEvent.objects.filter(
            case_id=case.pk, action__in=["case.started", "task.completed", "case.ended"]
        )
        .order_by("seq")
        .values_list("action", flat=True)
    )
    assert sorted(in_seq_order) == ["case.ended", "case.started", "task.completed"]
    assert by_path == {"/hook/ended": ["case.ended"], "/hook/all": in_seq_order}
    counts = {
        h["id"]: WebhookDelivery.objects.filter(subscription_id=h["id"]).count() for h in (other, paused)
    }
    assert counts == {other["id"]: 0, paused["id"]: 0}
    [completed] = [json.loads(r["body"]) for r in receiver.requests if b"task.completed" in r["body"]]
    assert completed["task_id"] and completed["data"] == {"node": "review"}
    # Enqueuing the same events again (cursor lost) creates no second delivery and sends nothing more.
    from govflow.workflows.models import Sequence

    Sequence.objects.filter(scope=webhooks.CURSOR).update(last=0)
    assert webhooks.sweep() == {"queued": 0, "tried": 0}
    assert WebhookDelivery.objects.filter(subscription_id=ended["id"]).count() == 1
    assert len(receiver.requests) == 4


def test_a_subscription_gets_only_events_recorded_after_it_was_created(every_kind, staff, api, receiver):
    start_case(staff)
    register(api, receiver.url)
    start_case(staff)
    webhooks.sweep()
    assert receiver.events() == ["case.started"]


def test_a_rolled_back_case_start_sends_nothing(every_kind, staff, api, receiver):
    register(api, receiver.url)

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        start_case(staff)
        raise Boom
    assert webhooks.sweep() == {"queued": 0, "tried": 0}
    assert receiver.requests == [] and not WebhookDelivery.objects.exists()
    start_case(staff)  # the next (committed) start reuses the sequence number and is sent
    webhooks.sweep()
    assert receiver.events() == ["case.started"]


def test_a_500_is_retried_with_backoff_until_it_succeeds(every_kind, staff, api, receiver):
    register(api, receiver.url)
    receiver.statuses = [500, 503]
    start_case(staff)
    t0 = timezone.now()
    webhooks.sweep(now=t0)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.last_status_code == 500
    assert delivery.next_attempt_at == t0 + dt.timedelta(minutes=1)
    assert webhooks.sweep(now=t0 + dt.timedelta(seconds=59)) == {"queued": 0, "tried": 0}
    webhooks.sweep(now=t0 + dt.timedelta(minutes=1))
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code == 503
    assert delivery.next_attempt_at == t0 + dt.timedelta(minutes=3)  # then 2 minutes
    assert webhooks.sweep(now=t0 + dt.timedelta(minutes=2)) == {"queued": 0, "tried": 0}
    webhooks.sweep(now=t0 + dt.timedelta(minutes=3))
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3 and delivery.next_attempt_at is None
    assert [a["status_code"] for a in delivery.attempts_log] == [500, 503, 200]
    assert delivery.attempts_log[0]["error"] == "HTTP 500"
    assert len(receiver.requests) == 3
    bodies = {r["body"] for r in receiver.requests}
    assert len(bodies) == 1  # every attempt sends the same signed body


def test_a_delivery_fails_after_the_last_attempt(every_kind, staff, api, receiver):
    register(api, receiver.url)
    receiver.statuses = [500] * 20
    start_case(staff)
    now = timezone.now()
    waits = []
    for _ in range(webhooks.MAX_ATTEMPTS):
        webhooks.sweep(now=now)
        delivery = WebhookDelivery.objects.get()
        if delivery.next_attempt_at is not None:
            waits.append(delivery.next_attempt_at - now)
            now = delivery.next_attempt_at
    assert waits == [dt.timedelta(minutes=2**n) for n in range(webhooks.MAX_ATTEMPTS - 1)]
    assert delivery.status == "failed" and delivery.attempts == webhooks.MAX_ATTEMPTS
    assert len(delivery.attempts_log) == webhooks.MAX_ATTEMPTS
    assert webhooks.sweep(now=now + dt.timedelta(days=1)) == {"queued": 0, "tried": 0}
    assert len(receiver.requests) == webhooks.MAX_ATTEMPTS


def test_an_unreachable_receiver_is_logged_and_retried(every_kind, staff, api, receiver):
    url = receiver.url
    receiver.close()  # nothing listens on that port any more
    register(api, url)
    start_case(staff)
    webhooks.sweep()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code is None and delivery.last_error
    assert delivery.attempts_log[0]["status_code"] is None


def test_deliver_webhooks_command_runs_one_sweep(every_kind, staff, api, receiver):
    register(api, receiver.url)
    start_case(staff)
    out = StringIO()
    call_command("deliver_webhooks", "--once", stdout=out)
    assert "queued 1" in out.getvalue() and "attempted 1" in out.getvalue()
    assert receiver.events() == ["case.started"]


# --- the API --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["clerk_a", "reviewer_x", "supervisor", "approver"])
def test_only_administrators_manage_webhooks(staff, api, name):
    client = api(name)
    assert_error(client.get("/api/v1/webhooks/"), 403, "forbidden")
    response = client.post("/api/v1/webhooks/", {"url": "https://example.cn/hook"}, format="json")
    assert_error(response, 403, "forbidden")
    sub = WebhookSubscription.objects.create(url="https://example.cn/x", secret="s", events=["case.ended"])
    assert_error(client.get(f"/api/v1/webhooks/{sub.pk}/deliveries/"), 403, "forbidden")
    assert_error(client.delete(f"/api/v1/webhooks/{sub.pk}/"), 403, "forbidden")
    assert WebhookSubscription.objects.filter(pk=sub.pk).exists()


def test_anonymous_is_401(staff, api):
    assert_error(api().get("/api/v1/webhooks/"), 401, "not_authenticated")
    assert_error(
        api().post("/api/v1/webhooks/", {"url": "https://example.cn/"}, format="json"),
        401,
        "not_authenticated",
    )


def test_superusers_manage_webhooks(county, api, make_user):
    root = make_user("root", is_superuser=True, is_staff=True)
    client = api()
    client.force_login(root)
    assert client.get("/api/v1/webhooks/").status_code == 200
    response = client.post("/api/v1/webhooks/", {"url": "https://example.cn/hook"}, format="json")
    assert response.status_code == 201


def test_create_list_change_and_delete(staff, api):
    designer = api("designer")
    hook = register(api, "https://example.cn/hook", procedures=["b", "a", "a"], description="县财政")
    assert hook["procedures"] == ["a", "b"]
    assert hook["events"] == ["case.started", "task.completed", "case.ended"]
    assert hook["created_by"] == "designer" and hook["active"] is True
    listed = designer.get("/api/v1/webhooks/").json()
    assert listed["count"] == 1 and "secret" not in listed["results"][0]
    assert "secret" not in designer.get(f"/api/v1/webhooks/{hook['id']}/").json()
    changed = designer.patch(
        f"/api/v1/webhooks/{hook['id']}/", {"events": ["case.ended"], "active": False}, format="json"
    ).json()
    assert changed["events"] == ["case.ended"] and changed["active"] is False and "secret" not in changed
    rotated = designer.patch(f"/api/v1/webhooks/{hook['id']}/", {"rotate_secret": True}, format="json").json()
    assert len(rotated["secret"]) == 64 and rotated["secret"] != hook["secret"]
    assert WebhookSubscription.objects.get().secret == rotated["secret"]
    deliveries = designer.get(f"/api/v1/webhooks/{hook['id']}/deliveries/?status=pending")
    assert deliveries.status_code == 200 and deliveries.json()["count"] == 0
    assert_error(designer.get(f"/api/v1/webhooks/{hook['id']}/deliveries/?status=x"), 400, "invalid")
    assert designer.delete(f"/api/v1/webhooks/{hook['id']}/").status_code == 204
    assert_error(designer.get(f"/api/v1/webhooks/{hook['id']}/"), 404, "not_found")
    actions = list(AuditEvent.objects.filter(action__startswith="webhook.").values_list("action", flat=True))
    assert actions == ["webhook.created", "webhook.updated", "webhook.updated", "webhook.deleted"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://example.cn/hook"}, "url"),
        ({"url": "ftp://example.cn/hook"}, "url"),
        ({"url": "https://user:pw@example.cn/hook"}, "url"),
        ({"url": "not a url"}, "url"),
        ({}, "url"),
        ({"url": "https://example.cn/hook", "events": ["case.deleted"]}, "events"),
        ({"url": "https://example.cn/hook", "events": []}, "events"),
        ({"url": "https://example.cn/hook", "procedures": ["不是键"]}, "procedures/0"),
    ],
)
def test_invalid_subscriptions_are_400(staff, api, body, field):
    response = api("designer").post("/api/v1/webhooks/", body, format="json")
    assert field in assert_error(response, 400, "invalid")["field_errors"]
    assert not WebhookSubscription.objects.exists()


def test_local_http_is_allowed_for_tests():
    assert webhooks.url_allowed("http://127.0.0.1:8080/x")
    assert webhooks.url_allowed("http://localhost/x")
    assert webhooks.url_allowed("https://example.cn/x")
    assert not webhooks.url_allowed("http://10.0.0.1/x")
    assert not webhooks.url_allowed("http://127.0.0.1:99999/x")
