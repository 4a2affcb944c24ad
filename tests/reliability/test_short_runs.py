"""Short versions of the reliability scripts (reliability/): seed, a 10-second load, one fault round.

They run the real web server (gunicorn, production settings) and timer worker as subprocesses on a
scratch PostgreSQL database next to the test database (govflow_reliability_ci, dropped and recreated),
so they need DATABASE_URL to name a PostgreSQL server; on SQLite they are skipped. Every subprocess is
started by reliability.common.Processes and stopped in a finally block, also when an assertion fails.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
DATABASE_URL = os.environ.get("DATABASE_URL", "")
CI_DB = "govflow_reliability_ci"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not DATABASE_URL.startswith(("postgres://", "postgresql://")),
        reason="reliability runs need PostgreSQL: set DATABASE_URL=postgres://... (SQLite runs skip them)",
    ),
]

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


@pytest.fixture(scope="module")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from reliability.common import PYTHON

    out = tmp_path_factory.mktemp("reliability") / "users.json"
    proc = subprocess.run(
        [
            PYTHON,
            "-m",
            "reliability.seed",
            "--db",
            CI_DB,
            "--server",
            DATABASE_URL,
            "--users",
            "40",
            "--out",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_short_load_has_no_server_errors_and_stays_consistent(users_file: Path) -> None:
    from reliability.common import Processes, run_consistency
    from reliability.load import drive, load_users

    document = load_users(users_file)
    procs = Processes(document["database_url"], workers=2, interval=1.0)
    try:
        procs.start()
        stats = drive(procs.base, document["users"], users=20, duration=10, think=0.3)
    finally:
        procs.stop()
    report = stats.report()
    assert report["requests"] > 50, report
    assert report["server_errors"] == 0, report["samples"]
    assert report["cases_started"] > 0, report
    consistency = run_consistency(document["database_url"])
    assert consistency["ok"], consistency["problems"]


def test_one_fault_round_stays_consistent(users_file: Path) -> None:
    from reliability.faults import run

    report = run(users_file, rounds=1, seconds=9, users=20, think=0.2, restart_delay=1.0)
    (result,) = report["rounds"]
    assert result["killed_gunicorn_worker"] and result["killed_run_worker"], result
    assert result["gunicorn_recovered"], result
    assert result["consistency_ok"], result["problems"]
    assert result["http_5xx"] == 0, result
    assert result["timers_due_unfired"] == 0, result
    assert report["ok"], report


def teardown_module() -> None:
    """Drop the scratch database (best effort: a failed run's database is kept only until the next one)."""
    try:
        import dj_database_url
        import psycopg
        from psycopg import sql

        cfg = dj_database_url.parse(DATABASE_URL)
        params = {"host": cfg["HOST"] or None, "port": cfg["PORT"] or None, "user": cfg["USER"] or None}
        if cfg.get("PASSWORD"):
            params["password"] = cfg["PASSWORD"]
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(CI_DB)))
    except Exception:  # noqa: BLE001 - cleanup must never hide the test's own result
        pass
