"""My work: inbox, queue and done lists with counts, filters, search, sorting, pagination and highlighting."""

from datetime import timedelta

import pytest
from django.utils import timezone
from viewflow.workflow.models import Task

from govflow.cases.services import case_start, task_claim, task_complete
from tests.workflows.test_engine import VILLAGE, open_task

OTHER_TOWNSHIP_VILLAGE = "371727101201"  # 丙村


def start_many(staff, n, *, village=VILLAGE, clerk="clerk_a", applicant="张三"):
    return [
        case_start(
            user=staff[clerk],
            procedure_key="test_every_kind",
            area_code=village,
            data={"applicant": f"{applicant}{i}", "amount": 10 + i},
        )
        for i in range(n)
    ]


def test_queue_inbox_and_done_show_counts_and_rows_when_tasks_move(case, staff, login):
    client = login(staff["reviewer_x"])
    page = client.get("/work/queue/").content.decode()
    assert case.reference in page and 'id="count-queue">1<' in page and 'id="count-inbox">0<' in page
    assert "张三" in page and "乡镇审核" in page and "甲村" in page
    review = open_task(case, "review")
    task_claim(user=staff["reviewer_x"], task_id=review.pk)
    page = client.get("/work/").content.decode()
    assert case.reference in page and 'id="count-inbox">1<' in page and 'id="count-queue">0<' in page
    task_complete(user=staff["reviewer_x"], task_id=review.pk, data={"decision": "reject"})
    page = client.get("/work/done/").content.decode()
    assert case.reference in page and 'id="count-done">1<' in page and "已办结" in page


def test_queue_is_empty_for_reviewer_of_another_township(case, staff, login):
    page = login(staff["reviewer_y"]).get("/work/queue/").content.decode()
    assert case.reference not in page and "张三" not in page and 'id="count-queue">0<' in page


def test_search_finds_tasks_by_reference_applicant_and_id_card(every_kind, staff, login):
    cases = start_many(staff, 3)
    from govflow.cases.models import Case

    Case.objects.filter(pk=cases[2].pk).update(id_card="11010519491231002X")
    client = login(staff["reviewer_x"])
    by_ref = client.get("/work/queue/", {"q": cases[1].reference}).content.decode()
    assert cases[1].reference in by_ref and cases[0].reference not in by_ref
    by_name = client.get("/work/queue/", {"q": "张三0"}).content.decode()
    assert cases[0].reference in by_name and cases[1].reference not in by_name
    by_id = client.get("/work/queue/", {"q": "11010519491231002x"}).content.decode()
    assert cases[2].reference in by_id and cases[0].reference not in by_id
    nothing = client.get("/work/queue/", {"q": "不存在"}).content.decode()
    assert "没有符合条件的任务" in nothing


def test_filters_narrow_by_area_procedure_status_and_due(every_kind, staff, login, make_user):
    here = start_many(staff, 2)
    there = start_many(staff, 1, village="371727100202", clerk="clerk_b")[0]
    client = login(staff["reviewer_x"])
    by_area = client.get("/work/queue/", {"area": "371727100202"}).content.decode()
    assert there.reference in by_area and here[0].reference not in by_area
    by_procedure = client.get("/work/queue/", {"procedure": "test_every_kind"}).content.decode()
    assert all(c.reference in by_procedure for c in [*here, there])
    closed = client.get("/work/queue/", {"status": "closed"}).content.decode()
    assert here[0].reference not in closed
    now = timezone.now()
    Task.objects.filter(pk=open_task(here[0], "review").pk).update(scheduled=now - timedelta(days=1))
    Task.objects.filter(pk=open_task(here[1], "review").pk).update(scheduled=now + timedelta(days=2))
    Task.objects.filter(pk=open_task(there, "review").pk).update(scheduled=now + timedelta(days=9))
    overdue = client.get("/work/queue/", {"due": "overdue"}).content.decode()
    assert here[0].reference in overdue and here[1].reference not in overdue
    soon = client.get("/work/queue/", {"due": "soon"}).content.decode()
    assert here[1].reference in soon and here[0].reference not in soon and there.reference not in soon
    bad = client.get("/work/queue/", {"due": "yesterday", "sort": "drop table"})
    assert bad.status_code == 200  # a stale or forged filter is ignored, not an error


def test_rows_are_highlighted_when_overdue_or_due_within_three_days(every_kind, staff, login):
    late, soon, later = start_many(staff, 3)
    now = timezone.now()
    Task.objects.filter(pk=open_task(late, "review").pk).update(scheduled=now - timedelta(hours=1))
    Task.objects.filter(pk=open_task(soon, "review").pk).update(scheduled=now + timedelta(days=1))
    Task.objects.filter(pk=open_task(later, "review").pk).update(scheduled=now + timedelta(days=8))
    page = login(staff["reviewer_x"]).get("/work/queue/").content.decode()
    rows = {
        c.reference: page[page.index(c.reference) - 400 : page.index(c.reference)]
        for c in (late, soon, later)
    }
    assert "row-overdue" in rows[late.reference]
    assert "row-soon" in rows[soon.reference]
    assert "row-overdue" not in rows[later.reference] and "row-soon" not in rows[later.reference]
    assert page.index(late.reference) < page.index(soon.reference) < page.index(later.reference)


def test_sorting_by_reference_descending_reverses_the_order(every_kind, staff, login):
    first, second = start_many(staff, 2)
    page = login(staff["reviewer_x"]).get("/work/queue/", {"sort": "-reference"}).content.decode()
    assert page.index(second.reference) < page.index(first.reference)


def test_lists_paginate_by_25_when_more_tasks(every_kind, staff, login):
    cases = start_many(staff, 27)
    client = login(staff["reviewer_x"])
    first = client.get("/work/queue/", {"sort": "reference"}).content.decode()
    assert "共 27 项" in first and "第 1 / 2 页" in first
    assert cases[0].reference in first and cases[26].reference not in first
    second = client.get("/work/queue/", {"sort": "reference", "page": 2}).content.decode()
    assert cases[26].reference in second and cases[0].reference not in second
    assert "sort=reference&amp;page=1" in second  # the filters survive paging


@pytest.mark.parametrize("tab", ["/work/", "/work/queue/", "/work/done/", "/cases/"])
def test_list_queries_stay_constant_when_page_grows_from_5_to_30(
    every_kind, staff, login, django_assert_max_num_queries, tab
):
    reviewer = staff["reviewer_x"]

    def fill(n):
        for case in start_many(staff, n):
            review = open_task(case, "review")
            if tab == "/work/":
                task_claim(user=reviewer, task_id=review.pk)
            elif tab == "/work/done/":
                task_complete(user=reviewer, task_id=review.pk, data={"decision": "reject"})

    fill(5)
    client = login(reviewer)
    client.get(tab)  # warm caches (compiled flow class, pinned forms, content types)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert client.get(tab).status_code == 200
    fill(25)
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = client.get(tab)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("data-task=") + body.count("data-case=") == 25
