"""Every page and download checks scope: outsiders get 403 and a page with no case data."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from govflow.cases.models import Case
from govflow.cases.services import attachment_add, comment_add, task_complete
from govflow.workflows.models import CaseDocument
from tests.workflows.test_engine import open_task

PDF = b"%PDF-1.4\n% test\n"


@pytest.fixture
def busy_case(case, staff):
    """The case with an ID number, an attachment, a comment and a generated document."""
    Case.objects.filter(pk=case.pk).update(id_card="11010519491231002X")
    attachment = attachment_add(
        user=staff["clerk_a"], case_id=case.pk, upload=SimpleUploadedFile("证明.pdf", PDF, "application/pdf")
    )
    comment_add(user=staff["clerk_a"], case_id=case.pk, text="请乡镇尽快审核")
    task_complete(
        user=staff["reviewer_x"], task_id=open_task(case, "review").pk, data={"decision": "approve"}
    )
    document = CaseDocument.objects.get(process_id=case.pk)
    case.refresh_from_db()
    return {"case": case, "attachment": attachment, "document": document}


def secrets(case):
    return [
        case.reference,
        "张三",
        "11010519491231002X",
        "1101**********002X",
        "请乡镇尽快审核",
        "证明.pdf",
        "甲村",
    ]


@pytest.mark.parametrize("outsider", ["clerk_b", "clerk_c", "reviewer_y"])
def test_outsiders_get_403_without_case_data_on_every_url(busy_case, staff, login, outsider):
    case = busy_case["case"]
    check_a = open_task(case, "check_a")
    done_review = case.process.task_set.filter(status="DONE", flow_task_type="HUMAN").last()
    urls = [
        f"/tasks/{check_a.pk}/",
        f"/tasks/{done_review.pk}/",
        f"/cases/{case.pk}/",
        f"/attachments/{busy_case['attachment'].pk}/",
        f"/cases/{case.pk}/documents/{busy_case['document'].pk}/",
        f"/tasks/{check_a.pk}/reassign/",
        f"/audit/cases/{case.pk}/timeline/",
    ]
    client = login(staff[outsider])
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, (outsider, url, response.status_code)
        body = response.content.decode()
        for secret in secrets(case):
            assert secret not in body, (outsider, url, secret)
    posts = [
        (f"/tasks/{check_a.pk}/", {"f-ok": "on"}),
        (f"/tasks/{check_a.pk}/claim/", {}),
        (f"/cases/{case.pk}/comments/", {"text": "看看"}),
        (f"/cases/{case.pk}/attachments/", {"file": SimpleUploadedFile("x.pdf", PDF)}),
    ]
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 403, (outsider, url)
        assert case.reference not in response.content.decode()
    assert case.reference not in client.get("/cases/").content.decode()
    assert case.reference not in client.get("/work/queue/").content.decode()


def test_missing_task_and_case_ids_look_the_same_as_out_of_scope(case, staff, login):
    client = login(staff["reviewer_x"])
    assert client.get("/tasks/999999/").status_code == 403
    assert client.get("/cases/999999/").status_code == 403
    assert client.get("/attachments/999999/").status_code == 403


def test_supervisor_reads_the_case_but_cannot_act_or_add(busy_case, staff, login):
    case = busy_case["case"]
    client = login(staff["supervisor_x"])
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert case.reference in page and "1101**********002X" in page and "11010519491231002X" not in page
    assert client.get(f"/attachments/{busy_case['attachment'].pk}/").status_code == 200
    check_a = open_task(case, "check_a")
    assert client.post(f"/tasks/{check_a.pk}/", {"f-ok": "on"}).status_code == 403
    assert client.post(f"/cases/{case.pk}/comments/", {"text": "监督意见"}).status_code == 403


def test_anonymous_users_are_sent_to_login(case):
    from django.test import Client

    response = Client().get(f"/cases/{case.pk}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
