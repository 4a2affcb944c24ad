import pytest
from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case
from govflow.cases.selectors import task_queue
from govflow.cases.services import case_start, task_claim, task_complete
from tests.workflows.conftest import days_later, run_worker_at

VILLAGE = "371727100201"


def open_task(case, node_id):
    tasks = [t for t in Task.objects.filter(process_id=case.pk, flow_task_type="HUMAN") if t.status in (STATUS.NEW, STATUS.ASSIGNED)]
    found = [t for t in tasks if t.flow_task.node_id == node_id]
    assert len(found) == 1, [(t.flow_task.node_id, t.status) for t in tasks]
    return found[0]


def start(staff, amount=100):
    return case_start(
        user=staff["clerk_a"], procedure_key="test_every_kind", area_code=VILLAGE, data={"applicant": "张三", "amount": amount}
    )


def test_case_starts_with_reference_and_review_in_township_queue(every_kind, staff):
    case = start(staff)
    assert case.reference.startswith("371727-TK-") and case.reference.endswith("-000001")
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
    task_complete(user=staff["reviewer_x"], task_id=open_task(case, "review").pk, data={"decision": "approve"})
    case.process.refresh_from_db()
    data = case.process.data
    assert data["fee"] == 200 and data["fee_total"] == 201
    assert data["decision_no"].startswith("371727-TK-JD-") and data["decision_no"].endswith("-0001")
    check_a = open_task(case, "check_a")
    task_claim(user=staff["leader_x"], task_id=check_a.pk)
    task_complete(user=staff["leader_x"], task_id=check_a.pk, data={"ok": True})
    assert not Task.objects.filter(process_id=case.pk, flow_task_type="TIMER", status=STATUS.SCHEDULED).exclude(
        flow_task__contains="b_"
    ).exists()
    task_complete(user=staff["approver"], task_id=open_task(case, "check_b").pk, data={"ok": True})
    out = run_worker_at(days_later(32))
    assert "fired" in out
    pay = open_task(case, "pay")
    task_complete(user=staff["cashier"], task_id=pay.pk, data={"paid_on": "2026-01-05"})
    case.refresh_from_db()
    assert case.status == "closed" and case.outcome == "paid"
