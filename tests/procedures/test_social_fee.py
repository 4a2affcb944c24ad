"""The shipped procedure `social_fee` (社会抚养费征收, code SF), end to end.

The tests import the real library files (roles/catalog.json, forms/social_fee_*.json, workflows/social_fee.json)
and drive the real runtime through govflow.cases.services as the users who hold each role at the case's areas
(village clerk of 甲村, township reviewer and leader of 定陶镇, county approver and cashier of 定陶县), with
the clock (django.utils.timezone.now) moved to the dates of the worked cases of DOMAIN.md section A. Statutory
deadlines pass through `manage.py run_worker --once`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from govflow.cases.selectors import task_queue
from govflow.cases.services import case_start, task_complete
from govflow.errors import OutOfScope
from govflow.forms.validation import FormInvalid
from govflow.workflows.models import CaseDocument

REPO = Path(__file__).resolve().parent.parent.parent
CATALOG = REPO / "roles" / "catalog.json"
FORMS = sorted((REPO / "forms").glob("social_fee_*.json"))
WORKFLOW = REPO / "workflows" / "social_fee.json"
LIBRARY = [CATALOG, *FORMS, WORKFLOW]

VILLAGE = "371727100201"  # 甲村 of 定陶镇 (371727100) of 定陶县 (371727)
HUSBAND = {"name": "王建国", "id_card": "371727198505121238", "hukou": "rural"}  # male, born 1985-05-12
WIFE = {"name": "李秀英", "id_card": "371727198708201246", "hukou": "rural"}  # female, born 1987-08-20
SERVED = "2013-03-04"
OFFICERS = [
    {"name": "赵执法", "permit_no": "ZF-371727-001"},
    {"name": "钱执法", "permit_no": "ZF-371727-002"},
]


# --- clock, worker, tasks --------------------------------------------------------------------------------


def at(day: str, time_of_day: str = "10:00") -> datetime:
    """An aware moment in the county's time zone (Asia/Shanghai)."""
    return timezone.make_aware(datetime.fromisoformat(f"{day}T{time_of_day}"))


@contextmanager
def clock(day: str, time_of_day: str = "10:00") -> Iterator[datetime]:
    moment = at(day, time_of_day)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def run_worker(day: str, time_of_day: str = "10:00") -> str:
    """`manage.py run_worker --once` with the clock at that moment."""
    out = StringIO()
    with clock(day, time_of_day):
        call_command("run_worker", "--once", stdout=out)
    return out.getvalue().strip()


def open_nodes(case) -> list[str]:
    tasks = Task.objects.filter(
        process_id=case.pk, flow_task_type="HUMAN", status__in=[STATUS.NEW, STATUS.ASSIGNED]
    )
    return sorted(t.flow_task.node_id for t in tasks)


def open_task(case, node: str) -> Task:
    tasks = Task.objects.filter(
        process_id=case.pk, flow_task_type="HUMAN", status__in=[STATUS.NEW, STATUS.ASSIGNED]
    )
    found = [t for t in tasks if t.flow_task.node_id == node]
    assert len(found) == 1, (node, open_nodes(case))
    return found[0]


def act(staff, case, node: str, who: str, day: str, data: dict[str, Any]) -> None:
    """`who` finds the task of `node` in their queue on `day` and completes it with `data`."""
    user = staff[who]
    with clock(day):
        task = open_task(case, node)
        assert task_queue(user=user).filter(pk=task.pk).exists(), f"{node} is not in {who}'s queue"
        task_complete(user=user, task_id=task.pk, data=data)


def case_data(case) -> dict[str, Any]:
    case.process.refresh_from_db()
    return case.process.data


def outcome(case) -> tuple[str, str]:
    case.refresh_from_db()
    return case.status, case.outcome


def documents(case, key: str) -> list[CaseDocument]:
    return list(CaseDocument.objects.filter(process_id=case.pk, key=key).order_by("pk"))


# --- the worked cases' data ------------------------------------------------------------------------------


