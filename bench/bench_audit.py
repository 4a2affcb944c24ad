"""Audit chain: append rate through audit_record_many and verify rate over the whole chain."""

from __future__ import annotations

import os
import time


def run(ctx: dict) -> dict[str, float]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from govflow.audit.models import AuditEvent
    from govflow.audit.services import EventSpec, audit_record, audit_record_many, audit_verify

    target = 1_000_000 if ctx["scale"] == "full" else 20_000
    existing = AuditEvent.objects.count()
    started = time.perf_counter()
    written = 0
    batch = 1000
    while existing + written < target:
        specs = [
            EventSpec(
                action="task.completed",
                area_code="371703102201",
                procedure_key="fee",
                case_id=i,
                task_id=i * 3,
                diff=[{"path": "review/decision", "old": None, "new": "approve"}],
                data={"form_key": "review", "form_version": 1},
            )
            for i in range(written, written + batch)
        ]
        audit_record_many(specs)
        written += batch
    write_seconds = time.perf_counter() - started
    started = time.perf_counter()
    serial = audit_verify()
    serial_seconds = time.perf_counter() - started
    workers = os.cpu_count() or 1
    started = time.perf_counter()
    result = audit_verify(workers=workers)
    verify_seconds = time.perf_counter() - started
    if not (serial.ok and result.ok):
        raise RuntimeError(
            f"audit chain broken in the benchmark database: {serial.problem or result.problem}"
        )
    # One event per transaction, as a claim or a completion writes it.
    from django.db import transaction

    singles = 300
    started = time.perf_counter()
    for i in range(singles):
        with transaction.atomic():
            audit_record(action="task.claimed", area_code="371703102201", procedure_key="fee", case_id=i)
    single_seconds = time.perf_counter() - started
    figures = {
        "audit_chain_events": float(result.checked),
        "audit_verify_events_per_s": result.checked / verify_seconds,
        "audit_verify_serial_events_per_s": serial.checked / serial_seconds,
        "audit_verify_workers": float(workers),
        "audit_verify_seconds": verify_seconds,
        "audit_append_single_event_ms": single_seconds / singles * 1000,
    }
    if written:
        figures["audit_append_batched_events_per_s"] = written / write_seconds
    return figures
