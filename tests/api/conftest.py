"""API fixtures: the test procedure (every node kind), logged-in clients, and one case in each township."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from govflow.cases.services import case_start
from tests.workflows.conftest import every_kind  # noqa: F401  (the fixture, re-exported)

VILLAGE_A = "371727100201"  # 甲村, township X (定陶镇 371727100)
VILLAGE_C = "371727101201"  # 丙村, township Y (南王店镇 371727101)
PROCEDURE = "test_every_kind"


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """Throttle counters live in the cache, which outlives each test's database."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api(staff):
    """api("reviewer_x") -> an APIClient logged in (session) as that user of the `staff` fixture."""

    def client_for(name: str | None = None) -> APIClient:
        client = APIClient()
        if name is not None:
            client.force_login(staff[name])
        return client

    return client_for


@pytest.fixture
def cases(every_kind, staff):  # noqa: F811
    """Case A (village A, township X) and case C (village C, township Y), each with its review task open."""
    a = case_start(
        user=staff["clerk_a"],
        procedure_key=PROCEDURE,
        area_code=VILLAGE_A,
        data={"applicant": "张三", "amount": 100},
    )
    c = case_start(
        user=staff["clerk_c"],
        procedure_key=PROCEDURE,
        area_code=VILLAGE_C,
        data={"applicant": "李四", "amount": 50},
    )
    return {"a": a, "c": c}


def open_task_id(case, node: str = "review") -> int:
    from viewflow.workflow.models import Task
    from viewflow.workflow.status import STATUS

    for task in Task.objects.filter(
        process_id=case.pk, flow_task_type="HUMAN", status__in=[STATUS.NEW, STATUS.ASSIGNED]
    ):
        if task.flow_task.node_id == node:
            return task.pk
    raise AssertionError(f"no open {node} task on case {case.pk}")