def lead(**extra: Any) -> dict[str, Any]:
    return {
        "reported_on": "2013-01-07",
        "parents": [HUSBAND, WIFE],
        "child_name": "王小宝",
        "child_birth_date": "2012-06-15",
        "child_order": 2,
        "marriage_status": "married",
        "summary": "村民王建国、李秀英夫妇于2012年6月生育第二个子女，未办理再生育审批。",
        **extra,
    }


def investigation(**extra: Any) -> dict[str, Any]:
    return {
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
        **extra,
    }


def approve(day: str) -> dict[str, Any]:
    return {"decision": "approve", "opinion": "同意。", "signed_on": day}


def payment(day: str, a: float, b: float = 0, late_a: float = 0, late_b: float = 0) -> dict[str, Any]:
    return {
        "kind": "payment",
        "paid_on": day,
        "principal_a": a,
        "principal_b": b,
        "late_fee_a": late_a,
        "late_fee_b": late_b,
        "receipt_no": f"PJ-{day}",
    }


def start(staff, **lead_extra: Any):
    with clock("2013-01-07"):
        return case_start(
            user=staff["clerk_a"], procedure_key="social_fee", area_code=VILLAGE, data=lead(**lead_extra)
        )


def opening(day: str) -> dict[str, Any]:
    return {"proposed_on": day, "summary": "涉嫌违法生育，拟立案调查。", "officers": OFFICERS}


def open_case(staff, case, day: str = "2013-01-08", approved_on: str = "2013-01-09") -> None:
    act(staff, case, "open", "reviewer_x", day, opening(day))
    act(staff, case, "open_approval", "leader_x", approved_on, approve(approved_on))


def open_and_investigate(staff, case, **investigation_extra: Any) -> None:
    open_case(staff, case)
    act(staff, case, "investigation", "reviewer_x", "2013-01-25", investigation(**investigation_extra))


def notify(staff, case, defence: str = "no_defence", **extra: Any) -> None:
    """告知书 served on 2013-02-01 (a Friday); the outcome is recorded after the 3 working days."""
    data = {"notified_on": "2013-02-01", "receipt_no": "SD-2013-0001", "defence_result": defence, **extra}
    if defence != "no_defence":
        data.setdefault("defence_summary", "当事人称家庭困难。")
    act(staff, case, "notice", "reviewer_x", "2013-02-07", data)


def decide(staff, case) -> None:
    act(staff, case, "decision_approval", "leader_x", "2013-02-25", approve("2013-02-25"))


def serve(staff, case, day: str = SERVED) -> None:
    act(
        staff,
        case,
        "serve",
        "reviewer_x",
        day,
        {"served_on": day, "method": "direct", "receipt_no": "SD-2013-0002"},
    )


def served_case(staff, **investigation_extra: Any):
    """A-1's case up to the service of the decisions on 2013-03-04."""
    case = start(staff)
    open_and_investigate(staff, case, **investigation_extra)
    notify(staff, case)
    decide(staff, case)
    serve(staff, case)
    return case


def to_court(staff, case) -> None:
    """Unpaid after the lawsuit window: arrears on 2013-06-05, 催告书 served 2013-06-07, court applied 2013-06-20."""
    run_worker("2013-06-05", "01:00")
    act(staff, case, "arrears", "reviewer_x", "2013-06-05", {"as_of": "2013-06-05"})
    act(
        staff,
        case,
        "urge",
        "reviewer_x",
        "2013-06-07",
        {"served_on": "2013-06-07", "method": "direct", "receipt_no": "CG-1"},
    )
    run_worker("2013-06-17", "12:00")
    assert "court_apply" not in open_nodes(case)  # at least 10 days after the 催告书
    run_worker("2013-06-18", "01:00")
    act(
        staff,
        case,
        "court_apply",
        "approver",
        "2013-06-20",
        {"applied_on": "2013-06-20", "court": "定陶县人民法院", "application_no": "定人口执申〔2013〕1号"},
    )


def import_with_settings(tmp_path: Path, **settings: Any):
    """What an administrator does to change a setting: edit the file and import it (a new version)."""
    from govflow.workflows.library import import_library
    from govflow.workflows.selectors import workflow_version_get

    document = json.loads(WORKFLOW.read_text(encoding="utf-8"))
    document["settings"].update(settings)
    changed = tmp_path / "social_fee.json"
    changed.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    import_library([CATALOG, *FORMS, changed])
    return workflow_version_get(key="social_fee")


