"""Checking a workflow definition before it may be published: all errors at once, each with file, JSON path
and, where there is one, the node id.

1. the file's shape (workflows/schemas/workflow.schema.json),
2. the graph: unique ids, exactly one start, edges between known nodes, the right number of ways in and out
   of every node kind, conditions and exactly one default on every exclusive gateway, every node reachable
   from the start and able to reach an end, every parallel join matched to the split whose branches it waits for,
3. references: forms exist and are published, roles exist and act at the node's level, no node acts below
   the level the case is started at, an escalation has a level above it,
4. expressions compile and use only variables that the forms or service tasks upstream define.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from govflow.expressions import ExpressionError, compile_expression
from govflow.forms.definitions import file_error_message

LEVEL_DEPTH = {"county": 0, "township": 1, "village": 2}
LEVEL_ABOVE = {"village": "township", "township": "county"}
RESERVED_VARIABLES = frozenset({"case", "settings"})
FORM_KINDS = ("start", "user_task")


@lru_cache(maxsize=1)
def _file_validator() -> Draft202012Validator:
    path = Path(__file__).resolve().parent / "schemas" / "workflow.schema.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else ""


class _Report:
    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[dict[str, Any]] = []

    def add(self, path: list[Any], message: str, node: str | None = None) -> None:
        error: dict[str, Any] = {"file": self.file, "path": _pointer(path), "message": message}
        if node:
            error["node"] = node
        self.errors.append(error)


def published_form_keys(keys: set[str]) -> set[str]:
    from govflow.forms.models import FormVersion

    return set(
        FormVersion.objects.filter(key__in=keys, status=FormVersion.Status.PUBLISHED).values_list(
            "key", flat=True
        )
    )


def role_levels(keys: set[str]) -> dict[str, list[str]]:
    from govflow.roles.models import Role

    return {
        key: list(levels or [])
        for key, levels in Role.objects.filter(key__in=keys).values_list("key", "levels")
    }


def outgoing(document: dict[str, Any]) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    result: dict[str, list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for index, edge in enumerate(document.get("edges", [])):
        result[edge["from"]].append((index, edge))
    return result


def successors(document: dict[str, Any]) -> dict[str, set[str]]:
    """Graph of the definition including boundary paths (a boundary leads from its host to its target)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for edge in document.get("edges", []):
        graph[edge["from"]].add(edge["to"])
    for node in document.get("nodes", []):
        for boundary in node.get("boundary", []):
            if boundary.get("to"):
                graph[node["id"]].add(boundary["to"])
    return graph


