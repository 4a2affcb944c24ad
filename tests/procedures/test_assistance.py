"""The shipped procedure `assistance` (奖励扶助 / 特别扶助 annual confirmation, code JL), end to end.

The tests import the real library files (roles, forms, workflow) and drive the real runtime through
govflow.cases.services as the users who hold the roles (village clerk, township reviewer, county approver,
county cashier), with the clock moved into the year of each worked case of DOMAIN.md section B (B-2 .. B-6).
Posting periods end through `manage.py run_worker --once`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from govflow.cases.selectors import task_queue
from govflow.cases.services import case_start, task_claim, task_complete
from govflow.errors import OutOfScope
from govflow.forms.validation import FormInvalid
from govflow.workflows.models import CaseDocument

REPO = Path(__file__).resolve().parent.parent.parent
CATALOG = REPO / "roles" / "catalog.json"
FORMS = [REPO / "forms" / f"assistance_{key}.json" for key in ("application", "review", "payment")]
WORKFLOW = REPO / "workflows" / "assistance.json"
LIBRARY = [CATALOG, *FORMS, WORKFLOW]

VILLAGE = "371727100201"  # 甲村 in 定陶镇: clerk_a, reviewer_x (township) and the county staff act on it
COMMON_PAPERS = ["id_card", "household_register", "marriage_certificate", "children_proof"]
HUKOU_REASON = "夫妻双方须均为农业户口（农村居民）"
CHILDREN_REASON = "子女情况不符合：须现存一个子女，或现存两个子女且均为女孩，或曾生育子女但现无存活子女"
POLICY_REASON = "1973年以来有政策外生育"


# --- helpers ----------------------------------------------------------------------------------------------


def at(day: str, time_of_day: str = "10:00") -> datetime:
    """An aware moment in the county's time zone (Asia/Shanghai)."""
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


def id_card(birth: str, sequence: str, area: str = "371727") -> str:
    """A valid GB 11643-1999 number (odd sequence: male; even: female)."""
    body = area + birth.replace("-", "") + sequence
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def person(name: str, birth: str, sequence: str, *, hukou: str = "rural", pension: bool = False) -> dict:
    return {
        "name": name,
        "id_card": id_card(birth, sequence),
        "birth_date": birth,
        "hukou": hukou,
        "pension": pension,
    }


def child(name: str, sex: str, birth: str, **facts) -> dict:
    row = {
        "name": name,
        "sex": sex,
        "birth_date": birth,
        "alive": True,
        "adopted": False,
        "in_policy": True,
        "disabled": False,
    }
    row.update(facts)
    return row


def application(
    *,
    scheme: str = "reward",
    husband: dict | None,
    wife: dict | None,
    children: list[dict],
    papers: list[str] = COMMON_PAPERS,
    application_type: str = "new",
    **extra,
) -> dict:
    parents = "both" if husband and wife else ("father" if husband else "mother")
    data = {
        "scheme": scheme,
        "application_type": application_type,
        "parents": parents,
        "address": "定陶镇甲村3组",
        "children": children,
        "papers": papers,
        **extra,
    }
    if husband:
        data["husband"] = husband
    if wife:
        data["wife"] = wife
    return data


def open_tasks(case) -> list[Task]:
    return [
        t
        for t in Task.objects.filter(process_id=case.pk, flow_task_type="HUMAN").order_by("pk")
        if t.status in (STATUS.NEW, STATUS.ASSIGNED)
    ]


def open_task(case, node_id: str) -> Task:
    found = [t for t in open_tasks(case) if t.flow_task.node_id == node_id]
    assert len(found) == 1, [(t.flow_task.node_id, t.status) for t in open_tasks(case)]
    return found[0]


def case_data(case) -> dict:
    case.process.refresh_from_db()
    return case.process.data


def outcome(case) -> tuple[str, str]:
    case.refresh_from_db()
    return case.status, case.outcome


def documents(case, key: str) -> list[CaseDocument]:
    return list(CaseDocument.objects.filter(process_id=case.pk, key=key).order_by("pk"))


def start(staff, data: dict, day: str):
    with clock(day):
        return case_start(user=staff["clerk_a"], procedure_key="assistance", area_code=VILLAGE, data=data)


def act(user, case, node_id: str, data: dict, day: str) -> None:
    """Claim the open task from the user's queue and complete it, on `day`."""
    with clock(day):
        task = open_task(case, node_id)
        assert task in task_queue(user=user)
        task_claim(user=user, task_id=task.pk)
        task_complete(user=user, task_id=task.pk, data=data)


