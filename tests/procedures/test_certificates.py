"""The shipped procedures only_child_certificate (GR) and birth_registration (SY), end to end.

Each test imports the real library files (roles, forms, workflows) and drives the real runtime through
govflow.cases.services as the users who hold the roles, with the clock moved to the dates of the worked cases
of DOMAIN.md section C (C-1, C-2, C-5). Timers fire through `manage.py run_worker --once`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from govflow.audit.models import AuditEvent
from govflow.cases.selectors import task_queue
from govflow.cases.services import case_start, task_claim, task_complete
from govflow.workflows.models import CaseDocument

REPO = Path(__file__).resolve().parent.parent.parent
CATALOG = REPO / "roles" / "catalog.json"
CERTIFICATE_FORMS = [
    REPO / "forms" / f"{key}.json"
    for key in ("certificate_application", "certificate_resubmit", "certificate_issue")
]
BIRTH_FORMS = [
    REPO / "forms" / f"{key}.json"
    for key in ("birth_pregnancy", "birth_outcome", "birth_register", "birth_review")
]
CERTIFICATE_WORKFLOW = REPO / "workflows" / "only_child_certificate.json"
BIRTH_WORKFLOW = REPO / "workflows" / "birth_registration.json"
LIBRARY = [CATALOG, *CERTIFICATE_FORMS, *BIRTH_FORMS, CERTIFICATE_WORKFLOW, BIRTH_WORKFLOW]

TOWNSHIP = "371727100"  # 定陶镇: reviewer_x works here
VILLAGE = "371727100201"  # 甲村 in 定陶镇: clerk_a works here
ALL_PAPERS = ["marriage_certificate", "id_cards", "household_register", "birth_or_adoption", "photos"]


# --- helpers ----------------------------------------------------------------------------------------------


def at(day: str, clock: str = "10:00") -> datetime:
    """An aware moment in the county's time zone (Asia/Shanghai)."""
    return timezone.make_aware(datetime.fromisoformat(f"{day}T{clock}"))


@contextmanager
def clock(day: str, time_of_day: str = "10:00") -> Iterator[datetime]:
    moment = at(day, time_of_day)
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield moment


def run_worker(day: str, time_of_day: str) -> str:
    out = StringIO()
    with clock(day, time_of_day):
        call_command("run_worker", "--once", stdout=out)
    return out.getvalue().strip()


def id_card(birth: str, sequence: str, area: str = "371727") -> str:
    """A valid GB 11643-1999 number (odd sequence: male; even: female)."""
    body = area + birth.replace("-", "") + sequence
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


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


def due_day(task: Task) -> date:
    """The last day of a task's deadline (the deadline passes at the local midnight that follows it)."""
    return (timezone.localtime(task.scheduled) - timedelta(microseconds=1)).date()


def case_data(case) -> dict:
    case.process.refresh_from_db()
    return case.process.data


def documents(case, key: str) -> list[CaseDocument]:
    return list(CaseDocument.objects.filter(process_id=case.pk, key=key).order_by("pk"))


@pytest.fixture
def library(staff):
    from govflow.workflows.library import import_library

    import_library(LIBRARY)
    return staff


# --- 独生子女父母光荣证 -----------------------------------------------------------------------------------


def application(*, papers=ALL_PAPERS, child_birth="2008-04-02", adopted=False) -> dict:
    child = {"name": "李明", "sex": "M", "birth_date": child_birth, "adopted": adopted}
    if adopted:
        child["adopted_on"] = child_birth[:4] + "-12-01"
    return {
        "husband": {"name": "李建国", "id_card": id_card("1978-05-06", "011")},
        "wife": {"name": "王秀英", "id_card": id_card("1980-09-12", "022")},
        "married_on": "2003-10-01",
        "hukou_of": "both",
        "child": child,
        "papers": list(papers),
    }


def apply_for_certificate(staff, day: str, **kwargs):
    with clock(day):
        return case_start(
            user=staff["reviewer_x"],
            procedure_key="only_child_certificate",
            area_code=TOWNSHIP,
            data=application(**kwargs),
        )


def issue(user, case, day: str, **data):
    with clock(day):
        task_complete(user=user, task_id=open_task(case, "issue").pk, data={"decision": "issue", **data})
    case.refresh_from_db()
    return case


