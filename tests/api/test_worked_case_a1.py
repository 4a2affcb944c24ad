"""Worked case A-1 of DOMAIN.md (社会抚养费, paid on time) driven entirely over the REST API with tokens.

Three token users work the shipped `social_fee` procedure: the village clerk of 甲村 starts the case, one
township user (township_reviewer and township_leader of 定陶镇) opens, investigates, notifies, approves
and serves, and one county user (county_approver and county_cashier of 定陶县) records the payment. Every
start, claim and complete is an API call with `Authorization: Token ...` (no session); the clock
(django.utils.timezone.now) is moved to the 2013 dates of the case and statutory timers pass through
`manage.py run_worker --once`, as in tests/procedures/test_social_fee.py.

A-1: rural, 2nd child born 2012-06, B = 7,000, H = 9,000 -> 35,000 each, 70,000 total. Served 2013-03-04,
due 2013-04-03, paid 2013-03-28 -> closed as paid.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

REPO = Path(__file__).resolve().parent.parent.parent
LIBRARY = [
    REPO / "roles" / "catalog.json",
    *sorted((REPO / "forms").glob("social_fee_*.json")),
    REPO / "workflows" / "social_fee.json",
]

API = "/api/v1"
VILLAGE = "371727100201"  # 甲村
TOWNSHIP = "371727100"  # 定陶镇
COUNTY = "371727"  # 定陶县
HUSBAND = {"name": "王建国", "id_card": "371727198505121238", "hukou": "rural"}
WIFE = {"name": "李秀英", "id_card": "371727198708201246", "hukou": "rural"}
OFFICERS = [
    {"name": "赵执法", "permit_no": "ZF-371727-001"},
    {"name": "钱执法", "permit_no": "ZF-371727-002"},
]


# --- clock and worker ------------------------------------------------------------------------------------


def at(day: str, time_of_day: str = "10:00") -> datetime:
    return timezone.make_aware(datetime.fromisoformat(f"{day}T{time_of_day}"))


@contextmanager
def clock(day: str, time_of_day: str = "10:00") -> Iterator[datetime]:
    moment = at(day, time_of_day)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def run_worker(day: str, time_of_day: str = "10:00") -> str:
    out = StringIO()
    with clock(day, time_of_day):
        call_command("run_worker", "--once", stdout=out)
    return out.getvalue().strip()


# --- token clients ---------------------------------------------------------------------------------------


def token_client(username: str) -> APIClient:
    """A client authenticated only by the token the API's own endpoint hands out for the password."""
    anonymous = APIClient()
    reply = anonymous.post(
        f"{API}/auth/token/", {"username": username, "password": "pw-" + username}, format="json"
    )
    assert reply.status_code == 201, reply.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {reply.json()['token']}")
    me = client.get(f"{API}/me/")
    assert me.status_code == 200 and me.json()["username"] == username, me.content
    assert "sessionid" not in client.cookies
    return client


def queued_task(client: APIClient, case_id: int, node: str) -> dict[str, Any]:
    reply = client.get(f"{API}/tasks/queue/", {"procedure": "social_fee", "page_size": 200})
    assert reply.status_code == 200, reply.content
    found = [t for t in reply.json()["results"] if t["case"]["id"] == case_id and t["node"] == node]
    assert len(found) == 1, (node, [(t["case"]["id"], t["node"]) for t in reply.json()["results"]])
    return found[0]


def act(client: APIClient, case_id: int, node: str, day: str, data: dict[str, Any]) -> dict[str, Any]:
    """On `day`: find the task of `node` in the queue, claim it, see it in the inbox, complete it."""
    with clock(day):
        task = queued_task(client, case_id, node)
        claimed = client.post(f"{API}/tasks/{task['id']}/claim/")
        assert claimed.status_code == 200, claimed.content
        assert claimed.json()["status"] == "ASSIGNED"
        inbox = client.get(f"{API}/tasks/inbox/").json()["results"]
        assert task["id"] in [t["id"] for t in inbox]
        done = client.post(f"{API}/tasks/{task['id']}/complete/", {"data": data}, format="json")
        assert done.status_code == 200, done.content
        assert done.json()["status"] == "DONE" and done.json()["node"] == node
    return done.json()