def review(decision: str, signer: str, day: str, posting: tuple[str, str] | None = None, **extra) -> dict:
    data = {"decision": decision, "signer": signer, "signed_on": day, **extra}
    if posting:
        data["posting_start"], data["posting_end"] = posting
    return data


def run_to_payment(staff, case, year: int) -> None:
    """Village review and posting, township review and posting, county confirmation, in `year`."""
    act(
        staff["clerk_a"],
        case,
        "village_review",
        review("approve", "王村长", f"{year}-03-01", (f"{year}-03-02", f"{year}-03-08")),
        f"{year}-03-01",
    )
    assert run_worker(f"{year}-03-08", "23:00") == "fired 0 timer(s)"  # the posting period still runs
    assert not any(t.flow_task.node_id == "township_review" for t in open_tasks(case))
    assert run_worker(f"{year}-03-09") == "fired 1 timer(s)"
    township = open_task(case, "township_review")
    assert township in task_queue(user=staff["reviewer_x"])
    assert township not in task_queue(user=staff["reviewer_y"])  # another township
    act(
        staff["reviewer_x"],
        case,
        "township_review",
        review("approve", "刘审核", f"{year}-03-09", (f"{year}-03-10", f"{year}-03-16")),
        f"{year}-03-09",
    )
    assert run_worker(f"{year}-03-17") == "fired 1 timer(s)"
    act(
        staff["approver"],
        case,
        "county_review",
        review("approve", "赵局长", f"{year}-03-17", (f"{year}-03-18", f"{year}-03-24")),
        f"{year}-03-17",
    )


def pay(staff, case, year: int) -> None:
    act(
        staff["cashier"],
        case,
        "payment",
        {"result": "paid", "paid_on": f"{year}-03-28", "voucher_no": f"JL-{year}-001", "bank": "农村信用社"},
        f"{year}-03-28",
    )


@pytest.fixture
def library(staff):
    from govflow.cases import services
    from govflow.workflows.library import import_library

    # The engine keeps pinned form versions in memory by primary key only. Between tests the database is
    # rolled back and SQLite hands the same keys to other forms, so an earlier test's form would be used.
    services._PINNED_FORMS.clear()
    import_library(LIBRARY)
    yield staff
    services._PINNED_FORMS.clear()


# --- B-2: two daughters, both parents 61, rural -> 960 each (2012) ---------------------------------------


def b2_application() -> dict:
    return application(
        husband=person("张建华", "1951-02-10", "011"),
        wife=person("李秀英", "1951-06-20", "022"),
        children=[child("张丽", "F", "1976-04-01"), child("张芳", "F", "1979-09-12")],
    )


def test_b2_two_daughters_rural_parents_61_are_confirmed_at_960_each_in_2012(library):
    staff = library
    case = start(staff, b2_application(), "2012-03-01")
    assert case.reference == "371727-JL-2012-000001"
    assert (case.applicant, case.id_card) == ("张建华、李秀英", id_card("1951-02-10", "011"))
    data = case_data(case)
    assert data["eligible"] is True and data["reasons"] == []
    assert data["husband_age"] == 61 and data["wife_age"] == 61
    assert data["basis"] == "现存两个女孩" and data["missing_papers"] == []
    assert [c["living_daughter"] for c in data["apply"]["children"]] == [True, True]

    run_to_payment(staff, case, 2012)
    data = case_data(case)
    assert data["husband_amount"] == 960 and data["wife_amount"] == 960
    assert data["beneficiary_amounts"] == [960, 960] and data["total_amount"] == 1920
    assert data["confirmation_no"] == "371727-JL-QR-2012-0001"
    payment = open_task(case, "payment")
    assert payment in task_queue(user=staff["cashier"])
    assert payment not in task_queue(user=staff["approver"])

    pay(staff, case, 2012)
    assert outcome(case) == ("closed", "confirmed")

    postings = documents(case, "posting_list")
    assert [d.filename for d in postings] == [
        "公示名单-村级-371727-JL-2012-000001.pdf",
        "公示名单-乡级-371727-JL-2012-000001.pdf",
        "公布名单-县级-371727-JL-2012-000001.pdf",
    ]
    assert "张建华、李秀英" in postings[0].text and "2012年3月2日起至2012年3月8日止" in postings[0].text
    assert "村民委员会审核" in postings[0].text and "现予公示" in postings[0].text
    assert "县卫生和计划生育局确认" in postings[2].text and "现予公布" in postings[2].text
    notices = documents(case, "confirmation_notice")
    assert [d.filename for d in notices] == [
        "确认通知书-371727-JL-2012-000001-张建华.pdf",
        "确认通知书-371727-JL-2012-000001-李秀英.pdf",
    ]
    assert all(d.pdf.startswith(b"%PDF") for d in postings + notices)
    assert (
        "960.00元（玖佰陆拾元整）" in notices[1].text
        and "2012年度农村部分计划生育家庭奖励扶助" in notices[1].text
    )


