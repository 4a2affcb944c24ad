"""Starting cases and working tasks through the API: the engine services behind it, errors by JSON path."""

from __future__ import annotations

import copy

from govflow.audit.models import AuditEvent
from tests.api.conftest import PROCEDURE, VILLAGE_A, VILLAGE_C, open_task_id
from tests.workflows.conftest import load


def start(client, area=VILLAGE_A, **data):
    body = {"procedure": PROCEDURE, "area": area, "data": {"applicant": "王五", "amount": 80, **data}}
    return client.post("/api/v1/cases/", body, format="json")


def test_clerk_starts_a_case_and_gets_its_detail(every_kind, api):
    response = start(api("clerk_a"))
    assert response.status_code == 201, response.json()
    case = response.json()
    assert case["reference"].startswith("371727-TK-") and case["status"] == "open"
    assert case["area_code"] == VILLAGE_A and case["started_by"] == "clerk_a" and case["version"] == 1
    assert [t["node"] for t in case["open_tasks"]] == ["review"]
    assert case["open_tasks"][0]["role"] == "township_reviewer"
    assert case["open_tasks"][0]["area_code"] == "371727100"
    assert AuditEvent.objects.filter(action="case.started", case_id=case["id"]).exists()


def test_form_errors_come_back_by_json_path_of_the_body(every_kind, api):
    response = api("clerk_a").post(
        "/api/v1/cases/",
        {"procedure": PROCEDURE, "area": VILLAGE_A, "data": {"applicant": "张"}},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "form_invalid" and body["message"]
    assert set(body["field_errors"]) == {"data/applicant", "data/amount"}
    assert all(isinstance(m, str) for ms in body["field_errors"].values() for m in ms)


def test_request_shape_errors_use_the_same_error_shape(every_kind, api):
    response = api("clerk_a").post("/api/v1/cases/", {"area": "12345", "data": []}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["field_errors"]) == {"procedure", "area", "data"}


def test_starting_outside_ones_area_is_forbidden_and_unknown_procedure_is_404(every_kind, api):
    response = start(api("clerk_a"), area=VILLAGE_C)
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    response = api("clerk_a").post(
        "/api/v1/cases/", {"procedure": "no_such_thing", "area": VILLAGE_A}, format="json"
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_case_filters(cases, api):
    client = api("approver")
    assert client.get("/api/v1/cases/?area=371727101").json()["count"] == 1
    assert client.get("/api/v1/cases/?status=closed").json()["count"] == 0
    assert client.get("/api/v1/cases/?status=open&procedure=test_every_kind").json()["count"] == 2
    assert (
        client.get(f"/api/v1/cases/?reference={cases['a'].reference}").json()["results"][0]["id"]
        == cases["a"].pk
    )
    assert client.get("/api/v1/cases/?q=000002").json()["count"] == 1
    assert api("clerk_a").get("/api/v1/cases/?mine=true").json()["count"] == 1
    assert client.get("/api/v1/cases/?mine=true").json()["count"] == 0
    bad = client.get("/api/v1/cases/?status=lost&created_from=yesterday")
    assert bad.status_code == 400 and set(bad.json()["field_errors"]) == {"status", "created_from"}


def test_claim_unclaim_complete_and_the_engine_moves_on(cases, api):
    review = open_task_id(cases["a"])
    x = api("reviewer_x")
    claimed = x.post(f"/api/v1/tasks/{review}/claim/")
    assert claimed.status_code == 200 and claimed.json()["owner"] == "reviewer_x"
    assert claimed.json()["status"] == "ASSIGNED"
    unclaimed = x.post(f"/api/v1/tasks/{review}/unclaim/")
    assert unclaimed.status_code == 200 and unclaimed.json()["owner"] is None
    detail = x.get(f"/api/v1/tasks/{review}/").json()
    assert detail["may_act"] is True and detail["form_definition"]["key"] == "t_review"
    assert "decision" in detail["form_definition"]["schema"]["properties"]
    done = x.post(f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "approve"}}, format="json")
    assert done.status_code == 200, done.json()
    assert done.json()["status"] == "DONE" and done.json()["owner"] == "reviewer_x"
    case = x.get(f"/api/v1/cases/{cases['a'].pk}/").json()
    assert sorted(t["node"] for t in case["open_tasks"]) == ["check_a", "check_b"]
    check_a = open_task_id(cases["a"], "check_a")
    assert [t["id"] for t in api("leader_x").get("/api/v1/tasks/queue/").json()["results"]] == [check_a]
    history = x.get(f"/api/v1/cases/{cases['a'].pk}/history/").json()["results"]
    actions = [e["action"] for e in history]
    assert actions[0] == "case.started"
    assert {"task.claimed", "task.unclaimed", "task.completed"} <= set(actions)


def test_completing_a_done_task_is_a_conflict(cases, api):
    review = open_task_id(cases["a"])
    x = api("reviewer_x")
    assert (
        x.post(
            f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "reject"}}, format="json"
        ).status_code
        == 200
    )
    again = x.post(f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "reject"}}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert x.post(f"/api/v1/tasks/{review}/claim/").status_code == 409
    assert x.get(f"/api/v1/cases/{cases['a'].pk}/").json()["status"] == "closed"


