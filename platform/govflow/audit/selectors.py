"""Read-side questions about the audit log: which events a user may see, a case's timeline, and the
readable form of an event (labels, masking) shared by the pages and the exports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.errors import OutOfScope
from govflow.roles.selectors import (
    scope_q,
    user_can_see_area,
    user_grants,
    user_may_supervise,
    user_sees_personal_data,
)

from .actions import action_label
from .labels import LabelResolver
from .masking import mask_diff, mask_value
from .models import AuditEvent

FILTER_KEYS = ("actor", "area", "procedure", "action", "date_from", "date_to", "case_id")


def user_is_county_supervisor(*, user: Any) -> bool:
    """A supervisor grant at county level: sees events that carry no area (logins, definitions...)."""
    return any(g.can_supervise and g.area_level == "county" for g in user_grants(user=user))


def supervision_q(*, user: Any) -> Q:
    """The events a supervisor may read: their areas' subtrees, plus area-less events for the county level."""
    q = scope_q(user=user, field="area_code", supervise_only=True)
    if user_is_county_supervisor(user=user):
        q |= Q(area_code="")
    return q


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def events_for_user(*, user: Any, filters: Mapping[str, Any] | None = None) -> QuerySet[AuditEvent]:
    """The audit events `user` may read as a supervisor, narrowed by `filters`, newest first.

    Filters (all optional, blank values ignored): `actor` (exact username or part of the name),
    `area` (area-code prefix), `procedure` (key), `action` (exact, or a family such as "task." when it
    ends with a dot), `date_from` / `date_to` (dates, inclusive, in the site's time zone), `case_id`.
    A user without a supervisor grant gets an empty queryset; views raise OutOfScope before calling.
    """
    filters = filters or {}
    qs = AuditEvent.objects.filter(supervision_q(user=user))
    actor = str(filters.get("actor") or "").strip()
    if actor:
        qs = qs.filter(Q(actor__username=actor) | Q(actor_name__icontains=actor))
    area = str(filters.get("area") or "").strip()
    if area:
        qs = qs.filter(area_code__startswith=area)
    procedure = str(filters.get("procedure") or "").strip()
    if procedure:
        qs = qs.filter(procedure_key=procedure)
    action = str(filters.get("action") or "").strip()
    if action:
        qs = qs.filter(action__startswith=action) if action.endswith(".") else qs.filter(action=action)
    date_from = _as_date(filters.get("date_from"))
    if date_from:
        qs = qs.filter(created__gte=_day_start(date_from))
    date_to = _as_date(filters.get("date_to"))
    if date_to:
        qs = qs.filter(created__lt=_day_start(date_to + dt.timedelta(days=1)))
    case_id = filters.get("case_id")
    if case_id not in (None, ""):
        try:
            qs = qs.filter(case_id=int(case_id))
        except (TypeError, ValueError):
            qs = qs.none()
    return qs.order_by("-seq")


def case_timeline(*, user: Any, case_id: int, area_code: str) -> QuerySet[AuditEvent]:
    """Every event of one case, oldest first, for anyone who may see the case's area (staff or supervisor).

    `area_code` is the case's own area (the caller has the case). Raises OutOfScope when the user holds no
    role covering it. Events are also filtered by the user's scope, so a wrong `area_code` leaks nothing.
    """
    if not user_can_see_area(user=user, area_code=area_code):
        raise OutOfScope()
    return (
        AuditEvent.objects.filter(case_id=case_id)
        .filter(scope_q(user=user, field="area_code") | Q(area_code=""))
        .order_by("seq")
    )


def case_area_from_events(*, case_id: int) -> str | None:
    """The area a case's events were written at (the timeline page uses it when it has no case row)."""
    return (
        AuditEvent.objects.filter(case_id=case_id)
        .exclude(area_code="")
        .order_by("seq")
        .values_list("area_code", flat=True)
        .first()
    )


# --- the readable form of an event -------------------------------------------------------------------


@dataclass
class Change:
    path: str
    label: str
    old: str
    new: str


@dataclass
class EventView:
    event: AuditEvent
    action_label: str
    changes: list[Change] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)
    masked: bool = False


def display_value(value: Any) -> str:
    """A JSON value as a person reads it (never raw JSON)."""
    if value is None or value == "":
        return _("（空）")
    if value is True:
        return _("是")
    if value is False:
        return _("否")
    if isinstance(value, list):
        return "、".join(display_value(v) for v in value) if value else _("（空）")
    if isinstance(value, dict):
        return "；".join(f"{k}：{display_value(v)}" for k, v in value.items())
    return str(value)


# Keys of `data` that only serve the label lookup; showing them would be noise.
_HIDDEN_DATA_KEYS = {"form_key", "form_version", "data_key"}


class EventPresenter:
    """Turns events into EventViews for one user: labels from forms, masking where the user needs it.

    Remembers form versions and masking decisions per area, so a page or an export of many events costs
    one lookup per form version and per area.
    """

    def __init__(self, *, user: Any) -> None:
        self.user = user
        self.labels = LabelResolver()
        self._sees: dict[str, bool] = {}

    def sees_personal_data(self, area_code: str) -> bool:
        if area_code not in self._sees:
            self._sees[area_code] = bool(area_code) and user_sees_personal_data(
                user=self.user, area_code=area_code
            )
        return self._sees[area_code]

    def present(self, event: AuditEvent) -> EventView:
        masked = not self.sees_personal_data(event.area_code)
        diff = event.diff if isinstance(event.diff, list) else []
        data = event.data if isinstance(event.data, dict) else {}
        if masked:
            diff = mask_diff(diff)
            data = mask_value(data)
        changes = [
            Change(
                path=str(c.get("path", "")),
                label=self.labels.label(str(c.get("path", "")), data=event.data),
                old=display_value(c.get("old")),
                new=display_value(c.get("new")),
            )
            for c in diff
            if isinstance(c, dict)
        ]
        details = [(str(k), display_value(v)) for k, v in data.items() if k not in _HIDDEN_DATA_KEYS]
        return EventView(
            event=event,
            action_label=action_label(event.action),
            changes=changes,
            details=details,
            masked=masked,
        )

    def present_all(self, events: Iterable[AuditEvent]) -> Iterator[EventView]:
        for event in events:
            yield self.present(event)


def ensure_supervisor(*, user: Any) -> None:
    """Raise OutOfScope unless the user holds a supervisor grant somewhere."""
    if not user_may_supervise(user=user):
        raise OutOfScope()
