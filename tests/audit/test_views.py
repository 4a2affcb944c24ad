"""Supervisor pages and exports: scope, masking, readable diffs, streaming, timeline, verification."""

from __future__ import annotations

import csv
import io
import sys
import types

import pytest

from govflow.audit.models import AuditEvent
from govflow.audit.services import audit_record

ID_CARD = "340521198203150026"
MOBILE = "13812345678"


def _write_events():
    audit_record(
        action="case.data_changed",
        area_code="371727100201",
        procedure_key="fee",
        case_id=11,
        diff=[{"path": "applicant/id_card", "old": None, "new": ID_CARD}],
        data={"note": "MARK-X", "mobile": MOBILE},
    )
    audit_record(
        action="case.data_changed",
        area_code="371727101201",
        procedure_key="fee",
        case_id=22,
        data={"note": "MARK-Y"},
    )
    audit_record(action="definition.published", data={"note": "MARK-NOAREA"})


def _csv_text(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode("utf-8")


def _xlsx_text(response) -> str:
    from openpyxl import load_workbook

    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return "\n".join(
        "|".join("" if v is None else str(v) for v in row) for row in sheet.iter_rows(values_only=True)
    )


@pytest.fixture
def events(staff):
    _write_events()


def test_event_list_shows_only_own_township_when_township_supervisor(client, staff, events):
    client.force_login(staff["supervisor_x"])
    html = client.get("/audit/events/").content.decode()
    assert "MARK-X" in html
    assert "MARK-Y" not in html and "MARK-NOAREA" not in html


def test_event_list_shows_everything_when_county_supervisor(client, staff, events):
    client.force_login(staff["supervisor"])
    html = client.get("/audit/events/").content.decode()
    assert "MARK-X" in html and "MARK-Y" in html and "MARK-NOAREA" in html


def test_csv_export_is_scoped_when_township_supervisor(client, staff, events):
    client.force_login(staff["supervisor_x"])
    text = _csv_text(client.get("/audit/events/export.csv"))
    assert "MARK-X" in text
    assert "MARK-Y" not in text and "MARK-NOAREA" not in text


def test_xlsx_export_is_scoped_when_township_supervisor(client, staff, events):
    client.force_login(staff["supervisor_x"])
    text = _xlsx_text(client.get("/audit/events/export.xlsx"))
    assert "MARK-X" in text
    assert "MARK-Y" not in text and "MARK-NOAREA" not in text


@pytest.mark.parametrize(
    "url",
    [
        "/audit/events/",
        "/audit/events/export.csv",
        "/audit/events/export.xlsx",
        "/reports/",
        "/audit/verify/",
    ],
)
def test_supervisor_pages_refuse_403_when_village_clerk(client, staff, events, url):
    client.force_login(staff["clerk_a"])
    response = client.get(url)
    assert response.status_code == 403
    assert b"MARK-X" not in response.content


def test_supervisor_pages_redirect_to_login_when_anonymous(client, events):
    assert client.get("/audit/events/").status_code == 302


def test_csv_export_streams_bom_header_and_one_row_per_event_when_filtered(client, staff, events):
    client.force_login(staff["supervisor"])
    response = client.get("/audit/events/export.csv", {"action": "case.data_changed"})
    assert response["Content-Type"].startswith("text/csv")
    text = _csv_text(response)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0] == "序号" and "数据变更" in rows[0]
    assert len(rows) == 3  # header + the two data changes (not the export event, not the definition)


def test_xlsx_export_opens_with_openpyxl_when_downloaded(client, staff, events):
    client.force_login(staff["supervisor"])
    response = client.get("/audit/events/export.xlsx", {"case_id": 11})
    assert response["Content-Disposition"].startswith("attachment")
    text = _xlsx_text(response)
    lines = text.splitlines()
    assert lines[0].startswith("序号|时间|操作人")
    assert len(lines) == 2 and "MARK-X" in lines[1]


def test_export_writes_an_audit_event_when_downloaded(client, staff, events):
    client.force_login(staff["supervisor"])
    _csv_text(client.get("/audit/events/export.csv", {"procedure": "fee"}))
    event = AuditEvent.objects.get(action="audit.exported")
    assert event.data["kind"] == "csv" and event.data["filters"]["procedure"] == "fee"


def test_ids_and_mobiles_masked_in_list_and_exports_when_user_lacks_personal_data_role(client, staff, events):
    client.force_login(staff["supervisor"])
    html = client.get("/audit/events/").content.decode()
    csv_text = _csv_text(client.get("/audit/events/export.csv"))
    xlsx_text = _xlsx_text(client.get("/audit/events/export.xlsx"))
    for text in (html, csv_text, xlsx_text):
        assert ID_CARD not in text and MOBILE not in text
        assert "3405**********0026" in text and "138****5678" in text