def test_a_task_claimed_by_a_colleague_is_a_conflict_for_the_other(cases, api, make_user):
    colleague = make_user("reviewer_x2", ("township_reviewer", "371727100"))
    review = open_task_id(cases["a"])
    other = api()
    other.force_login(colleague)
    assert other.post(f"/api/v1/tasks/{review}/claim/").status_code == 200
    response = api("reviewer_x").post(f"/api/v1/tasks/{review}/claim/")
    assert response.status_code == 409 and response.json()["code"] == "conflict"
    response = api("reviewer_x").post(
        f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "reject"}}, format="json"
    )
    assert response.status_code == 409 and response.json()["code"] == "conflict"


def test_task_form_errors_by_json_path(cases, api):
    review = open_task_id(cases["a"])
    response = api("reviewer_x").post(
        f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "maybe", "note": "x" * 501}}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["field_errors"]) == {"data/decision", "data/note"}
    assert api("reviewer_x").get(f"/api/v1/tasks/{review}/").json()["status"] == "NEW"


def test_supervisor_reassigns_to_a_holder_of_the_role(cases, api, make_user):
    make_user("reviewer_x2", ("township_reviewer", "371727100"))
    review = open_task_id(cases["a"])
    sup = api("supervisor_x")
    candidates = sup.get(f"/api/v1/tasks/{review}/candidates/")
    assert candidates.status_code == 200
    assert [c["username"] for c in candidates.json()] == ["reviewer_x", "reviewer_x2"]
    response = sup.post(f"/api/v1/tasks/{review}/reassign/", {"to_user": "reviewer_x2"}, format="json")
    assert response.status_code == 200 and response.json()["owner"] == "reviewer_x2"
    wrong = sup.post(f"/api/v1/tasks/{review}/reassign/", {"to_user": "clerk_a"}, format="json")
    assert wrong.status_code == 400 and list(wrong.json()["field_errors"]) == ["to_user"]
    nobody = sup.post(f"/api/v1/tasks/{review}/reassign/", {"to_user": "ghost"}, format="json")
    assert nobody.status_code == 400 and list(nobody.json()["field_errors"]) == ["to_user"]
    missing = sup.post(f"/api/v1/tasks/{review}/reassign/", {}, format="json")
    assert missing.status_code == 400 and list(missing.json()["field_errors"]) == ["to_user"]
    # Staff cannot reassign, nor list candidates.
    assert (
        api("reviewer_x")
        .post(f"/api/v1/tasks/{review}/reassign/", {"to_user": "reviewer_x"}, format="json")
        .status_code
        == 403
    )
    assert api("reviewer_x").get(f"/api/v1/tasks/{review}/candidates/").status_code == 403


def test_a_failing_step_is_422_and_saves_nothing(staff, every_kind, api):
    from govflow.workflows.services import workflow_import

    broken = copy.deepcopy(load("every_kind.json"))
    calc = next(n for n in broken["nodes"] if n["id"] == "calc")
    calc["set"][0]["expr"] = "100 / (apply.amount - 5)"
    workflow_import(document=broken)
    case_id = start(api("clerk_a"), amount=5).json()["id"]
    review = api("reviewer_x").get(f"/api/v1/cases/{case_id}/").json()["open_tasks"][0]["id"]
    response = api("reviewer_x").post(
        f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "approve"}}, format="json"
    )
    assert response.status_code == 422 and response.json()["code"] == "step_failed"
    task = api("reviewer_x").get(f"/api/v1/tasks/{review}/").json()
    assert task["status"] == "NEW" and task["last_error"]["message"]


def test_case_data_is_masked_unless_revealed_and_revealing_is_audited(every_kind, api):
    case_id = start(api("clerk_a"), applicant="赵六 13812345678").json()["id"]
    masked = api("reviewer_x").get(f"/api/v1/cases/{case_id}/data/").json()
    assert masked["masked"] is True and masked["data"]["apply"]["applicant"] == "赵六 138****5678"
    assert masked["data"]["case"]["area"] == VILLAGE_A
    revealed = api("reviewer_x").get(f"/api/v1/cases/{case_id}/data/?reveal=true").json()
    assert revealed["masked"] is False and revealed["data"]["apply"]["applicant"] == "赵六 13812345678"
    event = AuditEvent.objects.get(action="personal_data.viewed", case_id=case_id)
    assert event.data == {"field": "apply/applicant"} and event.actor.username == "reviewer_x"
    # The supervisor's role does not see personal data: reading is fine, revealing is not.
    assert api("supervisor").get(f"/api/v1/cases/{case_id}/data/").json()["masked"] is True
    assert api("supervisor").get(f"/api/v1/cases/{case_id}/data/?reveal=1").status_code == 403


def test_case_tasks_lists_open_and_finished_human_tasks(cases, api):
    review = open_task_id(cases["a"])
    api("reviewer_x").post(
        f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "approve"}}, format="json"
    )
    rows = api("clerk_a").get(f"/api/v1/cases/{cases['a'].pk}/tasks/").json()["results"]
    assert [(r["node"], r["status"]) for r in rows][0] == ("review", "DONE")
    assert {r["node"] for r in rows} == {"review", "check_a", "check_b"}
