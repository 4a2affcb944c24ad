"""The scope matrix: who sees which cases, tasks and audit events through the API, and 403 everywhere else."""

from __future__ import annotations

import pytest

from tests.api.conftest import open_task_id

# Who may see each case (any role whose area covers the case's village).
SEES_A = {
    "clerk_a",
    "reviewer_x",
    "leader_x",
    "approver",
    "cashier",
    "supervisor",
    "supervisor_x",
    "designer",
}
SEES_C = {"clerk_c", "reviewer_y", "approver", "cashier", "supervisor", "designer"}
MATRIX = [
    "clerk_a",
    "clerk_b",
    "clerk_c",
    "reviewer_x",
    "reviewer_y",
    "approver",
    "supervisor",
    "supervisor_x",
]


@pytest.mark.parametrize("who", MATRIX)
def test_case_list_and_detail_follow_the_area_subtree(who, cases, api):
    client = api(who)
    listed = {row["id"] for row in client.get("/api/v1/cases/").json()["results"]}
    expected = {cases[k].pk for k, seers in (("a", SEES_A), ("c", SEES_C)) if who in seers}
    assert listed == expected
    for key, seers in (("a", SEES_A), ("c", SEES_C)):
        case_id = cases[key].pk
        for suffix in ("", "data/", "history/", "tasks/"):
            response = client.get(f"/api/v1/cases/{case_id}/{suffix}")
            if who in seers:
                assert response.status_code == 200, (who, key, suffix, response.json())
            else:
                assert response.status_code == 403, (who, key, suffix)
                assert response.json()["code"] == "forbidden"


def test_a_case_that_does_not_exist_answers_like_one_out_of_scope(cases, api):
    client = api("clerk_a")
    for url in ("/api/v1/cases/999999/", "/api/v1/cases/999999/data/", "/api/v1/cases/999999/history/"):
        response = client.get(url)
        assert (
            response.status_code == 403
            and response.json() == client.get(f"/api/v1/cases/{cases['c'].pk}/").json()
        )


# A task's page is open to whoever sees its case (as on the web); only its role's holders may act on it.
READS_REVIEW_A = SEES_A


@pytest.mark.parametrize("who", MATRIX)
def test_task_detail_queue_and_inbox(who, cases, api):
    client = api(who)
    review_a, review_c = open_task_id(cases["a"]), open_task_id(cases["c"])
    response = client.get(f"/api/v1/tasks/{review_a}/")
    assert response.status_code == (200 if who in READS_REVIEW_A else 403)
    queue = {row["id"] for row in client.get("/api/v1/tasks/queue/").json()["results"]}
    expected = {review_a} if who == "reviewer_x" else {review_c} if who == "reviewer_y" else set()
    assert queue == expected
    assert client.get("/api/v1/tasks/inbox/").json()["results"] == []


@pytest.mark.parametrize("who", ["reviewer_y", "clerk_c", "supervisor_x", "approver"])
def test_task_urls_of_another_township_are_forbidden(who, cases, api):
    client = api(who)
    review_a = open_task_id(cases["a"]) if who != "supervisor_x" else open_task_id(cases["c"])
    for action, body in (
        ("claim", None),
        ("unclaim", None),
        ("complete", {"data": {"decision": "approve"}}),
        ("reassign", {"to_user": who}),
    ):
        response = client.post(f"/api/v1/tasks/{review_a}/{action}/", body, format="json")
        assert response.status_code == 403, (who, action, response.json())
        assert response.json()["code"] == "forbidden"
    detail = client.get(f"/api/v1/tasks/{review_a}/")
    if who == "approver":  # the county sees the case and its task, but may not act on it
        assert detail.status_code == 200 and detail.json()["may_act"] is False
    else:
        assert detail.status_code == 403


def test_unknown_task_ids_answer_403_not_404(cases, api):
    client = api("reviewer_x")
    for action in ("claim", "unclaim", "complete", "reassign"):
        response = client.post(f"/api/v1/tasks/987654/{action}/", {}, format="json")
        assert response.status_code == 403, action
    assert client.get("/api/v1/tasks/987654/").status_code == 403


def test_claimed_task_leaves_the_queue_for_the_inbox_only_of_its_claimant(cases, api):
    review_a = open_task_id(cases["a"])
    x = api("reviewer_x")
    assert x.post(f"/api/v1/tasks/{review_a}/claim/").status_code == 200
    assert [t["id"] for t in x.get("/api/v1/tasks/inbox/").json()["results"]] == [review_a]
    assert x.get("/api/v1/tasks/queue/").json()["results"] == []
    assert api("reviewer_y").get("/api/v1/tasks/inbox/").json()["results"] == []


def _case_ids(response) -> set:
    return {row["case_id"] for row in response.json()["results"]} - {None}


def test_audit_events_follow_the_supervisors_area(cases, api):
    everything = api("supervisor").get("/api/v1/audit/events/?page_size=200")
    assert everything.status_code == 200
    assert _case_ids(everything) == {cases["a"].pk, cases["c"].pk}
    township = api("supervisor_x").get("/api/v1/audit/events/?page_size=200")
    assert township.status_code == 200
    assert _case_ids(township) == {cases["a"].pk}
    assert all(row["area_code"].startswith("371727100") for row in township.json()["results"])
    # Filtering on another township's case finds nothing, it does not widen the scope.
    assert api("supervisor_x").get(f"/api/v1/audit/events/?case_id={cases['c'].pk}").json()["count"] == 0


@pytest.mark.parametrize("who", ["clerk_a", "reviewer_x", "approver", "designer"])
def test_audit_search_and_export_are_for_supervisors_only(who, cases, api):
    client = api(who)
    for url in ("/api/v1/audit/events/", "/api/v1/audit/events/export.csv"):
        response = client.get(url)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_case_history_keeps_to_the_readers_scope(cases, api):
    # The approver (county) sees case C's history; reviewer_x does not, though the event ids are sequential.
    assert api("approver").get(f"/api/v1/cases/{cases['c'].pk}/history/").status_code == 200
    assert api("reviewer_x").get(f"/api/v1/cases/{cases['c'].pk}/history/").status_code == 403
