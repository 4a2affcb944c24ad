"""List endpoints cost the same number of queries for 2 rows as for 6 (no query per row)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from govflow.cases.services import case_start, task_claim
from tests.api.conftest import PROCEDURE, VILLAGE_A, open_task_id


def count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.json()
    return len(ctx.captured_queries)


def start_some(staff, n: int) -> list:
    return [
        case_start(
            user=staff["clerk_a"],
            procedure_key=PROCEDURE,
            area_code=VILLAGE_A,
            data={"applicant": "张三", "amount": 1},
        )
        for _ in range(n)
    ]


def test_lists_do_not_query_per_row(every_kind, staff, api):
    urls = {
        "reviewer_x": [
            "/api/v1/cases/",
            "/api/v1/tasks/queue/",
            "/api/v1/tasks/inbox/",
            "/api/v1/tasks/done/",
        ],
        "supervisor": ["/api/v1/audit/events/?action=case.started"],
    }
    first = start_some(staff, 2)
    task_claim(user=staff["reviewer_x"], task_id=open_task_id(first[0]))
    clients = {who: api(who) for who in urls}
    before = {(who, url): count(clients[who], url) for who in urls for url in urls[who]}
    more = start_some(staff, 4)
    for case in more[:2]:
        task_claim(user=staff["reviewer_x"], task_id=open_task_id(case))
    after = {(who, url): count(clients[who], url) for who in urls for url in urls[who]}
    assert after == before
