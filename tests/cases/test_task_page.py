"""The task page: summary, form, earlier steps, completing with valid data, field errors and conflicts."""

from django.utils import timezone
from viewflow.workflow.status import STATUS

from govflow.cases.models import Case, Notification
from govflow.cases.services import StepFailed, task_claim, task_complete
from tests.workflows.test_engine import open_task, start


def test_task_page_shows_summary_form_and_earlier_step(case, staff, login):
    review = open_task(case, "review")
    page = login(staff["reviewer_x"]).get(f"/tasks/{review.pk}/").content.decode()
    for text in (case.reference, "甲村", "张三", "乡镇审核", "测试：全部节点类型", "办理期限"):
        assert text in page, text
    assert 'name="f-decision"' in page  # the renderer's form
    assert "100.00 元" in page  # the start step, read-only
    assert "提交并办结" in page and "认领" in page


def test_citizen_id_is_masked_for_roles_without_personal_data(case, staff, login):
    Case.objects.filter(pk=case.pk).update(id_card="11010519491231002X")
    review = open_task(case, "review")
    full = login(staff["reviewer_x"]).get(f"/tasks/{review.pk}/").content.decode()
    assert "11010519491231002X" in full
    masked = login(staff["supervisor_x"]).get(f"/tasks/{review.pk}/").content.decode()
    assert "11010519491231002X" not in masked and "1101**********002X" in masked
    assert 'name="f-decision"' not in masked  # a supervisor reads, never acts


def test_completing_with_valid_data_goes_to_next_inbox_task(every_kind, staff, login):
    first, second = start(staff), start(staff)
    reviewer = staff["reviewer_x"]
    task_claim(user=reviewer, task_id=open_task(second, "review").pk)
    review = open_task(first, "review")
    client = login(reviewer)
    response = client.post(f"/tasks/{review.pk}/", {"f-decision": "reject", "f-note": "材料不全"})
    following = open_task(second, "review")
    assert response.status_code == 302 and response["Location"] == f"/tasks/{following.pk}/"
    review.refresh_from_db()
    assert review.status == STATUS.DONE and review.owner_id == reviewer.pk
    first.refresh_from_db()
    assert first.status == Case.Status.CLOSED and first.process.data["review"]["note"] == "材料不全"
    page = client.get(response["Location"]).content.decode()
    assert "“乡镇审核”已办结" in page


def test_completing_the_last_task_goes_to_the_inbox(case, staff, login):
    review = open_task(case, "review")
    response = login(staff["reviewer_x"]).post(f"/tasks/{review.pk}/", {"f-decision": "reject"})
    assert response.status_code == 302 and response["Location"] == "/work/"


def test_field_errors_are_shown_at_the_field_and_input_is_kept(case, staff, login):
    review = open_task(case, "review")
    long_note = "说明" * 300  # over maxLength 500
    response = login(staff["reviewer_x"]).post(f"/tasks/{review.pk}/", {"f-note": long_note})
    page = response.content.decode()
    assert response.status_code == 400
    assert "表单有误" in page
    assert long_note in page  # what was typed is still in the textarea
    assert "gf-error" in page or "errorlist" in page
    review.refresh_from_db()
    assert review.status == STATUS.NEW


def test_conflict_message_when_someone_else_completed_first(case, staff, login, make_user):
    review = open_task(case, "review")
    colleague = make_user("reviewer_x2", ("township_reviewer", "371727100"))
    client = login(staff["reviewer_x"])
    assert client.get(f"/tasks/{review.pk}/").status_code == 200  # both open the page
    task_complete(user=colleague, task_id=review.pk, data={"decision": "reject"})
    response = client.post(f"/tasks/{review.pk}/", {"f-decision": "approve", "f-note": "我的意见"})
    page = response.content.decode()
    assert response.status_code == 409
    assert "该任务已办结或已取消" in page
    assert "我的意见" in page  # the typed input is not lost
    case.refresh_from_db()
    assert case.status == Case.Status.CLOSED and case.outcome == "rejected"


def test_step_failure_is_a_message_and_input_is_kept(case, staff, login, monkeypatch):
    review = open_task(case, "review")

    def fail(**kwargs):
        raise StepFailed("办理失败，未保存任何更改：除数为零")

    monkeypatch.setattr("govflow.cases.views.task_complete_and_notify", fail)
    response = login(staff["reviewer_x"]).post(
        f"/tasks/{review.pk}/", {"f-decision": "approve", "f-note": "保留"}
    )
    page = response.content.decode()
    assert response.status_code == 422 and "除数为零" in page and "保留" in page


def test_completing_notifies_holders_of_the_next_tasks(case, staff, login):
    review = open_task(case, "review")
    login(staff["reviewer_x"]).post(f"/tasks/{review.pk}/", {"f-decision": "approve"})
    check_a = open_task(case, "check_a")
    check_b = open_task(case, "check_b")
    assert Notification.objects.filter(user=staff["leader_x"], task=check_a, kind="task_routed").exists()
    assert Notification.objects.filter(user=staff["approver"], task=check_b, kind="task_routed").exists()
    assert not Notification.objects.filter(user=staff["reviewer_x"], task__in=[check_a, check_b]).exists()


def test_done_task_page_shows_no_form(case, staff, login):
    review = open_task(case, "review")
    task_complete(user=staff["reviewer_x"], task_id=review.pk, data={"decision": "reject"})
    page = login(staff["reviewer_x"]).get(f"/tasks/{review.pk}/").content.decode()
    assert "此任务已结束" in page and 'name="f-decision"' not in page and "不同意" in page


def test_overdue_task_is_flagged_on_its_page(case, staff, login):
    review = open_task(case, "review")
    type(review).objects.filter(pk=review.pk).update(scheduled=timezone.now() - timezone.timedelta(days=2))
    page = login(staff["reviewer_x"]).get(f"/tasks/{review.pk}/").content.decode()
    assert "已超期" in page
