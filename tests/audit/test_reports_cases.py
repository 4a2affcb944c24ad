"""The supervisor reports over real cases of the shipped procedures, driven through govflow.cases.services.

The county of tests/conftest.py gets five cases, each run with the clock moved to its worked-case dates:

- A-1 (social_fee, 甲村 of 定陶镇): decided 70,000 (35,000 per spouse), paid in full on 2013-03-28 -> paid;
- A-2 (social_fee, 丙村 of 南王店镇): the same decision, served 2013-03-04, never paid: its filing (due
  2013-03-08) and payment (due at the end of 2013-04-03) are overdue on 2013-04-26;
- B-2 (assistance, 甲村): confirmed for 2012, two persons, 1,920 yuan; B-3 (assistance, 甲村): rejected;
- E-1 (the test procedure with every node kind, 甲村): started 2013-04-01, its township review overdue.

The engine stamps task and process times with viewflow's own `now` (imported into its modules) and the
models' `created` defaults, so `clock()` moves those too: the step times are then the worked dates.
The dashboard is read on 2013-04-26.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from unittest import mock
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone
from viewflow.workflow.models import Process, Task
from viewflow.workflow.status import STATUS

from govflow.audit import reports
from govflow.cases.services import case_start, task_claim, task_complete
from tests.procedures import test_assistance as assistance
from tests.procedures import test_social_fee as social_fee

REPO = Path(__file__).resolve().parent.parent.parent
DEFINITIONS = REPO / "tests" / "workflows" / "definitions"
LIBRARY = [
    REPO / "roles" / "catalog.json",
    *social_fee.FORMS,
    social_fee.WORKFLOW,
    *assistance.FORMS,
    assistance.WORKFLOW,
]
JIA = "371727100201"  # 甲村 of 定陶镇 (371727100)
BING = "371727101201"  # 丙村 of 南王店镇 (371727101)
REPORT_DAY = "2013-04-26"
SF = "社会抚养费征收"
JL = "计划生育家庭奖励扶助、特别扶助年度确认"
EVERY_KIND = "测试：全部节点类型"
VIEWFLOW_MODULES = [
    "viewflow.workflow.activation",
    "viewflow.workflow.base",
    *(
        f"viewflow.workflow.nodes.{name}"
        for name in (
            "boundary",
            "compensate",
            "end",
            "events",
            "func",
            "handle",
            "if_gate",
            "join",
            "split",
            "start",
            "switch",
            "timer",
            "view",
        )
    ),
]


# --- clock, worker, tasks --------------------------------------------------------------------------------


def at(day: str, time_of_day: str = "10:00") -> datetime:
    return timezone.make_aware(datetime.fromisoformat(f"{day}T{time_of_day}"))


@contextmanager
def clock(day: str, time_of_day: str = "10:00") -> Iterator[datetime]:
    """Django's and viewflow's clocks at that moment (viewflow imports `now` into its modules)."""
    moment = at(day, time_of_day)
    with ExitStack() as stack:
        stack.enter_context(mock.patch("django.utils.timezone.now", return_value=moment))
        for name in VIEWFLOW_MODULES:
            if hasattr(importlib.import_module(name), "now"):
                stack.enter_context(mock.patch(f"{name}.now", return_value=moment))
        for model in (Process, Task):
            created = model._meta.get_field("created")
            stack.enter_context(mock.patch.object(created, "_get_default", lambda: moment))
        yield moment


def run_worker(day: str, time_of_day: str = "10:00") -> str:
    out = io.StringIO()
    with clock(day, time_of_day):
        call_command("run_worker", "--once", stdout=out)
    return out.getvalue().strip()


def open_task(case, node_id: str) -> Task:
    found = [
        t
        for t in Task.objects.filter(process_id=case.pk, flow_task_type="HUMAN")
        if t.status in (STATUS.NEW, STATUS.ASSIGNED) and t.flow_task.node_id == node_id
    ]
    assert len(found) == 1, node_id
    return found[0]


def act(user, case, node_id: str, data: dict, day: str) -> None:
    with clock(day):
        task = open_task(case, node_id)
        task_claim(user=user, task_id=task.pk)
        task_complete(user=user, task_id=task.pk, data=data)


# --- the cases -------------------------------------------------------------------------------------------


def fee_case(staff, *, clerk, reviewer, leader, village, opened_on, approved_on, paid: bool):
    """A-1's case: lead 2013-01-07, decision 2013-02-25 (35,000 per spouse), served 2013-03-04."""
    with clock("2013-01-07"):
        case = case_start(user=clerk, procedure_key="social_fee", area_code=village, data=social_fee.lead())
    act(reviewer, case, "open", social_fee.opening(opened_on), opened_on)
    act(leader, case, "open_approval", social_fee.approve(approved_on), approved_on)
    act(reviewer, case, "investigation", social_fee.investigation(), "2013-01-25")
    notice = {"notified_on": "2013-02-01", "receipt_no": "SD-2013-0001", "defence_result": "no_defence"}
    act(reviewer, case, "notice", notice, "2013-02-07")
    act(leader, case, "decision_approval", social_fee.approve("2013-02-25"), "2013-02-25")
    served = {"served_on": "2013-03-04", "method": "direct", "receipt_no": "SD-2013-0002"}
    act(reviewer, case, "serve", served, "2013-03-04")
    if paid:
        act(staff["cashier"], case, "payment", social_fee.payment("2013-03-28", 35000, 35000), "2013-03-28")
    case.refresh_from_db()
    return case


