"""Inbox and queue pages at scale: 200k cases and 1M tasks in a county of 20 townships and 500 villages.

The data is built once with bulk inserts (rows as the runtime writes them: viewflow Process and Task rows
routed to a role at an area, and the Case rows), then the real pages (/work/ and /work/queue/) are fetched
through Django's test client as a township reviewer and a county approver: p50/p95 over repeated requests,
and the SQL statements per page.
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import connection, transaction

HERE = Path(__file__).resolve().parent
COUNTY = "371799"
TOWNSHIPS = [f"{COUNTY}{100 + t:03d}" for t in range(20)]
VILLAGES = [f"{t}{200 + v:03d}" for t in TOWNSHIPS for v in range(25)]


def _setup_areas_and_users() -> dict[str, Any]:
    from django.contrib.auth import get_user_model

    from govflow.roles.importers import areas_import
    from govflow.roles.library import load_catalog
    from govflow.roles.models import Area, Role
    from govflow.roles.services import role_assign
    from govflow.workflows.library import import_library

    load_catalog(HERE.parent / "roles" / "catalog.json")
    if not Area.objects.filter(code=VILLAGES[-1]).exists():
        rows = [{"code": COUNTY, "name": "基准县", "level": "county", "parent_code": ""}]
        rows += [
            {"code": t, "name": f"基准镇{i}", "level": "township", "parent_code": COUNTY}
            for i, t in enumerate(TOWNSHIPS)
        ]
        rows += [
            {"code": v, "name": f"基准村{i}", "level": "village", "parent_code": v[:9]}
            for i, v in enumerate(VILLAGES)
        ]
        areas_import(rows=rows)
    import_library([HERE / "definitions"])
    users = {}
    for name, role, area in [
        ("q_reviewer", "township_reviewer", TOWNSHIPS[0]),
        ("q_approver", "county_approver", COUNTY),
    ]:
        user, created = get_user_model().objects.get_or_create(username=name)
        if created:
            role_assign(user=user, role=Role.objects.get(key=role), area=Area.objects.get(code=area))
        users[name] = user
    return users


def _build(n_cases: int, users: dict[str, Any]) -> None:
    """n_cases cases of five tasks each: most finished, 15% waiting in a queue, 5% claimed."""
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone
    from viewflow.workflow.models import Process, Task
    from viewflow.workflow.token import Token

    from govflow.cases.models import Case
    from govflow.roles.models import Area
    from govflow.workflows.selectors import flow_class_for, workflow_version_get

    START = Token("start")  # noqa: N806

    version = workflow_version_get(key="bench_four_step")
    if Case.objects.filter(workflow=version, area_code__startswith=COUNTY).count() >= n_cases:
        return
    flow = flow_class_for(version)
    area_type = ContentType.objects.get_for_model(Area)
    rng = random.Random(7)
    now = timezone.now()
    batch = 2000
    made = Case.objects.filter(workflow=version, area_code__startswith=COUNTY).count()
    reviewer, approver = users["q_reviewer"], users["q_approver"]
    while made < n_cases:
        size = min(batch, n_cases - made)
        with transaction.atomic():
            villages = [rng.choice(VILLAGES) for _ in range(size)]
            created = [
                now - timedelta(days=rng.randint(0, 900), minutes=rng.randint(0, 1440)) for _ in range(size)
            ]
            kinds = [rng.random() for _ in range(size)]
            processes = Process.objects.bulk_create(
                [
                    Process(
                        flow_class=flow,
                        status="DONE" if k < 0.8 else "NEW",
                        created=c,
                        finished=c + timedelta(days=20) if k < 0.8 else None,
                        data={
                            "case": {"area": v},
                            "apply": {"applicant": f"申请人{made + i}", "amount": 100},
                        },
                    )
                    for i, (v, c, k) in enumerate(zip(villages, created, kinds, strict=True))
                ]
            )
            Case.objects.bulk_create(
                [
                    Case(
                        process=p,
                        workflow=version,
                        procedure_key=version.key,
                        reference=f"{COUNTY}-BF-{made + i:08d}",
                        area_code=v,
                        applicant=f"申请人{made + i}",
                        status="closed" if k < 0.8 else "open",
                        outcome="paid" if k < 0.8 else "",
                        created=c,
                        finished=c + timedelta(days=20) if k < 0.8 else None,
                    )
                    for i, (p, v, c, k) in enumerate(zip(processes, villages, created, kinds, strict=True))
                ]
            )
            tasks = []
            for p, v, c, k in zip(processes, villages, created, kinds, strict=True):
                tasks.append(
                    Task(
                        process=p,
                        flow_task=flow.n_apply,
                        flow_task_type="START",
                        status="DONE",
                        created=c,
                        finished=c,
                        token=START,
                    )
                )
                steps = [
                    (flow.n_review, "township_reviewer", v[:9]),
                    (flow.n_approve, "county_approver", COUNTY),
                    (flow.n_pay, "county_cashier", COUNTY),
                ]
                open_at = 3 if k < 0.8 else rng.randint(0, 2)
                for index, (node, role, area) in enumerate(steps[: open_at + 1 if open_at < 3 else 3]):
                    is_open = index == open_at
                    owner = None
                    status = "DONE"
                    if is_open:
                        status = "ASSIGNED" if k > 0.95 else "NEW"
                        if status == "ASSIGNED":
                            owner = reviewer if role == "township_reviewer" else approver
                    tasks.append(
                        Task(
                            process=p,
                            flow_task=node,
                            flow_task_type="HUMAN",
                            status=status,
                            owner=owner,
                            owner_permission=f"roles.act_as_{role}",
                            owner_permission_content_type=area_type,
                            owner_permission_obj_pk=area,
                            created=c + timedelta(days=index + 1),
                            finished=None if is_open else c + timedelta(days=index + 2),
                            scheduled=c + timedelta(days=index + 11),
                            token=START,
                        )
                    )
                if k < 0.8:
                    tasks.append(
                        Task(
                            process=p,
                            flow_task=flow.n_paid,
                            flow_task_type="END",
                            status="DONE",
                            created=c,
                            finished=c,
                            token=START,
                        )
                    )
            Task.objects.bulk_create(tasks)
        made += size


def _fetch(client: Any, url: str, n: int) -> tuple[list[float], int]:
    client.get(url)  # warm
    statements: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    durations = []
    for _ in range(n):
        started = time.perf_counter()
        client.get(url)
        durations.append((time.perf_counter() - started) * 1000)
    return durations, len(statements)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def run(ctx: dict) -> dict[str, float]:
    from django.core.management import call_command
    from django.test import Client
    from django.urls import NoReverseMatch, reverse
    from viewflow.workflow.models import Task

    call_command("migrate", verbosity=0, interactive=False)
    users = _setup_areas_and_users()
    n_cases = 218_000 if ctx["scale"] == "full" else 10_000  # 218k cases make 1.0M tasks
    started = time.perf_counter()
    _build(n_cases, users)
    build_seconds = time.perf_counter() - started
    try:
        urls = {"inbox": reverse("cases:inbox"), "queue": reverse("cases:queue")}
    except NoReverseMatch:
        return {}
    figures: dict[str, float] = {
        "queues_tasks": float(Task.objects.count()),
        "queues_build_seconds": build_seconds,
    }
    n = 60 if ctx["scale"] == "full" else 20
    for who in ("q_reviewer", "q_approver"):
        client = Client(HTTP_HOST="localhost")
        client.force_login(users[who])
        for page, url in urls.items():
            durations, queries = _fetch(client, url, n)
            label = "township" if who == "q_reviewer" else "county"
            figures[f"{page}_{label}_p50_ms"] = statistics.median(durations)
            figures[f"{page}_{label}_p95_ms"] = _p95(durations)
            figures[f"{page}_{label}_queries"] = float(queries)
    figures["inbox_p95_ms"] = max(figures["inbox_township_p95_ms"], figures["inbox_county_p95_ms"])
    figures["queue_p95_ms"] = max(figures["queue_township_p95_ms"], figures["queue_county_p95_ms"])
    return figures
