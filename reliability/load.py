"""Load test over HTTP: gunicorn (production settings) + run_worker on a seeded scratch database.

    .venv/bin/python -m reliability.seed --db govflow_reliability --users 200
    .venv/bin/python -m reliability.load --users 200 --duration 60

Each simulated user is a thread with its own API token (from seed.py's JSON file) that loops for
`--duration` seconds: pick an operation, run it, wait a random think time (mean `--think` seconds).
Operations, in the proportions of the issue (60% views, 20% completions, 10% starts, 10% searches):

- view: GET /api/v1/tasks/inbox/ or /tasks/queue/ (alternately);
- complete: take a task from the inbox, else claim one from the queue, then POST .../complete/ with its
  form's data (reviewers, approvers and cashiers; 10% of reviews are rejections);
- start: POST /api/v1/cases/ in the clerk's village (70% bench_four_step, 30% rel_timer, whose timer the
  worker fires);
- search: GET /api/v1/cases/?q=...&status=open.

Starts are made by village clerks only and completions by the other roles; the per-role weights are set so
the overall mix is the one above. Every HTTP request is timed and labelled by endpoint. 409 (someone else
was faster) and 429 (throttled) are counted apart; "server errors" are 5xx answers, refused or reset
connections and timeouts. After the run the processes are stopped and consistency.py runs.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import requests

from reliability.common import REPO, Processes, percentile, run_consistency

MIX = {"view": 0.60, "complete": 0.20, "start": 0.10, "search": 0.10}
START_ROLES = {"village_clerk"}


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: Counter[tuple[str, str]] = Counter()
        self.operations: Counter[str] = Counter()
        self.completed = 0
        self.started_cases = 0
        self.samples: list[str] = []
        self.t0 = time.monotonic()
        self.t1 = self.t0

    def record(self, label: str, status: str, seconds: float) -> None:
        with self.lock:
            self.latency[label].append(seconds)
            self.status[(label, status)] += 1

    def note(self, text: str) -> None:
        with self.lock:
            if len(self.samples) < 20:
                self.samples.append(text)

    def server_errors(self) -> int:
        return sum(
            n for (_label, status), n in self.status.items() if status.startswith("5") or status == "conn"
        )

    def report(self) -> dict[str, Any]:
        elapsed = max(self.t1 - self.t0, 1e-9)
        total = sum(len(v) for v in self.latency.values())
        by_label = {}
        for label, values in sorted(self.latency.items()):
            by_label[label] = {
                "requests": len(values),
                "p50_ms": round(percentile(values, 50) * 1000, 1),
                "p95_ms": round(percentile(values, 95) * 1000, 1),
                "p99_ms": round(percentile(values, 99) * 1000, 1),
                "statuses": {s: n for (lab, s), n in sorted(self.status.items()) if lab == label},
            }
        everything = [v for values in self.latency.values() for v in values]
        return {
            "seconds": round(elapsed, 1),
            "requests": total,
            "requests_per_s": round(total / elapsed, 1),
            "p50_ms": round(percentile(everything, 50) * 1000, 1),
            "p95_ms": round(percentile(everything, 95) * 1000, 1),
            "p99_ms": round(percentile(everything, 99) * 1000, 1),
            "server_errors": self.server_errors(),
            "error_rate": round(self.server_errors() / total, 5) if total else 0.0,
            "conflicts_409": sum(n for (_l, s), n in self.status.items() if s == "409"),
            "throttled_429": sum(n for (_l, s), n in self.status.items() if s == "429"),
            "client_errors_other_4xx": sum(
                n for (_l, s), n in self.status.items() if s.startswith("4") and s not in ("409", "429")
            ),
            "operations": dict(self.operations),
            "tasks_completed": self.completed,
            "cases_started": self.started_cases,
            "by_endpoint": by_label,
            "samples": self.samples,
        }


def role_weights(clerk_share: float) -> dict[str, dict[str, float]]:
    """Per-role operation weights whose users-weighted sum is MIX (clerks start, the others complete)."""
    c = min(max(clerk_share, 0.05), 0.95)
    clerk = {"start": MIX["start"] / c, "search": MIX["search"]}
    other = {"complete": MIX["complete"] / (1 - c), "search": MIX["search"]}
    clerk["view"] = max(0.0, 1 - sum(clerk.values()))
    other["view"] = max(0.0, 1 - sum(other.values()))
    return {"clerk": clerk, "other": other}


class User:
    def __init__(self, base: str, row: dict[str, Any], stats: Stats, timeout: float) -> None:
        self.base = base.rstrip("/") + "/api/v1"
        self.row = row
        self.stats = stats
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {row['token']}"
        self.views = 0

    def call(self, method: str, path: str, label: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        started = time.monotonic()
        try:
            reply = self.session.request(method, self.base + path, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            self.stats.record(label, "conn", time.monotonic() - started)
            self.stats.note(f"{label} {path}: {type(exc).__name__}")
            self.session.close()
            return 0, None
        self.stats.record(label, str(reply.status_code), time.monotonic() - started)
        if reply.status_code >= 500:
            self.stats.note(f"{label} {path}: {reply.status_code} {reply.text[:200]}")
        try:
            return reply.status_code, reply.json()
        except ValueError:
            return reply.status_code, None

    def view(self) -> None:
        self.views += 1
        which = "inbox" if self.views % 2 else "queue"
        self.call("GET", f"/tasks/{which}/?page_size=20", which)

    def search(self) -> None:
        self.call("GET", f"/cases/?q=压测{random.randint(0, 99)}&status=open&page_size=20", "search")

    def start(self) -> None:
        procedure = "bench_four_step" if random.random() < 0.7 else "rel_timer"
        body = {
            "procedure": procedure,
            "area": self.row["area"],
            "data": {
                "applicant": f"压测{random.randint(0, 99)}号申请人",
                "amount": round(random.uniform(1, 999), 2),
            },
        }
        status, _reply = self.call("POST", "/cases/", "start", body)
        if status == 201:
            with self.stats.lock:
                self.stats.started_cases += 1

    @staticmethod
    def form_data(node: str) -> dict[str, Any]:
        if node == "pay":
            return {"paid_on": date.today().isoformat()}
        if node == "review":
            return {"decision": "reject" if random.random() < 0.1 else "approve"}
        return {"decision": "approve"}

    def complete(self) -> None:
        status, page = self.call("GET", "/tasks/inbox/?page_size=20", "inbox")
        task = None
        if status == 200 and page and page.get("results"):
            task = random.choice(page["results"])
        else:
            status, page = self.call("GET", "/tasks/queue/?page_size=50", "queue")
            if status != 200 or not page or not page.get("results"):
                return
            task = random.choice(page["results"])
            status, _ = self.call("POST", f"/tasks/{task['id']}/claim/", "claim")
            if status != 200:
                return
        status, _ = self.call(
            "POST",
            f"/tasks/{task['id']}/complete/",
            "complete",
            {"data": self.form_data(task.get("node", ""))},
        )
        if status == 200:
            with self.stats.lock:
                self.stats.completed += 1

    def loop(self, weights: dict[str, float], until: float, think: float, stop: threading.Event) -> None:
        kinds, values = list(weights), list(weights.values())
        time.sleep(random.uniform(0, think))  # do not all arrive in the same millisecond
        while time.monotonic() < until and not stop.is_set():
            kind = random.choices(kinds, values)[0]
            with self.stats.lock:
                self.stats.operations[kind] += 1
            getattr(self, kind)()
            if think > 0:
                stop.wait(random.uniform(0, 2 * think))


def drive(
    base: str,
    rows: list[dict[str, Any]],
    *,
    users: int,
    duration: float,
    think: float = 1.0,
    timeout: float = 30.0,
    weights: dict[str, dict[str, float]] | None = None,
    stop: threading.Event | None = None,
) -> Stats:
    """Run `users` simulated users against `base` for `duration` seconds; returns the statistics."""
    chosen = [rows[i % len(rows)] for i in range(users)]
    clerk_share = sum(1 for r in chosen if r["role"] in START_ROLES) / max(1, len(chosen))
    weights = weights or role_weights(clerk_share)
    stats = Stats()
    stop = stop or threading.Event()
    until = time.monotonic() + duration
    threads = []
    for row in chosen:
        user = User(base, row, stats, timeout)
        w = weights["clerk"] if row["role"] in START_ROLES else weights["other"]
        t = threading.Thread(target=user.loop, args=(w, until, think, stop), daemon=True)
        threads.append(t)
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + timeout + 30)
    stats.t1 = time.monotonic()
    return stats


def load_users(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    # Interleave roles so that a run with fewer users than seeded still has every role.
    by_role: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in document["users"]:
        by_role[row["role"]].append(row)
    total = len(document["users"])
    ordered: list[dict[str, Any]] = []
    position = dict.fromkeys(by_role, 0)
    for i in range(total):
        # largest remaining share first, so the first k users keep the seeded proportions
        role = max(by_role, key=lambda r: (len(by_role[r]) * (i + 1) / total - position[r], r))
        if position[role] < len(by_role[role]):
            ordered.append(by_role[role][position[role]])
            position[role] += 1
    seen = {r["username"] for r in ordered}
    ordered += [r for r in document["users"] if r["username"] not in seen]
    document["users"] = ordered
    return document


def print_report(title: str, report: dict[str, Any]) -> None:
    print(f"== {title}")
    print(
        f"   {report['requests']} requests in {report['seconds']} s = {report['requests_per_s']} req/s; "
        f"p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms, p99 {report['p99_ms']} ms"
    )
    print(
        f"   server errors {report['server_errors']} (rate {report['error_rate']}), 409 {report['conflicts_409']}, "
        f"429 {report['throttled_429']}, other 4xx {report['client_errors_other_4xx']}"
    )
    print(
        f"   operations {report['operations']}; cases started {report['cases_started']}, "
        f"tasks completed {report['tasks_completed']}"
    )
    print(f"   {'endpoint':<10} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for label, row in report["by_endpoint"].items():
        print(
            f"   {label:<10} {row['requests']:>8} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8}  "
            f"{row['statuses']}"
        )
    for sample in report["samples"][:10]:
        print(f"   sample error: {sample}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users-file", type=Path, default=REPO / "var" / "reliability" / "users.json")
    parser.add_argument("--users", type=int, default=200, help="simulated users (threads)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--think", type=float, default=1.0, help="mean think time between operations (s)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread if > 1)")
    parser.add_argument("--worker-interval", type=float, default=1.0, help="run_worker --interval")
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)

    document = load_users(args.users_file)
    url = document["database_url"]
    procs = Processes(url, workers=args.workers, threads=args.threads, interval=args.worker_interval)
    try:
        procs.start()
        stats = drive(
            procs.base, document["users"], users=args.users, duration=args.duration, think=args.think
        )
    finally:
        procs.stop()
    report = stats.report()
    report["config"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
    report["consistency"] = run_consistency(url)
    print_report(f"load: {args.users} users, {args.duration:.0f} s, gunicorn {args.workers} workers", report)
    consistency = report["consistency"]
    print(f"   consistency: {'OK' if consistency['ok'] else 'FAILED'} {consistency.get('counts', {})}")
    for problem in consistency["problems"]:
        print(f"   PROBLEM: {problem}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0 if report["server_errors"] == 0 and consistency["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