def confirmed_assistance_case(staff):
    """B-2: two daughters, both parents 61, rural; confirmed and paid in March 2012 (960 each)."""
    review = assistance.review
    with clock("2012-03-01"):
        case = case_start(
            user=staff["clerk_a"],
            procedure_key="assistance",
            area_code=JIA,
            data=assistance.b2_application(),
        )
    act(
        staff["clerk_a"],
        case,
        "village_review",
        review("approve", "王村长", "2012-03-01", ("2012-03-02", "2012-03-08")),
        "2012-03-01",
    )
    run_worker("2012-03-09")
    act(
        staff["reviewer_x"],
        case,
        "township_review",
        review("approve", "刘审核", "2012-03-09", ("2012-03-10", "2012-03-16")),
        "2012-03-09",
    )
    run_worker("2012-03-17")
    act(
        staff["approver"],
        case,
        "county_review",
        review("approve", "赵局长", "2012-03-17", ("2012-03-18", "2012-03-24")),
        "2012-03-17",
    )
    paid = {"result": "paid", "paid_on": "2012-03-28", "voucher_no": "JL-2012-001", "bank": "农村信用社"}
    act(staff["cashier"], case, "payment", paid, "2012-03-28")
    case.refresh_from_db()
    return case


def rejected_assistance_case(staff):
    """B-3: one son and one daughter: refused by the eligibility check at once."""
    data = assistance.application(
        husband=assistance.person("陈国强", "1951-01-05", "031"),
        wife=assistance.person("周桂兰", "1951-03-08", "042"),
        children=[
            assistance.child("陈军", "M", "1975-05-01"),
            assistance.child("陈红", "F", "1978-07-01"),
        ],
    )
    with clock("2012-03-01"):
        case = case_start(user=staff["clerk_a"], procedure_key="assistance", area_code=JIA, data=data)
    case.refresh_from_db()
    return case


@pytest.fixture
def world(staff, make_user):
    from govflow.workflows.library import import_library

    import_library(LIBRARY)
    import_library([DEFINITIONS])
    leader_y = make_user("leader_y", ("township_leader", "371727101"))
    a1 = fee_case(
        staff,
        clerk=staff["clerk_a"],
        reviewer=staff["reviewer_x"],
        leader=staff["leader_x"],
        village=JIA,
        opened_on="2013-01-08",
        approved_on="2013-01-09",
        paid=True,
    )
    a2 = fee_case(
        staff,
        clerk=staff["clerk_c"],
        reviewer=staff["reviewer_y"],
        leader=leader_y,
        village=BING,
        opened_on="2013-01-10",
        approved_on="2013-01-11",
        paid=False,
    )
    b2 = confirmed_assistance_case(staff)
    b3 = rejected_assistance_case(staff)
    with clock("2013-04-01"):
        e1 = case_start(
            user=staff["clerk_a"],
            procedure_key="test_every_kind",
            area_code=JIA,
            data={"applicant": "张三", "amount": 100},
        )
    assert open_task(e1, "review").scheduled < at(REPORT_DAY)
    return {"A-1": a1, "A-2": a2, "B-2": b2, "B-3": b3, "E-1": e1, "staff": staff}


