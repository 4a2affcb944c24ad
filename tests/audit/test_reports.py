"""Reports: the pure aggregations, where report sections come from, the dashboard's scope, its export, and
its note while cases are missing. The figures over real cases are in test_reports_cases.py."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from govflow.audit import reports


def test_percentile_interpolates_when_between_values():
    assert reports.percentile([1, 2, 3, 4], 0.5) == 2.5
    assert reports.percentile([10] * 9 + [100], 0.9) == pytest.approx(19.0)
    assert reports.percentile([], 0.5) is None


def test_step_times_gives_median_and_p90_hours_when_tasks_finished():
    t0 = dt.datetime(2013, 3, 4, 8, 0)
    rows = [("review", t0, t0 + dt.timedelta(hours=h)) for h in (1, 2, 3, 4, 10)] + [("open", t0, None)]
    assert reports.step_times(rows) == [{"step": "review", "count": 5, "median_hours": 3.0, "p90_hours": 7.6}]


def test_fee_by_township_adds_spouse_amounts_and_derives_outstanding_when_not_mapped():
    section = {"kind": "fee", "amounts": {"decided": "decision/amounts", "collected": "payment/paid"}}
    rows = [
        ("371727100201", {"decision": {"amounts": [35000, 35000]}, "payment": {"paid": "70000.00"}}),
        ("371727100202", {"decision": {"amounts": [35000, 35000]}, "payment": {"paid": 0}}),
        ("371727101201", {"decision": {"amounts": [70000]}}),
    ]
    result = reports.fee_by_township(rows, section)
    assert result[0]["township"] == "371727100"
    assert result[0]["decided"] == Decimal(140000) and result[0]["collected"] == Decimal(70000)
    assert result[0]["outstanding"] == Decimal(70000) and result[0]["cases"] == 2
    assert result[1]["township"] == "371727101" and result[1]["outstanding"] == Decimal(70000)


def test_assistance_by_year_counts_confirmed_only_when_states_mixed():
    section = {"kind": "assistance", "confirmed_states": ["confirmed"], "year": "year", "persons": "persons"}
    rows = [
        ("confirmed", None, {"year": 2012, "persons": [{"n": 1}, {"n": 2}]}),
        ("rejected", None, {"year": 2012, "persons": [{"n": 1}]}),
        ("confirmed", dt.datetime(2014, 5, 1, tzinfo=dt.UTC), {"persons": [{"n": 1}]}),
    ]
    assert reports.assistance_by_year(rows, section) == [
        {"year": "2012", "cases": 1, "persons": 2},
        {"year": "2014", "cases": 1, "persons": 1},
    ]


def test_fee_amounts_read_expressions_and_leave_out_cases_not_included():
    section = {
        "kind": "fee",
        "include": {"expr": "has(decided_on)"},
        "amounts": {
            "decided": "fees",
            "collected": {"expr": "has(paid) ? sum(paid) : 0"},
        },
    }
    assert reports.fee_amounts({"fees": [35000, 35000]}, section) is None  # proposed, not decided
    decided = {"fees": [35000, 35000], "decided_on": "2013-02-25"}
    assert reports.fee_amounts(decided, section) == {
        "decided": Decimal(70000),
        "collected": Decimal(0),
        "outstanding": Decimal(70000),
    }
    paid = {**decided, "paid": [35000, 35000]}
    assert reports.fee_amounts(paid, section)["outstanding"] == Decimal(0)


def test_fee_by_township_counts_unreadable_data_apart_when_an_expression_fails():
    section = {"kind": "fee", "amounts": {"decided": {"expr": "sum(fees)"}}}
    rows = [("371727100201", {"fees": [100]}), ("371727100202", {"other": 1})]
    [row] = reports.fee_by_township(rows, section)
    assert row["decided"] == Decimal(100) and row["cases"] == 1 and row["unreadable"] == 1


def test_assistance_by_year_adds_amounts_and_counts_persons_when_a_number():
    section = {"kind": "assistance", "year": "assist_year", "persons": "persons", "amount": "total_amount"}
    rows = [
        ("confirmed", None, {"assist_year": 2012, "persons": 2, "total_amount": 1920}),
        ("confirmed", None, {"assist_year": 2012, "persons": 0, "total_amount": 0}),
        ("stopped", None, {"assist_year": 2012, "persons": 1, "total_amount": 960}),
    ]
    assert reports.assistance_by_year(rows, section) == [
        {"year": "2012", "cases": 2, "persons": 2, "amount": Decimal(1920)}
    ]


def test_step_of_reads_the_node_id_from_a_stored_task_reference():
    assert reports.step_of("workflows/flows.V12_0123456789ab.n_court_apply") == "court_apply"
    assert reports.step_of(None) == ""


def test_step_filter_uses_the_compilers_node_attribute_names():
    from govflow.workflows.compiler import node_attr

    assert node_attr("review") == reports.NODE_PREFIX + "review"
    assert str(reports.step_q("review")) == "(AND: ('flow_task__endswith', '.n_review'))"


def test_report_sections_read_from_setting_when_no_published_version_declares_one(settings, db):
    settings.GOVFLOW_REPORTS = {"fee": {"kind": "fee", "amounts": {"decided": "d"}}}
    assert reports.report_sections()["fee"]["kind"] == "fee"


def test_report_sections_prefer_the_latest_published_version_over_the_setting(settings, db):
    from govflow.workflows.models import WorkflowDefinition, WorkflowVersion

    settings.GOVFLOW_REPORTS = {
        "levy": {"kind": "fee", "amounts": {"decided": "from_setting"}},
        "other": {"kind": "assistance"},
    }
    definition = WorkflowDefinition.objects.create(key="levy")

    def version(number: int, status: str, decided: str) -> None:
        document = {"key": "levy", "nodes": [], "edges": []}
        document["report"] = {"kind": "fee", "amounts": {"decided": decided}}
        WorkflowVersion.objects.create(
            definition=definition,
            key="levy",
            version=number,
            status=status,
            title_zh="征收",
            document=document,
            checksum=f"c{number}",
        )

    version(1, "retired", "v1")
    version(2, "published", "v2")
    version(3, "draft", "v3")
    sections = reports.report_sections()
    assert sections["levy"]["amounts"]["decided"] == "v2"
    assert sections["other"] == {"kind": "assistance"}


def test_dashboard_shows_note_when_cases_models_missing(client, staff, monkeypatch):
    monkeypatch.setattr(reports, "_models", lambda: None)
    client.force_login(staff["supervisor_x"])
    response = client.get("/reports/")
    assert response.status_code == 200
    assert "案件模块尚未提供数据模型" in response.content.decode()


def test_dashboard_refused_when_area_outside_supervisors_scope(client, staff):
    client.force_login(staff["supervisor_x"])
    assert client.get("/reports/", {"area": "371727101"}).status_code == 403
    assert client.get("/reports/cases/", {"area": "371727101"}).status_code == 403


def test_dashboard_export_opens_with_openpyxl_when_downloaded(client, staff):
    from openpyxl import load_workbook

    client.force_login(staff["supervisor"])
    response = client.get("/reports/export.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert workbook.sheetnames


def test_dashboard_page_loads_vendored_chartjs_when_rendered(client, staff):
    client.force_login(staff["supervisor"])
    html = client.get("/reports/").content.decode()
    assert "vendor/chartjs-4.4.9/chart.umd.js" in html and "cdn" not in html.lower()


def test_assistance_by_year_counts_unreadable_data_apart_when_an_expression_fails():
    section = {"kind": "assistance", "year": {"expr": "year(decided_on)"}}
    skipped: dict[str, int] = {}
    assert reports.assistance_by_year([("confirmed", None, {})], section, skipped) == []
    assert skipped == {"unreadable": 1}