@pytest.fixture
def procedure(staff):
    from govflow.workflows.library import import_library
    from govflow.workflows.selectors import workflow_version_get

    import_library(LIBRARY)
    return workflow_version_get(key="social_fee")


# --- paid on time -----------------------------------------------------------------------------------


def test_a1_second_rural_child_costs_35000_per_spouse_and_payment_within_30_days_closes_the_case_as_paid(
    procedure, staff
):
    case = served_case(staff)
    assert case.reference == "371727-SF-2013-000001"
    data = case_data(case)
    assert [p["base"] for p in data["investigation"]["parties"]] == [7000, 7000]
    assert data["excess_order"] == 1
    assert data["fees"] == [35000, 35000] and data["fee_total"] == 70000
    assert data["served_on"] == "2013-03-04" and data["due_on"] == "2013-04-03"
    assert data["decision_no"] == "〔2013〕0001"
    assert open_nodes(case) == ["appeal", "filing", "payment"]
    assert open_task(case, "payment").scheduled == at("2013-04-04", "00:00")  # due at the end of 2013-04-03
    assert open_task(case, "filing").scheduled == at("2013-03-08", "00:00")  # copy to the county in 10 days

    act(staff, case, "payment", "cashier", "2013-03-28", payment("2013-03-28", 35000, 35000))

    assert outcome(case) == ("closed", "paid")
    data = case_data(case)
    assert data["paid"] == [35000, 35000] and data["late_fees"] == [0, 0] and data["outstanding"] == 0
    assert open_nodes(case) == []
    assert not Task.objects.filter(process_id=case.pk, status=STATUS.SCHEDULED).exists()


def test_a1_decision_is_one_document_per_spouse_with_names_amounts_and_dates(procedure, staff):
    case = served_case(staff)
    decisions = documents(case, "decision")
    assert [d.filename for d in decisions] == [
        f"征收决定书-{case.reference}-王建国.pdf",
        f"征收决定书-{case.reference}-李秀英.pdf",
    ]
    text = decisions[0].text
    for expected in (
        "定陶县人口和计划生育局\n社会抚养费征收决定书",
        "定人口征字〔2013〕0001-1号",
        "当事人：王建国，性别：男，出生日期：1985年5月12日，公民身份号码：371727198505121238",
        "你于2012年6月15日生育第2个子女，属于违反规定多生育子女",
        "于2013年2月1日向你送达了《社会抚养费征收告知书》，你在规定期限内未提出陈述和申辩",
        "以7000元（上年度农民人均纯收入）为计征基数，按5倍计征",
        "应缴社会抚养费 | 35,000.00 元（叁万伍仟元整）",
        "自收到本决定书之日起30日内",
        "每月加收欠缴社会抚养费2‰的滞纳金",
        "60日内",
        "3个月内",
        "定陶县人口和计划生育局（印章）\n2013年2月25日",
    ):
        assert expected in text, expected
    second = decisions[1].text
    assert "定人口征字〔2013〕0001-2号" in second and "当事人：李秀英，性别：女" in second
    assert "35,000.00 元（叁万伍仟元整）" in second
    assert all(d.pdf.startswith(b"%PDF") for d in decisions)
    notices = documents(case, "notice")
    assert len(notices) == 2 and "拟对你征收社会抚养费35,000.00元（叁万伍仟元整）" in notices[0].text
    assert "3个工作日内" in notices[0].text and "2013年1月25日" in notices[0].text


# --- unpaid -----------------------------------------------------------------------------------------


def test_a2_deadlines_are_computed_from_the_service_date(procedure, staff):
    data = case_data(served_case(staff))
    assert data["due_on"] == "2013-04-03"
    assert data["overdue_from"] == "2013-04-04"
    assert data["installment_apply_by"] == "2013-04-03"
    assert data["review_by"] == "2013-05-03"
    assert data["lawsuit_by"] == "2013-06-04"
    assert data["court_by"] == "2013-09-04"


