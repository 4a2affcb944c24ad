"""Attachments, comments, generated documents, notifications and work-list filters through the API."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.audit.models import AuditEvent
from tests.api.conftest import PROCEDURE, VILLAGE_A, open_task_id

PDF = b"%PDF-1.4\n% test\n"


def upload(client, case_id, name="证明.pdf", content=PDF, **extra):
    return client.post(
        f"/api/v1/cases/{case_id}/attachments/",
        {"file": SimpleUploadedFile(name, content, content_type="application/pdf"), **extra},
        format="multipart",
    )


def test_attachments_upload_list_and_download(cases, api):
    case_id = cases["a"].pk
    review = open_task_id(cases["a"])
    created = upload(api("clerk_a"), case_id, task_id=review)
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["filename"] == "证明.pdf" and body["content_type"] == "application/pdf"
    assert body["size"] == len(PDF) and body["task_id"] == review and body["uploaded_by"] == "clerk_a"
    listed = api("reviewer_x").get(f"/api/v1/cases/{case_id}/attachments/").json()
    assert [a["id"] for a in listed["results"]] == [body["id"]]
    download = api("supervisor_x").get(body["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF
    assert "attachment" in download["Content-Disposition"] and download["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(action="attachment.added", case_id=case_id).exists()
    # Another township neither lists nor downloads it, nor can anyone probe ids.
    assert api("reviewer_y").get(f"/api/v1/cases/{case_id}/attachments/").status_code == 403
    denied = api("reviewer_y").get(body["url"])
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    assert (
        api("reviewer_y").get("/api/v1/attachments/99999/", HTTP_ACCEPT="application/pdf").status_code == 403
    )


def test_attachment_rules_come_from_the_service(cases, api):
    case_id = cases["a"].pk
    wrong = upload(api("clerk_a"), case_id, name="run.exe", content=b"MZ\x90\x00")
    assert wrong.status_code == 400 and list(wrong.json()["field_errors"]) == ["file"]
    fake = upload(api("clerk_a"), case_id, name="fake.pdf", content=b"<html>")
    assert fake.status_code == 400 and list(fake.json()["field_errors"]) == ["file"]
    missing = api("clerk_a").post(f"/api/v1/cases/{case_id}/attachments/", {}, format="multipart")
    assert missing.status_code == 400 and list(missing.json()["field_errors"]) == ["file"]
    # Supervisors read; they do not add to cases.
    assert upload(api("supervisor"), case_id).status_code == 403
    assert upload(api("clerk_c"), case_id).status_code == 403


def test_oversized_uploads_are_413_before_parsing(cases, api, settings):
    settings.GOVFLOW_MAX_UPLOAD_BYTES = 1000
    response = upload(api("clerk_a"), cases["a"].pk, content=PDF + b"x" * 100_000)
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_comments_mentions_and_masking(cases, api):
    case_id = cases["a"].pk
    created = api("clerk_a").post(
        f"/api/v1/cases/{case_id}/comments/",
        {"text": "@reviewer_x 请核对，电话13812345678 @reviewer_y"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["mentions"] == ["reviewer_x"] and created.json()["not_notified"] == ["reviewer_y"]
    staff_view = api("reviewer_x").get(f"/api/v1/cases/{case_id}/comments/").json()["results"]
    assert "13812345678" in staff_view[0]["text"] and staff_view[0]["author"] == "clerk_a"
    supervisor_view = api("supervisor").get(f"/api/v1/cases/{case_id}/comments/").json()["results"]
    assert "138****5678" in supervisor_view[0]["text"]
    notes = api("reviewer_x").get("/api/v1/me/notifications/?unread=true").json()["results"]
    assert "mention" in {n["kind"] for n in notes}
    empty = api("clerk_a").post(f"/api/v1/cases/{case_id}/comments/", {"text": " "}, format="json")
    assert empty.status_code == 400 and "text" in empty.json()["field_errors"]
    assert (
        api("supervisor").post(f"/api/v1/cases/{case_id}/comments/", {"text": "x"}, format="json").status_code
        == 403
    )
    assert api("reviewer_y").get(f"/api/v1/cases/{case_id}/comments/").status_code == 403


def test_api_starts_and_completions_notify_like_the_web(every_kind, api):
    case = (
        api("clerk_a")
        .post(
            "/api/v1/cases/",
            {"procedure": PROCEDURE, "area": VILLAGE_A, "data": {"applicant": "张三", "amount": 100}},
            format="json",
        )
        .json()
    )
    x = api("reviewer_x")
    notes = x.get("/api/v1/me/notifications/").json()["results"]
    assert [(n["kind"], n["case_id"]) for n in notes] == [("task_routed", case["id"])]
    assert notes[0]["case_reference"] == case["reference"] and notes[0]["read_at"] is None
    marked = x.post("/api/v1/me/notifications/read/", {}, format="json")
    assert marked.status_code == 200 and marked.json() == {"marked": 1}
    assert x.get("/api/v1/me/notifications/?unread=1").json()["count"] == 0
    review = case["open_tasks"][0]["id"]
    x.post(f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "approve"}}, format="json")
    leader = api("leader_x").get("/api/v1/me/notifications/").json()["results"]
    assert [n["kind"] for n in leader] == ["task_routed"]
    assert x.post("/api/v1/me/notifications/read/", {"ids": "x"}, format="json").status_code == 400


def test_generated_documents_list_and_download(cases, api):
    review = open_task_id(cases["a"])
    api("reviewer_x").post(
        f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "approve"}}, format="json"
    )
    rows = api("clerk_a").get(f"/api/v1/cases/{cases['a'].pk}/documents/").json()["results"]
    assert len(rows) == 1 and rows[0]["key"] == "notice" and rows[0]["filename"].startswith("告知书-")
    pdf = api("supervisor_x").get(rows[0]["url"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert api("reviewer_y").get(rows[0]["url"]).status_code == 403
    assert api("reviewer_y").get(f"/api/v1/cases/{cases['a'].pk}/documents/").status_code == 403


def test_work_lists_filter_and_sort_like_the_web(cases, staff, api):
    x = api("reviewer_x")
    review = open_task_id(cases["a"])
    assert [t["id"] for t in x.get("/api/v1/tasks/queue/?q=张三").json()["results"]] == [review]
    assert x.get("/api/v1/tasks/queue/?q=李四").json()["count"] == 0  # case C's applicant, other township
    assert x.get(f"/api/v1/tasks/queue/?q={cases['a'].reference}").json()["count"] == 1
    assert x.get("/api/v1/tasks/queue/?procedure=other").json()["count"] == 0
    assert x.get("/api/v1/tasks/queue/?area=371727100202").json()["count"] == 0
    assert x.get("/api/v1/tasks/queue/?due=overdue").json()["count"] == 0
    assert x.get("/api/v1/tasks/queue/?sort=-created").status_code == 200
    bad = x.get("/api/v1/tasks/queue/?due=never&sort=sideways")
    assert bad.status_code == 400 and set(bad.json()["field_errors"]) == {"due", "sort"}
    x.post(f"/api/v1/tasks/{review}/complete/", {"data": {"decision": "reject"}}, format="json")
    done = x.get("/api/v1/tasks/done/").json()["results"]
    assert [t["id"] for t in done] == [review] and done[0]["status"] == "DONE"
    assert api("reviewer_y").get("/api/v1/tasks/done/").json()["count"] == 0
    assert x.get("/api/v1/cases/?sort=reference").json()["results"][0]["id"] == cases["a"].pk
    assert api("approver").get("/api/v1/cases/?q=李四").json()["results"][0]["applicant"] == "李四"