def test_ids_shown_in_full_when_user_also_holds_personal_data_role(client, county, make_user):
    _write_events()
    user = make_user("sup_full", ("supervisor", "371727"), ("county_approver", "371727"))
    client.force_login(user)
    html = client.get("/audit/events/").content.decode()
    assert ID_CARD in html and MOBILE in html


def test_event_list_filters_by_area_prefix_and_action_when_given(client, staff, events):
    client.force_login(staff["supervisor"])
    html = client.get("/audit/events/", {"area": "371727101", "action": "case.data_changed"}).content.decode()
    assert "MARK-Y" in html and "MARK-X" not in html and "MARK-NOAREA" not in html


def test_event_list_shows_nothing_when_date_range_excludes_events(client, staff, events):
    client.force_login(staff["supervisor"])
    html = client.get("/audit/events/", {"date_from": "2001-01-01", "date_to": "2001-12-31"}).content.decode()
    assert "MARK-X" not in html and "MARK-Y" not in html


@pytest.fixture
def fake_forms(monkeypatch):
    """Stands in for govflow.forms.selectors until the forms package ships it."""
    module = types.ModuleType("govflow.forms.selectors")

    class Version:
        schema = {
            "type": "object",
            "properties": {
                "spouses": {
                    "title": "配偶",
                    "type": "array",
                    "items": {"type": "object", "properties": {"id_card": {"title": "身份证号"}}},
                },
                "income": {"title": "家庭收入"},
            },
        }
        ui_schema = {"labels": {"income": "家庭人均收入（元）"}}

    def form_version_get(*, key, version):
        assert key == "fee_investigation" and str(version) == "3"
        return Version()

    module.form_version_get = form_version_get
    monkeypatch.setitem(sys.modules, "govflow.forms.selectors", module)
    return module


def test_timeline_shows_field_labels_and_old_to_new_when_form_known(client, staff, fake_forms):
    audit_record(
        action="task.completed",
        area_code="371727100201",
        case_id=7,
        diff=[
            {"path": "investigation/spouses/0/id_card", "old": None, "new": "11010519491231002X"},
            {"path": "investigation/income", "old": 8000, "new": 9000},
        ],
        data={"form_key": "fee_investigation", "form_version": 3, "data_key": "investigation"},
    )
    client.force_login(staff["supervisor_x"])
    html = client.get("/audit/cases/7/timeline/").content.decode()
    assert "配偶 › 第1项 › 身份证号" in html
    assert "家庭人均收入（元）" in html
    assert "8000" in html and "9000" in html and "→" in html
    assert "fee_investigation" not in html  # the label-lookup keys are not shown as details
    assert "1101**********002X" in html


def test_timeline_falls_back_to_raw_path_when_no_form(client, staff):
    audit_record(
        action="case.data_changed",
        area_code="371727100201",
        case_id=8,
        diff=[{"path": "applicant/name", "old": "张三", "new": "李四"}],
    )
    client.force_login(staff["supervisor_x"])
    html = client.get("/audit/cases/8/timeline/").content.decode()
    assert "applicant/name" in html and "张三" in html and "李四" in html
    assert "[{" not in html  # never raw JSON


def test_timeline_lists_case_events_in_order_when_staff_in_scope(client, staff):
    audit_record(action="case.started", area_code="371727101201", case_id=9)
    audit_record(action="task.completed", area_code="371727101201", case_id=9)
    audit_record(action="case.started", area_code="371727101201", case_id=10)
    client.force_login(staff["clerk_c"])
    response = client.get("/audit/cases/9/timeline/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html  # the htmx partial
    assert html.index("发起案件") < html.index("办理完成")
    assert html.count("timeline-item") == 2


def test_timeline_refused_403_when_case_outside_scope(client, staff):
    audit_record(action="case.started", area_code="371727101201", case_id=9)
    client.force_login(staff["supervisor_x"])
    assert client.get("/audit/cases/9/timeline/").status_code == 403
    client.force_login(staff["clerk_a"])
    assert client.get("/audit/cases/9/timeline/").status_code == 403


def test_timeline_404_when_case_has_no_events(client, staff):
    client.force_login(staff["supervisor"])
    assert client.get("/audit/cases/999/timeline/").status_code == 404


def test_verify_page_shows_ok_and_head_when_county_supervisor_runs_it(client, staff, events):
    client.force_login(staff["supervisor"])
    head = AuditEvent.objects.order_by("-seq").first()
    html = client.post("/audit/verify/").content.decode()
    assert "校验通过" in html
    assert head.hash in html


def test_verify_page_refused_when_township_supervisor(client, staff):
    client.force_login(staff["supervisor_x"])
    assert client.get("/audit/verify/").status_code == 403