def test_a2_unpaid_fee_goes_to_court_and_the_late_fee_on_2013_11_04_is_490_per_spouse(procedure, staff):
    case = served_case(staff)
    run_worker("2013-06-04", "23:00")
    assert open_nodes(case) == ["appeal", "filing", "payment"]  # the lawsuit window is still open
    run_worker("2013-06-05", "01:00")
    assert open_nodes(case) == ["arrears", "filing", "payment"]

    act(staff, case, "arrears", "reviewer_x", "2013-06-05", {"as_of": "2013-06-05"})
    data = case_data(case)
    assert data["unpaid"] == [35000, 35000]
    assert data["arrears_months"] == 2 and data["arrears_late"] == [140, 140]  # 35,000 x 0.002 x 2
    assert data["arrears_total"] == 70280
    urges = documents(case, "urge")
    assert len(urges) == 2
    assert "滞纳金（计至2013年6月5日） | 140.00 元" in urges[0].text
    assert "合计 | 35,140.00 元（叁万伍仟壹佰肆拾元整）" in urges[0].text

    act(
        staff,
        case,
        "urge",
        "reviewer_x",
        "2013-06-07",
        {"served_on": "2013-06-07", "method": "direct", "receipt_no": "CG-1"},
    )
    run_worker("2013-06-17", "12:00")
    assert "court_apply" not in open_nodes(case)
    run_worker("2013-06-18", "01:00")
    assert open_task(case, "court_apply").scheduled == at("2013-09-05", "00:00")  # court filing deadline
    act(
        staff,
        case,
        "court_apply",
        "approver",
        "2013-06-20",
        {"applied_on": "2013-06-20", "court": "定陶县人民法院", "application_no": "定人口执申〔2013〕1号"},
    )
    act(
        staff,
        case,
        "court_result",
        "approver",
        "2013-11-04",
        {
            "result": "enforced",
            "ruling_on": "2013-07-15",
            "ruling_no": "（2013）定行审字第8号",
            "collected_on": "2013-11-04",
        },
    )

    assert outcome(case) == ("closed", "enforced")
    data = case_data(case)
    assert data["court_applied_in_time"] is True
    assert data["enforce_months"] == 7
    assert data["enforced_principal"] == [35000, 35000]
    assert data["enforced_late_fees"] == [490, 490]  # 35,000 x 0.002 x 7
    assert data["enforced_total"] == 70980


def test_a2_late_payment_on_2013_11_04_owes_490_late_fee_per_spouse_and_then_closes_as_paid(procedure, staff):
    case = served_case(staff)
    run_worker("2013-06-05", "01:00")
    assert "arrears" in open_nodes(case)
    act(staff, case, "payment", "cashier", "2013-11-04", payment("2013-11-04", 35000, 35000))
    data = case_data(case)
    assert data["late_months"] == 7 and data["late_fees"] == [490, 490] and data["outstanding"] == 980
    assert outcome(case) == ("open", "")
    act(staff, case, "payment", "cashier", "2013-11-04", payment("2013-11-04", 0, 0, 490, 490))
    assert outcome(case) == ("closed", "paid")
    assert case_data(case)["late_paid"] == [490, 490]
    assert open_nodes(case) == []  # the enforcement branch was cancelled


def test_court_refusing_enforcement_ends_the_case_as_court_refused(procedure, staff):
    case = served_case(staff)
    to_court(staff, case)
    act(
        staff,
        case,
        "court_result",
        "approver",
        "2013-07-15",
        {
            "result": "refused",
            "ruling_on": "2013-07-15",
            "ruling_no": "（2013）定行审字第9号",
            "reason": "证据不足",
        },
    )
    assert outcome(case) == ("closed", "court_refused")
    assert case_data(case)["enforced_total"] == 0


def test_late_fee_from_2012_never_exceeds_the_unpaid_fee(procedure, staff, tmp_path):
    version = import_with_settings(tmp_path, late_fee_rate_per_month=0.2)
    assert version.version == procedure.version + 1
    case = served_case(staff)
    assert case.workflow_id == version.pk
    act(staff, case, "payment", "cashier", "2013-11-04", payment("2013-11-04", 35000, 35000))
    data = case_data(case)
    assert data["late_months"] == 7 and data["late_capped"] is True
    assert data["late_fees"] == [35000, 35000]  # 35,000 x 0.2 x 7 = 49,000, capped at the fee


