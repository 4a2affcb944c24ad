"""Reports: the pure aggregations, the dashboard's scope, its export, and its note while cases are missing."""

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


def test_report_sections_read_from_setting_when_configured(settings):
    settings.GOVFLOW_REPORTS = {"fee": {"kind": "fee", "amounts": {"decided": "d"}}}
    assert reports.report_sections()["fee"]["kind"] == "fee"


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