def board_at(user, day: str, time_of_day: str = "10:00", area: str | None = None) -> reports.Dashboard:
    with clock(day, time_of_day):
        return reports.dashboard(user=user, area_code=area)


def board(user, area: str | None = None) -> reports.Dashboard:
    return board_at(user, REPORT_DAY, area=area)


def figure(dashboard: reports.Dashboard, key: str) -> reports.Figure:
    found = dashboard.figure(key)
    assert found is not None, [f.key for f in dashboard.figures]
    return found


def drilled(client, link: str) -> set[str]:
    """The references of the cases the drill-down page lists for a figure's link."""
    with clock(REPORT_DAY):
        response = client.get(link)
    assert response.status_code == 200
    return {row["cells"][0] for row in response.context["page"].object_list}


def references(world, *names: str) -> set[str]:
    return {world[name].reference for name in names}


# --- the figures -----------------------------------------------------------------------------------------


def test_the_worked_cases_end_as_expected_and_a1_counts_70000_decided_and_paid(world):
    assert (world["A-1"].status, world["A-1"].outcome) == ("closed", "paid")
    assert (world["A-2"].status, world["A-2"].outcome) == ("open", "")
    assert (world["B-2"].status, world["B-2"].outcome) == ("closed", "confirmed")
    assert (world["B-3"].status, world["B-3"].outcome) == ("closed", "rejected")
    section = reports.report_sections()["social_fee"]
    assert reports.fee_amounts(world["A-1"].process.data, section) == {
        "decided": Decimal(70000),
        "collected": Decimal(70000),
        "outstanding": Decimal(0),
    }


def test_cases_by_procedure_and_state_drill_down_to_exactly_those_cases(world, client):
    staff = world["staff"]
    cases = figure(board(staff["supervisor"]), "cases")
    assert cases.columns == ["事项", "状态", "结果", "案件数"]
    assert cases.rows == [
        [JL, "已办结", "已确认并发放", 1],
        [JL, "已办结", "不予确认", 1],
        [SF, "已办结", "缴清结案", 1],
        [SF, "办理中", "", 1],
        [EVERY_KIND, "办理中", "", 1],
    ]
    assert cases.chart["values"] == [1, 1, 1, 1, 1]
    client.force_login(staff["supervisor"])
    behind = [drilled(client, link) for link in cases.links]
    assert behind == [
        references(world, "B-2"),
        references(world, "B-3"),
        references(world, "A-1"),
        references(world, "A-2"),
        references(world, "E-1"),
    ]


def test_overdue_tasks_by_township_and_step_appear_when_the_clock_passes_their_due_dates(world, client):
    supervisor = world["staff"]["supervisor"]
    # A-2's filing with the county is due at the end of 2013-03-07 (10 days after the decision).
    assert figure(board_at(supervisor, "2013-03-07", "23:00"), "overdue").rows == []
    assert figure(board_at(supervisor, "2013-03-08", "01:00"), "overdue").rows == [
        ["南王店镇", SF, "报县备案", 1]
    ]
    overdue = figure(board(supervisor), "overdue")
    assert overdue.columns == ["乡镇", "事项", "环节", "超期任务数"]
    assert overdue.rows == [
        ["定陶镇", EVERY_KIND, "乡镇审核", 1],
        ["南王店镇", SF, "报县备案", 1],
        ["南王店镇", SF, "缴款登记", 1],
    ]
    assert parse_qs(urlsplit(overdue.links[2]).query) == {
        "area": ["371727101"],
        "procedure": ["social_fee"],
        "step": ["payment"],
        "overdue": ["1"],
    }
    client.force_login(supervisor)
    assert [drilled(client, link) for link in overdue.links] == [
        references(world, "E-1"),
        references(world, "A-2"),
        references(world, "A-2"),
    ]


