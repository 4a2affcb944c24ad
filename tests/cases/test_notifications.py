"""Notifications: the bell, the list, marking read, e-mail, and deadline reminders from the worker."""

from django.core import mail
from django.test import override_settings

from govflow.cases.models import Notification
from govflow.cases.services import case_start_and_notify, deadline_notifications_send
from tests.workflows.conftest import days_later, run_worker_at
from tests.workflows.test_engine import VILLAGE, open_task


def start_notified(staff):
    return case_start_and_notify(
        user=staff["clerk_a"],
        procedure_key="test_every_kind",
        area_code=VILLAGE,
        data={"applicant": "张三", "amount": 100},
    )


def test_bell_shows_unread_count_and_the_list_marks_read(every_kind, staff, login):
    case = start_notified(staff)
    client = login(staff["reviewer_x"])
    badge = client.get("/notifications/badge/").content.decode()
    assert 'class="bell-count"' in badge and ">1<" in badge
    home = client.get("/work/").content.decode()
    assert 'hx-get="/notifications/badge/"' in home and 'hx-trigger="load, every 60s"' in home
    assert 'href="/notifications/"' in home  # a plain link without JavaScript
    page = client.get("/notifications/").content.decode()
    assert "新任务待认领" in page and case.reference in page and 'class="unread"' in page
    note = Notification.objects.get(user=staff["reviewer_x"])
    response = client.get(f"/notifications/{note.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/tasks/{open_task(case, 'review').pk}/"
    note.refresh_from_db()
    assert note.read_at is not None
    assert "bell-count" not in client.get("/notifications/badge/").content.decode()


def test_mark_all_read(every_kind, staff, login):
    start_notified(staff)
    start_notified(staff)
    client = login(staff["reviewer_x"])
    assert client.post("/notifications/").status_code == 302
    assert not Notification.objects.filter(user=staff["reviewer_x"], read_at__isnull=True).exists()


def test_notifications_of_others_are_out_of_scope(every_kind, staff, login):
    start_notified(staff)
    note = Notification.objects.get(user=staff["reviewer_x"])
    assert login(staff["reviewer_y"]).get(f"/notifications/{note.pk}/").status_code == 403
    note.refresh_from_db()
    assert note.read_at is None


@override_settings(EMAIL_HOST="smtp.example.org")
def test_email_is_sent_when_a_mail_server_is_configured_and_the_user_has_an_address(
    every_kind, staff, django_capture_on_commit_callbacks
):
    staff["reviewer_x"].email = "rx@example.org"
    staff["reviewer_x"].save()
    with django_capture_on_commit_callbacks(execute=True):
        case = start_notified(staff)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rx@example.org"] and case.reference in message.subject
    assert f"/tasks/{open_task(case, 'review').pk}/" in message.body


def test_no_email_without_a_configured_mail_server(every_kind, staff, django_capture_on_commit_callbacks):
    staff["reviewer_x"].email = "rx@example.org"
    staff["reviewer_x"].save()
    with django_capture_on_commit_callbacks(execute=True):
        start_notified(staff)
    assert mail.outbox == []
    assert Notification.objects.filter(user=staff["reviewer_x"]).exists()


def test_the_worker_turns_reminders_and_escalations_into_notifications_once(every_kind, staff):
    case = start_notified(staff)
    review = open_task(case, "review")
    run_worker_at(days_later(4))  # the 3-day reminder fires; the worker turns it into a notification
    reminder = Notification.objects.get(kind="reminder")
    assert reminder.user == staff["reviewer_x"] and reminder.task_id == review.pk
    assert deadline_notifications_send() == 0  # never twice
    run_worker_at(days_later(20))  # 10 working days: escalated to the county approver
    escalation = Notification.objects.get(kind="escalation")
    assert escalation.user == staff["approver"] and escalation.task_id == review.pk
