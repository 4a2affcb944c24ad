"""Reassigning a task: supervisors of the case's area only, to holders of the task's role at its area."""

from govflow.audit.models import AuditEvent
from govflow.cases.models import Notification
from govflow.cases.services import task_claim
from tests.workflows.test_engine import open_task


def test_supervisor_reassigns_to_a_role_holder_who_is_notified(case, staff, login, make_user):
    colleague = make_user("reviewer_x2", ("township_reviewer", "371727100"), first_name="李四")
    review = open_task(case, "review")
    task_claim(user=staff["reviewer_x"], task_id=review.pk)
    client = login(staff["supervisor_x"])
    page = client.get(f"/tasks/{review.pk}/reassign/").content.decode()
    assert "李四（reviewer_x2）" in page
    assert "reviewer_y" not in page and "clerk_a" not in page and ">reviewer_x（" not in page
    response = client.post(f"/tasks/{review.pk}/reassign/", {"to_user": colleague.pk})
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    review.refresh_from_db()
    assert review.owner_id == colleague.pk
    assert Notification.objects.filter(user=colleague, kind="task_assigned", task=review).exists()
    assert AuditEvent.objects.filter(action="task.reassigned", task_id=review.pk).exists()


def test_reassign_is_refused_to_non_supervisors(case, staff, login):
    review = open_task(case, "review")
    for user in ("reviewer_x", "clerk_a", "approver"):
        client = login(staff[user])
        assert client.get(f"/tasks/{review.pk}/reassign/").status_code == 403, user
        assert (
            client.post(f"/tasks/{review.pk}/reassign/", {"to_user": staff["reviewer_x"].pk}).status_code
            == 403
        )
    review.refresh_from_db()
    assert review.owner_id is None


def test_reassign_to_someone_without_the_role_is_a_field_error(case, staff, login):
    review = open_task(case, "review")
    response = login(staff["supervisor"]).post(
        f"/tasks/{review.pk}/reassign/", {"to_user": staff["reviewer_y"].pk}
    )
    assert response.status_code == 400
    review.refresh_from_db()
    assert review.owner_id is None


def test_case_page_offers_reassign_only_to_supervisors(case, staff, login):
    assert "改派" in login(staff["supervisor"]).get(f"/cases/{case.pk}/").content.decode()
    assert "改派" not in login(staff["reviewer_x"]).get(f"/cases/{case.pk}/").content.decode()