def open_nodes(client: APIClient, case_id: int) -> list[str]:
    reply = client.get(f"{API}/cases/{case_id}/")
    assert reply.status_code == 200, reply.content
    return sorted(t["node"] for t in reply.json()["open_tasks"])


# --- the case's data (as in tests/procedures/test_social_fee.py) -----------------------------------------


LEAD = {
    "reported_on": "2013-01-07",
    "parents": [HUSBAND, WIFE],
    "child_name": "王小宝",
    "child_birth_date": "2012-06-15",
    "child_order": 2,
    "marriage_status": "married",
    "summary": "村民王建国、李秀英夫妇于2012年6月生育第二个子女，未办理再生育审批。",
}
INVESTIGATION = {
    "investigated_on": "2013-01-25",
    "parties": [HUSBAND, WIFE],
    "marriage_status": "married",
    "child_name": "王小宝",
    "child_birth_date": "2012-06-15",
    "child_order": 2,
    "allowed_children": 1,
    "household_income": 9000,
    "evidence": ["marriage", "household_register", "birth_certificate", "income"],
    "violation": "excess_birth",
    "findings": "经核查户籍、婚育史及出生医学证明，该户政策内可生育一个子女，现生育第二个子女。",
}


def approve(day: str) -> dict[str, Any]:
    return {"decision": "approve", "opinion": "同意。", "signed_on": day}


@pytest.fixture
def procedure(county):
    from govflow.workflows.library import import_library

    import_library(LIBRARY)


@pytest.fixture
def clients(procedure, make_user) -> dict[str, APIClient]:
    make_user("clerk", ("village_clerk", VILLAGE))
    make_user("township", ("township_reviewer", TOWNSHIP), ("township_leader", TOWNSHIP))
    make_user("county_user", ("county_approver", COUNTY), ("county_cashier", COUNTY))
    return {name: token_client(name) for name in ("clerk", "township", "county_user")}


