"""Supervisor reports over cases and tasks: counts, overdue work, step times, fees and assistance.

A case is a viewflow `Process` plus a `govflow.cases.models.Case` row with the same primary key; its JSON
`data` (process.data) holds each form's data under its node id, service-task variables at top level and
`case` = {area, reference, started, outcome}. Tasks are viewflow `Task` rows; the reports count HUMAN tasks
only, joined to their case through `process__case`. A task's step is the definition's node id, read from the
stored reference (`workflows/flows.V12_ab34….n_review` -> `review`, see workflows.compiler.node_attr) and
shown with the node's title from the published definition.

`govflow.cases` and `govflow.workflows` sit ABOVE audit in the import order (audit <- workflows <- cases), so
this module never imports them at module level: `_models()` returns (Case, Task) lazily (None while the
cases app cannot be imported) and the workflow versions are read inside functions.

Fee and assistance figures depend on the procedure's case data. Which data holds the amounts is declared in
the `report` section of the latest PUBLISHED workflow version of each procedure (docs/audit.md "Reports");
the setting GOVFLOW_REPORTS = {procedure_key: report_section} is the fallback for procedures whose
published version has none. A procedure without either is left out, with a note on the dashboard.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db.models import CharField, Count, Q
from django.db.models.functions import Cast, Substr
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from govflow.errors import OutOfScope
from govflow.expressions import ExpressionError, compile_expression
from govflow.roles.models import CODE_LENGTH, Area
from govflow.roles.selectors import scope_prefixes, user_can_see_area

TOWNSHIP_DIGITS = CODE_LENGTH["township"]
HUMAN = "HUMAN"  # viewflow Task.flow_task_type of user tasks
OPEN_TASK = ("NEW", "ASSIGNED", "STARTED")  # viewflow.workflow.status.STATUS values of unfinished work
DONE_TASK = "DONE"
NODE_PREFIX = "n_"  # workflows.compiler.node_attr: the Flow attribute of a definition node is n_<id>
# Time per step is computed in Python over tasks finished in this window (percentiles need the values).
DURATION_WINDOW_DAYS = 365
DURATION_MAX_ROWS = 200_000
DRILL_MAX_ROWS = 5000
MONEY_CENT = Decimal("0.01")


def _models() -> tuple[Any, Any] | None:
    """(Case, viewflow Task), imported lazily; None while the cases app cannot be imported."""
    try:
        from viewflow.workflow.models import Task  # noqa: PLC0415

        from govflow.cases.models import Case  # noqa: PLC0415 - cases sits above audit
    except ImportError:
        return None
    return Case, Task


# --- steps: stored task references <-> definition node ids ------------------------------------------


def step_of(reference: Any) -> str:
    """The definition's node id of a stored task reference ('workflows/flows.V3_ab.n_review' -> 'review')."""
    name = str(reference or "").rsplit(".", 1)[-1]
    return name.removeprefix(NODE_PREFIX)


def step_q(step: str) -> Q:
    """Tasks of the node `step`, in any version of any flow (node ids never contain a dot)."""
    return Q(flow_task__endswith=f".{NODE_PREFIX}{step}")


def _with_reference(tasks: Any) -> Any:
    """Annotate the raw reference string: the field's own value would compile the flow class per row."""
    return tasks.annotate(ref=Cast("flow_task", output_field=CharField(max_length=255)))


# --- pure aggregation (tested on plain rows) ---------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear-interpolated percentile (the same as PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def step_times(rows: Iterable[tuple[Any, dt.datetime, dt.datetime]]) -> list[dict[str, Any]]:
    """Median and p90 hours per step from (step, created, finished) rows; a step may be any sortable key."""
    by_step: dict[Any, list[float]] = defaultdict(list)
    for step, created, finished in rows:
        if created and finished:
            by_step[step].append((finished - created).total_seconds() / 3600)
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


def read_value(data: Any, spec: Any) -> Any:
    """A value of the case data named by a report section: a path ("payment/paid", "/"-separated) or
    {"expr": "<expression>"} in the platform's expression language (docs/expressions.md) over the data.

    Raises ExpressionError when an expression does not compile or cannot be evaluated on this data."""
    if spec is None:
        return None
    if isinstance(spec, Mapping):
        if "expr" not in spec:
            raise ExpressionError(_('报表字段须为数据路径或 {"expr": 表达式}。'), "syntax")
        context = dict(data) if isinstance(data, Mapping) else {}
        context["__today__"] = timezone.localdate()
        return compile_expression(str(spec["expr"])).evaluate(context)
    return data_at(data, str(spec))