def test_a_case_keeps_the_settings_of_the_version_it_started_on(procedure, staff, tmp_path):
    case = start(staff)
    import_with_settings(tmp_path, excess_multiplier=6)
    open_and_investigate(staff, case)
    assert case_data(case)["fees"] == [35000, 35000]


# --- A-4 and the income rule ----------------------------------------------------------------------------


def test_a4_third_rural_child_with_income_below_twice_the_base_costs_70000_per_spouse(procedure, staff):
    case = start(staff, child_order=3)
    open_and_investigate(staff, case, child_order=3, household_income=5000)
    data = case_data(case)
    assert data["excess_order"] == 2
    assert data["fees"] == [70000, 70000] and data["fee_total"] == 140000
    assert "拟对你征收社会抚养费70,000.00元（柒万元整）" in documents(case, "notice")[0].text
    assert "按10倍计征" in documents(case, "notice")[0].text


def test_household_income_of_at_least_twice_the_base_is_the_base_of_the_fee(procedure, staff):
    case = start(staff)
    open_and_investigate(staff, case, household_income=15000)  # 15,000 >= 2 x 7,000
    data = case_data(case)
    assert data["fee_bases"] == [15000, 15000] and data["fees"] == [75000, 75000]
    assert "以15000元（家庭人均实际收入）为计征基数" in documents(case, "notice")[0].text


def test_each_spouse_is_charged_on_the_base_of_their_own_hukou_type(procedure, staff):
    case = start(staff)
    open_and_investigate(staff, case, parties=[{**HUSBAND, "hukou": "urban"}, WIFE])
    data = case_data(case)
    assert [p["base"] for p in data["investigation"]["parties"]] == [21000, 7000]
    assert data["fees"] == [105000, 35000]


def test_investigation_in_a_year_without_a_base_in_the_settings_is_refused_on_the_base_field(
    procedure, staff
):
    case = start(staff)
    open_case(staff, case)
    task = open_task(case, "investigation")
    with clock("2014-02-10"), pytest.raises(FormInvalid) as caught:  # the 2013 base is not in the settings
        task_complete(
            user=staff["reviewer_x"], task_id=task.pk, data=investigation(investigated_on="2014-02-10")
        )
    assert set(caught.value.field_errors) == {"parties/0/base", "parties/1/base"}
    assert open_nodes(case) == ["investigation"]


def test_decisions_from_2015_05_01_give_six_months_to_sue_and_three_more_to_apply_to_the_court(
    procedure, staff, tmp_path
):
    bases = {**procedure.document["settings"]["bases"], "2014": {"rural": 10000, "urban": 29000}}
    import_with_settings(tmp_path, bases=bases)
    with clock("2015-05-04"):
        case = case_start(
            user=staff["clerk_a"],
            procedure_key="social_fee",
            area_code=VILLAGE,
            data=lead(reported_on="2015-05-04", child_birth_date="2014-09-01"),
        )
    assert case.reference == "371727-SF-2015-000001"
    open_case(staff, case, "2015-05-05", "2015-05-06")
    act(
        staff,
        case,
        "investigation",
        "reviewer_x",
        "2015-05-20",
        investigation(investigated_on="2015-05-20", child_birth_date="2014-09-01"),
    )
    assert case_data(case)["fees"] == [50000, 50000]  # 5 x the 2014 rural base of 10,000
    act(
        staff,
        case,
        "notice",
        "reviewer_x",
        "2015-06-05",
        {"notified_on": "2015-06-01", "receipt_no": "SD-1", "defence_result": "no_defence"},
    )
    act(staff, case, "decision_approval", "leader_x", "2015-06-15", approve("2015-06-15"))
    assert "或者在6个月内向定陶县人民法院提起行政诉讼" in documents(case, "decision")[0].text
    assert case_data(case)["decision_no"] == "〔2015〕0001"
    serve(staff, case, "2015-06-20")
    data = case_data(case)
    assert data["review_by"] == "2015-08-19"
    assert data["lawsuit_by"] == "2015-12-20"
    assert data["court_by"] == "2016-03-20"


