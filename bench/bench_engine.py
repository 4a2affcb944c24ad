"""Engine throughput: a four-step case (start + 3 human tasks + 1 gateway), claim and complete of each task.

Three runs over the same procedure:
- `hand`: the flow hand-written as a viewflow class (bench/flows.py), driven with viewflow's activation calls;
- `compiled`: the same procedure as data (bench/definitions), compiled by govflow, driven by the same calls:
  the generic runtime's own overhead (target: <= 1.3x the hand-written flow);
- `platform`: the compiled flow through govflow's services door (role and area checks, form validation,
  case row and reference number, hash-chained audit events): what a real request pays.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

HERE = Path(__file__).resolve().parent
VILLAGE = "371727100201"
STEPS = [
    ("n_review", "reviewer", "review", {"decision": "approve"}),
    ("n_approve", "approver", "approve", {"decision": "approve"}),
    ("n_pay", "cashier", "pay", {"paid_on": "2013-03-28"}),
]


def _setup() -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from govflow.roles.importers import areas_import
    from govflow.roles.library import load_catalog
    from govflow.roles.models import Area, Role
    from govflow.roles.services import role_assign
    from govflow.workflows.library import import_library

    load_catalog(HERE.parent / "roles" / "catalog.json")
    if not Area.objects.filter(code=VILLAGE).exists():
        areas_import(
            rows=[
                {"code": "371727", "name": "定陶县", "level": "county", "parent_code": ""},
                {"code": "371727100", "name": "定陶镇", "level": "township", "parent_code": "371727"},
                {"code": VILLAGE, "name": "甲村", "level": "village", "parent_code": "371727100"},
            ]
        )
    users = {}
    for name, role, area in (
        ("clerk", "village_clerk", VILLAGE),
        ("reviewer", "township_reviewer", "371727100"),
        ("approver", "county_approver", "371727"),
        ("cashier", "county_cashier", "371727"),
    ):
        user, created = get_user_model().objects.get_or_create(username=f"bench_{name}")
        if created:
            role_assign(user=user, role=Role.objects.get(key=role), area=Area.objects.get(code=area))
        users[name] = user
    import_library([HERE / "definitions"])
    return users


def _drive_raw(flow_class: Any, users: dict[str, Any]) -> None:
    from viewflow.workflow.models import Task

    with transaction.atomic():
        process = flow_class.n_apply.run(
            user=users["clerk"],
            _process_data={"case": {"area": VILLAGE}, "apply": {"applicant": "张三", "amount": 100}},
        )
    for attr, user_key, node_id, data in STEPS:
        task = Task.objects.get(process=process, flow_task=getattr(flow_class, attr))
        with transaction.atomic(), task.activation() as activation:
            activation.assign(users[user_key])
        with transaction.atomic(), task.activation() as activation:
            activation.start(None)
            activation.process.data[node_id] = data
            activation.process.save(update_fields=["data"])
            activation.execute()


def _drive_services(users: dict[str, Any]) -> None:
    from viewflow.workflow.models import Task

    from govflow.cases.services import case_start, task_claim, task_complete

    case = case_start(
        user=users["clerk"],
        procedure_key="bench_four_step",
        area_code=VILLAGE,
        data={"applicant": "张三", "amount": 100},
    )
    for _attr, user_key, _node_id, data in STEPS:
        task = Task.objects.filter(process_id=case.pk, flow_task_type="HUMAN", status="NEW").get()
        task_claim(user=users[user_key], task_id=task.pk)
        task_complete(user=users[user_key], task_id=task.pk, data=data)


def _measure(fn: Any, n: int) -> tuple[float, list[float], int]:
    fn()  # warm up caches and compiled classes
    with CaptureQueriesContext(connection) as queries:
        fn()
    durations = []
    started = time.perf_counter()
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - t0)
    return n / (time.perf_counter() - started), durations, len(queries.captured_queries)


def run(ctx: dict) -> dict[str, float]:
    from bench.flows import HandWrittenFlow
    from govflow.workflows.selectors import flow_class_for, workflow_version_get

    users = _setup()
    compiled = flow_class_for(workflow_version_get(key="bench_four_step"))
    n = 200 if ctx["scale"] == "full" else 40
    figures: dict[str, float] = {}
    rates = {}
    for name, fn in (
        ("hand", lambda: _drive_raw(HandWrittenFlow, users)),
        ("compiled", lambda: _drive_raw(compiled, users)),
        ("platform", lambda: _drive_services(users)),
    ):
        rate, durations, query_count = _measure(fn, n)
        rates[name] = rate
        figures[f"engine_{name}_cases_per_s"] = rate
        figures[f"engine_{name}_median_ms"] = statistics.median(durations) * 1000
        figures[f"engine_{name}_queries_per_case"] = float(query_count)
    figures["case_throughput_per_s"] = rates["platform"]
    figures["vs_viewflow_ratio"] = rates["hand"] / rates["compiled"]
    figures["platform_vs_viewflow_ratio"] = rates["hand"] / rates["platform"]
    return figures
