"""The case page (summary, steps, documents, diagram, open tasks, timeline) and the case list."""

from govflow.cases.models import Case
from govflow.cases.services import task_claim, task_complete
from govflow.workflows.models import CaseDocument
from tests.workflows.test_engine import open_task, start


def approved(case, staff):
    task_complete(
        user=staff["reviewer_x"], task_id=open_task(case, "review").pk, data={"decision": "approve"}
    )
    return case


def test_case_page_shows_summary_steps_open_tasks_documents_diagram_and_timeline(case, staff, login):
    approved(case, staff)
    task_claim(user=staff["leader_x"], task_id=open_task(case, "check_a").pk)
    page = login(staff["clerk_a"]).get(f"/cases/{case.pk}/").content.decode()
    for text in (case.reference, "甲村", "张三", "乡镇复核", "县级复核", "100.00 元", "同意", "测试告知书"):
        assert text in page, text
    assert "leader_x" in page  # the claimed task's owner
    assert "<svg" in page and 'class="done"' in page and 'class="assigned"' in page and 'class="new"' in page
    assert "发起案件" in page and "办理完成" in page  # audit timeline
    document = CaseDocument.objects.get(process_id=case.pk)
    assert f"/cases/{case.pk}/documents/{document.pk}/" in page


def test_case_document_downloads_as_pdf_within_scope(case, staff, login):
    approved(case, staff)
    document = CaseDocument.objects.get(process_id=case.pk)
    response = login(staff["approver"]).get(f"/cases/{case.pk}/documents/{document.pk}/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert login(staff["reviewer_y"]).get(f"/cases/{case.pk}/documents/{document.pk}/").status_code == 403
    other = start(staff)
    assert login(staff["clerk_a"]).get(f"/cases/{other.pk}/documents/{document.pk}/").status_code == 403


def test_case_list_shows_cases_in_scope_with_filters(every_kind, staff, login):
    mine = start(staff)
    theirs = start(staff)
    Case.objects.filter(pk=theirs.pk).update(applicant="李四", id_card="11010519491231002X")
    task_complete(user=staff["reviewer_x"], task_id=open_task(mine, "review").pk, data={"decision": "reject"})
    client = login(staff["supervisor_x"])
    page = client.get("/cases/").content.decode()
    assert mine.reference in page and theirs.reference in page and "共 2 件" in page
    assert "1101**********002X" in page and "11010519491231002X" not in page
    closed = client.get("/cases/", {"status": "closed"}).content.decode()
    assert mine.reference in closed and theirs.reference not in closed
    found = client.get("/cases/", {"q": "李四"}).content.decode()
    assert theirs.reference in found and mine.reference not in found
    assert (
        theirs.reference
        not in login(staff["supervisor"]).get("/cases/", {"area": "371727101"}).content.decode()
    )
    assert "您的辖区内暂无案件" in login(staff["clerk_c"]).get("/cases/").content.decode()