# --- B-3, B-4, B-5: refused by the eligibility check ---------------------------------------------------


def test_b3_one_son_and_one_daughter_is_rejected(library):
    data = application(
        husband=person("陈国强", "1951-01-05", "031"),
        wife=person("周桂兰", "1951-03-08", "042"),
        children=[child("陈军", "M", "1975-05-01"), child("陈红", "F", "1978-07-01")],
    )
    case = start(library, data, "2012-03-01")
    assert outcome(case) == ("closed", "rejected")
    result = case_data(case)
    assert result["eligible"] is False and result["reasons"] == [CHILDREN_REASON]
    assert result["living_children"] == 2 and result["living_daughters"] == 1
    assert open_tasks(case) == [] and documents(case, "confirmation_notice") == []


def test_b4_husband_urban_with_pension_and_wife_rural_are_both_rejected(library):
    data = application(
        husband=person("吴志明", "1950-08-08", "051", hukou="urban", pension=True),
        wife=person("郑玉梅", "1951-04-04", "062"),
        children=[child("吴静", "F", "1977-02-02")],
    )
    case = start(library, data, "2012-03-01")
    assert outcome(case) == ("closed", "rejected")
    result = case_data(case)
    assert result["husband_eligible"] is False and result["wife_eligible"] is False
    assert result["reasons"] == [HUKOU_REASON]
    assert result["beneficiaries"] == []


def test_b5_third_child_born_1985_outside_policy_is_rejected(library):
    data = application(
        husband=person("孙德胜", "1950-10-10", "071"),
        wife=person("马兰芝", "1951-12-12", "082"),
        children=[
            child("孙燕", "F", "1976-01-15"),
            child("孙霞", "F", "1980-06-30"),
            child("孙强", "M", "1985-03-03", in_policy=False),
        ],
    )
    case = start(library, data, "2012-03-01")
    assert outcome(case) == ("closed", "rejected")
    result = case_data(case)
    assert [c["out_of_policy_birth"] for c in result["apply"]["children"]] == [False, False, True]
    assert result["out_of_policy_births"] == 1
    assert POLICY_REASON in result["reasons"] and CHILDREN_REASON in result["reasons"]


def test_out_of_policy_birth_before_1973_does_not_count_and_no_living_child_qualifies(library):
    data = application(
        husband=person("钱永福", "1945-05-05", "091"),
        wife=person("冯素珍", "1947-07-07", "102"),
        children=[child("钱刚", "M", "1970-01-01", in_policy=False, alive=False, death_date="1990-05-01")],
    )
    case = start(library, data, "2012-03-01")
    result = case_data(case)
    assert result["out_of_policy_births"] == 0 and result["living_children"] == 0
    assert result["eligible"] is True and result["basis"] == "曾生育子女，现无存活子女"
    assert open_task(case, "village_review")


# --- B-6: special assistance, urban, only son died 2012 ---------------------------------------------------


def b6_application(**extra) -> dict:
    return application(
        scheme="special",
        husband=person("黄建平", "1961-09-01", "111", hukou="urban"),
        wife=person("林淑芬", "1963-03-15", "122", hukou="urban"),
        children=[child("黄磊", "M", "1988-11-11", alive=False, death_date="2012-06-18")],
        papers=[*COMMON_PAPERS, "only_child_certificate", "death_proof"],
        **extra,
    )


def test_b6_special_urban_only_son_died_2012_gets_1620_each_in_2013_and_4080_each_in_2014(library):
    staff = library
    first = start(staff, b6_application(), "2013-03-01")
    data = case_data(first)
    assert data["eligible"] is True and data["reasons"] == []
    assert data["child_status"] == "death" and data["mother_age"] == 50
    assert data["basis"] == "独生子女死亡"
    run_to_payment(staff, first, 2013)
    data = case_data(first)
    assert data["husband_amount"] == 1620 and data["wife_amount"] == 1620 and data["total_amount"] == 3240
    pay(staff, first, 2013)
    assert outcome(first) == ("closed", "confirmed")
    notices = documents(first, "confirmation_notice")
    assert len(notices) == 2 and "1,620.00元（壹仟陆佰贰拾元整）" in notices[0].text

    recheck = start(
        staff,
        b6_application(application_type="recheck", previous_reference=data["confirmation_no"]),
        "2014-03-01",
    )
    assert recheck.reference == "371727-JL-2014-000001"
    run_to_payment(staff, recheck, 2014)
    data = case_data(recheck)
    assert data["apply"]["previous_reference"] == "371727-JL-QR-2013-0001"
    assert data["husband_amount"] == 4080 and data["wife_amount"] == 4080 and data["total_amount"] == 8160
    assert data["confirmation_no"] == "371727-JL-QR-2014-0001"
    pay(staff, recheck, 2014)
    assert outcome(recheck) == ("closed", "confirmed")
    assert "4,080.00元（肆仟零捌拾元整）" in documents(recheck, "confirmation_notice")[1].text


