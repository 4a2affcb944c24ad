"""Test runs of a workflow definition in a sandbox: the path a case would take with given data.

`sandbox_run` walks the definition in Python with the platform's expression language, the way the compiled
flow would: the start form's data, then each step in turn, gateway conditions in edge order with the default
last, service-task assignments in order, parallel branches until their join, timers passed at once, and the
first end with an outcome finishing the case. Per step it reports the role and level that would act and the
area that level resolves to for the given case area, and, when sample data is given for a form step, the
form validator's answer (the same `submission_validate` the engine uses, which writes nothing).

Nothing is written: no case, task, process, sequence number, document or audit event. What is therefore
not exercised: who may actually act (grants), timers and boundary timeouts firing, real reference and
decision numbers, generated documents, file uploads and the viewflow engine itself.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.expressions import ExpressionError, compile_expression

MAX_STEPS = 200
LEVEL_LENGTH = {"county": 6, "township": 9, "village": 12}


@dataclass
class SandboxStep:
    node: str
    kind: str
    title: str
    role: str = ""
    level: str = ""
    area: str = ""
    form: str = ""
    note: str = ""
    taken: str = ""  # the node the path goes on to (gateways: the chosen edge)
    conditions: list[dict[str, Any]] = field(default_factory=list)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    form_errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class SandboxResult:
    steps: list[SandboxStep] = field(default_factory=list)
    outcome: str = ""
    finished: bool = False
    stopped: str = ""  # why the walk stopped early (an error, a loop)
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def data_json(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, indent=2, default=str)


def _title(node: dict[str, Any]) -> str:
    title = node.get("title")
    if isinstance(title, dict):
        return str(title.get("zh") or node.get("id"))
    return str(node.get("id"))


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def _area_for(area_code: str, level: str) -> str:
    length = LEVEL_LENGTH.get(level)
    if not length or len(area_code) < length:
        return ""
    return area_code[:length]


def _context(data: dict[str, Any], today: date) -> dict[str, Any]:
    context = dict(data)
    context["__today__"] = today
    return context


def _format_number(number: dict[str, Any], county: str, year: int) -> str:
    text = str(number.get("format", ""))
    text = text.replace("{county}", county).replace("{year}", str(year))
    text = text.replace("{sequence}", str(number.get("sequence", "")))
    for width in range(1, 10):
        text = text.replace(f"{{seq:0{width}}}", "1".zfill(width))
    return text.replace("{seq}", "1")


# check_form(form_key, form_data, context) -> (field errors, cleaned data or None), or None for an unknown form
FormCheck = Any


def sandbox_run(
    *,
    document: dict[str, Any],
    data: dict[str, Any],
    area_code: str,
    today: date | None = None,
    check_form: FormCheck = None,
) -> SandboxResult:
    """Walk `document` with `data` ({form node id: form data}) for a case in `area_code`.

    `check_form(form_key, form_data, context)` may validate each form step's data: it returns (field errors,
    cleaned data) — ({}, cleaned) when valid, (errors, None) when not — or None when the form does not exist.
    Never raises for bad definitions or data: problems are reported on the steps.
    """
    today = today or timezone.localdate()
    result = SandboxResult()
    nodes = {n.get("id"): n for n in document.get("nodes", []) if isinstance(n, dict)}
    edges = [e for e in document.get("edges", []) if isinstance(e, dict)]
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    incoming: dict[str, int] = defaultdict(int)
    for edge in edges:
        out[str(edge.get("from"))].append(edge)
        incoming[str(edge.get("to"))] += 1
    start = next((n for n in nodes.values() if n.get("kind") == "start"), None)
    if start is None:
        result.stopped = _("流程没有开始节点。")
        return result
    case = {"area": area_code, "reference": "SANDBOX", "started": today.isoformat()}
    state: dict[str, Any] = {"case": case, "settings": document.get("settings", {})}
    queue: deque[str] = deque([start["id"]])
    arrived: dict[str, int] = defaultdict(int)
    steps = 0
    while queue:
        steps += 1
        if steps > MAX_STEPS:
            result.stopped = _("已走过 %(n)d 步仍未结束，流程可能有循环。") % {"n": MAX_STEPS}
            break
        node_id = queue.popleft()
        node = nodes.get(node_id)
        if node is None:
            result.stopped = _("节点“%(id)s”不存在。") % {"id": node_id}
            break
        kind = str(node.get("kind"))
        step = SandboxStep(node=node_id, kind=kind, title=_title(node))
        if kind == "parallel_join":
            arrived[node_id] += 1
            if arrived[node_id] < incoming[node_id]:
                continue  # waits for the other branches
            arrived[node_id] = 0
        result.steps.append(step)
        following: list[str] = []
        if kind in ("start", "user_task"):
            _form_step(node, step, state, data, area_code, today, check_form)
            following = [e["to"] for e in out[node_id][:1]]
            for boundary in node.get("boundary", []) or []:
                step.note += _("超时“%(id)s”（%(action)s）不会在试运行中触发。") % {
                    "id": boundary.get("id"),
                    "action": boundary.get("action"),
                }
        elif kind == "service_task":
            if not _service_step(node, step, state, area_code, today):
                result.stopped = _("服务任务“%(id)s”计算失败。") % {"id": node_id}
                break
            following = [e["to"] for e in out[node_id][:1]]
        elif kind == "exclusive":
            chosen = _gateway_step(out[node_id], step, state, today)
            if chosen is None:
                result.stopped = _("网关“%(id)s”没有可走的出线。") % {"id": node_id}
                break
            following = [chosen]
        elif kind == "parallel_split":
            following = [e["to"] for e in out[node_id]]
        elif kind in ("parallel_join", "timer"):
            if kind == "timer":
                step.note = _("等待 %(w)s（试运行中立即通过）") % {
                    "w": json.dumps(node.get("wait"), ensure_ascii=False)
                }
            following = [e["to"] for e in out[node_id][:1]]
        elif kind == "end":
            if node.get("outcome"):
                result.outcome = str(node["outcome"])
                result.finished = True
                step.note = _("案件办结，结果：%(o)s") % {"o": node["outcome"]}
                break
            step.note = _("此路径结束。")
        step.taken = ", ".join(following)
        queue.extend(following)
    if not result.finished and not result.stopped:
        waiting = sorted(n for n, count in arrived.items() if count)
        if waiting:
            result.stopped = _("并行汇聚“%(id)s”仍在等待其他分支。") % {"id": ", ".join(waiting)}
        else:
            result.finished = True
    result.data = _json({k: v for k, v in state.items() if k != "__today__"})
    return result


def _form_step(
    node: dict[str, Any],
    step: SandboxStep,
    state: dict[str, Any],
    data: dict[str, Any],
    area_code: str,
    today: date,
    check_form: FormCheck,
) -> None:
    if node.get("kind") == "start":
        step.role = ", ".join(node.get("roles", []) or [])
    else:
        step.role = str(node.get("role") or "")
    step.level = str(node.get("level") or "")
    step.area = _area_for(area_code, step.level)
    step.form = str(node.get("form") or "")
    if not step.form:
        return
    given = data.get(node["id"])
    if given is None:
        step.note = _("没有为此步骤提供数据。")
        given = {}
    if not isinstance(given, dict):
        step.errors.append(_("此步骤的数据应为 JSON 对象。"))
        given = {}
    clean = given
    if check_form is not None:
        outcome = check_form(step.form, given, _context(state, today))
        if outcome is None:
            step.errors.append(_("表单“%(k)s”不存在。") % {"k": step.form})
        else:
            step.form_errors, cleaned = outcome
            if cleaned is not None:
                clean = cleaned
    state[node["id"]] = _json(clean)


def _service_step(
    node: dict[str, Any], step: SandboxStep, state: dict[str, Any], area_code: str, today: date
) -> bool:
    context = _context(state, today)
    for item in node.get("set", []) or []:
        var, source = item.get("var"), item.get("expr")
        try:
            value = _json(compile_expression(str(source)).evaluate(context))
        except ExpressionError as exc:
            step.errors.append(f"{var} = {source}: {exc.message}")
            step.assignments.append({"var": var, "expr": source, "error": str(exc.message)})
            return False
        context[var] = value
        state[var] = value
        step.assignments.append({"var": var, "expr": source, "value": value})
    number = node.get("number")
    if isinstance(number, dict) and number.get("var"):
        value = _format_number(number, area_code[:6], today.year)
        state[number["var"]] = value
        step.assignments.append({"var": number["var"], "expr": _("编号（试运行示例）"), "value": value})
    if node.get("documents"):
        step.note = _("文书 %(d)s 不会在试运行中生成。") % {"d": ", ".join(node["documents"])}
    return True


def _gateway_step(
    edges: list[dict[str, Any]], step: SandboxStep, state: dict[str, Any], today: date
) -> str | None:
    """Conditions in edge order, the first true one wins, the default last: as the compiled Switch. A
    condition that cannot be evaluated stops the case there (the engine refuses the step), so it stops the
    walk too."""
    context = _context(state, today)
    chosen: str | None = None
    for edge in edges:
        if edge.get("default"):
            continue
        source = str(edge.get("condition") or "")
        entry: dict[str, Any] = {"to": edge.get("to"), "condition": source}
        step.conditions.append(entry)
        if chosen is not None:
            entry["skipped"] = True
            continue
        try:
            entry["value"] = bool(compile_expression(source).evaluate(context))
        except ExpressionError as exc:
            entry["error"] = str(exc.message)
            step.errors.append(f"{source}: {exc.message}")
            return None
        if entry["value"]:
            chosen = str(edge.get("to"))
            entry["chosen"] = True
    default = next((e for e in edges if e.get("default")), None)
    if default is not None:
        entry = {"to": default.get("to"), "condition": _("（默认）"), "default": True}
        if chosen is None:
            chosen = str(default.get("to"))
            entry["chosen"] = True
        step.conditions.append(entry)
    return chosen