def test_median_and_p90_hours_per_step_in_the_order_of_the_definition(world, client):
    supervisor = world["staff"]["supervisor"]
    times = figure(board(supervisor), "step_times")
    assert times.columns == ["事项", "环节", "任务数", "中位数", "90分位"]
    assert [row[1] for row in times.rows] == [
        "立案呈批",
        "立案审批",
        "调查核实",
        "告知及陈述申辩",
        "征收决定审批",
        "送达征收决定书",
        "缴款登记",
    ]
    rows = {row[1]: row for row in times.rows}
    # 立案呈批: A-1 opened the day after the lead (24 h), A-2 three days after (72 h).
    assert rows["立案呈批"] == [SF, "立案呈批", 2, 48.0, 67.2]
    assert rows["调查核实"] == [SF, "调查核实", 2, 360.0, 379.2]  # 16 and 14 days
    assert rows["缴款登记"] == [SF, "缴款登记", 1, 576.0, 576.0]  # served 03-04, paid 03-28
    assert times.chart["values"][0] == 48.0 and times.chart["values2"][0] == 67.2
    client.force_login(supervisor)
    link = times.links[0]
    assert parse_qs(urlsplit(link).query)["step"] == ["open"]
    assert drilled(client, link) == references(world, "A-1", "A-2")
    assert drilled(client, times.links[-1]) == references(world, "A-1")
    # B-2's tasks finished in March 2012: outside the 365 days before 2013-04-26, inside them at the end of 2012.
    assert JL not in {row[0] for row in times.rows}
    late_2012 = figure(board_at(supervisor, "2012-12-31"), "step_times")
    assert [row[1] for row in late_2012.rows if row[0] == JL] == [
        "村民委员会审核",
        "乡（镇）审核",
        "县级确认",
        "资金发放登记",
    ]


def test_fees_decided_collected_and_outstanding_per_township(world, client):
    supervisor = world["staff"]["supervisor"]
    fees = figure(board(supervisor), "fees-social_fee")
    assert fees.title.endswith(SF)
    assert fees.columns == ["乡镇", "案件数", "决定", "已收", "未收"]
    assert fees.rows == [
        ["定陶镇", 1, Decimal(70000), Decimal(70000), Decimal(0)],  # decided 70,000 and paid
        ["南王店镇", 1, Decimal(70000), Decimal(0), Decimal(70000)],  # served, unpaid
    ]
    assert fees.note == ""
    assert fees.chart["values"] == [70000.0, 70000.0] and fees.chart["values3"] == [0.0, 70000.0]
    client.force_login(supervisor)
    assert [drilled(client, link) for link in fees.links] == [
        references(world, "A-1"),
        references(world, "A-2"),
    ]


def test_fees_leave_out_cases_without_a_decision(world, staff):
    with clock("2013-04-02"):
        case_start(
            user=staff["clerk_b"],
            procedure_key="social_fee",
            area_code="371727100202",
            data=social_fee.lead(),
        )
    fees = figure(board(staff["supervisor"]), "fees-social_fee")
    assert fees.rows[0] == ["定陶镇", 1, Decimal(70000), Decimal(70000), Decimal(0)]


def test_assistance_confirmed_per_year_drills_down_to_the_confirmed_case_only(world, client):
    supervisor = world["staff"]["supervisor"]
    confirmed = figure(board(supervisor), "assistance-assistance")
    assert confirmed.columns == ["年度", "确认案件数", "确认人数", "扶助金额（元）"]
    assert confirmed.rows == [["2012", 1, 2, Decimal(1920)]]
    client.force_login(supervisor)
    assert drilled(client, confirmed.links[0]) == references(world, "B-2")
    stopped_year = confirmed.links[0].replace("year=2012", "year=2013")
    assert drilled(client, stopped_year) == set()