def test_a1_over_the_api_second_rural_child_35000_each_paid_on_time_closes_as_paid(clients):
    clerk, township, county_user = clients["clerk"], clients["township"], clients["county_user"]

    # 2013-01-07: the village clerk reports the lead and starts the case
    with clock("2013-01-07"):
        started = clerk.post(
            f"{API}/cases/", {"procedure": "social_fee", "area": VILLAGE, "data": LEAD}, format="json"
        )
    assert started.status_code == 201, started.content
    case = started.json()
    case_id = case["id"]
    assert case["reference"] == "371727-SF-2013-000001" and case["status"] == "open"
    assert [(t["node"], t["role"], t["area_code"]) for t in case["open_tasks"]] == [
        ("open", "township_reviewer", TOWNSHIP)
    ]

    # scope: the clerk sees the case of her village but may not work the township's task
    open_id = case["open_tasks"][0]["id"]
    with clock("2013-01-08"):
        assert clerk.get(f"{API}/tasks/queue/").json()["count"] == 0
        for verb in ("claim", "complete"):
            body = {"data": {}} if verb == "complete" else None
            denied = clerk.post(f"{API}/tasks/{open_id}/{verb}/", body, format="json")
            assert denied.status_code == 403, denied.content
            assert denied.json()["code"] == "forbidden"
    assert open_nodes(township, case_id) == ["open"]

    # the township opens the case (reviewer proposes, leader approves) and investigates
    opening = {"proposed_on": "2013-01-08", "summary": "涉嫌违法生育，拟立案调查。", "officers": OFFICERS}
    act(township, case_id, "open", "2013-01-08", opening)
    act(township, case_id, "open_approval", "2013-01-09", approve("2013-01-09"))
    act(township, case_id, "investigation", "2013-01-25", INVESTIGATION)

    # 告知书 served 2013-02-01; no defence within 3 working days
    assert open_nodes(township, case_id) == ["notice"]
    notice = {"notified_on": "2013-02-01", "receipt_no": "SD-2013-0001", "defence_result": "no_defence"}
    act(township, case_id, "notice", "2013-02-07", notice)
    act(township, case_id, "decision_approval", "2013-02-25", approve("2013-02-25"))
    serve = {"served_on": "2013-03-04", "method": "direct", "receipt_no": "SD-2013-0002"}
    act(township, case_id, "serve", "2013-03-04", serve)

    assert open_nodes(county_user, case_id) == ["appeal", "filing", "payment"]
    data = county_user.get(f"{API}/cases/{case_id}/data/").json()["data"]
    assert [p["base"] for p in data["investigation"]["parties"]] == [7000, 7000]
    assert data["excess_order"] == 1
    assert data["fees"] == [35000, 35000] and data["fee_total"] == 70000
    assert data["served_on"] == "2013-03-04" and data["due_on"] == "2013-04-03"
    tasks = {t["node"]: t for t in county_user.get(f"{API}/cases/{case_id}/tasks/").json()["results"]}
    assert tasks["payment"]["role"] == "county_cashier" and tasks["payment"]["area_code"] == COUNTY
    assert tasks["payment"]["due"].startswith("2013-04-04T00:00:00")  # due at the end of 2013-04-03

    # the worker runs before the payment deadline: nothing changes for the payment
    run_worker("2013-03-27", "01:00")
    assert "payment" in open_nodes(county_user, case_id)
    assert county_user.get(f"{API}/cases/{case_id}/").json()["status"] == "open"

    # 2013-03-28: both spouses pay 35,000 each, within the 30 days
    payment = {
        "kind": "payment",
        "paid_on": "2013-03-28",
        "principal_a": 35000,
        "principal_b": 35000,
        "late_fee_a": 0,
        "late_fee_b": 0,
        "receipt_no": "PJ-2013-03-28",
    }
    act(county_user, case_id, "payment", "2013-03-28", payment)

    # a later worker run finds nothing left to do
    run_worker("2013-06-05", "01:00")

    detail = county_user.get(f"{API}/cases/{case_id}/")
    assert detail.status_code == 200, detail.content
    assert detail.json()["status"] == "closed" and detail.json()["outcome"] == "paid"
    assert detail.json()["open_tasks"] == []

    data = county_user.get(f"{API}/cases/{case_id}/data/").json()["data"]
    assert data["fees"] == [35000, 35000] and data["fee_total"] == 70000
    assert data["paid"] == [35000, 35000] and data["late_fees"] == [0, 0] and data["outstanding"] == 0

    history = township.get(f"{API}/cases/{case_id}/history/", {"page_size": 200})
    assert history.status_code == 200, history.content
    events = history.json()["results"]
    assert events[0]["action"] == "case.started" and events[0]["actor"] == "clerk"
    completed = [(e["actor"], e["task_id"]) for e in events if e["action"] == "task.completed"]
    done = {t["id"]: t["node"] for t in township.get(f"{API}/cases/{case_id}/tasks/").json()["results"]}
    steps = [(actor, done[task_id]) for actor, task_id in completed if task_id in done]
    assert steps == [
        ("township", "open"),
        ("township", "open_approval"),
        ("township", "investigation"),
        ("township", "notice"),
        ("township", "decision_approval"),
        ("township", "serve"),
        ("county_user", "payment"),
    ]
    claimed = [e["actor"] for e in events if e["action"] == "task.claimed"]
    assert claimed == ["township"] * 6 + ["county_user"]

    documents = county_user.get(f"{API}/cases/{case_id}/documents/")
    assert documents.status_code == 200, documents.content
    decisions = [d for d in documents.json()["results"] if d["key"] == "decision"]
    reference = case["reference"]
    assert [d["filename"] for d in decisions] == [
        f"征收决定书-{reference}-王建国.pdf",
        f"征收决定书-{reference}-李秀英.pdf",
    ]
    pdf = county_user.get(decisions[0]["url"])
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