def test_special_rural_disability_grade_3_uses_the_rural_disability_rate_from_2014(library):
    staff = library
    data = application(
        scheme="special",
        husband=None,
        wife=person("何秀兰", "1960-05-05", "132"),
        children=[child("何佳", "F", "1985-01-01", disabled=True, disability_grade=3)],
        papers=[*COMMON_PAPERS, "only_child_certificate", "disability_certificate"],
    )
    case = start(staff, data, "2014-03-01")
    assert (case.applicant, case.id_card) == ("何秀兰", id_card("1960-05-05", "132"))
    assert case_data(case)["child_status"] == "disability"
    run_to_payment(staff, case, 2014)
    result = case_data(case)
    assert (
        result["wife_amount"] == 150 * 12 and result["husband_amount"] == 0 and result["total_amount"] == 1800
    )
    assert result["beneficiary_names"] == "何秀兰"


def test_special_recheck_after_a_new_adoption_ends_stopped(library):
    data = b6_application(application_type="recheck")
    data["children"].append(child("黄欣", "F", "2013-05-01", adopted=True))
    case = start(library, data, "2014-03-01")
    assert outcome(case) == ("closed", "stopped")
    assert case_data(case)["reasons"] == ["须只生育或依法收养一个子女，且此后未再生育或收养"]


def test_special_before_the_wife_is_49_is_rejected(library):
    data = b6_application()
    data["wife"] = person("林淑芬", "1965-03-15", "122", hukou="urban")
    case = start(library, data, "2013-03-01")
    assert outcome(case) == ("closed", "rejected")
    assert case_data(case)["reasons"] == ["女方本年度未满49周岁"]


# --- reviewers: reject with reason, return for papers, stop payment ------------------------------------


def test_township_reviewer_may_reject_an_eligible_case_with_a_reason(library):
    staff = library
    case = start(staff, b2_application(), "2012-03-01")
    act(
        staff["clerk_a"],
        case,
        "village_review",
        review("approve", "王村长", "2012-03-01", ("2012-03-02", "2012-03-08")),
        "2012-03-01",
    )
    run_worker("2012-03-09")
    with clock("2012-03-09"), pytest.raises(FormInvalid) as missing_reason:
        task_complete(
            user=staff["reviewer_x"],
            task_id=open_task(case, "township_review").pk,
            data=review("reject", "刘审核", "2012-03-09"),
        )
    assert "reason" in missing_reason.value.field_errors
    act(
        staff["reviewer_x"],
        case,
        "township_review",
        review("reject", "刘审核", "2012-03-09", reason="公示期间群众反映其子女户籍信息不实，经核查属实。"),
        "2012-03-09",
    )
    assert outcome(case) == ("closed", "rejected")
    assert case_data(case)["township_review"]["reason"].startswith("公示期间")


def test_village_returns_an_application_with_missing_papers(library):
    staff = library
    data = b6_application()
    data["papers"] = ["id_card", "household_register"]
    case = start(staff, data, "2013-03-01")
    assert case_data(case)["missing_papers"] == [
        "结婚证（或离婚、丧偶证明）",
        "子女出生或收养证明",
        "独生子女父母光荣证或收养登记证明",
        "子女死亡证明",
    ]
    act(
        staff["clerk_a"],
        case,
        "village_review",
        review("return", "王村长", "2013-03-01", missing_papers="结婚证、独生子女父母光荣证、死亡证明"),
        "2013-03-01",
    )
    assert outcome(case) == ("closed", "returned")


def test_cashier_stops_payment_when_the_beneficiary_died(library):
    staff = library
    case = start(staff, b2_application(), "2012-03-01")
    run_to_payment(staff, case, 2012)
    act(staff["cashier"], case, "payment", {"result": "stopped", "stop_reason": "death"}, "2012-03-28")
    assert outcome(case) == ("closed", "stopped")