def test_township_supervisor_sees_only_their_township(world, client):
    from govflow.errors import OutOfScope

    supervisor_x = world["staff"]["supervisor_x"]
    mine = board(supervisor_x)
    assert mine.area_code == "371727100"
    assert [row[:3] for row in figure(mine, "cases").rows] == [
        [JL, "已办结", "已确认并发放"],
        [JL, "已办结", "不予确认"],
        [SF, "已办结", "缴清结案"],
        [EVERY_KIND, "办理中", ""],
    ]
    assert figure(mine, "overdue").rows == [["定陶镇", EVERY_KIND, "乡镇审核", 1]]
    assert figure(mine, "fees-social_fee").rows == [["定陶镇", 1, Decimal(70000), Decimal(70000), Decimal(0)]]
    assert {row[2] for row in figure(mine, "step_times").rows} == {1}  # A-1's tasks only
    with pytest.raises(OutOfScope):
        board(supervisor_x, "371727101")
    client.force_login(supervisor_x)
    assert drilled(client, "/reports/cases/?area=371727100&procedure=social_fee") == references(world, "A-1")
    with clock(REPORT_DAY):
        assert (
            client.get("/reports/cases/", {"area": "371727101", "procedure": "social_fee"}).status_code == 403
        )
        assert client.get("/reports/cases/", {"area": "371727"}).status_code == 403
        html = client.get("/reports/").content.decode()
    assert "定陶镇" in html and "南王店镇" not in html and world["A-2"].reference not in html


def test_xlsx_export_of_real_figures_opens_with_openpyxl(world, client):
    from openpyxl import load_workbook

    client.force_login(world["staff"]["supervisor"])
    with clock(REPORT_DAY):
        response = client.get("/reports/export.xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    assert workbook.sheetnames == [
        "1 cases",
        "2 overdue",
        "3 step_times",
        "4 fees-social_fee",
        "5 assistance-assistance",
    ]
    fee_rows = [list(row) for row in workbook["4 fees-social_fee"].iter_rows(values_only=True)]
    assert ["定陶镇", 1, 70000, 70000, 0] in fee_rows
    assert ["南王店镇", 1, 70000, 0, 70000] in fee_rows
    overdue_rows = [list(row) for row in workbook["2 overdue"].iter_rows(values_only=True)]
    assert ["南王店镇", SF, "缴款登记", 1] in overdue_rows


def test_dashboard_page_shows_titles_and_links_to_the_drill_down(world, client):
    client.force_login(world["staff"]["supervisor"])
    with clock(REPORT_DAY):
        html = client.get("/reports/").content.decode()
    assert "缴清结案" in html and "缴款登记" in html and "<td>70,000.00</td>" in html
    assert "workflows/flows" not in html  # steps are titles, never stored references
    assert "/reports/cases/?area=371727101&amp;procedure=social_fee&amp;step=payment&amp;overdue=1" in html
    assert 'id="chart-fees-social_fee"' in html
    with clock(REPORT_DAY):
        english = client.get("/reports/", {"lang": "en"}).content.decode()
    assert "Social compensation fee collection" in english and "Record a payment" in english


def test_report_sections_come_from_the_published_versions_before_the_setting(world, settings):
    import json

    settings.GOVFLOW_REPORTS = {
        "social_fee": {"kind": "fee", "amounts": {"decided": "fee_total"}},
        "test_every_kind": {"kind": "fee", "amounts": {"decided": "fee_total"}},
    }
    sections = reports.report_sections()
    shipped = json.loads(social_fee.WORKFLOW.read_text(encoding="utf-8"))["report"]
    assert sections["social_fee"] == shipped
    assert sections["assistance"]["year"] == "assist_year"
    assert sections["test_every_kind"] == {"kind": "fee", "amounts": {"decided": "fee_total"}}
    fees = figure(board(world["staff"]["supervisor"]), "fees-test_every_kind")
    assert fees.rows == [["定陶镇", 1, Decimal(0), Decimal(0), Decimal(0)]]  # E-1: not calculated yet
