"""Optional Celery task: deployments that run Celery beat can fire timers with it instead of run_worker.

Celery is not a dependency; this module is only imported by a Celery worker that has it installed:

    # celery beat schedule
    "govflow-timers": {"task": "govflow.cases.tasks.fire_timers", "schedule": 30.0}
"""

from __future__ import annotations

from celery import shared_task  # type: ignore[import-not-found]

from govflow.cases.services import timers_fire


@shared_task(name="govflow.cases.tasks.fire_timers", ignore_result=True)
def fire_timers() -> int:
    return timers_fire()
