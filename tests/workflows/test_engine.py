from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from govflow.audit.models import AuditEvent
from govflow.cases.selectors import task_queue
from govflow.cases.services import case_start, task_claim, task_complete
from govflow.workflows.models import CaseDocument
from tests.workflows.conftest import days_later, run_worker_at

VILLAGE = "371727100201"


def open_task(case, node_id):
    tasks = [
        t
        for t in Task.objects.filter(process_id=case.pk, flow_task_type="HUMAN")
        if t.status in (STATUS.NEW, STATUS.ASSIGNED)
    ]
    found = [t for t in tasks if t.flow_task.node_id == node_id]
    assert len(found) == 1, [(t.flow_task.node_id, t.status) for t in tasks]
    return found[0]


def start(staff, amount=100):
    return case_start(
        user=staff["clerk_a"],
        procedure_key="test_every_kind",
        area_code=VILLAGE,
        data={"applicant": "张三", "amount": amount},
    )


def test_case_starts_with_reference_and_review_in_township_queue(every_kind, staff):
    case = start(staff)
    assert case.reference.startswith("371727-TK-") and case.reference.endswith("-000001")
    assert case.applicant == "张三"
    review = open_task(case, "review")
    assert review in task_queue(user=staff["reviewer_x"])
    assert review not in task_queue(user=staff["reviewer_y"])
    assert review.scheduled is not None
    assert AuditEvent.objects.filter(action="case.started", case_id=case.pk).exists()


def test_reject_branch_ends_case_rejected(every_kind, staff):
    case = start(staff)
    review = open_task(case, "review")
    task_complete(user=staff["reviewer_x"], task_id=review.pk, data={"decision": "reject"})
    case.refresh_from_db()
    assert case.status == "closed" and case.outcome == "rejected"


def test_accept_branch_runs_to_paid(every_kind, staff):
    case = start(staff, amount=100)
    task_complete(
        user=staff["reviewer_x"], task_id=open_task(case, "review").pk, data={"decision": "approve"}
    )
    case.process.refresh_from_db()
    data = case.process.data
    assert data["fee"] == 200 and data["fee_total"] == 201
    assert data["decision_no"].startswith("371727-TK-JD-") and data["decision_no"].endswith("-0001")
    document = CaseDocument.objects.get(process_id=case.pk)
    assert document.pdf.startswith(b"%PDF") and "申请人张三应缴200.00元（贰佰元整）" in document.text
    assert document.filename == f"告知书-{case.reference}.pdf"
    assert AuditEvent.objects.filter(
        action="document.generated", case_id=case.pk, data__sha256=document.sha256
    ).exists()
    check_a = open_task(case, "check_a")
    task_claim(user=staff["leader_x"], task_id=check_a.pk)
    task_complete(user=staff["leader_x"], task_id=check_a.pk, data={"ok": True})
    assert (
        not Task.objects.filter(process_id=case.pk, flow_task_type="TIMER", status=STATUS.SCHEDULED)
        .exclude(flow_task__contains="b_")
        .exists()
    )
    task_complete(user=staff["approver"], task_id=open_task(case, "check_b").pk, data={"ok": True})
    out = run_worker_at(days_later(32))
    assert "fired" in out
    pay = open_task(case, "pay")
    task_complete(user=staff["cashier"], task_id=pay.pk, data={"paid_on": "2026-01-05"})
    case.refresh_from_db()
    assert case.status == "closed" and case.outcome == "paid"


def accept_and_split(case, staff):
    task_complete(
        user=staff["reviewer_x"], task_id=open_task(case, "review").pk, data={"decision": "approve"}
    )


def test_join_waits_for_both_parallel_branches(every_kind, staff):
    case = start(staff)
    accept_and_split(case, staff)
    task_complete(user=staff["approver"], task_id=open_task(case, "check_b").pk, data={"ok": True})
    run_worker_at(days_later(40))
    assert not any(t.flow_task.node_id == "pay" for t in Task.objects.filter(process_id=case.pk))
    task_complete(user=staff["leader_x"], task_id=open_task(case, "check_a").pk, data={"ok": True})
    waits = [
        t
        for t in Task.objects.filter(process_id=case.pk, status=STATUS.SCHEDULED)
        if t.flow_task.node_id == "wait"
    ]
    assert len(waits) == 1


def test_interrupting_boundary_takes_other_path_and_cancels_open_work(every_kind, staff):
    case = start(staff)
    accept_and_split(case, staff)
    task_complete(user=staff["leader_x"], task_id=open_task(case, "check_a").pk, data={"ok": True})
    run_worker_at(days_later(4))
    assert open_task(case, "check_b")  # not yet due: 5 days
    run_worker_at(days_later(7))
    case.refresh_from_db()
    assert case.status == "closed" and case.outcome == "expired"
    check_b = Task.objects.get(
        pk=[t.pk for t in Task.objects.filter(process_id=case.pk) if t.flow_task.node_id == "check_b"][0]
    )
    assert check_b.status == STATUS.CANCELED


def test_non_interrupting_remind_keeps_task_open(every_kind, staff):
    case = start(staff)
    review = open_task(case, "review")
    run_worker_at(days_later(4.5))  # due at the end of the third day
    review.refresh_from_db()
    assert review.status == STATUS.NEW and "reminded" in review.data
    assert AuditEvent.objects.filter(action="task.reminded", task_id=review.pk).count() == 1
    assert review in task_queue(user=staff["reviewer_x"])


def test_escalation_moves_task_to_the_county_after_ten_working_days(every_kind, staff):
    case = start(staff)
    review = open_task(case, "review")
    task_claim(user=staff["reviewer_x"], task_id=review.pk)
    run_worker_at(days_later(20))
    review.refresh_from_db()
    assert review.status == STATUS.NEW and review.owner_id is None
    assert (
        review.owner_permission == "roles.act_as_county_approver"
        and review.owner_permission_obj_pk == "371727"
    )
    assert review in task_queue(user=staff["approver"])
    assert review not in task_queue(user=staff["reviewer_x"])
    task_complete(user=staff["approver"], task_id=review.pk, data={"decision": "reject"})
    case.refresh_from_db()
    assert case.outcome == "rejected"


def test_non_interrupting_path_runs_beside_the_open_task(every_kind, staff):
    case = start(staff)
    accept_and_split(case, staff)
    task_complete(user=staff["leader_x"], task_id=open_task(case, "check_a").pk, data={"ok": True})
    task_complete(user=staff["approver"], task_id=open_task(case, "check_b").pk, data={"ok": True})
    run_worker_at(days_later(31))
    pay = open_task(case, "pay")
    run_worker_at(days_later(47))
    case.process.refresh_from_db()
    assert case.process.data["noticed"] is True
    pay.refresh_from_db()
    assert pay.status == STATUS.NEW
    case.refresh_from_db()
    assert case.status == "open"
    task_complete(user=staff["cashier"], task_id=pay.pk, data={"paid_on": "2026-01-05"})
    case.refresh_from_db()
    assert case.outcome == "paid"


def test_completing_a_task_disarms_its_boundary_timers(every_kind, staff):
    case = start(staff)
    task_complete(user=staff["reviewer_x"], task_id=open_task(case, "review").pk, data={"decision": "reject"})
    assert run_worker_at(days_later(30)).strip() == "fired 0 timer(s)"
    assert not AuditEvent.objects.filter(action__in=["task.reminded", "task.escalated"]).exists()
