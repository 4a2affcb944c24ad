# ruff: noqa: S608  (table names come from the models, never from input)
"""Consistency checks of a govflow database after a load or fault run.

    .venv/bin/python -m reliability.consistency --database-url postgres://postgres@127.0.0.1:5432/govflow_reliability

As a function: `check()` in a process where Django is set up on the database. Checks:

1. every open case has at least one open task (NEW, ASSIGNED, STARTED) or a SCHEDULED timer;
2. no case has two open tasks of the same node, unless its definition has a parallel split;
3. no human task was done twice per node per case where the definition allows only once (no cycles,
   no parallel split);
4. no audit `task.completed` event is repeated for the same task id, and each one's task is DONE;
5. every closed case has no open human task;
6. the audit hash chain verifies (govflow.audit.services.audit_verify).

Exit status 0 when all hold, 1 otherwise. Start it only when the web server and worker are stopped (or
idle), otherwise a step caught half-way between two statements of a check may be reported.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

OPEN = ("NEW", "ASSIGNED", "STARTED")
MAX_LISTED = 20


def _graph_flags(document: dict[str, Any]) -> tuple[bool, bool]:
    """(has a parallel split, has a cycle) of a workflow definition."""
    parallel = any(n.get("kind") == "parallel_split" for n in document.get("nodes", []))
    nexts: dict[str, list[str]] = {}
    for edge in document.get("edges", []):
        nexts.setdefault(edge["from"], []).append(edge["to"])
    for node in document.get("nodes", []):
        for boundary in node.get("boundary", []) or []:
            if boundary.get("to"):
                nexts.setdefault(node["id"], []).append(boundary["to"])
    state: dict[str, int] = {}
    cycle = False

    def visit(node: str) -> None:
        nonlocal cycle
        state[node] = 1
        for nxt in nexts.get(node, []):
            if state.get(nxt) == 1:
                cycle = True
            elif nxt not in state:
                visit(nxt)
        state[node] = 2

    for node in list(nexts):
        if node not in state:
            visit(node)
    return parallel, cycle


def check() -> dict[str, Any]:
    """Run every check in one REPEATABLE READ snapshot (PostgreSQL), so a step committing meanwhile is
    seen either whole or not at all."""
    from django.db import connection, transaction

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _check()


def _check() -> dict[str, Any]:
    from django.db import connection
    from viewflow.workflow.models import Task

    from govflow.audit.models import AuditEvent
    from govflow.audit.services import audit_verify
    from govflow.cases.models import Case
    from govflow.workflows.models import WorkflowVersion

    task_table = Task._meta.db_table
    case_table = Case._meta.db_table
    audit_table = AuditEvent._meta.db_table
    problems: list[str] = []
    counts: dict[str, int] = {}

    def rows(sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params or [])
            return cursor.fetchall()

    status_counts = dict(rows(f"SELECT status, count(*) FROM {case_table} GROUP BY status"))
    counts.update({f"cases_{k}": v for k, v in status_counts.items()})
    counts["tasks"] = rows(f"SELECT count(*) FROM {task_table}")[0][0]
    counts["tasks_done_human"] = rows(
        f"SELECT count(*) FROM {task_table} WHERE status = 'DONE' AND flow_task_type = 'HUMAN'"
    )[0][0]

    # 1. open cases without open work
    stuck = rows(
        f"""SELECT c.process_id, c.reference FROM {case_table} c WHERE c.status = 'open' AND NOT EXISTS (
              SELECT 1 FROM {task_table} t WHERE t.process_id = c.process_id
              AND t.status IN ('NEW', 'ASSIGNED', 'STARTED', 'SCHEDULED'))
            ORDER BY c.process_id"""
    )
    counts["open_cases_without_open_task"] = len(stuck)
    for pk, ref in stuck[:MAX_LISTED]:
        problems.append(f"open case {ref} (#{pk}) has no open task and no scheduled timer")

    # Definitions: which versions may legitimately repeat a node or run it twice at once.
    flags = {v.pk: _graph_flags(v.document) for v in WorkflowVersion.objects.all()}
    case_version = dict(rows(f"SELECT process_id, workflow_id FROM {case_table}"))

    # 2. two open tasks of the same node
    dup_open = rows(
        f"""SELECT process_id, flow_task, count(*) FROM {task_table}
            WHERE status IN ('NEW', 'ASSIGNED', 'STARTED') GROUP BY process_id, flow_task HAVING count(*) > 1"""
    )
    dup_open = [r for r in dup_open if not flags.get(case_version.get(r[0]), (True, True))[0]]
    counts["duplicate_open_tasks"] = len(dup_open)
    for pk, node, n in dup_open[:MAX_LISTED]:
        problems.append(f"case #{pk}: {n} open tasks of node {node}")

    # 3. a human node done twice where the definition allows it once
    dup_done = rows(
        f"""SELECT process_id, flow_task, count(*) FROM {task_table}
            WHERE status = 'DONE' AND flow_task_type = 'HUMAN' GROUP BY process_id, flow_task HAVING count(*) > 1"""
    )
    dup_done = [r for r in dup_done if not any(flags.get(case_version.get(r[0]), (True, True)))]
    counts["human_node_done_twice"] = len(dup_done)
    for pk, node, n in dup_done[:MAX_LISTED]:
        problems.append(f"case #{pk}: human node {node} done {n} times")

    # 4. audit: a task completed twice, or a completion whose task is not DONE
    twice = rows(
        f"""SELECT task_id, count(*) FROM {audit_table} WHERE action = 'task.completed' AND task_id IS NOT NULL
            GROUP BY task_id HAVING count(*) > 1"""
    )
    counts["task_completed_events_repeated"] = len(twice)
    for task_id, n in twice[:MAX_LISTED]:
        problems.append(f"task #{task_id}: {n} task.completed audit events")
    lost = rows(
        f"""SELECT a.task_id, t.status FROM {audit_table} a LEFT JOIN {task_table} t ON t.id = a.task_id
            WHERE a.action = 'task.completed' AND (t.id IS NULL OR t.status <> 'DONE')"""
    )
    counts["completed_events_task_not_done"] = len(lost)
    for task_id, status in lost[:MAX_LISTED]:
        problems.append(f"task #{task_id}: audited as completed but its status is {status}")
    counts["task_completed_events"] = rows(
        f"SELECT count(*) FROM {audit_table} WHERE action = 'task.completed'"
    )[0][0]

    # 5. closed cases with open human tasks
    leftover = rows(
        f"""SELECT c.process_id, c.reference, count(*) FROM {case_table} c JOIN {task_table} t
              ON t.process_id = c.process_id
            WHERE c.status = 'closed' AND t.flow_task_type = 'HUMAN' AND t.status IN ('NEW', 'ASSIGNED', 'STARTED')
            GROUP BY c.process_id, c.reference"""
    )
    counts["closed_cases_with_open_human_tasks"] = len(leftover)
    for pk, ref, n in leftover[:MAX_LISTED]:
        problems.append(f"closed case {ref} (#{pk}) still has {n} open human task(s)")

    # Informational: timers already due but not fired (the worker is behind, or not running).
    counts["timers_due_unfired"] = rows(
        f"SELECT count(*) FROM {task_table} WHERE flow_task_type = 'TIMER' AND status = 'SCHEDULED' "
        "AND scheduled <= now()"
    )[0][0]
    counts["timers_fired"] = rows(
        f"SELECT count(*) FROM {task_table} WHERE flow_task_type = 'TIMER' AND status = 'DONE'"
    )[0][0]

    counts["tasks_error"] = rows(f"SELECT count(*) FROM {task_table} WHERE status = 'ERROR'")[0][0]
    if counts["tasks_error"]:
        problems.append(f"{counts['tasks_error']} task(s) in ERROR")

    # 6. the audit chain
    verified = audit_verify()
    counts["audit_events"] = verified.checked
    if not verified.ok:
        problems.append(f"audit chain broken at #{verified.problem_seq}: {verified.problem}")
    return {"ok": not problems, "problems": problems, "counts": counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args(argv)
    from reliability.common import django_setup

    django_setup(args.database_url)
    result = check()
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print("consistency:", "OK" if result["ok"] else "FAILED")
        for key, value in result["counts"].items():
            print(f"  {key}: {value}")
        for problem in result["problems"]:
            print("  PROBLEM:", problem)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
