"""manage.py run_worker [--once] [--interval SECONDS]: fire due timers and boundary timeouts.

A loop for a systemd service; --once for cron. Safe to run several at once: each timer fires under its
process's lock, and a locked one is left for the next sweep. Deployments with Celery call the same
function from govflow.cases.tasks.fire_timers instead.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from govflow.cases.services import timers_fire

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Fire due workflow timers and deadlines (loop, or once with --once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="one sweep, then exit (for cron)")
        parser.add_argument(
            "--interval", type=float, default=30.0, help="seconds between sweeps (default 30)"
        )

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        if not once:
            signal.signal(signal.SIGTERM, stop)
            signal.signal(signal.SIGINT, stop)
        while True:
            if not once:
                close_old_connections()  # a long-running loop must not keep a dead or stale connection
            try:
                fired = timers_fire()
            except (OperationalError, InterfaceError) as exc:
                if once:
                    raise
                # The database is restarting or unreachable: nothing was committed; try again next sweep.
                logger.warning("timer sweep failed, will retry: %s", exc)
                connections.close_all()
                fired = 0
            if fired or once:
                self.stdout.write(f"fired {fired} timer(s)")
            if once or stopping:
                return
            slept = 0.0
            while slept < interval and not stopping:
                time.sleep(min(1.0, interval - slept))
                slept += 1.0
