"""Supervisor reports over cases and tasks: counts, overdue work, step times, fees and assistance.

`govflow.cases` sits ABOVE audit in the import order (audit <- workflows <- cases), so this module never
imports it at module level: every read goes through `_models()`, which imports it lazily and returns None
while the cases app has no models. Field names are resolved from candidate lists (first that exists wins),
overridable with the setting GOVFLOW_REPORT_FIELDS = {"case": {...}, "task": {...}}.

Fee and assistance figures depend on the procedure's case data. Which data keys hold the amounts is
declared in the workflow definition's `report` section (docs/audit.md shows the format); the setting
GOVFLOW_REPORTS = {procedure_key: report_section} overrides it. A procedure without one is skipped with a
note on the dashboard.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.errors import OutOfScope
from govflow.roles.models import Area
from govflow.roles.selectors import scope_prefixes, user_can_see_area

CASE_FIELD_CANDIDATES: dict[str, tuple[str, ...]] = {
    "area": ("area_code", "area_id", "area"),
    "procedure": ("procedure_key", "definition__procedure_key", "definition__key", "procedure__key"),
    "state": ("state", "status", "outcome"),
    "created": ("created", "started", "created_at"),
    "finished": ("finished", "ended", "closed", "finished_at"),
    "reference": ("reference", "ref", "number"),
    "data": ("data",),
}
TASK_FIELD_CANDIDATES: dict[str, tuple[str, ...]] = {
    "case": ("case_id", "case", "process_id"),
    "area": ("area_code", "case__area_code", "case__area_id", "case__area"),
    "procedure": ("procedure_key", "case__procedure_key", "case__definition__procedure_key"),
    "step": ("node_key", "step_key", "node_id", "step", "key", "flow_task"),
    "created": ("created", "created_at"),
    "finished": ("finished", "completed", "completed_at", "finished_at"),
    "due": ("due", "due_at", "deadline", "due_date"),
}
# Time per step is computed in Python over tasks finished in this window (percentiles need the values).
DURATION_WINDOW_DAYS = 365
DURATION_MAX_ROWS = 200_000


def _models() -> tuple[Any, Any] | None:
    try:
        from govflow.cases import models as case_models  # noqa: PLC0415 - cases sits above audit
    except ImportError:
        return None
    case = getattr(case_models, "Case", None)
    task = getattr(case_models, "Task", None)
    if case is None:
        return None
    return case, task


def _has_path(model: Any, path: str) -> bool:
    current = model
    parts = path.split("__")
    for index, part in enumerate(parts):
        try:
            found = current._meta.get_field(part)
        except (FieldDoesNotExist, AttributeError):
            return False
        if index < len(parts) - 1:
            current = getattr(found, "related_model", None)
            if current is None:
                return False
    return True


def resolve_fields(model: Any, kind: str) -> dict[str, str]:
    """The column path for each logical field that the model has (missing ones are left out)."""
    candidates = CASE_FIELD_CANDIDATES if kind == "case" else TASK_FIELD_CANDIDATES
    override = getattr(settings, "GOVFLOW_REPORT_FIELDS", {}).get(kind, {})
    resolved: dict[str, str] = {}
    for name, options in candidates.items():
        for option in (override[name],) if name in override else options:
            if model is not None and _has_path(model, option):
                resolved[name] = option
                break
    return resolved


# --- pure aggregation (tested without any cases model) -----------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (the same as PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def step_times(rows: Iterable[tuple[str, dt.datetime, dt.datetime]]) -> list[dict[str, Any]]:
    """Median and p90 hours per step from (step, created, finished) rows."""
    by_step: dict[str, list[float]] = defaultdict(list)
    for step, created, finished in rows:
        if created and finished:
            by_step[str(step)].append((finished - created).total_seconds() / 3600)
    return [
        {
            "step": step,
            "count": len(hours),
            "median_hours": round(percentile(hours, 0.5) or 0, 1),
            "p90_hours": round(percentile(hours, 0.9) or 0, 1),
        }
        for step, hours in sorted(by_step.items())
    ]


def data_at(data: Any, path: str) -> Any:
    node = data
    for part in [p for p in path.split("/") if p]:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


def _money(value: Any) -> Decimal:
    if isinstance(value, list):
        return sum((_money(v) for v in value), Decimal(0))
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def fee_by_township(rows: Iterable[tuple[str, Any]], section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Decided / collected / outstanding yuan per township from (area code, case data) rows.

    `section["amounts"]` maps decided/collected/outstanding to data paths; outstanding defaults to
    decided - collected. A path may point at a list (one amount per spouse): its items are added.
    """
    amounts = section.get("amounts", {})
    totals: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: {
            "decided": Decimal(0),
            "collected": Decimal(0),
            "outstanding": Decimal(0),
            "cases": Decimal(0),
        }
    )
    for area_code, data in rows:
        row = totals[str(area_code)[:9]]
        decided = _money(data_at(data, amounts["decided"])) if amounts.get("decided") else Decimal(0)
        collected = _money(data_at(data, amounts["collected"])) if amounts.get("collected") else Decimal(0)
        if amounts.get("outstanding"):
            outstanding = _money(data_at(data, amounts["outstanding"]))
        else:
            outstanding = max(decided - collected, Decimal(0))
        row["decided"] += decided
        row["collected"] += collected
        row["outstanding"] += outstanding
        row["cases"] += 1
    return [{"township": code, **values} for code, values in sorted(totals.items())]


