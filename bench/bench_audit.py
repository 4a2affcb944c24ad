"""Audit chain: append rate through audit_record_many and verify rate over the whole chain."""

from __future__ import annotations

import time


def run(ctx: dict) -> dict[str, float]:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from govflow.audit.models import AuditEvent
    from govflow.audit.services import EventSpec, audit_record_many, audit_verify

    target = 200_000 if ctx["scale"] == "full" else 20_000
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
    result = audit_verify()
    verify_seconds = time.perf_counter() - started
    if not result.ok:
        raise RuntimeError(f"audit chain broken in the benchmark database: {result.problem}")
    figures = {
        "audit_chain_events": float(result.checked),
        "audit_verify_events_per_s": result.checked / verify_seconds,
    }
    if written:
        figures["audit_append_batched_events_per_s"] = written / write_seconds
    return figures