def test_c1_complete_materials_on_monday_are_due_ten_working_days_later_then_escalate(library):
    staff = library
    case = apply_for_certificate(staff, "2012-03-05")  # a Monday, every paper handed in
    task = open_task(case, "issue")
    assert case_data(case)["complete_on"] == "2012-03-05"
    assert not documents(case, "supplement_notice")
    assert due_day(task) == date(2012, 3, 19)
    assert timezone.localtime(task.scheduled) == at("2012-03-20", "00:00")
    assert task in task_queue(user=staff["reviewer_x"])
    with clock("2012-03-06"):
        task_claim(user=staff["reviewer_x"], task_id=task.pk)

    # On the last day the task is still the township's, however late in the day.
    assert run_worker("2012-03-19", "23:59:59") == "fired 0 timer(s)"
    task.refresh_from_db()
    assert (
        task.owner_permission == "roles.act_as_township_reviewer" and task.owner_id == staff["reviewer_x"].pk
    )
    assert not AuditEvent.objects.filter(action="task.escalated", case_id=case.pk).exists()

    # The day after, it goes to the county approver and the reviewer loses it.
    assert run_worker("2012-03-20", "00:00:01") == "fired 1 timer(s)"
    task.refresh_from_db()
    assert task.status == STATUS.NEW and task.owner_id is None
    assert (task.owner_permission, task.owner_permission_obj_pk) == ("roles.act_as_county_approver", "371727")
    assert task in task_queue(user=staff["approver"])
    assert task not in task_queue(user=staff["reviewer_x"])
    assert AuditEvent.objects.filter(action="task.escalated", case_id=case.pk, task_id=task.pk).count() == 1

    issue(staff["approver"], case, "2012-03-21")
    assert case.status == "closed" and case.outcome == "issued"
    data = case_data(case)
    assert data["issued_on"] == "2012-03-21" and data["reward_eligible"] is True
    assert run_worker("2012-06-01", "10:00") == "fired 0 timer(s)"


def test_c1_issuing_in_time_disarms_the_escalation(library):
    staff = library
    case = apply_for_certificate(staff, "2012-03-05")
    issue(staff["reviewer_x"], case, "2012-03-16")
    assert case.outcome == "issued"
    assert run_worker("2012-04-01", "10:00") == "fired 0 timer(s)"
    assert not AuditEvent.objects.filter(action="task.escalated", case_id=case.pk).exists()


def test_c2_child_aged_17_before_2016_gets_the_certificate_without_the_reward(library):
    staff = library
    case = apply_for_certificate(staff, "2012-06-01", child_birth="1995-01-10")
    issue(staff["reviewer_x"], case, "2012-06-04")
    assert case.status == "closed" and case.outcome == "issued"
    data = case_data(case)
    assert data["child_age"] == 17
    assert data["reward_eligible"] is False
    (certificate,) = documents(case, "certificate")
    assert "不享受" in certificate.text and "子女年满16周岁后领证" in certificate.text


@pytest.mark.parametrize(
    ("child_birth", "applied", "issued", "age", "reward"),
    [
        ("2008-04-02", "2012-06-01", "2012-06-04", 4, True),
        ("1996-06-05", "2012-06-01", "2012-06-04", 15, True),  # turns 16 the day after the certificate
        ("1996-06-04", "2012-06-01", "2012-06-04", 16, False),  # 16 on the day of issue
        ("1999-01-10", "2016-03-01", "2016-03-02", 17, True),  # from 2016 the age rule no longer applies
    ],
)
def test_reward_flag_follows_the_pre_2016_age_rule(library, child_birth, applied, issued, age, reward):
    staff = library
    case = apply_for_certificate(staff, applied, child_birth=child_birth)
    issue(staff["reviewer_x"], case, issued)
    data = case_data(case)
    assert (data["child_age"], data["reward_eligible"]) == (age, reward)


