"""Fault injection: kill -9 a gunicorn worker and the timer worker while cases are being worked.

    .venv/bin/python -m reliability.seed --db govflow_reliability --users 200
    .venv/bin/python -m reliability.faults --rounds 5 --round-seconds 20 --users 50

Starts gunicorn (2 workers) and `manage.py run_worker --interval 1` on the seeded scratch database, then
for each round: drives completions, case starts (30% of them rel_timer cases, whose timers the worker
fires) and views for `--round-seconds`; a third of the way in it sends SIGKILL to one gunicorn worker
(gunicorn's master forks a new one) and to run_worker, restarting run_worker after `--restart-delay`
seconds. When the round's traffic has stopped it waits for the worker to catch up and runs
consistency.py, whose checks run in one snapshot. Requests cut by the kill show as connection errors
(resets) in the round's counts; they are expected and reported, not failures. A round fails if the
data is inconsistent, a timer that was due is left unfired, or gunicorn does not get its workers back.

PostgreSQL itself is not restarted: the server is shared with other work on this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from reliability.common import REPO, Processes, run_consistency
from reliability.load import drive, load_users

# Completion-heavy: faults should land while steps and timers commit.
FAULT_WEIGHTS = {
    "clerk": {"start": 0.6, "view": 0.3, "search": 0.1},
    "other": {"complete": 0.8, "view": 0.2},
}


def fault_round(
    procs: Processes,
    rows: list[dict[str, Any]],
    *,
    number: int,
    users: int,
    seconds: float,
    think: float,
    restart_delay: float,
) -> dict[str, Any]:
    result: dict[str, Any] = {"round": number}
    holder: dict[str, Any] = {}

    def traffic() -> None:
        holder["stats"] = drive(
            procs.base, rows, users=users, duration=seconds, think=think, weights=FAULT_WEIGHTS
        )

    runner = threading.Thread(target=traffic, daemon=True)
    runner.start()
    time.sleep(seconds / 3)
    before = procs.gunicorn_workers()
    result["killed_gunicorn_worker"] = procs.kill_one_gunicorn_worker()
    result["killed_run_worker"] = procs.kill_worker()
    time.sleep(restart_delay)
    procs.restart_worker()
    runner.join(seconds + 120)
    stats = holder["stats"].report()
    # Gunicorn replaces the dead worker by itself; wait for it, and for the timer worker to catch up.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(procs.gunicorn_workers()) < procs.workers:
        time.sleep(0.2)
    after = procs.gunicorn_workers()
    result["gunicorn_workers_before"] = before
    result["gunicorn_workers_after"] = after
    time.sleep(max(2.0, 3 * procs.interval))
    consistency = run_consistency(procs.env["DATABASE_URL"])
    result.update(
        {
            "requests": stats["requests"],
            "requests_per_s": stats["requests_per_s"],
            "p95_ms": stats["p95_ms"],
            "server_errors": stats["server_errors"],
            "http_5xx": sum(
                n
                for row in stats["by_endpoint"].values()
                for s, n in row["statuses"].items()
                if s.startswith("5")
            ),
            "connection_errors": sum(row["statuses"].get("conn", 0) for row in stats["by_endpoint"].values()),
            "tasks_completed": stats["tasks_completed"],
            "cases_started": stats["cases_started"],
            "consistency_ok": consistency["ok"],
            "problems": consistency["problems"],
            "timers_fired_total": consistency.get("counts", {}).get("timers_fired"),
            "timers_due_unfired": consistency.get("counts", {}).get("timers_due_unfired"),
        }
    )
    workers_back = len(after) >= procs.workers and result["killed_gunicorn_worker"] not in after
    result["gunicorn_recovered"] = workers_back
    result["ok"] = bool(consistency["ok"] and workers_back and not result["timers_due_unfired"])
    return result


def postgres_round(
    procs: Processes, rows: list[dict[str, Any]], *, users: int, seconds: float
) -> dict[str, Any]:
    """Restart PostgreSQL under load: requests during the outage must fail cleanly (503 or a cut
    connection, never another 5xx), traffic must succeed again afterwards, and the data stay consistent.

    Needs root on a machine whose PostgreSQL cluster is this test's alone (pg_ctlcluster 15 main).
    """
    import subprocess

    holder: dict[str, Any] = {}

    def traffic() -> None:
        holder["stats"] = drive(
            procs.base, rows, users=users, duration=seconds, think=0.3, weights=FAULT_WEIGHTS
        )

    runner = threading.Thread(target=traffic, daemon=True)
    runner.start()
    time.sleep(seconds / 3)
    command = ["/usr/bin/pg_ctlcluster", "15", "main", "restart"]
    restarted = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (constant)
    runner.join(seconds + 120)
    stats = holder["stats"].report()
    after = drive(procs.base, rows, users=5, duration=5, think=0.2, weights=FAULT_WEIGHTS).report()
    time.sleep(max(2.0, 3 * procs.interval))
    consistency = run_consistency(procs.env["DATABASE_URL"])
    statuses: dict[str, int] = {}
    for row in stats["by_endpoint"].values():
        for status, n in row["statuses"].items():
            statuses[status] = statuses.get(status, 0) + n
    unclean = sum(n for status, n in statuses.items() if status.startswith("5") and status != "503")
    result = {
        "postgres_restarted": restarted.returncode == 0,
        "requests": stats["requests"],
        "statuses": statuses,
        "unclean_5xx": unclean,
        "after_requests": after["requests"],
        "after_server_errors": after["server_errors"],
        "consistency_ok": consistency["ok"],
        "problems": consistency["problems"],
    }
    result["ok"] = bool(
        result["postgres_restarted"]
        and not unclean
        and after["requests"]
        and not after["server_errors"]
        and consistency["ok"]
    )
    return result


def run(
    users_file: Path,
    *,
    rounds: int,
    seconds: float,
    users: int,
    think: float,
    restart_delay: float,
    interval: float = 1.0,
    workers: int = 2,
    restart_postgres: bool = False,
) -> dict[str, Any]:
    document = load_users(users_file)
    procs = Processes(document["database_url"], workers=workers, interval=interval)
    results = []
    try:
        procs.start()
        for number in range(1, rounds + 1):
            result = fault_round(
                procs,
                document["users"],
                number=number,
                users=users,
                seconds=seconds,
                think=think,
                restart_delay=restart_delay,
            )
            results.append(result)
            print(
                f"round {number}: killed gunicorn worker {result['killed_gunicorn_worker']} and run_worker "
                f"{result['killed_run_worker']}; {result['requests']} requests, {result['tasks_completed']} "
                f"completions, {result['cases_started']} starts; 5xx {result['http_5xx']}, cut connections "
                f"{result['connection_errors']}; gunicorn recovered {result['gunicorn_recovered']}; timers fired "
                f"{result['timers_fired_total']} (due unfired {result['timers_due_unfired']}); consistency "
                f"{'OK' if result['consistency_ok'] else 'FAILED'}",
                flush=True,
            )
            for problem in result["problems"]:
                print(f"   PROBLEM: {problem}", flush=True)
        if restart_postgres:
            result = postgres_round(procs, document["users"], users=users, seconds=seconds)
            results.append(result)
            print(f"postgres restart: {json.dumps(result, ensure_ascii=False)}", flush=True)
    finally:
        procs.stop()
    expected = rounds + (1 if restart_postgres else 0)
    return {"ok": all(r["ok"] for r in results) and len(results) == expected, "rounds": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users-file", type=Path, default=REPO / "var" / "reliability" / "users.json")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--round-seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--think", type=float, default=0.3)
    parser.add_argument("--restart-delay", type=float, default=2.0, help="seconds before run_worker restarts")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--restart-postgres",
        action="store_true",
        help="add a round that restarts the local PostgreSQL cluster under load (root; never on a shared server)",
    )
    args = parser.parse_args(argv)
    report = run(
        args.users_file,
        rounds=args.rounds,
        seconds=args.round_seconds,
        users=args.users,
        think=args.think,
        restart_delay=args.restart_delay,
        restart_postgres=args.restart_postgres,
    )
    print("faults:", "OK" if report["ok"] else "FAILED", f"({len(report['rounds'])} rounds)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
