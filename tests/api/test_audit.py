"""Audit search and CSV export for supervisors."""

from __future__ import annotations

import csv
import io

from govflow.audit.models import AuditEvent
from tests.api.conftest import open_task_id


def test_event_search_with_filters(cases, api):
    api("reviewer_x").post(f"/api/v1/tasks/{open_task_id(cases['a'])}/claim/")
    sup = api("supervisor")
    everything = sup.get("/api/v1/audit/events/").json()
    seqs = [row["seq"] for row in everything["results"]]
    assert seqs == sorted(seqs, reverse=True)
    claimed = sup.get("/api/v1/audit/events/?action=task.claimed").json()
    assert claimed["count"] == 1
    row = claimed["results"][0]
    assert row["actor"] == "reviewer_x" and row["role"] == "township_reviewer" and row["action_label"]
    assert row["hash"] and row["prev_hash"] and row["case_id"] == cases["a"].pk
    assert sup.get("/api/v1/audit/events/?action=case.").json()["count"] == 2
    assert sup.get("/api/v1/audit/events/?actor=reviewer_x&action=task.").json()["count"] == 1
    assert sup.get("/api/v1/audit/events/?area=371727101").json()["count"] >= 1
    in_y = sup.get("/api/v1/audit/events/?area=371727101").json()["results"]
    assert all(r["area_code"].startswith("371727101") for r in in_y)
    assert {r["case_id"] for r in in_y} - {None} == {cases["c"].pk}
    assert sup.get(f"/api/v1/audit/events/?case_id={cases['a'].pk}").json()["count"] == 2
    assert (
        sup.get("/api/v1/audit/events/?procedure=test_every_kind&date_from=2000-01-01").json()["count"] >= 4
    )
    assert sup.get("/api/v1/audit/events/?date_to=2000-01-01").json()["count"] == 0
    bad = sup.get("/api/v1/audit/events/?date_from=soon&case_id=x&area=abc")
    assert bad.status_code == 400 and set(bad.json()["field_errors"]) == {"date_from", "case_id", "area"}


def test_supervisors_see_personal_data_masked(every_kind, staff, api):
    from govflow.cases.services import case_start

    case_start(
        user=staff["clerk_a"],
        procedure_key="test_every_kind",
        area_code="371727100201",
        data={"applicant": "手机13812345678", "amount": 1},
    )
    row = api("supervisor").get("/api/v1/audit/events/?action=case.started").json()["results"][0]
    assert row["masked"] is True
    assert "13812345678" not in str(row) and "138****5678" in str(row)


def test_csv_export_streams_the_search_and_is_audited(cases, api):
    response = api("supervisor_x").get("/api/v1/audit/events/export.csv?action=case.started")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 2  # header + case A's start (case C is in the other township)
    assert rows[1][4] == "371727100201"
    export = AuditEvent.objects.get(action="audit.exported")
    assert export.actor.username == "supervisor_x" and export.data["via"] == "api"
    assert export.data["filters"] == {"action": "case.started"}


def test_csv_export_errors_are_json_whatever_the_accept_header(cases, api):
    response = api("supervisor").get("/api/v1/audit/events/export.csv?date_from=no", HTTP_ACCEPT="text/csv")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