def test_missing_papers_get_one_notice_listing_all_of_them_and_wait_for_resubmission(library):
    staff = library
    case = apply_for_certificate(staff, "2012-03-01", papers=["id_cards", "household_register"], adopted=True)
    assert case_data(case)["missing"] == ["结婚证", "子女收养登记证", "夫妻双方近期一寸免冠照片"]
    (notice,) = documents(case, "supplement_notice")
    assert notice.pdf.startswith(b"%PDF")
    assert "尚缺以下3项材料" in notice.text
    assert "（1）结婚证\n（2）子女收养登记证\n（3）夫妻双方近期一寸免冠照片" in notice.text
    assert "李建国、王秀英" in notice.text and "2012年3月1日" in notice.text
    assert [t.flow_task.node_id for t in open_tasks(case)] == ["resubmit"]

    # Papers handed in on a Monday complete the materials: ten working days from then.
    with clock("2012-03-05"):
        task_complete(
            user=staff["reviewer_x"],
            task_id=open_task(case, "resubmit").pk,
            data={
                "result": "supplemented",
                "papers": ["marriage_certificate", "birth_or_adoption", "photos"],
                "received_on": "2012-03-05",
            },
        )
    assert len(documents(case, "supplement_notice")) == 1
    data = case_data(case)
    assert data["missing"] == [] and data["complete_on"] == "2012-03-05"
    assert due_day(open_task(case, "issue")) == date(2012, 3, 19)
    issue(staff["reviewer_x"], case, "2012-03-09")
    assert case.outcome == "issued"


def test_papers_are_counted_across_resubmissions_and_each_incomplete_check_gives_one_notice(library):
    staff = library
    case = apply_for_certificate(staff, "2012-03-01", papers=["id_cards"])
    (first,) = documents(case, "supplement_notice")
    assert "尚缺以下4项材料" in first.text and "（4）夫妻双方近期一寸免冠照片" in first.text
    with clock("2012-03-02"):
        task_complete(
            user=staff["reviewer_x"],
            task_id=open_task(case, "resubmit").pk,
            data={
                "result": "supplemented",
                "papers": ["marriage_certificate", "household_register", "birth_or_adoption"],
                "received_on": "2012-03-02",
            },
        )
    notices = documents(case, "supplement_notice")
    assert len(notices) == 2
    assert "尚缺以下1项材料" in notices[1].text and "（1）夫妻双方近期一寸免冠照片" in notices[1].text
    assert "（2）" not in notices[1].text and "子女出生医学证明" not in notices[1].text
    with clock("2012-03-07"):
        task_complete(
            user=staff["reviewer_x"],
            task_id=open_task(case, "resubmit").pk,
            data={"result": "supplemented", "papers": ["photos"], "received_on": "2012-03-07"},
        )
    assert len(documents(case, "supplement_notice")) == 2
    assert due_day(open_task(case, "issue")) == date(2012, 3, 21)  # Wednesday + 10 working days


def test_withdrawal_while_papers_are_missing_ends_the_case(library):
    staff = library
    case = apply_for_certificate(staff, "2012-03-01", papers=[])
    assert "尚缺以下5项材料" in documents(case, "supplement_notice")[0].text
    with clock("2012-03-20"):
        task_complete(
            user=staff["reviewer_x"], task_id=open_task(case, "resubmit").pk, data={"result": "withdrawn"}
        )
    case.refresh_from_db()
    assert case.status == "closed" and case.outcome == "withdrawn"
    assert not documents(case, "certificate")


def test_refusal_gives_a_notice_with_the_reason_and_no_number(library):
    staff = library
    case = apply_for_certificate(staff, "2012-03-05")
    with clock("2012-03-08"):
        task_complete(
            user=staff["reviewer_x"],
            task_id=open_task(case, "issue").pk,
            data={"decision": "refuse", "reason": "经核查，申请人已生育二孩。"},
        )
    case.refresh_from_db()
    assert case.outcome == "refused"
    (notice,) = documents(case, "refusal_notice")
    assert "理由：经核查，申请人已生育二孩。" in notice.text
    assert "certificate_no" not in case_data(case)


def test_certificate_numbers_run_per_county_and_year(library):
    staff = library
    first = apply_for_certificate(staff, "2012-03-05")
    second = apply_for_certificate(staff, "2012-03-06")
    assert first.reference == "371727-GR-2012-000001" and second.reference == "371727-GR-2012-000002"
    issue(staff["reviewer_x"], second, "2012-03-07")
    issue(staff["reviewer_x"], first, "2012-03-08")
    assert case_data(second)["certificate_no"] == "371727-GRZ-2012-00001"
    assert case_data(first)["certificate_no"] == "371727-GRZ-2012-00002"
    (certificate,) = documents(first, "certificate")
    assert certificate.filename == "独生子女父母光荣证-371727-GRZ-2012-00002.pdf"
    assert "证号：371727-GRZ-2012-00002" in certificate.text
    assert "李建国" in certificate.text and "2012年3月8日" in certificate.text
    next_year = apply_for_certificate(staff, "2013-01-07")
    issue(staff["reviewer_x"], next_year, "2013-01-08")
    assert case_data(next_year)["certificate_no"] == "371727-GRZ-2013-00001"