def assistance_by_year(
    rows: Iterable[tuple[Any, Any, Any]], section: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Confirmed cases (and persons) per year from (state, finished or created datetime, data) rows."""
    confirmed = set(section.get("confirmed_states", ["confirmed"]))
    year_path = section.get("year")
    persons_path = section.get("persons")
    years: dict[str, dict[str, int]] = defaultdict(lambda: {"cases": 0, "persons": 0})
    for state, when, data in rows:
        if state not in confirmed:
            continue
        year = data_at(data, year_path) if year_path else None
        if year in (None, "") and when is not None:
            year = timezone.localtime(when).year if timezone.is_aware(when) else when.year
        if year in (None, ""):
            continue
        entry = years[str(year)]
        entry["cases"] += 1
        persons = data_at(data, persons_path) if persons_path else None
        entry["persons"] += len(persons) if isinstance(persons, list) else (int(persons or 0) or 1)
    return [{"year": year, **values} for year, values in sorted(years.items())]


# --- report configuration from the workflow definitions ---------------------------------------------


def report_sections() -> dict[str, dict[str, Any]]:
    """procedure key -> `report` section, from the setting or from the workflow library files."""
    configured = getattr(settings, "GOVFLOW_REPORTS", None)
    if configured is not None:
        return dict(configured)
    sections: dict[str, dict[str, Any]] = {}
    folder = Path(getattr(settings, "GOVFLOW_LIBRARY_DIRS", {}).get("workflows", "workflows"))
    for path in sorted(folder.glob("**/*.json")) if folder.is_dir() else []:
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(spec, dict) and isinstance(spec.get("report"), dict) and spec.get("key"):
            sections[str(spec["key"])] = spec["report"]
    return sections


# --- the dashboard -------------------------------------------------------------------------------------


@dataclass
class Figure:
    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    note: str = ""
    chart: dict[str, Any] | None = None

    @property
    def chart_id(self) -> str:
        return f"chart-{self.key}"

    @property
    def linked_rows(self) -> list[tuple[list[Any], str]]:
        return list(zip(self.rows, self.links, strict=False))


@dataclass
class Dashboard:
    area_code: str
    area_name: str
    areas: list[Area]
    figures: list[Figure]
    available: bool
    note: str = ""


def _scope_area(user: Any, area_code: str | None) -> str:
    prefixes = scope_prefixes(user=user, supervise_only=True)
    if not prefixes:
        raise OutOfScope()
    if area_code:
        if not user_can_see_area(user=user, area_code=area_code, supervise_only=True):
            raise OutOfScope()
        return area_code
    return prefixes[0]


def _drill(**params: Any) -> str:
    return (
        reverse("audit:report_cases")
        + "?"
        + urlencode({k: v for k, v in params.items() if v not in (None, "")})
    )


def _area_names(codes: Iterable[str]) -> dict[str, str]:
    return dict(Area.objects.filter(code__in=set(codes)).values_list("code", "name"))


def case_area(*, case_id: int) -> str | None:
    """The area code of a case, when the cases app can tell (the timeline page uses it)."""
    found = _models()
    if found is None:
        return None
    case_model, _task = found
    area = resolve_fields(case_model, "case").get("area")
    if area is None:
        return None
    value = case_model.objects.filter(pk=case_id).values_list(area, flat=True).first()
    return str(value) if value is not None else None


def dashboard(*, user: Any, area_code: str | None = None) -> Dashboard:
    """Every figure for one area of the supervisor's scope (default: the widest area they supervise).

    Raises OutOfScope when the user supervises nothing or asks for an area outside their scope.
    """
    area_code = _scope_area(user, area_code)
    area = Area.objects.filter(code=area_code).first()
    supervised = scope_prefixes(user=user, supervise_only=True)
    areas = list(
        Area.objects.filter(Q(code__in=supervised) | Q(code=area_code) | Q(parent_id=area_code)).order_by(
            "code"
        )
    )
    found = _models()
    if found is None:
        return Dashboard(
            area_code,
            area.name if area else area_code,
            areas,
            [],
            False,
            _("案件模块尚未提供数据模型，报表暂不可用。"),
        )
    case_model, task_model = found
    cf = resolve_fields(case_model, "case")
    tf = resolve_fields(task_model, "task") if task_model is not None else {}
    figures = [
        _cases_by_state(case_model, cf, area_code),
        _overdue(task_model, tf, area_code),
        _step_times(task_model, tf, area_code),
    ]
    figures.extend(_procedure_figures(case_model, cf, area_code))
    return Dashboard(area_code, area.name if area else area_code, areas, figures, True)


def _missing(key: str, title: str, needed: list[str], have: Mapping[str, str]) -> Figure | None:
    lacking = [n for n in needed if n not in have]
    if lacking:
        return Figure(key, title, [], note=_("缺少字段：%(f)s") % {"f": ", ".join(lacking)})
    return None


def _cases_by_state(model: Any, cf: Mapping[str, str], area_code: str) -> Figure:
    title = _("按事项和状态统计案件")
    missing = _missing("cases", title, ["area", "procedure", "state"], cf)
    if missing:
        return missing
    rows = (
        model.objects.filter(**{f"{cf['area']}__startswith": area_code})
        .values_list(cf["procedure"], cf["state"])
        .annotate(n=Count("pk"))
        .order_by(cf["procedure"], cf["state"])
    )
    figure = Figure("cases", title, [_("事项"), _("状态"), _("案件数")])
    for procedure, state, n in rows:
        figure.rows.append([procedure, state, n])
        figure.links.append(_drill(area=area_code, procedure=procedure, state=state))
    figure.chart = _pair_bar_chart(figure)
    return figure


def _pair_bar_chart(figure: Figure) -> dict[str, Any]:
    """A bar per row of a (label, label, count) table."""
    return {
        "type": "bar",
        "labels": [f"{r[0]} · {r[1]}" for r in figure.rows],
        "values": [r[2] for r in figure.rows],
    }


def _open_tasks(model: Any, tf: Mapping[str, str], area_code: str) -> Any:
    return model.objects.filter(**{f"{tf['area']}__startswith": area_code, f"{tf['finished']}__isnull": True})


def _overdue(model: Any, tf: Mapping[str, str], area_code: str) -> Figure:
    title = _("按乡镇和环节统计超期任务")
    if model is None:
        return Figure("overdue", title, [], note=_("案件模块没有任务模型。"))
    missing = _missing("overdue", title, ["area", "step", "finished", "due"], tf)
    if missing:
        return missing
    rows = (
        _open_tasks(model, tf, area_code)
        .filter(**{f"{tf['due']}__lt": timezone.now()})
        .values_list(tf["area"], tf["step"])
    )
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for area, step in rows.iterator(chunk_size=5000):
        counts[(str(area)[:9], str(step))] += 1
    names = _area_names(code for code, _step in counts)
    figure = Figure("overdue", title, [_("乡镇"), _("环节"), _("超期任务数")])
    for (township, step), n in sorted(counts.items()):
        figure.rows.append([names.get(township, township), step, n])
        figure.links.append(_drill(area=township, step=step, overdue=1))
    figure.chart = _pair_bar_chart(figure)
    return figure


def _step_times(model: Any, tf: Mapping[str, str], area_code: str) -> Figure:
    title = _("各环节办理时长（小时，中位数与90分位）")
    if model is None:
        return Figure("step_times", title, [], note=_("案件模块没有任务模型。"))
    missing = _missing("step_times", title, ["area", "step", "created", "finished"], tf)
    if missing:
        return missing
    since = timezone.now() - dt.timedelta(days=DURATION_WINDOW_DAYS)
    rows = (
        model.objects.filter(
            **{
                f"{tf['area']}__startswith": area_code,
                f"{tf['finished']}__isnull": False,
                f"{tf['finished']}__gte": since,
            }
        )
        .values_list(tf["step"], tf["created"], tf["finished"])
        .order_by()[:DURATION_MAX_ROWS]
    )
    figure = Figure("step_times", title, [_("环节"), _("任务数"), _("中位数"), _("90分位")])
    for item in step_times(rows):
        figure.rows.append([item["step"], item["count"], item["median_hours"], item["p90_hours"]])
        figure.links.append(_drill(area=area_code, step=item["step"]))
    figure.note = _("统计近 %(d)s 天内办结的任务。") % {"d": DURATION_WINDOW_DAYS}
    figure.chart = {
        "type": "bar",
        "labels": [r[0] for r in figure.rows],
        "values": [r[2] for r in figure.rows],
        "values2": [r[3] for r in figure.rows],
    }
    return figure


def _procedure_figures(model: Any, cf: Mapping[str, str], area_code: str) -> list[Figure]:
    sections = report_sections()
    figures: list[Figure] = []
    fee = {k: v for k, v in sections.items() if v.get("kind") == "fee"}
    assistance = {k: v for k, v in sections.items() if v.get("kind") == "assistance"}
    fee_title = _("各乡镇征收金额（决定、已收、未收，元）")
    assist_title = _("各年度扶助确认")
    if not fee:
        figures.append(
            Figure("fees", fee_title, [], note=_("没有事项在工作流定义的 report 节中声明征收金额字段。"))
        )
    if not assistance:
        figures.append(
            Figure("assistance", assist_title, [], note=_("没有事项在工作流定义的 report 节中声明扶助确认。"))
        )
    if (fee or assistance) and not all(k in cf for k in ("area", "procedure", "data")):
        figures.append(Figure("procedures", fee_title, [], note=_("案件模型缺少 area/procedure/data 字段。")))
        return figures
    base = model.objects.filter(**{f"{cf['area']}__startswith": area_code}) if "area" in cf else None
    for key, section in fee.items():
        rows = (
            base.filter(**{cf["procedure"]: key})
            .values_list(cf["area"], cf["data"])
            .iterator(chunk_size=2000)
        )
        names: dict[str, str] = {}
        figure = Figure(
            f"fees-{key}", f"{fee_title} · {key}", [_("乡镇"), _("案件数"), _("决定"), _("已收"), _("未收")]
        )
        result = fee_by_township(rows, section)
        names = _area_names(r["township"] for r in result)
        for r in result:
            figure.rows.append(
                [
                    names.get(r["township"], r["township"]),
                    int(r["cases"]),
                    r["decided"],
                    r["collected"],
                    r["outstanding"],
                ]
            )
            figure.links.append(_drill(area=r["township"], procedure=key))
        figure.chart = {
            "type": "bar",
            "labels": [r[0] for r in figure.rows],
            "values": [float(r[2]) for r in figure.rows],
            "values2": [float(r[3]) for r in figure.rows],
            "values3": [float(r[4]) for r in figure.rows],
        }
        figures.append(figure)
    for key, section in assistance.items():
        if "state" not in cf:
            figures.append(Figure(f"assistance-{key}", assist_title, [], note=_("案件模型缺少状态字段。")))
            continue
        when = cf.get("finished") or cf.get("created")
        fields = [cf["state"], when, cf["data"]] if when else [cf["state"], cf["data"]]
        raw = base.filter(**{cf["procedure"]: key}).values_list(*fields).iterator(chunk_size=2000)
        rows3 = (r if when else (r[0], None, r[1]) for r in raw)
        figure = Figure(
            f"assistance-{key}", f"{assist_title} · {key}", [_("年度"), _("确认案件数"), _("确认人数")]
        )
        for r in assistance_by_year(rows3, section):
            figure.rows.append([r["year"], r["cases"], r["persons"]])
            figure.links.append(_drill(area=area_code, procedure=key, year=r["year"], confirmed=1))
        figure.chart = {
            "type": "bar",
            "labels": [r[0] for r in figure.rows],
            "values": [r[1] for r in figure.rows],
            "values2": [r[2] for r in figure.rows],
        }
        figures.append(figure)
    return figures


def dashboard_sheets(board: Dashboard) -> list[tuple[str, list[str], Iterable[list[Any]]]]:
    """One worksheet per figure for the XLSX export (figures without data become a one-line note)."""
    sheets: list[tuple[str, list[str], Iterable[list[Any]]]] = []
    for index, figure in enumerate(board.figures, start=1):
        title = f"{index} {figure.key}"
        if figure.columns:
            rows = [[float(v) if isinstance(v, Decimal) else v for v in row] for row in figure.rows]
            sheets.append(
                (title, [figure.title], [figure.columns, *rows] + ([[figure.note]] if figure.note else []))
            )
        else:
            sheets.append((title, [figure.title], [[figure.note]]))
    if not sheets:
        sheets.append(("reports", [_("报表")], [[board.note]]))
    return sheets


# --- drill-down --------------------------------------------------------------------------------------


@dataclass
class CaseListing:
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    note: str = ""


def cases_behind(*, user: Any, params: Mapping[str, Any]) -> CaseListing:
    """The cases behind one figure: filters area (prefix), procedure, state, step, overdue, year, confirmed.

    The area must lie in the user's supervision scope (OutOfScope otherwise).
    """
    area_code = _scope_area(user, params.get("area") or None)
    title = _("报表明细")
    found = _models()
    if found is None:
        return CaseListing(title, [], [], _("案件模块尚未提供数据模型，报表暂不可用。"))
    case_model, task_model = found
    cf = resolve_fields(case_model, "case")
    if "area" not in cf:
        return CaseListing(title, [], [], _("案件模型缺少区划字段。"))
    qs = case_model.objects.filter(**{f"{cf['area']}__startswith": area_code})
    if params.get("procedure") and "procedure" in cf:
        qs = qs.filter(**{cf["procedure"]: params["procedure"]})
    if params.get("state") and "state" in cf:
        qs = qs.filter(**{cf["state"]: params["state"]})
    step, overdue = params.get("step"), params.get("overdue")
    if (step or overdue) and task_model is not None:
        tf = resolve_fields(task_model, "task")
        if "case" in tf and "area" in tf:
            tasks = task_model.objects.filter(**{f"{tf['area']}__startswith": area_code})
            if step and "step" in tf:
                tasks = tasks.filter(**{tf["step"]: step})
            if overdue and "due" in tf and "finished" in tf:
                tasks = tasks.filter(
                    **{f"{tf['finished']}__isnull": True, f"{tf['due']}__lt": timezone.now()}
                )
            qs = qs.filter(pk__in=tasks.values(tf["case"]))
    year = params.get("year")
    when = cf.get("finished") or cf.get("created")
    if year and when and not report_sections().get(str(params.get("procedure")), {}).get("year"):
        try:
            qs = qs.filter(**{f"{when}__year": int(year)})
        except (TypeError, ValueError):
            qs = qs.none()
    wanted = [name for name in ("reference", "procedure", "area", "state", "created") if name in cf]
    columns = {
        "reference": _("编号"),
        "procedure": _("事项"),
        "area": _("区划"),
        "state": _("状态"),
        "created": _("发起时间"),
    }
    rows = [
        {"id": values["pk"], "cells": [values[cf[name]] for name in wanted]}
        for values in qs.order_by("-pk").values("pk", *[cf[name] for name in wanted])[:5000]
    ]
    return CaseListing(title, [str(columns[name]) for name in wanted], rows)
