"""Claiming from the queue, putting back, and "claim and open"."""

from viewflow.workflow.status import STATUS

from govflow.audit.models import AuditEvent
from govflow.cases.services import task_claim
from tests.workflows.test_engine import open_task


def test_claim_moves_task_from_queue_to_inbox_and_returns_to_queue(case, staff, login):
    review = open_task(case, "review")
    client = login(staff["reviewer_x"])
    response = client.post(f"/tasks/{review.pk}/claim/", {"next": "/work/queue/?sort=reference"})
    assert response.status_code == 302 and response["Location"] == "/work/queue/?sort=reference"
    review.refresh_from_db()
    assert review.owner_id == staff["reviewer_x"].pk and review.status == STATUS.ASSIGNED
    page = client.get("/work/").content.decode()
    assert case.reference in page and "已认领" in page
    assert AuditEvent.objects.filter(action="task.claimed", task_id=review.pk).exists()


def test_claim_and_open_goes_to_the_task_page(case, staff, login):
    review = open_task(case, "review")
    response = login(staff["reviewer_x"]).post(f"/tasks/{review.pk}/claim/", {"open": "1"})
    assert response.status_code == 302 and response["Location"] == f"/tasks/{review.pk}/"


def test_unclaim_puts_task_back_in_the_queue(case, staff, login):
    review = open_task(case, "review")
    task_claim(user=staff["reviewer_x"], task_id=review.pk)
    client = login(staff["reviewer_x"])
    response = client.post(f"/tasks/{review.pk}/unclaim/")
    assert response.status_code == 302 and response["Location"] == "/work/"
    review.refresh_from_db()
    assert review.owner_id is None and review.status == STATUS.NEW
    assert case.reference in client.get("/work/queue/").content.decode()


def test_claim_shows_conflict_message_when_a_colleague_claimed_first(case, staff, login, make_user):
    review = open_task(case, "review")
    colleague = make_user("reviewer_x2", ("township_reviewer", "371727100"))
    task_claim(user=colleague, task_id=review.pk)
    client = login(staff["reviewer_x"])
    response = client.post(f"/tasks/{review.pk}/claim/", follow=True)
    assert response.status_code == 200
    assert "该任务已被他人认领" in response.content.decode()


def test_claim_and_unclaim_are_refused_outside_scope(case, staff, login):
    review = open_task(case, "review")
    for outsider in ("reviewer_y", "clerk_b", "supervisor_x"):
        response = login(staff[outsider]).post(f"/tasks/{review.pk}/claim/")
        assert response.status_code == 403, outsider
        assert case.reference not in response.content.decode()
    task_claim(user=staff["reviewer_x"], task_id=review.pk)
    assert login(staff["reviewer_y"]).post(f"/tasks/{review.pk}/unclaim/").status_code == 403


def test_claim_requires_post(case, staff, login):
    review = open_task(case, "review")
    assert login(staff["reviewer_x"]).get(f"/tasks/{review.pk}/claim/").status_code == 405
