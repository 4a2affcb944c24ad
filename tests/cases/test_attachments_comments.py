"""Attachments (limits, types, hash, scope) and comments with @mentions."""

import hashlib
from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from govflow.audit.models import AuditEvent
from govflow.cases.models import Attachment, Comment, Notification
from tests.workflows.test_engine import open_task

PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def upload(client, case, name, content, **extra):
    return client.post(
        f"/cases/{case.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content, "application/pdf"), **extra},
    )


def test_upload_stores_file_with_hash_size_type_uploader_and_audit(case, staff, login):
    review = open_task(case, "review")
    client = login(staff["reviewer_x"])
    response = upload(client, case, "../../户籍证明.pdf", PDF, task=review.pk, next=f"/tasks/{review.pk}/")
    assert response.status_code == 302 and response["Location"] == f"/tasks/{review.pk}/"
    attachment = Attachment.objects.get(case=case)
    assert attachment.filename == "户籍证明.pdf"
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest() and attachment.size == len(PDF)
    assert attachment.content_type == "application/pdf" and attachment.uploaded_by == staff["reviewer_x"]
    assert attachment.task_id == review.pk and attachment.created is not None
    stored = Path(attachment.file.path)
    assert stored.read_bytes() == PDF and str(stored).startswith(str(settings.MEDIA_ROOT))
    assert "户籍证明" not in stored.name  # stored under a random name
    event = AuditEvent.objects.get(action="attachment.added", case_id=case.pk)
    assert event.data["sha256"] == attachment.sha256 and event.actor_id == staff["reviewer_x"].pk
    page = client.get(f"/tasks/{review.pk}/").content.decode()
    assert "户籍证明.pdf" in page


def test_download_checks_scope_and_sends_the_file_as_attachment(case, staff, login):
    upload(login(staff["clerk_a"]), case, "证明.pdf", PDF)
    attachment = Attachment.objects.get(case=case)
    response = login(staff["reviewer_x"]).get(f"/attachments/{attachment.pk}/")
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert login(staff["clerk_b"]).get(f"/attachments/{attachment.pk}/").status_code == 403
    assert login(staff["reviewer_y"]).get(f"/attachments/{attachment.pk}/").status_code == 403


def test_upload_refuses_unknown_types_and_disguised_content(case, staff, login):
    client = login(staff["clerk_a"])
    for name, content in (("run.exe", b"MZ\x90\x00"), ("page.pdf", b"<html><script>"), ("x.png", PDF)):
        response = upload(client, case, name, content)
        assert response.status_code == 302
    assert not Attachment.objects.exists()
    assert upload(client, case, "ok.png", PNG).status_code == 302
    assert Attachment.objects.get().content_type == "image/png"


@override_settings(GOVFLOW_MAX_UPLOAD_BYTES=100)
def test_upload_refuses_files_over_the_size_limit(case, staff, login):
    response = upload(login(staff["clerk_a"]), case, "big.pdf", PDF + b"0" * 200)
    assert response.status_code == 302
    assert not Attachment.objects.exists()
    follow = login(staff["clerk_a"]).get(f"/cases/{case.pk}/")
    assert follow.status_code == 200


def test_upload_error_is_shown_as_message(case, staff, login):
    response = login(staff["clerk_a"]).post(
        f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("run.exe", b"MZ")}, follow=True
    )
    assert "不接受这种文件" in response.content.decode()


def test_comment_mention_notifies_a_colleague_who_can_see_the_case(case, staff, login):
    client = login(staff["clerk_a"])
    response = client.post(
        f"/cases/{case.pk}/comments/",
        {"text": "@reviewer_x 请审核，@reviewer_y 也看看，@nobody"},
        follow=True,
    )
    page = response.content.decode()
    assert "意见已发表" in page and "@reviewer_y" in page and "@nobody" in page and "未通知" in page
    comment = Comment.objects.get(case=case)
    assert comment.mentions == ["reviewer_x"] and comment.author == staff["clerk_a"]
    note = Notification.objects.get(kind="mention")
    assert note.user == staff["reviewer_x"] and note.case == case and "请审核" in note.text
    assert not Notification.objects.filter(user=staff["reviewer_y"]).exists()
    assert AuditEvent.objects.filter(action="comment.added", case_id=case.pk).exists()


def test_comment_by_htmx_returns_the_refreshed_list(case, staff, login):
    response = login(staff["reviewer_x"]).post(
        f"/cases/{case.pk}/comments/", {"text": "已收到 13812345678"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith('<section class="panel" id="comments"')
    assert "已收到" in body and "<html" not in body


def test_mention_text_masks_phone_numbers_in_the_notification(case, staff, login):
    login(staff["clerk_a"]).post(f"/cases/{case.pk}/comments/", {"text": "@reviewer_x 电话13812345678"})
    assert "138****5678" in Notification.objects.get().text


def test_empty_comment_is_refused_with_a_message(case, staff, login):
    response = login(staff["clerk_a"]).post(f"/cases/{case.pk}/comments/", {"text": "   "}, follow=True)
    assert "请填写意见" in response.content.decode()
    assert not Comment.objects.exists()


def test_files_of_a_task_form_are_stored_as_attachments_of_the_task(stepped, staff, login):
    from govflow.cases.services import case_start

    case = case_start(
        user=staff["clerk_a"],
        procedure_key="test_stepped",
        area_code="371727100201",
        data={"name": "钱七", "id_card": "11010519491231002X", "reason": "理由"},
    )
    review = open_task(case, "review")
    response = login(staff["reviewer_x"]).post(
        f"/tasks/{review.pk}/",
        {"f-ok": "on", "f-scan": SimpleUploadedFile("扫描.pdf", PDF, "application/pdf")},
    )
    assert response.status_code == 302, response.content.decode()[:500]
    attachment = Attachment.objects.get(case=case)
    assert attachment.task_id == review.pk and attachment.filename == "scan-扫描.pdf"
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    case.process.refresh_from_db()
    assert case.process.data["review"]["scan"] == "扫描.pdf"
