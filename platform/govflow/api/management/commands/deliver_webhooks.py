"""manage.py deliver_webhooks [--once] [--interval SECONDS]: send case events to webhook subscribers.

Run it next to run_worker (a loop for a systemd service; --once for cron). Each sweep turns the audit
events recorded since the last sweep into deliveries and attempts the due ones (govflow.api.webhooks).
Safe to run several at once: the cursor row and each delivery's row are locked while they are handled.
"""

from __future__ import annotations

import logging
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from govflow.api.webhooks import sweep

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Deliver webhook events (loop, or once with --once)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="one sweep, then exit (for cron)")
        parser.add_argument(
            "--interval", type=float, default=10.0, help="seconds between sweeps (default 10)"
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
                close_old_connections()
            try:
                result = sweep()
            except Exception:
                if once:
                    raise
                logger.exception("webhook sweep failed; trying again next sweep")
                result = {"queued": 0, "tried": 0}
            if once or result["queued"] or result["tried"]:
                self.stdout.write(f"queued {result['queued']} delivery(ies), attempted {result['tried']}")
            if once or stopping:
                return
            slept = 0.0
            while slept < interval and not stopping:
                time.sleep(min(1.0, interval - slept))
                slept += 1.0
