"""The Chinese working-day calendar: weekends, public holidays and make-up working days (调休).

The data is workflows/calendars/cn.json (one entry per year from the State Council's notice); the setting
GOVFLOW_CALENDAR_PATH points elsewhere. Loaded once per process.
"""

from __future__ import annotations

import calendar as _calendar
import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

DEFAULT_PATH = Path(__file__).resolve().parent.parent.parent / "workflows" / "calendars" / "cn.json"


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date]
    workdays: frozenset[date]

    def is_working_day(self, d: date) -> bool:
        if d in self.workdays:
            return True
        if d in self.holidays:
            return False
        return d.weekday() < 5

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after d (counting starts the day after: "within 10 working days of d")."""
        if n < 0:
            raise ValueError("n must not be negative")
        current = d
        while n > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                n -= 1
        return current

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b is before a."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(1 for i in range(1, (b - a).days + 1) if self.is_working_day(a + timedelta(days=i)))


def load_calendar(path: Path | str) -> WorkCalendar:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year in data.get("years", {}).values():
        holidays.update(date.fromisoformat(d) for d in year.get("holidays", []))
        workdays.update(date.fromisoformat(d) for d in year.get("workdays", []))
    return WorkCalendar(frozenset(holidays), frozenset(workdays))


def _configured_path() -> Path:
    try:
        from django.conf import settings

        if settings.configured and getattr(settings, "GOVFLOW_CALENDAR_PATH", None):
            return Path(settings.GOVFLOW_CALENDAR_PATH)
    except ImportError:  # pragma: no cover - Django is a dependency
        pass
    return Path(os.environ.get("GOVFLOW_CALENDAR_PATH") or DEFAULT_PATH)


@lru_cache(maxsize=1)
def default_calendar() -> WorkCalendar:
    return load_calendar(_configured_path())


def is_working_day(d: date) -> bool:
    return default_calendar().is_working_day(d)


def add_working_days(d: date, n: int) -> date:
    return default_calendar().add_working_days(d, n)


def working_days_between(a: date, b: date) -> int:
    return default_calendar().working_days_between(a, b)


def add_months(d: date, n: int) -> date:
    """Calendar months later, clamped to the month's end (2013-01-31 + 1 month = 2013-02-28)."""
    month_index = d.year * 12 + d.month - 1 + n
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(d.day, _calendar.monthrange(year, month)[1]))


def whole_months_between(a: date, b: date) -> int:
    """Whole months from a to b (0 when b is before a month has passed; negative when b < a)."""
    if b < a:
        return -whole_months_between(b, a)
    months = (b.year - a.year) * 12 + (b.month - a.month)
    if add_months(a, months) > b:
        months -= 1
    return months