def _money(value: Any) -> Decimal:
    if isinstance(value, list):
        return sum((_money(v) for v in value), Decimal(0))
    if isinstance(value, bool):
        return Decimal(0)
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def _included(data: Any, section: Mapping[str, Any]) -> bool:
    """A section's optional `include` (path or expression): cases for which it is empty/false are left out."""
    if "include" not in section:
        return True
    value = read_value(data, section["include"])
    return value not in (None, "", False, 0, [], {})


def fee_amounts(data: Any, section: Mapping[str, Any]) -> dict[str, Decimal] | None:
    """decided / collected / outstanding of one case, or None when the section's `include` leaves it out.

    `section["amounts"]` maps each to a path or an expression; a list (one amount per spouse) is added up;
    outstanding defaults to decided - collected (never below 0). Raises ExpressionError on unreadable data."""
    if not _included(data, section):
        return None
    amounts = section.get("amounts", {})
    decided = _money(read_value(data, amounts.get("decided")))
    collected = _money(read_value(data, amounts.get("collected")))
    if amounts.get("outstanding") is not None:
        outstanding = _money(read_value(data, amounts["outstanding"]))
    else:
        outstanding = max(decided - collected, Decimal(0))
    return {"decided": decided, "collected": collected, "outstanding": outstanding}


def fee_by_township(rows: Iterable[tuple[str, Any]], section: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Decided / collected / outstanding yuan per township from (area code, case data) rows.

    A case whose data cannot be read is counted in `unreadable`, never in the amounts."""
    totals: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "decided": Decimal(0),
            "collected": Decimal(0),
            "outstanding": Decimal(0),
            "cases": 0,
            "unreadable": 0,
        }
    )
    for area_code, data in rows:
        township = str(area_code)[:TOWNSHIP_DIGITS]
        try:
            amounts = fee_amounts(data, section)
        except ExpressionError:
            totals[township]["unreadable"] += 1
            continue
        if amounts is None:
            continue
        row = totals[township]
        for name, value in amounts.items():
            row[name] += value
        row["cases"] += 1
    return [
        {"township": code, **values}
        for code, values in sorted(totals.items())
        if values["cases"] or values["unreadable"]
    ]


def _confirmed_outcomes(section: Mapping[str, Any]) -> set[str]:
    return set(section.get("confirmed_outcomes") or section.get("confirmed_states") or ["confirmed"])


def assistance_year(outcome: Any, when: Any, data: Any, section: Mapping[str, Any]) -> str | None:
    """The assistance year of a confirmed case (None when the case is not confirmed or has no year).

    The year is read from the section's `year` (path or expression), else from `when` (the day the case
    finished or started) in the county's time zone. Raises ExpressionError on unreadable data."""
    if outcome not in _confirmed_outcomes(section):
        return None
    year = read_value(data, section.get("year")) if section.get("year") else None
    if year in (None, "") and isinstance(when, dt.datetime):
        year = timezone.localtime(when).year if timezone.is_aware(when) else when.year
    if year in (None, ""):
        return None
    if isinstance(year, Decimal | float) and year == int(year):
        year = int(year)
    return str(year)