# --- unmarried first birth -------------------------------------------------------------------------


def unmarried(staff, amount: float):
    case = start(staff, child_order=1, marriage_status="unmarried")
    open_and_investigate(
        staff,
        case,
        marriage_status="unmarried",
        child_order=1,
        violation="unmarried_first_birth",
        unmarried_amount=amount,
    )
    notify(staff, case)
    return case


def test_a5_unmarried_first_birth_with_marriage_registered_two_months_after_notice_costs_nothing(
    procedure, staff
):
    case = unmarried(staff, 3000)
    data = case_data(case)
    assert data["of_age"] is True and data["fees"] == [3000, 3000]
    assert "3个月内依法补办结婚登记，本机关将不予征收社会抚养费" in documents(case, "notice")[0].text
    assert open_task(case, "marriage").scheduled == at("2013-05-02", "00:00")  # 3 months after the notice

    act(
        staff,
        case,
        "marriage",
        "reviewer_x",
        "2013-04-02",
        {"registered": True, "married_on": "2013-04-01", "certificate_no": "J371727-2013-000123"},
    )

    assert outcome(case) == ("closed", "exempted")
    data = case_data(case)
    assert data["marriage_exempt"] is True and data["fees"] == [0, 0] and data["fee_total"] == 0
    assert documents(case, "decision") == []


def test_unmarried_first_birth_without_marriage_within_three_months_is_charged_at_most_5000(procedure, staff):
    case = unmarried(staff, 6000)
    assert case_data(case)["fees"] == [5000, 5000]  # clamped to the 2,000-5,000 range
    run_worker("2013-05-01", "23:00")
    assert open_nodes(case) == ["marriage"]
    run_worker("2013-05-02", "01:00")
    assert open_nodes(case) == ["decision_approval"]
    act(staff, case, "decision_approval", "leader_x", "2013-05-03", approve("2013-05-03"))
    assert "10,000.00" not in documents(case, "decision")[0].text
    assert "5,000.00 元（伍仟元整）" in documents(case, "decision")[0].text


# --- A-6 and installments --------------------------------------------------------------------------------


def test_a6_installment_application_35_days_after_service_is_refused_as_late(procedure, staff):
    case = served_case(staff)
    act(
        staff,
        case,
        "payment",
        "cashier",
        "2013-04-08",
        {
            "kind": "installment_application",
            "applied_on": "2013-04-08",
            "requested_installments": 6,
            "reason": "家庭困难",
        },
    )
    data = case_data(case)
    assert data["installment_apply_by"] == "2013-04-03"
    assert data["installment_applied_day"] == 35
    assert data["installment_status"] == "refused_late"
    assert open_nodes(case) == ["appeal", "filing", "payment"]  # no county decision; payment is still due
    assert data["pay_due_on"] == "2013-04-03"


def test_installments_applied_for_in_time_and_approved_end_as_installments_completed_without_late_fee(
    procedure, staff
):
    case = served_case(staff)
    act(
        staff,
        case,
        "payment",
        "cashier",
        "2013-03-20",
        {
            "kind": "installment_application",
            "applied_on": "2013-03-20",
            "requested_installments": 2,
            "reason": "家庭困难",
        },
    )
    # the county decides within 30 days of the application
    assert open_task(case, "installment").scheduled == at("2013-04-20", "00:00")
    act(
        staff,
        case,
        "installment",
        "approver",
        "2013-04-10",
        {
            "decision": "approve",
            "decided_on": "2013-04-10",
            "installments": 2,
            "last_due_on": "2013-09-30",
            "schedule": "2013-05-31前每人17500元；2013-09-30前每人17500元",
        },
    )
    data = case_data(case)
    assert data["installment_status"] == "approved" and data["pay_due_on"] == "2013-09-30"
    act(staff, case, "payment", "cashier", "2013-05-10", payment("2013-05-10", 17500, 17500))
    assert case_data(case)["outstanding"] == 35000
    run_worker("2013-06-05", "01:00")
    assert "arrears" not in open_nodes(case)  # no enforcement while the installment period runs
    act(staff, case, "payment", "cashier", "2013-09-25", payment("2013-09-25", 17500, 17500))
    assert outcome(case) == ("closed", "installments_completed")
    assert case_data(case)["late_fees"] == [0, 0]


