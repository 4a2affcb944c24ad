"""The same four-step procedure run by SpiffWorkflow (a pure-Python BPMN engine), persisted like ours.

Each step is one transaction: lock the case row, deserialize the workflow, complete the user task, run the
engine, serialize and store it back — the least a persistent engine must do. Claiming a task is a second,
smaller transaction (store the owner), as in govflow. No permission checks, validation or audit: this is
the peer's engine cost, which govflow's full platform path is compared with (`vs_spiff_ratio`: govflow's
time per case / SpiffWorkflow's).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.db import connection, transaction

HERE = Path(__file__).resolve().parent
STEPS = [
    ("review", {"decision": "approve"}),
    ("approve", {"decision": "approve"}),
    ("pay", {"paid_on": "2013-03-28"}),
]


def _engine() -> tuple[Any, Any]:
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer

    parser = BpmnParser()
    parser.add_bpmn_file(str(HERE / "spiff" / "bench_four_step_spiff.bpmn"))
    return parser.get_spec("bench_four_step"), BpmnWorkflowSerializer()


def _table() -> None:
    with connection.cursor() as cursor:
        kind = "BIGSERIAL" if connection.vendor == "postgresql" else "INTEGER"
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS bench_spiff_case (id {kind} PRIMARY KEY, state TEXT, owner TEXT)"
        )


def _run_case(spec: Any, serializer: Any) -> None:
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    with transaction.atomic(), connection.cursor() as cursor:
        workflow = BpmnWorkflow(spec)
        workflow.data["apply"] = {"applicant": "张三", "amount": 100}
        workflow.do_engine_steps()
        cursor.execute(
            "INSERT INTO bench_spiff_case (state, owner) VALUES (%s, '') RETURNING id",
            [serializer.serialize_json(workflow)],
        )
        case_id = cursor.fetchone()[0]
    for node, data in STEPS:
        with transaction.atomic(), connection.cursor() as cursor:  # claim
            cursor.execute(f"SELECT owner FROM bench_spiff_case WHERE id = %s{lock}", [case_id])
            cursor.execute("UPDATE bench_spiff_case SET owner = %s WHERE id = %s", [node, case_id])
        with transaction.atomic(), connection.cursor() as cursor:  # complete
            cursor.execute(f"SELECT state FROM bench_spiff_case WHERE id = %s{lock}", [case_id])
            workflow = serializer.deserialize_json(cursor.fetchone()[0])
            task = next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == node)
            task.data[node] = data
            task.run()
            workflow.do_engine_steps()
            cursor.execute(
                "UPDATE bench_spiff_case SET state = %s, owner = '' WHERE id = %s",
                [serializer.serialize_json(workflow), case_id],
            )
    if not workflow.is_completed():
        raise RuntimeError("SpiffWorkflow did not finish the benchmark case")


def run(ctx: dict) -> dict[str, float]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    try:
        spec, serializer = _engine()
    except ImportError:
        return {}
    _table()
    n = 200 if ctx["scale"] == "full" else 40
    _run_case(spec, serializer)
    started = time.perf_counter()
    for _ in range(n):
        _run_case(spec, serializer)
    spiff_rate = n / (time.perf_counter() - started)
    figures = {"spiff_cases_per_s": spiff_rate}
    return figures