def _reach(start: str, graph: dict[str, set[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in graph.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _check_graph(document: dict[str, Any], report: _Report) -> dict[str, dict[str, Any]]:
    nodes: dict[str, dict[str, Any]] = {}
    index_of: dict[str, int] = {}
    boundary_ids: set[str] = set()
    for i, node in enumerate(document["nodes"]):
        if node["id"] in nodes or node["id"] in boundary_ids:
            report.add(["nodes", i, "id"], _("节点标识“%(id)s”重复。") % {"id": node["id"]}, node["id"])
            continue
        nodes[node["id"]] = node
        index_of[node["id"]] = i
        for j, boundary in enumerate(node.get("boundary", [])):
            if boundary["id"] in nodes or boundary["id"] in boundary_ids:
                report.add(
                    ["nodes", i, "boundary", j, "id"],
                    _("节点标识“%(id)s”重复。") % {"id": boundary["id"]},
                    boundary["id"],
                )
            boundary_ids.add(boundary["id"])
    starts = [n for n in nodes.values() if n["kind"] == "start"]
    if len(starts) != 1:
        report.add(["nodes"], _("流程应有且只有一个开始节点，现有%(n)d个。") % {"n": len(starts)})
    if not any(n["kind"] == "end" and n.get("outcome") for n in nodes.values()):
        report.add(["nodes"], _("流程至少要有一个带办理结果的结束节点。"))

    incoming: dict[str, int] = defaultdict(int)
    for i, edge in enumerate(document["edges"]):
        for end in ("from", "to"):
            if edge[end] not in nodes:
                report.add(["edges", i, end], _("节点“%(id)s”不存在。") % {"id": edge[end]}, edge[end])
        source = nodes.get(edge["from"])
        if edge["to"] in nodes:
            incoming[edge["to"]] += 1
        if (
            source is not None
            and source["kind"] != "exclusive"
            and ("condition" in edge or "default" in edge)
        ):
            report.add(["edges", i], _("只有排他网关的出线可以设置条件或默认。"), edge["from"])
        if edge["to"] in nodes and nodes[edge["to"]]["kind"] == "start":
            report.add(["edges", i, "to"], _("开始节点不能有入线。"), edge["to"])
    for node in nodes.values():
        for j, boundary in enumerate(node.get("boundary", [])):
            target = boundary.get("to")
            path = ["nodes", index_of[node["id"]], "boundary", j]
            if boundary["action"] == "path":
                if target not in nodes:
                    report.add([*path, "to"], _("节点“%(id)s”不存在。") % {"id": target}, boundary["id"])
                elif nodes[target]["kind"] == "start":
                    report.add([*path, "to"], _("开始节点不能有入线。"), boundary["id"])
                else:
                    incoming[target] += 1
            elif target is not None:
                report.add([*path, "to"], _("只有“转入其他路径”的超时才能指定去向。"), boundary["id"])
            if boundary["action"] != "path" and "interrupting" in boundary:
                report.add(
                    [*path, "interrupting"], _("催办和升级不会中断任务，不能设置是否中断。"), boundary["id"]
                )

    out = outgoing(document)
    for node_id, node in nodes.items():
        path = ["nodes", index_of[node_id]]
        kind = node["kind"]
        edges = out.get(node_id, [])
        if kind == "end":
            if edges:
                report.add(path, _("结束节点不能有出线。"), node_id)
        elif kind == "exclusive":
            if len(edges) < 2:
                report.add(path, _("排他网关至少要有两条出线。"), node_id)
            defaults = [e for _i, e in edges if e.get("default")]
            if len(defaults) != 1:
                report.add(
                    path, _("排他网关应有且只有一条默认出线，现有%(n)d条。") % {"n": len(defaults)}, node_id
                )
            for i, edge in edges:
                if not edge.get("default") and not edge.get("condition"):
                    report.add(["edges", i], _("排他网关的非默认出线必须有条件。"), node_id)
                if edge.get("default") and edge.get("condition"):
                    report.add(["edges", i], _("默认出线不能再有条件。"), node_id)
        elif kind == "parallel_split":
            if len(edges) < 2:
                report.add(path, _("并行分支至少要有两条出线。"), node_id)
        elif len(edges) != 1:
            report.add(path, _("此节点应有且只有一条出线，现有%(n)d条。") % {"n": len(edges)}, node_id)
        if kind == "parallel_join" and incoming[node_id] < 2:
            report.add(path, _("并行汇聚至少要有两条入线。"), node_id)
        if kind not in ("start", "parallel_join", "exclusive", "end") and incoming[node_id] > 1:
            report.add(path, _("此节点只能有一条入线；多条路径汇合请使用网关。"), node_id)

    if report.errors or len(starts) != 1:
        return nodes
    graph = successors(document)
    reached = _reach(starts[0]["id"], graph)
    reverse: dict[str, set[str]] = defaultdict(set)
    for src, targets in graph.items():
        for dst in targets:
            reverse[dst].add(src)
    ends = {n for n, node in nodes.items() if node["kind"] == "end"}
    can_end: set[str] = set()
    for end in ends:
        can_end |= _reach(end, reverse)
    for node_id in nodes:
        path = ["nodes", index_of[node_id]]
        if node_id not in reached:
            report.add(path, _("节点“%(id)s”从开始节点无法到达。") % {"id": node_id}, node_id)
        elif node_id not in can_end:
            report.add(path, _("节点“%(id)s”无法到达任何结束节点。") % {"id": node_id}, node_id)
    _check_joins(document, nodes, index_of, reverse, report)
    return nodes


def _check_joins(
    document: dict[str, Any],
    nodes: dict[str, dict[str, Any]],
    index_of: dict[str, int],
    reverse: dict[str, set[str]],
    report: _Report,
) -> None:
    """A join waits for every branch of one split: the nearest split upstream of all its incoming paths must
    have as many branches as the join has incoming edges."""
    out = outgoing(document)
    for join_id, node in nodes.items():
        if node["kind"] != "parallel_join":
            continue
        upstream_splits = None
        for src in reverse.get(join_id, ()):
            splits = {n for n in _reach(src, reverse) if nodes.get(n, {}).get("kind") == "parallel_split"}
            upstream_splits = splits if upstream_splits is None else upstream_splits & splits
        if not upstream_splits:
            report.add(["nodes", index_of[join_id]], _("并行汇聚没有对应的并行分支。"), join_id)
            continue
        branch_counts = {len(out.get(s, [])) for s in upstream_splits}
        if len(reverse.get(join_id, ())) not in branch_counts:
            report.add(
                ["nodes", index_of[join_id]],
                _("并行汇聚的入线数与对应并行分支的出线数不一致，流程会一直等待。"),
                join_id,
            )


def _check_references(
    document: dict[str, Any],
    nodes: dict[str, dict[str, Any]],
    report: _Report,
    forms: Callable[[set[str]], set[str]],
    roles: Callable[[set[str]], dict[str, list[str]]],
) -> None:
    form_keys = {n["form"] for n in nodes.values() if n.get("form")}
    role_keys: set[str] = set()
    for node in nodes.values():
        role_keys.update(node.get("roles", []))
        if node.get("role"):
            role_keys.add(node["role"])
        role_keys.update(b["role"] for b in node.get("boundary", []) if b.get("role"))
    known_forms = forms(form_keys) if form_keys else set()
    known_roles = roles(role_keys) if role_keys else {}
    start = next((n for n in nodes.values() if n["kind"] == "start"), None)
    start_depth = LEVEL_DEPTH.get(start["level"], 2) if start else 2
    for i, node in enumerate(document["nodes"]):
        node_id = node["id"]
        if node.get("form") and node["form"] not in known_forms:
            report.add(
                ["nodes", i, "form"], _("表单“%(k)s”不存在或尚未发布。") % {"k": node["form"]}, node_id
            )
        level = node.get("level")
        acting = [(["nodes", i, "role"], node["role"])] if node.get("role") else []
        acting += [(["nodes", i, "roles", j], key) for j, key in enumerate(node.get("roles", []))]
        for path, key in acting:
            if key not in known_roles:
                report.add(path, _("角色“%(k)s”不存在。") % {"k": key}, node_id)
            elif level and level not in known_roles[key]:
                report.add(path, _("角色“%(k)s”不在“%(l)s”级办理。") % {"k": key, "l": level}, node_id)
        if level and LEVEL_DEPTH[level] > start_depth:
            report.add(["nodes", i, "level"], _("办理层级低于案件发起的层级，无法确定办理区划。"), node_id)
        for j, boundary in enumerate(node.get("boundary", [])):
            if boundary["action"] != "escalate":
                continue
            above = LEVEL_ABOVE.get(level or "")
            path = ["nodes", i, "boundary", j, "role"]
            if above is None:
                report.add(path, _("县级任务没有上一级可以升级。"), boundary["id"])
            elif boundary["role"] not in known_roles:
                report.add(path, _("角色“%(k)s”不存在。") % {"k": boundary["role"]}, boundary["id"])
            elif above not in known_roles[boundary["role"]]:
                report.add(
                    path,
                    _("角色“%(k)s”不在“%(l)s”级办理。") % {"k": boundary["role"], "l": above},
                    boundary["id"],
                )


def _defined_upstream(document: dict[str, Any], nodes: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
    """For each node, the variables that nodes able to run before it define."""
    graph = successors(document)
    reverse: dict[str, set[str]] = defaultdict(set)
    for src, targets in graph.items():
        for dst in targets:
            reverse[dst].add(src)
    defines: dict[str, set[str]] = {}
    for node_id, node in nodes.items():
        names: set[str] = set()
        if node["kind"] in FORM_KINDS and node.get("form"):
            names.add(node_id)
        names.update(item["var"] for item in node.get("set", []))
        if node.get("number"):
            names.add(node["number"]["var"])
        defines[node_id] = names
    result = {}
    for node_id in nodes:
        upstream = _reach(node_id, reverse) - {node_id}
        names = set(RESERVED_VARIABLES)
        for other in upstream:
            names |= defines.get(other, set())
        result[node_id] = names
    return result


def _check_expression(source: str, known: set[str], path: list[Any], node: str, report: _Report) -> None:
    try:
        compiled = compile_expression(source)
    except ExpressionError as exc:
        report.add(path, _("表达式有误：%(e)s") % {"e": exc.message}, node)
        return
    for name in sorted(compiled.variables - known):
        report.add(path, _("表达式用到的“%(v)s”在此之前没有定义。") % {"v": name}, node)


def _check_expressions(document: dict[str, Any], nodes: dict[str, dict[str, Any]], report: _Report) -> None:
    known = _defined_upstream(document, nodes)
    form_ids = {n for n, node in nodes.items() if node["kind"] in FORM_KINDS}
    for i, node in enumerate(document["nodes"]):
        node_id = node["id"]
        names = set(known.get(node_id, set()))
        for j, item in enumerate(node.get("set", [])):
            if item["var"] in form_ids or item["var"] in RESERVED_VARIABLES:
                report.add(
                    ["nodes", i, "set", j, "var"],
                    _("变量名“%(v)s”与表单节点或保留名冲突。") % {"v": item["var"]},
                    node_id,
                )
            _check_expression(item["expr"], names, ["nodes", i, "set", j, "expr"], node_id, report)
            names.add(item["var"])
        durations = [(["nodes", i, "due"], node.get("due")), (["nodes", i, "wait"], node.get("wait"))]
        durations += [
            (["nodes", i, "boundary", j, "after"], b["after"]) for j, b in enumerate(node.get("boundary", []))
        ]
        for path, duration in durations:
            if duration and "date" in duration:
                _check_expression(duration["date"], names, [*path, "date"], node_id, report)
    start = next((n for n in nodes.values() if n["kind"] == "start"), None)
    everything = set(RESERVED_VARIABLES)
    for node_id, node in nodes.items():
        if node["kind"] in FORM_KINDS and node.get("form"):
            everything.add(node_id)
        everything.update(item["var"] for item in node.get("set", []))
        if node.get("number"):
            everything.add(node["number"]["var"])
    for name, source in (document.get("summary") or {}).items():
        # Evaluated after every step: any variable of the procedure may be used (has() guards missing ones).
        _check_expression(source, everything, ["summary", name], start["id"] if start else "", report)
    for i, edge in enumerate(document["edges"]):
        if edge.get("condition") and edge["from"] in nodes:
            names = set(known.get(edge["from"], set())) | set()
            _check_expression(edge["condition"], names, ["edges", i, "condition"], edge["from"], report)


def check_workflow_document(
    document: Any,
    *,
    file: str = "",
    forms: Callable[[set[str]], set[str]] = published_form_keys,
    roles: Callable[[set[str]], dict[str, list[str]]] = role_levels,
) -> list[dict[str, Any]]:
    """Every problem in one workflow file, as [{"file", "path", "message", "node"?}]. Empty when publishable.

    `forms` and `roles` look up what exists (the database by default; a designer preview may pass others).
    """
    report = _Report(file)
    for error in sorted(
        _file_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))
    ):
        report.add(list(error.absolute_path), file_error_message(error))
    if report.errors or not isinstance(document, dict):
        return report.errors
    nodes = _check_graph(document, report)
    if report.errors:
        return report.errors
    _check_references(document, nodes, report, forms, roles)
    _check_expressions(document, nodes, report)
    _check_documents(document, report)
    return report.errors


def _check_documents(document: dict[str, Any], report: _Report) -> None:
    from govflow.documents.rendering import check_template

    keys: set[str] = set()
    for i, template in enumerate(document.get("documents", [])):
        for error in check_template(template, path=f"/documents/{i}"):
            report.errors.append({"file": report.file, **error})
        if template.get("key") in keys:
            report.add(["documents", i, "key"], _("文书标识“%(k)s”重复。") % {"k": template.get("key")})
        keys.add(template.get("key"))
    for i, node in enumerate(document["nodes"]):
        for j, key in enumerate(node.get("documents", [])):
            if key not in keys:
                report.add(["nodes", i, "documents", j], _("文书“%(k)s”未定义。") % {"k": key}, node["id"])
