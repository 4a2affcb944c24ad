# ruff: noqa: S108, S310, S603  (a test harness: fixed local commands and loopback URLs)
"""Shared helpers of the reliability scripts: scratch database URLs, the server environment, processes.

The scripts never touch the demo or test databases: every run names its own scratch PostgreSQL database
(dropped and recreated by seed.py). The web server runs with the production settings (no debug, manifest
static storage, throttles) with only the TLS redirect turned off, since the test talks plain HTTP on the
loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYTHON = (
    str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else sys.executable
)
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
MANAGE = str(REPO / "manage.py")
DEFAULT_SERVER = os.environ.get("RELIABILITY_PG", "postgres://postgres@127.0.0.1:5432")
PROCEDURE = "bench_four_step"
TIMER_PROCEDURE = "rel_timer"


def server_url(url: str | None = None) -> str:
    """The PostgreSQL server part (no database name) of a URL, e.g. from DATABASE_URL."""
    url = url or os.environ.get("RELIABILITY_PG") or DEFAULT_SERVER
    head, _, tail = url.partition("://")
    host = tail.split("/", 1)[0]
    return f"{head}://{host}"


def db_url(name: str, server: str | None = None) -> str:
    return f"{server_url(server)}/{name}"


def server_env(database_url: str, *, log_level: str = "WARNING") -> dict[str, str]:
    """Environment of the web server, the worker and the in-process checks: production settings."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "govflow.settings.prod",
            "DJANGO_SECRET_KEY": "reliability-only-not-secret",
            "DATABASE_URL": database_url,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "0",  # plain HTTP on the loopback
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "GOVFLOW_LOG_LEVEL": log_level,
            "PYTHONPATH": str(REPO / "platform") + os.pathsep + str(REPO),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("REDIS_URL", None)
    return env


def django_setup(database_url: str) -> None:
    """Configure Django in this process on the scratch database (for seeding and the checks)."""
    for key, value in server_env(database_url).items():
        if key != "PYTHONPATH":
            os.environ[key] = value
    platform = str(REPO / "platform")
    if platform not in sys.path:
        sys.path.insert(0, platform)
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Processes:
    """The web server and the worker of one run; stop() ends exactly the processes it started."""

    def __init__(
        self,
        database_url: str,
        *,
        workers: int = 2,
        threads: int = 1,
        interval: float = 1.0,
        log_dir: Path | None = None,
    ) -> None:
        self.env = server_env(database_url)
        self.workers = workers
        self.threads = threads
        self.interval = interval
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp"))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.worker_restarts = 0

    def _log(self, name: str) -> Any:
        return open(self.log_dir / f"reliability-{name}-{self.port}.log", "ab")

    def start_gunicorn(self) -> None:
        cmd = [
            GUNICORN,
            "govflow.wsgi",
            "--workers",
            str(self.workers),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--backlog",
            "2048",
        ]
        if self.threads > 1:
            # Keep-alive longer than the longest think time, as nginx upstream keep-alive would: with the
            # default 2 s the server closes idle connections just as a client reuses them.
            cmd += ["--threads", str(self.threads), "--worker-class", "gthread", "--keep-alive", "30"]
        self.gunicorn = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=self.env,
            stdout=self._log("gunicorn"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_ready()

    def start_worker(self) -> None:
        self.worker = subprocess.Popen(
            [PYTHON, MANAGE, "run_worker", "--interval", str(self.interval)],
            cwd=REPO,
            env=self.env,
            stdout=self._log("worker"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start(self) -> Processes:
        self.start_gunicorn()
        self.start_worker()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.gunicorn is not None and self.gunicorn.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.gunicorn.returncode}; see {self.log_dir}")
            try:
                urllib.request.urlopen(f"{self.base}/api/v1/me/", timeout=5)
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer on {self.base} within {timeout:.0f} s")

    def gunicorn_workers(self) -> list[int]:
        """Pids of the gunicorn worker processes (children of the master)."""
        if self.gunicorn is None:
            return []
        pid = self.gunicorn.pid
        try:
            text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def kill_one_gunicorn_worker(self) -> int | None:
        pids = self.gunicorn_workers()
        if not pids:
            return None
        pid = pids[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def kill_worker(self) -> int | None:
        if self.worker is None or self.worker.poll() is not None:
            return None
        pid = self.worker.pid
        os.kill(pid, signal.SIGKILL)
        self.worker.wait(10)
        return pid

    def restart_worker(self) -> None:
        self.start_worker()
        self.worker_restarts += 1

    @staticmethod
    def _stop(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM) -> None:
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)  # its own session: the master and its workers
        except ProcessLookupError:
            return
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def stop(self) -> None:
        self._stop(self.worker)
        self._stop(self.gunicorn)

    def __enter__(self) -> Processes:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100.0 * (len(ordered) - 1)))))
    return ordered[index]


def run_consistency(database_url: str) -> dict[str, Any]:
    """consistency.py in a fresh process (Django can be set up only once per process)."""
    proc = subprocess.run(
        [PYTHON, "-m", "reliability.consistency", "--database-url", database_url, "--json"],
        cwd=REPO,
        env=server_env(database_url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {
            "ok": False,
            "problems": [f"consistency.py failed ({proc.returncode}): {proc.stderr[-2000:]}"],
        }