def test_only_a_township_reviewer_of_that_township_starts_and_issues(library):
    from govflow.errors import OutOfScope

    staff = library
    with clock("2012-03-05"), pytest.raises(OutOfScope):
        case_start(
            user=staff["clerk_a"],
            procedure_key="only_child_certificate",
            area_code=TOWNSHIP,
            data=application(),
        )
    case = apply_for_certificate(staff, "2012-03-05")
    with clock("2012-03-06"), pytest.raises(OutOfScope):
        task_complete(
            user=staff["reviewer_y"], task_id=open_task(case, "issue").pk, data={"decision": "issue"}
        )


# --- 孕情与出生登记 ----------------------------------------------------------------------------------------


def register_pregnancy(staff, day: str = "2012-02-01"):
    with clock(day):
        return case_start(
            user=staff["clerk_a"],
            procedure_key="birth_registration",
            area_code=VILLAGE,
            data={
                "mother": {"name": "赵丽", "id_card": id_card("1986-03-15", "024")},
                "father": {"name": "孙强", "id_card": id_card("1984-11-02", "013")},
                "married_on": "2010-05-01",
                "expected_date": "2012-07-15",
                "child_order": 1,
            },
        )


def record_birth(staff, case, day: str, birth_date: str = "2012-07-10"):
    with clock(day):
        task_complete(
            user=staff["clerk_a"],
            task_id=open_task(case, "outcome").pk,
            data={"result": "born", "birth_date": birth_date},
        )


def register_birth(staff, case, applied_on: str, birth_date: str = "2012-07-10"):
    with clock(applied_on):
        task_complete(
            user=staff["clerk_a"],
            task_id=open_task(case, "register").pk,
            data={
                "applied_on": applied_on,
                "child_name": "孙悦",
                "child_sex": "F",
                "birth_date": birth_date,
                "birth_place": "定陶县人民医院",
                "certificate_no": "M370123456",
            },
        )


def review_birth(staff, case, day: str, decision: str = "approve", **extra):
    with clock(day):
        task_complete(
            user=staff["reviewer_x"],
            task_id=open_task(case, "review").pk,
            data={"decision": decision, **extra},
        )
    case.refresh_from_db()


def test_c5_birth_on_july_10_must_be_registered_by_august_24(library):
    staff = library
    case = register_pregnancy(staff)
    assert open_task(case, "outcome") in task_queue(user=staff["clerk_a"])
    record_birth(staff, case, "2012-07-12")
    assert case_data(case)["register_by"] == "2012-08-24"
    task = open_task(case, "register")
    assert due_day(task) == date(2012, 8, 24)
    assert task in task_queue(user=staff["clerk_a"]) and task not in task_queue(user=staff["clerk_b"])

    # The reminder comes seven days before the deadline, not earlier.
    assert run_worker("2012-08-17", "23:00") == "fired 0 timer(s)"
    assert run_worker("2012-08-18", "00:30") == "fired 1 timer(s)"
    task.refresh_from_db()
    assert "reminded" in task.data and task.status == STATUS.NEW

    register_birth(staff, case, "2012-08-24")  # the last day is still on time
    assert open_task(case, "review") in task_queue(user=staff["reviewer_x"])
    review_birth(staff, case, "2012-08-27")
    assert case.status == "closed" and case.outcome == "registered"
    data = case_data(case)
    assert data["days_late"] == 0 and data["overdue"] is False


def test_registration_after_the_45_days_ends_as_overdue_registered(library):
    staff = library
    case = register_pregnancy(staff)
    record_birth(staff, case, "2012-07-12")
    register_birth(staff, case, "2012-08-27")
    review_birth(staff, case, "2012-08-28")
    assert case.outcome == "overdue_registered"
    data = case_data(case)
    assert data["register_by"] == "2012-08-24" and data["days_late"] == 3 and data["overdue"] is True


