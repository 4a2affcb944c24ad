"""manage.py verify_audit [--from-seq N --from-hash H]: prove the audit log was not altered; exit 1 if it was."""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand

from govflow.audit.services import audit_verify


class Command(BaseCommand):
    help = "Walk the audit hash chain and report the first break (exit 1), or the counts and head hash."

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-seq", type=int, default=1, help="start at this sequence number (a checkpoint)"
        )
        parser.add_argument(
            "--from-hash", default=None, help="the hash of event from-seq - 1, as written down"
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="verify ranges in this many processes (PostgreSQL)"
        )

    def handle(self, *args, **options):
        started = time.perf_counter()
        result = audit_verify(
            from_seq=options["from_seq"], from_hash=options["from_hash"], workers=options["workers"]
        )
        elapsed = time.perf_counter() - started
        rate = result.checked / elapsed if elapsed > 0 else 0.0
        if not result.ok:
            self.stderr.write(f"AUDIT CHAIN BROKEN at event #{result.problem_seq}: {result.problem}")
            self.stderr.write(f"checked {result.checked} events before the break")
            sys.exit(1)
        self.stdout.write(
            f"audit chain OK: {result.checked} events checked in {elapsed:.2f}s ({rate:,.0f}/s)"
        )
        self.stdout.write(f"head: #{result.head_seq} {result.head_hash}")
