"""Deadlines from duration specs: days (calendar or working days), hours, or a date computed from case data.

A deadline given in days or as a date passes at the end of that day in the county's time zone (local
midnight that follows it): "within 10 working days of 2012-03-05" is due 2012-03-19 and a timer on it fires
at 2012-03-20 00:00 Asia/Shanghai. Hours count from the moment the task or timer starts.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from govflow import workdays
from govflow.expressions import as_date, compile_expression


def expression_context(data: dict[str, Any], today: date | None = None) -> dict[str, Any]:
    """The variables expressions see for a case: its data plus today's date in the county's time zone."""
    context = dict(data)
    context["__today__"] = today or timezone.localdate()
    return context


def end_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def due_date(duration: dict[str, Any], *, start: datetime, data: dict[str, Any]) -> date | None:
    """The last day of a day-based duration (None for hours)."""
    if "date" in duration:
        return as_date(compile_expression(duration["date"]).evaluate(expression_context(data)))
    if "days" in duration:
        first = timezone.localtime(start).date()
        if duration.get("calendar") == "working":
            return workdays.add_working_days(first, duration["days"])
        return first + timedelta(days=duration["days"])
    return None


def deadline(duration: dict[str, Any], *, start: datetime, data: dict[str, Any]) -> datetime:
    """The moment a duration spec has passed, counted from `start`. Raises ExpressionError for bad data."""
    if "hours" in duration:
        return start + timedelta(hours=duration["hours"])
    day = due_date(duration, start=start, data=data)
    assert day is not None
    return end_of_day(day)