def test_posting_end_before_start_and_a_wrong_birth_date_are_refused_by_the_forms(library):
    staff = library
    bad = b2_application()
    bad["husband"]["birth_date"] = "1951-02-11"  # the ID card says 1951-02-10
    with pytest.raises(FormInvalid) as refused:
        start(staff, bad, "2012-03-01")
    assert "husband/id_card" in refused.value.field_errors
    case = start(staff, b2_application(), "2012-03-01")
    with clock("2012-03-01"), pytest.raises(FormInvalid) as refused:
        task_complete(
            user=staff["clerk_a"],
            task_id=open_task(case, "village_review").pk,
            data=review("approve", "王村长", "2012-03-01", ("2012-03-08", "2012-03-02")),
        )
    assert list(refused.value.field_errors) == ["posting_end"]


def test_only_the_village_clerk_of_the_case_village_may_start_and_review(library):
    staff = library
    with clock("2012-03-01"), pytest.raises(OutOfScope):
        case_start(
            user=staff["clerk_c"], procedure_key="assistance", area_code=VILLAGE, data=b2_application()
        )
    case = start(staff, b2_application(), "2012-03-01")
    task = open_task(case, "village_review")
    assert task in task_queue(user=staff["clerk_a"])
    assert task not in task_queue(user=staff["clerk_b"]) and task not in task_queue(user=staff["reviewer_x"])


# --- the definition files -------------------------------------------------------------------------------


def test_validate_procedures_accepts_the_assistance_files(db):
    out = StringIO()
    call_command("validate_procedures", *map(str, LIBRARY), stdout=out)
    assert out.getvalue().strip() == "ok"


def test_validate_procedures_reports_the_json_path_of_each_mistake_in_a_broken_copy(db, tmp_path):
    for path in [CATALOG, *FORMS]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    document = json.loads(WORKFLOW.read_text(encoding="utf-8"))
    broken = copy.deepcopy(document)
    index = {n["id"]: i for i, n in enumerate(broken["nodes"])}
    broken["nodes"][index["payment"]]["form"] = "assistance_paymnet"
    assess = broken["nodes"][index["assess"]]["set"]
    typo = next(j for j, item in enumerate(assess) if item["var"] == "living_children")
    assess[typo]["expr"] = "cuont(apply.children, 'alive')"
    broken["nodes"][index["township_review"]]["role"] = "township_reviewr"
    target = tmp_path / "assistance.json"
    target.write_text(json.dumps(broken, ensure_ascii=False), encoding="utf-8")

    err = StringIO()
    with pytest.raises(CommandError):
        call_command("validate_procedures", str(tmp_path), stdout=StringIO(), stderr=err)
    lines = err.getvalue().splitlines()
    expected = {
        f"/nodes/{index['payment']}/form [payment]": "assistance_paymnet",
        f"/nodes/{index['assess']}/set/{typo}/expr [assess]": "cuont",
        f"/nodes/{index['township_review']}/role [township_review]": "township_reviewr",
    }
    for where, word in expected.items():
        assert any(line.startswith(f"{target}:{where}: ") and word in line for line in lines), (where, lines)
    assert len(lines) == 3, lines


def test_a_recheck_rejected_by_the_village_ends_stopped(library):
    staff = library
    case = start(staff, b6_application(application_type="recheck"), "2014-03-01")
    act(
        staff["clerk_a"],
        case,
        "village_review",
        review("reject", "王村长", "2014-03-01", reason="经入户核查，该户已迁出本村。"),
        "2014-03-01",
    )
    assert outcome(case) == ("closed", "stopped")


def test_amounts_come_from_the_settings_of_the_version_a_case_started_on(library, tmp_path):
    from govflow.workflows.library import import_library

    staff = library
    running = start(staff, b2_application(), "2012-03-01")
    changed = json.loads(WORKFLOW.read_text(encoding="utf-8"))
    changed["settings"]["reward"]["standards"][0]["yearly"] = 1080
    changed["settings"]["reward"]["min_age"] = 62
    (tmp_path / "assistance.json").write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    import_library([tmp_path / "assistance.json"])

    later = start(staff, b2_application(), "2012-03-02")
    assert case_data(later)["reasons"] == ["丈夫本年度未满62周岁", "妻子本年度未满62周岁"]
    assert outcome(later) == ("closed", "rejected")
    changed["settings"]["reward"]["min_age"] = 60
    (tmp_path / "assistance.json").write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    import_library([tmp_path / "assistance.json"])
    newest = start(staff, b2_application(), "2012-03-02")

    run_to_payment(staff, running, 2012)
    run_to_payment(staff, newest, 2012)
    assert case_data(running)["total_amount"] == 1920  # its version's 960 per person
    assert case_data(newest)["total_amount"] == 2160  # 1,080 per person