# --- remedies --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "filed_on", "result", "end"),
    [
        ("review", "2013-04-20", "cancelled", "cancelled_on_appeal"),
        ("lawsuit", "2013-05-30", "changed", "changed_on_appeal"),
    ],
)
def test_a_review_or_lawsuit_that_cancels_or_changes_the_decision_ends_the_case(
    procedure, staff, kind, filed_on, result, end
):
    case = served_case(staff)
    act(
        staff,
        case,
        "appeal",
        "approver",
        filed_on,
        {"kind": kind, "filed_on": filed_on, "body": "定陶县人民政府"},
    )
    data = case_data(case)
    assert data["appeal_in_time"] is True and data["appeal_status"] == "pending"
    run_worker("2013-06-05", "01:00")
    assert "arrears" not in open_nodes(case)  # enforcement waits for the pending remedy
    decided = {"result": result, "decided_on": "2013-06-20", "document_no": "定政复决〔2013〕3号"}
    if result == "changed":
        decided["changed_amount"] = 50000
    act(staff, case, "appeal_result", "approver", "2013-06-21", decided)
    assert outcome(case) == ("closed", end)


def test_a_pending_review_that_is_upheld_lets_enforcement_start_at_the_next_check(procedure, staff):
    case = served_case(staff)
    act(
        staff,
        case,
        "appeal",
        "approver",
        "2013-04-20",
        {"kind": "review", "filed_on": "2013-04-20", "body": "定陶县人民政府"},
    )
    run_worker("2013-06-05", "01:00")
    act(
        staff,
        case,
        "appeal_result",
        "approver",
        "2013-06-21",
        {"result": "upheld", "decided_on": "2013-06-20"},
    )
    assert case_data(case)["appeal_status"] == "closed"
    run_worker("2013-07-05", "12:00")
    assert "arrears" not in open_nodes(case)
    run_worker("2013-07-06", "01:00")  # 30 days after the first check
    assert open_nodes(case) == ["arrears", "filing", "payment"]


def test_a_review_filed_after_60_days_does_not_hold_enforcement(procedure, staff):
    case = served_case(staff)
    act(
        staff,
        case,
        "appeal",
        "approver",
        "2013-05-10",
        {"kind": "review", "filed_on": "2013-05-10", "body": "定陶县人民政府"},
    )
    data = case_data(case)
    assert data["appeal_in_time"] is False and data["appeal_status"] == "late"
    run_worker("2013-06-05", "01:00")
    assert "arrears" in open_nodes(case)


# --- withdrawn and the other early ends ------------------------------------------------------------------


def test_no_violation_found_in_the_investigation_withdraws_the_case(procedure, staff):
    case = start(staff)
    open_and_investigate(staff, case, violation="none")
    assert outcome(case) == ("closed", "withdrawn")
    assert documents(case, "notice") == []


def test_leader_refusing_to_open_the_case_withdraws_it(procedure, staff):
    case = start(staff)
    act(staff, case, "open", "reviewer_x", "2013-01-08", opening("2013-01-08"))
    act(
        staff,
        case,
        "open_approval",
        "leader_x",
        "2013-01-09",
        {"decision": "reject", "opinion": "线索不实", "signed_on": "2013-01-09"},
    )
    assert outcome(case) == ("closed", "withdrawn")


def test_a_defence_accepted_in_full_cancels_the_case_as_withdrawn(procedure, staff):
    case = start(staff)
    open_and_investigate(staff, case)
    notify(staff, case, "case_cancelled")
    assert outcome(case) == ("closed", "withdrawn")


