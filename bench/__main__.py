"""`make bench`: run every benchmark in one process, print a table, write bench-results.json.

Each benchmark module exposes `run(ctx) -> dict[str, float]`; figures from all modules are merged into one
flat JSON object. Benchmarks that need PostgreSQL say so and are skipped (with a note) on SQLite.
Usage: python -m bench [--only NAME ...] [--scale small|full] [--out bench-results.json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform as std_platform
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "platform"))

# Order matters only for readability of the table.
MODULES = [
    "bench_expressions",
    "bench_forms",
    "bench_engine",
    "bench_spiff",
    "bench_queues",
    "bench_audit",
]

TARGETS = {
    "case_throughput_per_s": (">=", 20),
    "vs_viewflow_ratio": ("<=", 1.3),
    "vs_spiff_ratio": ("<=", 0.2),
    "inbox_p95_ms": ("<", 100),
    "queue_p95_ms": ("<", 100),
    "validate_40_fields_median_ms": ("<", 2),
    "audit_verify_events_per_s": (">=", 50_000),
}


def _met(key: str, value: float) -> str:
    if key not in TARGETS:
        return ""
    op, target = TARGETS[key]
    ok = {">=": value >= target, "<=": value <= target, "<": value < target}[op]
    return f"{op} {target}: {'met' if ok else 'NOT met'}"


def _create_postgres_database(url: str) -> None:
    """Create the benchmark's PostgreSQL database if it does not exist yet (it is never the demo's)."""
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import dj_database_url
    import psycopg
    from psycopg import sql

    settings = dj_database_url.parse(url)
    params = {
        "host": settings["HOST"] or None,
        "port": settings["PORT"] or None,
        "user": settings["USER"] or None,
    }
    if settings.get("PASSWORD"):
        params["password"] = settings["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [settings["NAME"]]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings["NAME"])))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--scale", choices=["small", "full"], default=os.environ.get("BENCH_SCALE", "full"))
    parser.add_argument("--out", default=str(REPO / "bench-results.json"))
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.bench")
    _create_postgres_database(os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or "")
    import django

    django.setup()
    from django.db import connection

    ctx = {"scale": args.scale, "vendor": connection.vendor}
    results: dict[str, object] = {
        "machine": {
            "python": sys.version.split()[0],
            "cpus": os.cpu_count(),
            "platform": std_platform.platform(),
            "database": connection.vendor,
        },
        "scale": args.scale,
        "notes": {},
    }
    for name in MODULES:
        if args.only and name not in args.only and name.removeprefix("bench_") not in args.only:
            continue
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                results["notes"][name] = "not present"  # type: ignore[index]
                continue
            raise
        started = time.perf_counter()
        try:
            figures = module.run(ctx)
        except Exception as exc:  # a broken benchmark is reported, the others still run
            traceback.print_exc()
            results["notes"][name] = f"failed: {exc}"  # type: ignore[index]
            continue
        results.update(figures)
        print(f"[{name}] done in {time.perf_counter() - started:.1f}s", file=sys.stderr)

    import resource

    # Peak resident memory of this one process (it ran every benchmark, like one busy worker).
    results["memory_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Ratios between modules measured in this run: govflow's time per case / the peer's (lower is better).
    if isinstance(results.get("case_throughput_per_s"), float) and isinstance(
        results.get("spiff_cases_per_s"), float
    ):
        results["vs_spiff_ratio"] = results["spiff_cases_per_s"] / results["case_throughput_per_s"]  # type: ignore[operator]
    Path(args.out).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    width = max([len(k) for k in results] + [10])
    print(f"\n{'figure':<{width}}  {'value':>14}  target")
    for key, value in results.items():
        if isinstance(value, int | float):
            print(f"{key:<{width}}  {value:>14.3f}  {_met(key, float(value))}")
    for name, note in results["notes"].items():  # type: ignore[union-attr]
        print(f"note: {name}: {note}")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