def test_returned_registration_is_registered_again_with_the_same_deadline(library):
    staff = library
    case = register_pregnancy(staff)
    record_birth(staff, case, "2012-07-11")
    register_birth(staff, case, "2012-07-20")
    review_birth(staff, case, "2012-07-23", decision="return", reason="出生医学证明编号有误。")
    assert case.status == "open"
    task = open_task(case, "register")
    assert due_day(task) == date(2012, 8, 24)
    register_birth(staff, case, "2012-07-25")
    review_birth(staff, case, "2012-07-26")
    assert case.outcome == "registered"


def test_no_live_birth_withdraws_the_registration(library):
    staff = library
    case = register_pregnancy(staff)
    with clock("2012-04-10"):
        task_complete(
            user=staff["clerk_a"],
            task_id=open_task(case, "outcome").pk,
            data={"result": "moved_out", "event_date": "2012-04-01"},
        )
    case.refresh_from_db()
    assert case.status == "closed" and case.outcome == "withdrawn"


def test_outcome_follow_up_reminder_after_the_expected_date(library):
    staff = library
    case = register_pregnancy(staff)
    assert run_worker("2012-08-14", "23:00") == "fired 0 timer(s)"  # expected 2012-07-15 + 30 days
    assert run_worker("2012-08-15", "00:30") == "fired 1 timer(s)"
    task = open_task(case, "outcome")
    assert "reminded" in task.data
    assert AuditEvent.objects.filter(action="task.reminded", task_id=task.pk).count() == 1


# --- the definitions ---------------------------------------------------------------------------------------


def validate(*paths: Path) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("validate_procedures", *[str(p) for p in paths], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_validate_procedures_accepts_the_shipped_files(db):
    out, err = validate(*LIBRARY)
    assert out.strip() == "ok" and err == ""


def index_of(document: dict, node_id: str) -> int:
    return next(i for i, n in enumerate(document["nodes"]) if n["id"] == node_id)


def test_a_broken_certificate_workflow_fails_with_the_json_paths(db, tmp_path):
    document = json.loads(CERTIFICATE_WORKFLOW.read_text(encoding="utf-8"))
    issue_at, resubmit_at = index_of(document, "issue"), index_of(document, "resubmit")
    document["nodes"][issue_at]["form"] = "certificate_isue"  # dangling form key
    document["nodes"][resubmit_at]["role"] = "township_reviwer"  # unknown role
    edge_at = next(i for i, e in enumerate(document["edges"]) if e.get("condition") == "len(missing) > 0")
    document["edges"][edge_at]["condition"] = "len(misssing) > 0"  # expression typo
    broken = tmp_path / "only_child_certificate.json"
    broken.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    err = StringIO()
    with pytest.raises(CommandError, match="3 error"):
        call_command(
            "validate_procedures", str(CATALOG), *map(str, CERTIFICATE_FORMS), str(broken), stderr=err
        )
    lines = err.getvalue().splitlines()
    assert any(
        f"{broken}:/nodes/{issue_at}/form [issue]" in line and "certificate_isue" in line for line in lines
    )
    assert any(
        f"/nodes/{resubmit_at}/role [resubmit]" in line and "township_reviwer" in line for line in lines
    )
    assert any(f"/edges/{edge_at}/condition [papers_gate]" in line and "misssing" in line for line in lines)


def test_a_broken_birth_workflow_fails_with_the_json_paths(db, tmp_path):
    document = json.loads(BIRTH_WORKFLOW.read_text(encoding="utf-8"))
    register_at = index_of(document, "register")
    document["nodes"][register_at]["due"] = {"date": "add_dayz(register_by, 0)"}  # unknown function
    document["nodes"][index_of(document, "review")]["role"] = "township_reviewr"
    broken = tmp_path / "birth_registration.json"
    broken.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError, match="2 error"):
        call_command("validate_procedures", str(CATALOG), *map(str, BIRTH_FORMS), str(broken), stderr=err)
    text = err.getvalue()
    assert f"/nodes/{register_at}/due/date [register]" in text and "add_dayz" in text
    assert f"/nodes/{index_of(document, 'review')}/role [review]" in text
