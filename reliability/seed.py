"""Seed a scratch PostgreSQL database for the load and fault runs.

    .venv/bin/python -m reliability.seed --db govflow_reliability --users 200 --out var/reliability/users.json

Drops and recreates the database, migrates it, loads the demo county (areas, role catalog, demo users),
imports bench/definitions (bench_four_step and its forms) plus a small timer procedure (rel_timer: start,
a timer already due when the case starts, a township confirmation), then creates N users spread over the
areas (village clerks in every village, township reviewers, county approvers and cashiers), each with an
API token, and writes them to a JSON file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from reliability.common import REPO, db_url, server_url

TIMER_WORKFLOW = {
    "key": "rel_timer",
    "title": {"zh": "可靠性：定时器案件", "en": "Reliability: timer case"},
    "code": "RT",
    "nodes": [
        {
            "id": "apply",
            "kind": "start",
            "form": "bench_apply",
            "roles": ["village_clerk"],
            "level": "village",
        },
        # Due at the end of the day before the start: fires on the worker's next sweep.
        {
            "id": "wait",
            "kind": "timer",
            "title": {"zh": "等待"},
            "wait": {"date": "add_days(case.started, -1)"},
        },
        {
            "id": "confirm",
            "kind": "user_task",
            "title": {"zh": "确认"},
            "form": "bench_review",
            "role": "township_reviewer",
            "level": "township",
        },
        {"id": "done", "kind": "end", "outcome": "confirmed"},
    ],
    "edges": [
        {"from": "apply", "to": "wait"},
        {"from": "wait", "to": "confirm"},
        {"from": "confirm", "to": "done"},
    ],
}


def recreate_database(name: str, server: str | None = None) -> str:
    """Drop (closing its sessions) and create the scratch database; returns its URL."""
    import dj_database_url
    import psycopg
    from psycopg import sql

    if not name.replace("_", "").isalnum() or not name.startswith("govflow_"):
        raise SystemExit(f"refusing database name {name!r}: scratch databases are named govflow_<something>")
    url = db_url(name, server)
    cfg = dj_database_url.parse(url)
    params: dict[str, Any] = {
        "host": cfg["HOST"] or None,
        "port": cfg["PORT"] or None,
        "user": cfg["USER"] or None,
    }
    if cfg.get("PASSWORD"):
        params["password"] = cfg["PASSWORD"]
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return url


def user_plan(n: int) -> list[tuple[str, str]]:
    """(role, level) for each of n users: 55% clerks, 30% reviewers, 15% split approvers / cashiers."""
    clerks = max(1, round(n * 0.55))
    reviewers = max(1, round(n * 0.30))
    rest = max(2, n - clerks - reviewers)
    approvers = rest // 2
    cashiers = rest - approvers
    return (
        [("village_clerk", "village")] * clerks
        + [("township_reviewer", "township")] * reviewers
        + [("county_approver", "county")] * approvers
        + [("county_cashier", "county")] * cashiers
    )


def seed(name: str, users: int, out: Path, server: str | None = None) -> dict[str, Any]:
    started = time.monotonic()
    url = recreate_database(name, server)
    from reliability.common import django_setup

    django_setup(url)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import transaction
    from rest_framework.authtoken.models import Token

    from govflow.core.demo import DEMO_PASSWORD, load_demo_users
    from govflow.roles.importers import areas_import, read_rows
    from govflow.roles.library import load_catalog
    from govflow.roles.models import Area, Role
    from govflow.roles.services import role_assign
    from govflow.workflows.library import import_library

    call_command("migrate", verbosity=0, interactive=False)
    fixtures = REPO / "fixtures"
    areas_import(rows=read_rows(fixtures / "areas.csv"))
    for path in sorted((REPO / "roles").glob("*.json")):
        load_catalog(path)
    load_demo_users(json.loads((fixtures / "demo_users.json").read_text(encoding="utf-8")))
    import_library([REPO / "bench" / "definitions"])
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "rel_timer.json"
        target.write_text(json.dumps(TIMER_WORKFLOW, ensure_ascii=False), encoding="utf-8")
        import_library([target])

    areas = {
        level: list(Area.objects.filter(level=level).order_by("code").values_list("code", flat=True))
        for level in ("village", "township", "county")
    }
    roles = {r.key: r for r in Role.objects.all()}
    area_rows = {a.code: a for a in Area.objects.all()}
    User = get_user_model()
    password = make_password(DEMO_PASSWORD)  # hashed once: seeding stays fast
    rows = []
    counters: dict[str, int] = {}
    with transaction.atomic():
        for role_key, level in user_plan(users):
            i = counters.get(role_key, 0)
            counters[role_key] = i + 1
            codes = areas[level]
            area_code = codes[i % len(codes)]
            user = User.objects.create(
                username=f"rel_{role_key}_{i:04d}", first_name=f"压测{i}", password=password
            )
            role_assign(user=user, role=roles[role_key], area=area_rows[area_code])
            token = Token.objects.create(user=user)
            rows.append({"username": user.username, "role": role_key, "area": area_code, "token": token.key})
    document = {
        "database_url": url,
        "procedures": ["bench_four_step", "rel_timer"],
        "users": rows,
        "areas": areas,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return {
        "database_url": url,
        "users": len(rows),
        "seconds": round(time.monotonic() - started, 1),
        "out": str(out),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="govflow_reliability", help="scratch database name (govflow_...)")
    parser.add_argument(
        "--server", default=None, help="PostgreSQL server URL (default RELIABILITY_PG or local)"
    )
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "var" / "reliability" / "users.json")
    args = parser.parse_args(argv)
    result = seed(args.db, args.users, args.out, args.server)
    print(
        f"seeded {result['database_url'].replace(server_url(args.server), '')}: {result['users']} users "
        f"in {result['seconds']} s -> {result['out']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