def assistance_by_year(
    rows: Iterable[tuple[Any, Any, Any]],
    section: Mapping[str, Any],
    skipped: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Confirmed cases, persons (and `amount` when the section names one) per year, from
    (outcome, finished-or-started datetime, data) rows. `persons` is a list or a number (default 1 a case).
    Cases whose data cannot be read are left out and counted in `skipped["unreadable"]`."""
    persons_spec = section.get("persons")
    amount_spec = section.get("amount")
    years: dict[str, dict[str, Any]] = defaultdict(lambda: {"cases": 0, "persons": 0})
    for outcome, when, data in rows:
        try:
            year = assistance_year(outcome, when, data, section)
            if year is None:
                continue
            persons = read_value(data, persons_spec) if persons_spec else 1
            amount = _money(read_value(data, amount_spec)) if amount_spec else None
        except ExpressionError:
            if skipped is not None:
                skipped["unreadable"] = skipped.get("unreadable", 0) + 1
            continue
        entry = years[year]
        entry["cases"] += 1
        if isinstance(persons, list):
            entry["persons"] += len(persons)
        else:
            entry["persons"] += int(_money(persons))
        if amount is not None:
            entry["amount"] = entry.get("amount", Decimal(0)) + amount
    return [{"year": year, **values} for year, values in sorted(years.items())]


# --- report configuration and titles from the published workflow versions ---------------------------


def _localized(title: Any, fallback: str = "") -> str:
    if isinstance(title, Mapping):
        if (get_language() or "").startswith("en") and title.get("en"):
            return str(title["en"])
        return str(title.get("zh") or title.get("en") or fallback)
    return str(title) if title else fallback


@dataclass
class Catalog:
    """What the reports read from the workflow versions: titles of procedures, steps and outcomes, and the
    `report` section of each procedure's latest published version (setting GOVFLOW_REPORTS as fallback)."""

    procedures: dict[str, str] = field(default_factory=dict)
    steps: dict[tuple[str, str], str] = field(default_factory=dict)
    positions: dict[tuple[str, str], int] = field(default_factory=dict)
    outcomes: dict[tuple[str, str], str] = field(default_factory=dict)
    sections: dict[str, dict[str, Any]] = field(default_factory=dict)

    def procedure(self, key: str) -> str:
        return self.procedures.get(key, key)

    def step(self, key: str, node_id: str) -> str:
        return self.steps.get((key, node_id), node_id)

    def step_order(self, key: str, node_id: str) -> tuple[str, int, str]:
        """Sort key: procedure, then the node's place in the definition (unknown nodes last)."""
        return key, self.positions.get((key, node_id), 10_000), node_id

    def outcome(self, key: str, outcome: str) -> str:
        return self.outcomes.get((key, outcome), outcome) if outcome else ""


def catalog() -> Catalog:
    """Titles from every non-draft version (newer ones win), sections from the latest published one."""
    from govflow.workflows.models import WorkflowVersion  # noqa: PLC0415 - workflows sits above audit

    found = Catalog()
    latest_published: dict[str, dict[str, Any]] = {}
    english = (get_language() or "").startswith("en")
    versions = (
        WorkflowVersion.objects.exclude(status=WorkflowVersion.Status.DRAFT)
        .order_by("key", "version")
        .values_list("key", "status", "title_zh", "title_en", "document")
    )
    for key, status, title_zh, title_en, document in versions.iterator(chunk_size=50):
        document = document if isinstance(document, dict) else {}
        found.procedures[key] = (title_en if english and title_en else title_zh) or key
        for position, node in enumerate(document.get("nodes") or []):
            if not isinstance(node, dict) or not node.get("id"):
                continue
            found.positions[(key, node["id"])] = position
            if node.get("title"):
                found.steps[(key, node["id"])] = _localized(node["title"], node["id"])
            if node.get("kind") == "end" and node.get("outcome"):
                found.outcomes[(key, node["outcome"])] = _localized(node.get("title"), node["outcome"])
        if status == WorkflowVersion.Status.PUBLISHED:
            latest_published[key] = document
    configured = getattr(settings, "GOVFLOW_REPORTS", None) or {}
    found.sections = {str(k): dict(v) for k, v in configured.items() if isinstance(v, Mapping)}
    for key, document in latest_published.items():
        if isinstance(document.get("report"), dict):
            found.sections[key] = document["report"]
    return found


def report_sections() -> dict[str, dict[str, Any]]:
    """procedure key -> `report` section (latest published version, else the setting GOVFLOW_REPORTS)."""
    return catalog().sections


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
        """Rows as the page shows them (yuan as 70,000.00) with their drill-down links."""
        shown = [[f"{v:,.2f}" if isinstance(v, Decimal) else v for v in row] for row in self.rows]
        return list(zip(shown, self.links, strict=False))


@dataclass
class Dashboard:
    area_code: str
    area_name: str
    areas: list[Area]
    figures: list[Figure]
    available: bool
    note: str = ""

    def figure(self, key: str) -> Figure | None:
        return next((f for f in self.figures if f.key == key), None)


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
    """The drill-down URL; None drops a filter, "" keeps it (e.g. outcome= means "no outcome")."""
    return reverse("audit:report_cases") + "?" + urlencode({k: v for k, v in params.items() if v is not None})


def _area_names(codes: Iterable[str]) -> dict[str, str]:
    return dict(Area.objects.filter(code__in=set(codes)).values_list("code", "name"))


def _cases(case_model: Any, area_code: str) -> Any:
    return case_model.objects.filter(area_code__startswith=area_code)


def _tasks(task_model: Any, area_code: str) -> Any:
    return task_model.objects.filter(flow_task_type=HUMAN, process__case__area_code__startswith=area_code)


def _rounded(value: Decimal) -> Decimal:
    return value.quantize(MONEY_CENT)


def case_area(*, case_id: int) -> str | None:
    """The area code of a case (the timeline page uses it); None when unknown."""
    found = _models()
    if found is None:
        return None
    case_model, _task = found
    value = case_model.objects.filter(pk=case_id).values_list("area_code", flat=True).first()
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
    name = area.name if area else area_code
    found = _models()
    if found is None:
        return Dashboard(area_code, name, areas, [], False, _("案件模块尚未提供数据模型，报表暂不可用。"))
    case_model, task_model = found
    titles = catalog()
    figures = [
        _cases_by_state(case_model, titles, area_code),
        _overdue(task_model, titles, area_code),
        _step_times(task_model, titles, area_code),
    ]
    figures.extend(_procedure_figures(case_model, titles, area_code))
    return Dashboard(area_code, name, areas, figures, True)


def _labels_chart(figure: Figure) -> dict[str, Any]:
    """A bar per row of a (label, …, label, count) table."""
    return {
        "type": "bar",
        "labels": [" · ".join(str(c) for c in r[:-1] if c not in (None, "")) for r in figure.rows],
        "values": [r[-1] for r in figure.rows],
    }


def _cases_by_state(case_model: Any, titles: Catalog, area_code: str) -> Figure:
    statuses = dict(case_model.Status.choices)
    rows = (
        _cases(case_model, area_code)
        .values_list("procedure_key", "status", "outcome")
        .annotate(n=Count("pk"))
        .order_by("procedure_key", "status", "outcome")
    )
    figure = Figure("cases", _("按事项和状态统计案件"), [_("事项"), _("状态"), _("结果"), _("案件数")])
    for key, status, outcome, n in rows:
        figure.rows.append(
            [titles.procedure(key), str(statuses.get(status, status)), titles.outcome(key, outcome), n]
        )
        figure.links.append(_drill(area=area_code, procedure=key, status=status, outcome=outcome or ""))
    figure.chart = _labels_chart(figure)
    return figure


def _overdue(task_model: Any, titles: Catalog, area_code: str) -> Figure:
    """Open human tasks whose due moment (viewflow's `scheduled`) has passed, by township and step."""
    rows = (
        _with_reference(
            _tasks(task_model, area_code).filter(status__in=OPEN_TASK, scheduled__lt=timezone.now())
        )
        .annotate(township=Substr("process__case__area_code", 1, TOWNSHIP_DIGITS))
        .values_list("township", "process__case__procedure_key", "ref")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for township, key, ref, n in rows:
        counts[(township, key, step_of(ref))] += n
    names = _area_names(code for code, _key, _step in counts)
    figure = Figure(
        "overdue",
        _("按乡镇和环节统计超期任务"),
        [_("乡镇"), _("事项"), _("环节"), _("超期任务数")],
    )
    for (township, key, step), n in sorted(
        counts.items(), key=lambda item: (item[0][0], *titles.step_order(item[0][1], item[0][2]))
    ):
        figure.rows.append([names.get(township, township), titles.procedure(key), titles.step(key, step), n])
        figure.links.append(_drill(area=township, procedure=key, step=step, overdue=1))
    figure.chart = _labels_chart(figure)
    return figure


def _done_since() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=DURATION_WINDOW_DAYS)


def _step_times(task_model: Any, titles: Catalog, area_code: str) -> Figure:
    rows = (
        _with_reference(
            _tasks(task_model, area_code).filter(
                status=DONE_TASK, finished__isnull=False, finished__gte=_done_since()
            )
        )
        .values_list("process__case__procedure_key", "ref", "created", "finished")
        .order_by()[:DURATION_MAX_ROWS]
    )
    figure = Figure(
        "step_times",
        _("各环节办理时长（小时，中位数与90分位）"),
        [_("事项"), _("环节"), _("任务数"), _("中位数"), _("90分位")],
    )
    timed = step_times(((key, step_of(ref)), created, finished) for key, ref, created, finished in rows)
    for item in sorted(timed, key=lambda item: titles.step_order(*item["step"])):
        key, step = item["step"]
        figure.rows.append(
            [
                titles.procedure(key),
                titles.step(key, step),
                item["count"],
                item["median_hours"],
                item["p90_hours"],
            ]
        )
        figure.links.append(_drill(area=area_code, procedure=key, step=step, done=1))
    figure.note = _("统计近 %(d)s 天内办结的任务。") % {"d": DURATION_WINDOW_DAYS}
    figure.chart = {
        "type": "bar",
        "labels": [f"{r[0]} · {r[1]}" for r in figure.rows],
        "values": [r[3] for r in figure.rows],
        "values2": [r[4] for r in figure.rows],
        "series": [figure.columns[3], figure.columns[4]],
    }
    return figure


def _unreadable_note(count: int) -> str:
    if not count:
        return ""
    return _("%(n)s 件案件的数据无法按 report 节读取，未计入。") % {"n": count}


def _procedure_figures(case_model: Any, titles: Catalog, area_code: str) -> list[Figure]:
    sections = titles.sections
    figures: list[Figure] = []
    fee = {k: v for k, v in sorted(sections.items()) if v.get("kind") == "fee"}
    assistance = {k: v for k, v in sorted(sections.items()) if v.get("kind") == "assistance"}
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
    base = _cases(case_model, area_code)
    for key, section in fee.items():
        data_rows = base.filter(procedure_key=key).values_list("area_code", "process__data")
        result = fee_by_township(data_rows.iterator(chunk_size=2000), section)
        names = _area_names(r["township"] for r in result)
        columns = [_("乡镇"), _("案件数"), _("决定"), _("已收"), _("未收")]
        figure = Figure(f"fees-{key}", f"{fee_title} · {titles.procedure(key)}", columns)
        unreadable = 0
        for r in result:
            unreadable += r["unreadable"]
            if not r["cases"]:
                continue
            figure.rows.append(
                [
                    names.get(r["township"], r["township"]),
                    r["cases"],
                    _rounded(r["decided"]),
                    _rounded(r["collected"]),
                    _rounded(r["outstanding"]),
                ]
            )
            figure.links.append(_drill(area=r["township"], procedure=key, fee=1))
        figure.note = _unreadable_note(unreadable)
        figure.chart = {
            "type": "bar",
            "labels": [r[0] for r in figure.rows],
            "values": [float(r[2]) for r in figure.rows],
            "values2": [float(r[3]) for r in figure.rows],
            "values3": [float(r[4]) for r in figure.rows],
            "series": columns[2:],
        }
        figures.append(figure)
    for key, section in assistance.items():
        data_rows = base.filter(procedure_key=key).values_list(
            "outcome", "finished", "created", "process__data"
        )
        rows3 = ((outcome, finished or created, data) for outcome, finished, created, data in data_rows)
        columns = [_("年度"), _("确认案件数"), _("确认人数")]
        if section.get("amount"):
            columns.append(_("扶助金额（元）"))
        figure = Figure(f"assistance-{key}", f"{assist_title} · {titles.procedure(key)}", columns)
        skipped: dict[str, int] = {}
        for r in assistance_by_year(rows3, section, skipped):
            row = [r["year"], r["cases"], r["persons"]]
            if section.get("amount"):
                row.append(_rounded(r.get("amount", Decimal(0))))
            figure.rows.append(row)
            figure.links.append(_drill(area=area_code, procedure=key, year=r["year"], confirmed=1))
        figure.note = _unreadable_note(skipped.get("unreadable", 0))
        figure.chart = {
            "type": "bar",
            "labels": [r[0] for r in figure.rows],
            "values": [r[1] for r in figure.rows],
            "values2": [r[2] for r in figure.rows],
            "series": columns[1:3],
        }
        figures.append(figure)
    return figures


def dashboard_sheets(board: Dashboard) -> list[tuple[str, list[str], Iterable[list[Any]]]]:
    """One worksheet per figure for the XLSX export (figures without data become a one-line note)."""
    sheets: list[tuple[str, list[str], Iterable[list[Any]]]] = []
    for index, figure in enumerate(board.figures, start=1):
        title = f"{index} {figure.key}"
        if figure.columns:
            rows: list[list[Any]] = [list(figure.columns)]
            rows.extend([float(v) if isinstance(v, Decimal) else v for v in row] for row in figure.rows)
            if figure.note:
                rows.append([figure.note])
            sheets.append((title, [figure.title], rows))
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


def _flag(params: Mapping[str, Any], name: str) -> bool:
    return str(params.get(name) or "") not in ("", "0")


def _section_ids(cases: Any, params: Mapping[str, Any], titles: Catalog) -> tuple[list[int] | None, str]:
    """The pks (newest first, at most DRILL_MAX_ROWS) of the cases a fee or assistance row counts, found
    with its `report` section in Python exactly as the figure was computed; (None, "") when the drill-down
    asks for neither."""
    fee, confirmed = _flag(params, "fee"), _flag(params, "confirmed")
    if not (fee or confirmed):
        return None, ""
    section = titles.sections.get(str(params.get("procedure") or ""))
    if not section or section.get("kind") != ("fee" if fee else "assistance"):
        return [], _("该事项没有对应的 report 节。")
    year = str(params.get("year") or "")
    ids: list[int] = []
    rows = cases.order_by("-created", "-pk").values_list(
        "pk", "outcome", "finished", "created", "process__data"
    )
    for pk, outcome, finished, created, data in rows.iterator(chunk_size=2000):
        try:
            if fee:
                counted = fee_amounts(data, section) is not None
            else:
                found = assistance_year(outcome, finished or created, data, section)
                counted = found is not None and (not year or found == year)
        except ExpressionError:
            counted = False
        if counted:
            ids.append(pk)
            if len(ids) >= DRILL_MAX_ROWS:
                break
    return ids, ""


def cases_behind(*, user: Any, params: Mapping[str, Any]) -> CaseListing:
    """The cases behind one figure. Filters: area (prefix, inside the user's supervision scope, else
    OutOfScope), procedure, status, outcome (present and empty = no outcome), step with overdue=1 (open
    tasks past due) or done=1 (tasks done in the step-time window), fee=1 (counted by the fee figure),
    year with confirmed=1 (counted by the assistance figure for that year)."""
    area_code = _scope_area(user, params.get("area") or None)
    title = _("报表明细")
    found = _models()
    if found is None:
        return CaseListing(title, [], [], _("案件模块尚未提供数据模型，报表暂不可用。"))
    case_model, task_model = found
    titles = catalog()
    procedure = str(params.get("procedure") or "")
    qs = _cases(case_model, area_code)
    if procedure:
        qs = qs.filter(procedure_key=procedure)
    if params.get("status"):
        qs = qs.filter(status=params["status"])
    if "outcome" in params:
        qs = qs.filter(outcome=params.get("outcome") or "")
    step = str(params.get("step") or "")
    if step:
        tasks = _tasks(task_model, area_code).filter(step_q(step))
        if procedure:
            tasks = tasks.filter(process__case__procedure_key=procedure)
        if _flag(params, "overdue"):
            tasks = tasks.filter(status__in=OPEN_TASK, scheduled__lt=timezone.now())
        if _flag(params, "done"):
            tasks = tasks.filter(status=DONE_TASK, finished__isnull=False, finished__gte=_done_since())
        qs = qs.filter(pk__in=tasks.values("process_id"))
    elif _flag(params, "overdue"):
        tasks = _tasks(task_model, area_code).filter(status__in=OPEN_TASK, scheduled__lt=timezone.now())
        qs = qs.filter(pk__in=tasks.values("process_id"))
    ids, note = _section_ids(qs, params, titles)
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    statuses = dict(case_model.Status.choices)
    columns = [_("编号"), _("事项"), _("区划"), _("状态"), _("结果"), _("发起时间")]
    values = list(
        qs.order_by("-created", "-pk").values_list(
            "pk", "reference", "procedure_key", "area_code", "status", "outcome", "created"
        )[:DRILL_MAX_ROWS]
    )
    names = _area_names(row[3] for row in values)
    rows = [
        {
            "id": pk,
            "cells": [
                reference,
                titles.procedure(key),
                f"{names.get(area, area)}（{area}）" if area in names else area,
                str(statuses.get(status, status)),
                titles.outcome(key, outcome),
                timezone.localtime(created) if created else "",
            ],
        }
        for pk, reference, key, area, status, outcome, created in values
    ]
    return CaseListing(title, [str(c) for c in columns], rows, note)