def test_a_defence_that_changes_the_amount_is_reflected_in_the_decisions(procedure, staff):
    case = start(staff)
    open_and_investigate(staff, case)
    notify(staff, case, "amount_changed", changed_amount_a=30000, changed_amount_b=30000)
    assert case_data(case)["fees"] == [30000, 30000] and case_data(case)["defence_by"] == "2013-02-06"
    decide(staff, case)
    text = documents(case, "decision")[0].text
    assert "30,000.00 元（叁万元整）" in text and "本机关变更了征收金额" in text


def test_leader_sending_the_decision_back_reopens_the_investigation(procedure, staff):
    case = start(staff)
    open_and_investigate(staff, case)
    notify(staff, case)
    act(
        staff,
        case,
        "decision_approval",
        "leader_x",
        "2013-02-25",
        {"decision": "reject", "opinion": "收入证据不足", "signed_on": "2013-02-25"},
    )
    assert open_nodes(case) == ["investigation"]
    act(staff, case, "investigation", "reviewer_x", "2013-03-01", investigation(investigated_on="2013-03-01"))
    assert open_nodes(case) == ["notice"]


# --- roles and areas -------------------------------------------------------------------------------------


def test_tasks_go_only_to_the_role_at_the_case_area(procedure, staff):
    case = start(staff)
    task = open_task(case, "open")
    assert not task_queue(user=staff["reviewer_y"]).filter(pk=task.pk).exists()  # the other township
    assert not task_queue(user=staff["leader_x"]).filter(pk=task.pk).exists()  # another role
    with clock("2013-01-08"), pytest.raises(OutOfScope):
        task_complete(user=staff["reviewer_y"], task_id=task.pk, data={})
    served = served_case(staff)
    pay = open_task(served, "payment")
    assert task_queue(user=staff["cashier"]).filter(pk=pay.pk).exists()
    assert not task_queue(user=staff["reviewer_x"]).filter(pk=pay.pk).exists()
    assert task_queue(user=staff["approver"]).filter(pk=open_task(served, "appeal").pk).exists()
    with clock("2013-01-07"), pytest.raises(OutOfScope):
        case_start(user=staff["reviewer_x"], procedure_key="social_fee", area_code=VILLAGE, data=lead())


# --- the definition files ---------------------------------------------------------------------------------


def test_validate_procedures_passes_on_the_shipped_files(db):
    out = StringIO()
    call_command("validate_procedures", *map(str, LIBRARY), stdout=out)
    assert out.getvalue().strip() == "ok"


def test_validate_procedures_reports_each_mistake_in_a_broken_copy_with_its_json_path(db, tmp_path):
    document = json.loads(WORKFLOW.read_text(encoding="utf-8"))
    index = {node["id"]: i for i, node in enumerate(document["nodes"])}
    document["nodes"][index["notice"]]["form"] = "social_fee_notise"  # dangling form key
    calculate = document["nodes"][index["calculate"]]
    total = next(j for j, item in enumerate(calculate["set"]) if item["var"] == "fee_total")
    calculate["set"][total]["expr"] = "sum(fess)"  # typo in a variable
    paid = next(i for i, e in enumerate(document["edges"]) if e["from"] == "pay_loop" and e["to"] == "paid")
    document["edges"][paid]["condition"] = "outstanding <== 0"  # typo in an operator
    document["nodes"][index["payment"]]["role"] = "county_casher"  # unknown role
    broken = tmp_path / "social_fee.json"
    broken.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    err = StringIO()
    with pytest.raises(CommandError, match="4 error"):
        call_command("validate_procedures", str(CATALOG), *map(str, FORMS), str(broken), stderr=err)
    lines = err.getvalue().splitlines()

    def reported(path: str, node: str, *fragments: str) -> bool:
        prefix = f"{broken}:{path} [{node}]: "
        return any(line.startswith(prefix) and all(f in line for f in fragments) for line in lines)

    assert reported(f"/nodes/{index['notice']}/form", "notice", "social_fee_notise"), lines
    assert reported(f"/nodes/{index['calculate']}/set/{total}/expr", "calculate", "fess"), lines
    assert reported(f"/edges/{paid}/condition", "pay_loop"), lines
    assert reported(f"/nodes/{index['payment']}/role", "payment", "county_casher"), lines
