"""BPMN 2.0 XML export and import for govflow workflow definitions.

`definition_to_bpmn` writes a definition (the JSON described by schemas/workflow.schema.json) as a BPMN 2.0
document with a diagram (BPMNDI), so bpmn-js and Camunda Modeler can open it. `bpmn_to_definition` reads it
back; for any valid definition `bpmn_to_definition(definition_to_bpmn(doc)) == doc`.

How the round trip stays lossless: everything BPMN can say natively (element kinds, ids, `name`, conditions,
the default flow, timers, boundary events, terminate ends) is written as BPMN. The importer reads that native
part first; the exporter runs the very same reader over what it wrote and stores every property the reader
did not get back exactly in `<bpmn:extensionElements><govflow:properties>` as a JSON object. On import the
JSON is merged over the native values (objects one level deep, e.g. `{"title": {"en": "Apply"}}` adds the
English title to the `name`). Files drawn by other modelers have no such JSON, so they import with what BPMN
says and nothing more. The node `layout` (top-left corner of the shape) comes from the diagram: kept when
the shape was not moved, absent when the shape sits where the automatic layout put it. See docs/bpmn.md.

The parser is defusedxml with DTDs forbidden; inputs over 2 MiB are refused.
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET  # noqa: S405 - only builds and serialises; parsing goes through defusedxml
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.utils.translation import gettext as _

from govflow.errors import DefinitionInvalid

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI_NS = "http://www.omg.org/spec/BPMN/20100524/DI"
DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
GOVFLOW_NS = "https://govflow.example/schema/bpmn"
TARGET_NS = "https://govflow.example/workflows"
MAX_BYTES = 2 * 1024 * 1024

for _prefix, _uri in (
    ("bpmn", BPMN_NS),
    ("bpmndi", BPMNDI_NS),
    ("dc", DC_NS),
    ("di", DI_NS),
    ("xsi", XSI_NS),
    ("govflow", GOVFLOW_NS),
):
    ET.register_namespace(_prefix, _uri)

Json = dict[str, Any]
Rect = tuple[float, float, float, float]

NODE_TAG = {
    "start": "startEvent",
    "user_task": "userTask",
    "service_task": "serviceTask",
    "exclusive": "exclusiveGateway",
    "parallel_split": "parallelGateway",
    "parallel_join": "parallelGateway",
    "timer": "intermediateCatchEvent",
    "end": "endEvent",
}
# BPMN flow nodes the importer understands; None = decided by gatewayDirection or the flows.
TAG_KIND: dict[str, str | None] = {
    "startEvent": "start",
    "endEvent": "end",
    "userTask": "user_task",
    "task": "user_task",
    "serviceTask": "service_task",
    "scriptTask": "service_task",
    "exclusiveGateway": "exclusive",
    "parallelGateway": None,
    "intermediateCatchEvent": "timer",
}
# Process children that carry no behaviour govflow has: dropped silently on import.
IGNORED_TAGS = {
    "documentation",
    "extensionElements",
    "laneSet",
    "textAnnotation",
    "association",
    "group",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
    "property",
    "ioSpecification",
    "auditing",
    "monitoring",
    "category",
}
SIZE = {
    "start": (36, 36),
    "end": (36, 36),
    "timer": (36, 36),
    "user_task": (120, 80),
    "service_task": (120, 80),
    "exclusive": (50, 50),
    "parallel_split": (50, 50),
    "parallel_join": (50, 50),
}
BOUNDARY_SIZE = 36
# Centres of boundary events relative to the task's top-left corner: along the bottom, then the right side.
BOUNDARY_SLOTS = ((20, 80), (60, 80), (100, 80), (120, 20), (120, 50))
COLUMN_STEP, ROW_STEP, ORIGIN = 200, 140, 100
# Keys always written to the extension, even when BPMN already says the same: so the XML reads well, and
# because modelers drop cancelActivity="true" on save (it is the BPMN default).
ALWAYS_EXTENDED = ("layout", "outcome", "action", "interrupting")

ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
NCNAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
DAYS_RE = re.compile(r"P([0-9]{1,15})D")
HOURS_RE = re.compile(r"PT([0-9]{1,15})H")
NOT_XML_CHAR_RE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
MAX_DURATION = 10**15


def _b(local: str) -> str:
    return f"{{{BPMN_NS}}}{local}"


def _bpmndi(local: str) -> str:
    return f"{{{BPMNDI_NS}}}{local}"


def _local(tag: Any) -> tuple[str, str]:
    """(namespace, local name) of an element tag; comments and processing instructions give ("", "")."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _sep, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _error(path: str, message: str) -> Json:
    return {"file": "", "path": path, "message": message}


def _xml_clean(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (the extension JSON keeps the exact value)."""
    return NOT_XML_CHAR_RE.sub("", text)


def _same(a: Any, b: Any) -> bool:
    """Equality that also tells 1 from 1.0 and True, so nothing changes type on the way."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _coordinate(value: Any, fallback: float) -> float:
    """A layout coordinate as a finite float, or the fallback for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return fallback
    try:
        number = float(value)
    except OverflowError:
        return fallback
    return number if math.isfinite(number) else fallback


def _fmt(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < MAX_DURATION:
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def _title_zh(title: Any) -> str | None:
    if isinstance(title, dict) and isinstance(title.get("zh"), str):
        return title["zh"]
    return None


# ---------------------------------------------------------------------------------------------------------
# Layout (shared by export and import)
# ---------------------------------------------------------------------------------------------------------


def _items(document: Json, name: str) -> list[Json]:
    """The objects in a list of the document, skipping anything else (an import may bring odd values)."""
    value = document.get(name)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _graph(document: Json) -> tuple[list[str], dict[str, list[str]], list[str]]:
    """Node ids in order, successors (edges and boundary paths), and the start nodes."""
    nodes = _items(document, "nodes")
    succ: dict[str, list[str]] = {}
    starts: list[str] = []
    for node in nodes:
        node_id = _str(node.get("id"))
        if node_id is not None and node_id not in succ:
            succ[node_id] = []
            if node.get("kind") == "start":
                starts.append(node_id)
    for edge in _items(document, "edges"):
        source, target = _str(edge.get("from")), _str(edge.get("to"))
        if source in succ and target in succ:
            succ[source].append(target)
    for node in nodes:
        node_id = _str(node.get("id"))
        if node_id in succ:
            for item in _items(node, "boundary"):
                target = _str(item.get("to"))
                if target in succ:
                    succ[node_id].append(target)
    return list(succ), succ, starts


def _back_edges(ids: list[str], succ: dict[str, list[str]], starts: list[str]) -> set[tuple[str, str]]:
    """Edges that close a cycle, found by a depth-first search that begins at the start nodes."""
    state: dict[str, int] = {}
    back: set[tuple[str, str]] = set()
    for root in [*starts, *ids]:
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(succ[root]))]
        while stack:
            node, successors = stack[-1]
            nxt = next(successors, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return back


def _layers(ids: list[str], succ: dict[str, list[str]], starts: list[str]) -> dict[str, int]:
    """Longest-path layering of the graph without its back edges."""
    back = _back_edges(ids, succ, starts)
    indegree = dict.fromkeys(ids, 0)
    for u in ids:
        for v in succ[u]:
            if (u, v) not in back:
                indegree[v] += 1
    layer = dict.fromkeys(ids, 0)
    queue = deque(i for i in ids if indegree[i] == 0)
    while queue:
        u = queue.popleft()
        for v in succ[u]:
            if (u, v) in back:
                continue
            layer[v] = max(layer[v], layer[u] + 1)
            indegree[v] -= 1
            if indegree[v] == 0:
                queue.append(v)
    return layer


def _auto_positions(document: Json) -> dict[str, tuple[float, float]]:
    """Top-left corners of the automatic layout: layers left to right, rows top to bottom."""
    ids, succ, starts = _graph(document)
    layer = _layers(ids, succ, starts)
    kinds = {n["id"]: n.get("kind") for n in _items(document, "nodes") if _str(n.get("id")) in succ}
    rows: dict[int, int] = {}
    positions: dict[str, tuple[float, float]] = {}
    for node_id in ids:
        column = layer[node_id]
        row = rows.get(column, 0)
        rows[column] = row + 1
        width, height = SIZE.get(str(kinds.get(node_id)), SIZE["user_task"])
        centre_x, centre_y = ORIGIN + column * COLUMN_STEP, ORIGIN + row * ROW_STEP
        positions[node_id] = (centre_x - width // 2, centre_y - height // 2)
    return positions


def _effective_position(layout: Any, auto: tuple[float, float]) -> tuple[float, float]:
    """Where a node is drawn: its layout x/y when they are numbers, else the automatic position."""
    if not isinstance(layout, dict):
        return auto
    return _coordinate(layout.get("x"), auto[0]), _coordinate(layout.get("y"), auto[1])


# ---------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------


class _Ids:
    """Hands out XML ids that are unique in the document."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.used = set(taken)

    def new(self, wanted: str) -> str:
        candidate, n = wanted, 2
        while candidate in self.used:
            candidate, n = f"{wanted}_{n}", n + 1
        self.used.add(candidate)
        return candidate


@dataclass
class _Built:
    root: ET.Element
    process: ET.Element
    nodes: list[ET.Element] = field(default_factory=list)
    boundaries: dict[tuple[int, int], ET.Element] = field(default_factory=dict)
    edges: list[ET.Element] = field(default_factory=list)
    boundary_flows: list[tuple[str, str, str]] = field(default_factory=list)  # (flow id, boundary id, to)


def _native_boundary(node: Json) -> bool:
    boundary = node.get("boundary")
    return node.get("kind") == "user_task" and isinstance(boundary, list) and len(boundary) > 0


def _check_exportable(document: Any) -> None:
    """The little structure the writer relies on; the definition validator checks everything else."""
    if not isinstance(document, dict):
        raise DefinitionInvalid(errors=[_error("/", _("定义必须是 JSON 对象。"))])
    errors: list[Json] = []
    if not isinstance(document.get("key"), str) or not document["key"]:
        errors.append(_error("/key", _("流程标识 key 必须是非空文本。")))
    for name in ("nodes", "edges"):
        if not isinstance(document.get(name), list):
            errors.append(_error(f"/{name}", _("%(field)s 必须是数组。") % {"field": name}))
    if errors:
        raise DefinitionInvalid(errors=errors)
    node_ids = _check_nodes(document["nodes"], errors)
    _check_edges(document["edges"], node_ids, errors)
    if errors:
        raise DefinitionInvalid(errors=errors)


def _check_id(value: Any, path: str, seen: set[str], errors: list[Json]) -> None:
    if not isinstance(value, str) or not NCNAME_RE.match(value):
        errors.append(_error(path, _("标识 %(id)s 不是合法的 id。") % {"id": value}))
    elif value in seen:
        errors.append(_error(path, _("标识 %(id)s 重复。") % {"id": value}))
    else:
        seen.add(value)


def _check_nodes(nodes: list[Any], errors: list[Json]) -> set[str]:
    seen: set[str] = set()
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            errors.append(_error(f"/nodes/{i}", _("节点必须是 JSON 对象。")))
            continue
        _check_id(node.get("id"), f"/nodes/{i}/id", seen, errors)
        if _str(node.get("kind")) not in NODE_TAG:
            errors.append(
                _error(f"/nodes/{i}/kind", _("未知的节点类型 %(kind)s。") % {"kind": node.get("kind")})
            )
        if not _native_boundary(node):
            continue
        for j, item in enumerate(node["boundary"]):
            if not isinstance(item, dict):
                errors.append(_error(f"/nodes/{i}/boundary/{j}", _("边界事件必须是 JSON 对象。")))
            else:
                _check_id(item.get("id"), f"/nodes/{i}/boundary/{j}/id", seen, errors)
    return {n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)}


def _check_edges(edges: list[Any], node_ids: set[str], errors: list[Json]) -> None:
    for k, edge in enumerate(edges):
        if not isinstance(edge, dict):
            errors.append(_error(f"/edges/{k}", _("连线必须是 JSON 对象。")))
            continue
        for end in ("from", "to"):
            if _str(edge.get(end)) not in node_ids:
                message = _("连线端点 %(ref)s 不是已有节点。") % {"ref": edge.get(end)}
                errors.append(_error(f"/edges/{k}/{end}", message))


def _set_name(element: ET.Element, title: Any) -> None:
    name = _title_zh(title)
    if name is not None and _xml_clean(name):
        element.set("name", _xml_clean(name))


def _duration_native(value: Any) -> tuple[str, str] | None:
    """(timeDuration|timeDate, text) for a duration BPMN can say; the calendar stays in the extension."""
    if not isinstance(value, dict):
        return None
    kinds = [k for k in ("days", "hours", "date") if k in value]
    if len(kinds) != 1:
        return None
    amount = value[kinds[0]]
    if kinds[0] == "date":
        text = _xml_clean(amount) if isinstance(amount, str) else ""
        return ("timeDate", text) if text.strip() else None
    if type(amount) is not int or not 0 <= amount < MAX_DURATION:
        return None
    return ("timeDuration", f"P{amount}D" if kinds[0] == "days" else f"PT{amount}H")


def _formal(parent: ET.Element, local: str, text: str) -> None:
    child = ET.SubElement(parent, _b(local), {f"{{{XSI_NS}}}type": "bpmn:tFormalExpression"})
    child.text = text


def _timer(parent: ET.Element, duration: Any) -> None:
    definition = ET.SubElement(parent, _b("timerEventDefinition"))
    native = _duration_native(duration)
    if native:
        _formal(definition, *native)


def _write_node(process: ET.Element, node: Json) -> ET.Element:
    kind = node["kind"]
    element = ET.SubElement(process, _b(NODE_TAG[kind]), {"id": node["id"]})
    _set_name(element, node.get("title"))
    if kind == "parallel_split":
        element.set("gatewayDirection", "Diverging")
    elif kind == "parallel_join":
        element.set("gatewayDirection", "Converging")
    elif kind == "timer":
        _timer(element, node.get("wait"))
    elif kind == "end" and "outcome" in node:
        ET.SubElement(element, _b("terminateEventDefinition"))
    return element


def _write_boundary(process: ET.Element, task_id: str, item: Json) -> ET.Element:
    element = ET.SubElement(process, _b("boundaryEvent"), {"id": item["id"], "attachedToRef": task_id})
    _set_name(element, item.get("title"))
    if item.get("action") != "path":
        element.set("cancelActivity", "false")  # reminders and escalations never interrupt the task
    elif isinstance(item.get("interrupting"), bool):
        element.set("cancelActivity", "true" if item["interrupting"] else "false")
    _timer(element, item.get("after"))
    return element


def _write_edge(process: ET.Element, edge: Json, flow_id: str) -> ET.Element:
    element = ET.SubElement(
        process, _b("sequenceFlow"), {"id": flow_id, "sourceRef": edge["from"], "targetRef": edge["to"]}
    )
    _set_name(element, edge.get("label"))
    condition = edge.get("condition")
    if isinstance(condition, str) and _xml_clean(condition).strip():
        _formal(element, "conditionExpression", _xml_clean(condition))
    return element


def _build(document: Json) -> _Built:
    nodes: list[Json] = document["nodes"]
    taken = [n["id"] for n in nodes]
    taken += [b["id"] for n in nodes if _native_boundary(n) for b in n["boundary"]]
    ids = _Ids(taken)
    key = document["key"]
    process_id = key if NCNAME_RE.match(key) and key not in ids.used else ids.new("Process_1")
    ids.used.add(process_id)
    root = ET.Element(
        _b("definitions"),
        {
            "id": ids.new("Definitions_1"),
            "targetNamespace": TARGET_NS,
            "exporter": "govflow",
            "exporterVersion": "1",
        },
    )
    process = ET.SubElement(root, _b("process"), {"id": process_id, "isExecutable": "true"})
    _set_name(process, document.get("title"))
    built = _Built(root=root, process=process)
    node_ids = {n["id"] for n in nodes}
    for i, node in enumerate(nodes):
        built.nodes.append(_write_node(process, node))
        if not _native_boundary(node):
            continue
        for j, item in enumerate(node["boundary"]):
            built.boundaries[(i, j)] = _write_boundary(process, node["id"], item)
            if item.get("action") == "path" and _str(item.get("to")) in node_ids:
                built.boundary_flows.append(
                    (ids.new(f"flow_{item['id']}_{item['to']}"), item["id"], item["to"])
                )
    _build_flows(document, built, ids)
    _build_diagram(document, built, ids, process_id)
    return built


def _build_flows(document: Json, built: _Built, ids: _Ids) -> None:
    kinds = {n["id"]: n["kind"] for n in document["nodes"]}
    elements = {n["id"]: el for n, el in zip(document["nodes"], built.nodes, strict=True)}
    for edge in document["edges"]:
        flow_id = ids.new(f"flow_{edge['from']}_{edge['to']}")
        built.edges.append(_write_edge(built.process, edge, flow_id))
        source = elements[edge["from"]]
        if (
            edge.get("default") is True
            and kinds[edge["from"]] == "exclusive"
            and source.get("default") is None
        ):
            source.set("default", flow_id)
    for flow_id, boundary_id, target in built.boundary_flows:
        ET.SubElement(
            built.process, _b("sequenceFlow"), {"id": flow_id, "sourceRef": boundary_id, "targetRef": target}
        )


def _rects(document: Json) -> tuple[dict[str, Rect], dict[str, Rect]]:
    """Shape bounds of every node and every boundary event, by id."""
    auto = _auto_positions(document)
    nodes: dict[str, Rect] = {}
    boundaries: dict[str, Rect] = {}
    for node in document["nodes"]:
        width, height = SIZE[node["kind"]]
        x, y = _effective_position(node.get("layout"), auto[node["id"]])
        nodes[node["id"]] = (x, y, width, height)
        if _native_boundary(node):
            for j, item in enumerate(node["boundary"]):
                cx, cy = BOUNDARY_SLOTS[j % len(BOUNDARY_SLOTS)]
                half = BOUNDARY_SIZE / 2
                boundaries[item["id"]] = (x + cx - half, y + cy - half, BOUNDARY_SIZE, BOUNDARY_SIZE)
    return nodes, boundaries


def _anchor(rect: Rect, shape: str, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the straight line from the shape's centre towards a point leaves the shape."""
    x, y, width, height = rect
    cx, cy = x + width / 2, y + height / 2
    dx, dy = toward[0] - cx, toward[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    hw, hh = width / 2, height / 2
    if shape == "circle":
        t = hw / math.hypot(dx, dy)
    elif shape == "diamond":
        t = 1 / (abs(dx) / hw + abs(dy) / hh)
    else:
        t = min(hw / abs(dx) if dx else math.inf, hh / abs(dy) if dy else math.inf)
    return cx + dx * t, cy + dy * t


def _waypoints(source: Rect, source_shape: str, target: Rect, target_shape: str) -> list[tuple[float, float]]:
    if source == target:  # a loop back to itself: up, across and down again
        x, y, width, _height = source
        top = y - 30
        return [
            (x + width * 0.75, y),
            (x + width * 0.75, top),
            (x + width * 0.25, top),
            (x + width * 0.25, y),
        ]
    centre_s = (source[0] + source[2] / 2, source[1] + source[3] / 2)
    centre_t = (target[0] + target[2] / 2, target[1] + target[3] / 2)
    return [_anchor(source, source_shape, centre_t), _anchor(target, target_shape, centre_s)]


def _shape_of(kind: str) -> str:
    if kind in ("start", "end", "timer"):
        return "circle"
    return "diamond" if kind in ("exclusive", "parallel_split", "parallel_join") else "rect"


def _add_shape(plane: ET.Element, ids: _Ids, element_id: str, rect: Rect, **extra: str) -> None:
    shape = ET.SubElement(
        plane, _bpmndi("BPMNShape"), {"id": ids.new(f"{element_id}_di"), "bpmnElement": element_id}
    )
    for name, value in extra.items():
        shape.set(name, value)
    bounds = {"x": _fmt(rect[0]), "y": _fmt(rect[1]), "width": _fmt(rect[2]), "height": _fmt(rect[3])}
    ET.SubElement(shape, f"{{{DC_NS}}}Bounds", bounds)


def _add_edge(plane: ET.Element, ids: _Ids, flow_id: str, points: list[tuple[float, float]]) -> None:
    edge = ET.SubElement(plane, _bpmndi("BPMNEdge"), {"id": ids.new(f"{flow_id}_di"), "bpmnElement": flow_id})
    for px, py in points:
        ET.SubElement(edge, f"{{{DI_NS}}}waypoint", {"x": _fmt(round(px, 1)), "y": _fmt(round(py, 1))})


def _build_diagram(document: Json, built: _Built, ids: _Ids, process_id: str) -> None:
    diagram = ET.SubElement(built.root, _bpmndi("BPMNDiagram"), {"id": ids.new("BPMNDiagram_1")})
    plane = ET.SubElement(
        diagram, _bpmndi("BPMNPlane"), {"id": ids.new("BPMNPlane_1"), "bpmnElement": process_id}
    )
    node_rects, boundary_rects = _rects(document)
    shapes = {n["id"]: _shape_of(n["kind"]) for n in document["nodes"]}
    for node in document["nodes"]:
        extra = {"isMarkerVisible": "true"} if node["kind"] == "exclusive" else {}
        _add_shape(plane, ids, node["id"], node_rects[node["id"]], **extra)
    for boundary_id, rect in boundary_rects.items():
        _add_shape(plane, ids, boundary_id, rect)
    for edge, element in zip(document["edges"], built.edges, strict=True):
        source, target = edge["from"], edge["to"]
        points = _waypoints(node_rects[source], shapes[source], node_rects[target], shapes[target])
        _add_edge(plane, ids, element.get("id", ""), points)
    for flow_id, boundary_id, target in built.boundary_flows:
        points = _waypoints(boundary_rects[boundary_id], "circle", node_rects[target], shapes[target])
        _add_edge(plane, ids, flow_id, points)


def _diff(original: Json, native: Json, skip: tuple[str, ...] = ()) -> Json:
    """What the extension must hold so that native merged with it gives the original back."""
    extension: Json = {}
    for key, value in original.items():
        if key in skip:
            continue
        got = native.get(key)
        if key in ALWAYS_EXTENDED or key not in native:
            extension[key] = value
        elif _same(value, got):
            continue
        elif isinstance(value, dict) and isinstance(got, dict) and got.keys() <= value.keys():
            extension[key] = {k: v for k, v in value.items() if k not in got or not _same(v, got[k])}
        else:
            extension[key] = value
    return extension


def _json_text(extension: Json, path: str) -> str:
    try:
        text = json.dumps(extension, ensure_ascii=False)
    except (TypeError, ValueError):
        raise DefinitionInvalid(errors=[_error(path, _("该部分含有无法写成 JSON 的值。"))])
    return text if not NOT_XML_CHAR_RE.search(text) else json.dumps(extension)


def _attach(element: ET.Element, extension: Json, path: str) -> None:
    if not extension:
        return
    container = ET.Element(_b("extensionElements"))
    ET.SubElement(container, f"{{{GOVFLOW_NS}}}properties").text = _json_text(extension, path)
    element.insert(0, container)  # BPMN wants extensionElements before the element's other children


def _attach_extensions(document: Json, native: _Result, built: _Built) -> None:
    _attach(built.process, _diff(document, native.doc, skip=("nodes", "edges")), "/")
    for i, (node, record, element) in enumerate(
        zip(document["nodes"], native.nodes, built.nodes, strict=True)
    ):
        boundary = _native_boundary(node)
        _attach(element, _diff(node, record.data, skip=("boundary",) if boundary else ()), f"/nodes/{i}")
        if not boundary:
            continue
        for j, item in enumerate(node["boundary"]):
            _attach(
                built.boundaries[(i, j)], _diff(item, record.data["boundary"][j]), f"/nodes/{i}/boundary/{j}"
            )
    for k, (edge, record, element) in enumerate(
        zip(document["edges"], native.edges, built.edges, strict=True)
    ):
        _attach(element, _diff(edge, record.data), f"/edges/{k}")


def definition_to_bpmn(document: dict) -> str:
    """A BPMN 2.0 XML document (with diagram) for a workflow definition."""
    _check_exportable(document)
    built = _build(document)
    # Read the native part back exactly as an import will (after a real serialise and parse), so the
    # extension records whatever BPMN could not carry.
    reparsed = SafeET.fromstring(ET.tostring(built.root, encoding="unicode"), forbid_dtd=True)
    native = _Reader(reparsed).read()
    _attach_extensions(document, native, built)
    ET.indent(built.root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(built.root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Record:
    element: ET.Element
    path: str
    xml_id: str
    data: Json = field(default_factory=dict)


@dataclass
class _Result:
    doc: Json
    process: _Record
    nodes: list[_Record]
    boundaries: list[_Record]
    edges: list[_Record]
    shapes: dict[str, tuple[float, float]]


def _normalise(raw: str, pattern: re.Pattern[str], max_len: int, used: set[str]) -> str:
    """A govflow identifier for a foreign BPMN id ("Activity_0x1" -> "activity_0x1"), unique in `used`."""
    base = re.sub(r"[^a-z0-9_]", "_", raw.lower())
    if not base[:1].isalpha() or not base[:1].isascii():
        base = "n_" + base
    base = base[:max_len]
    candidate, n = base, 2
    while candidate in used or not pattern.match(candidate):
        suffix = f"_{n}"
        candidate, n = base[: max_len - len(suffix)] + suffix, n + 1
    used.add(candidate)
    return candidate


def _event_definitions(element: ET.Element) -> list[ET.Element]:
    return [
        c for c in element if _local(c.tag)[0] == BPMN_NS and _local(c.tag)[1].endswith("EventDefinition")
    ]


def _name(element: ET.Element) -> str | None:
    name = element.get("name")
    return name if name else None


class _Reader:
    """Reads the BPMN-native part of a document into a definition; collects every problem before raising."""

    def __init__(self, root: ET.Element) -> None:
        self.root = root
        self.errors: list[Json] = []
        self.ids: dict[str, str] = {}  # xml id -> govflow id
        self.nodes: dict[str, _Record] = {}
        self.boundaries: dict[str, _Record] = {}
        self.counts: dict[str, tuple[int, int]] = {}  # xml id -> (incoming, outgoing) sequence flows
        self.unsupported: set[str] = set()  # ids of elements already reported as unsupported

    def error(self, path: str, message: str) -> None:
        self.errors.append(_error(path, message))

    def fail_if_errors(self) -> None:
        if self.errors:
            raise DefinitionInvalid(errors=self.errors)

    def read(self) -> _Result:
        process = self._process()
        self.fail_if_errors()
        assert process is not None
        node_list, boundary_list, flows = self._classify(process)
        self._assign_ids(node_list, boundary_list, process)
        edges = self._read_flows(flows)
        for record in node_list:
            self._read_node(record)
        for record in boundary_list:
            self._read_boundary(record)
        self._read_defaults(node_list, flows, edges)
        self.fail_if_errors()
        for record in boundary_list:
            owner = self.nodes[record.element.get("attachedToRef", "")]
            owner.data.setdefault("boundary", []).append(record.data)
        process.data.update({"nodes": [r.data for r in node_list], "edges": [r.data for r in edges]})
        return _Result(process.data, process, node_list, boundary_list, edges, self._shapes())

    # -- structure -------------------------------------------------------------------------------------

    def _process(self) -> _Record | None:
        ns, local = _local(self.root.tag)
        if ns != BPMN_NS or local != "definitions":
            self.error(f"/{local}", _("这不是 BPMN 2.0 文件：根元素应为 BPMN 命名空间中的 definitions。"))
            return None
        processes = [p for p in self.root if p.tag == _b("process")]
        if not processes:
            self.error("/definitions", _("文件中没有流程（process）。"))
            return None
        busy = [p for p in processes if any(_local(c.tag)[1] in TAG_KIND for c in p)] or processes[:1]
        if len(busy) > 1:
            self.error("/definitions", _("文件中有 %(count)s 个流程，只能导入一个。") % {"count": len(busy)})
            return None
        element = busy[0]
        xml_id = element.get("id", "")
        return _Record(element, f"/definitions/process[@id='{xml_id}']", xml_id)

    def _classify(self, process: _Record) -> tuple[list[_Record], list[_Record], list[_Record]]:
        nodes: list[_Record] = []
        boundaries: list[_Record] = []
        flows: list[_Record] = []
        for index, child in enumerate(process.element, start=1):
            ns, local = _local(child.tag)
            if ns != BPMN_NS or local in IGNORED_TAGS:
                continue
            xml_id = child.get("id", "")
            path = f"{process.path}/{local}" + (f"[@id='{xml_id}']" if xml_id else f"[{index}]")
            record = _Record(child, path, xml_id)
            if local not in TAG_KIND and local not in ("boundaryEvent", "sequenceFlow"):
                self.error(path, _("不支持的 BPMN 元素：%(element)s。") % {"element": local})
                self.unsupported.add(xml_id)
            elif not xml_id:
                self.error(path, _("元素缺少 id。"))
            elif local == "sequenceFlow":
                flows.append(record)
            else:
                (boundaries if local == "boundaryEvent" else nodes).append(record)
        return nodes, boundaries, flows

    def _assign_ids(self, nodes: list[_Record], boundaries: list[_Record], process: _Record) -> None:
        used: set[str] = set()
        records = nodes + boundaries
        for record in records:
            if record.xml_id in self.nodes or record.xml_id in self.boundaries:
                self.error(record.path, _("标识 %(id)s 重复。") % {"id": record.xml_id})
            target = self.boundaries if _local(record.element.tag)[1] == "boundaryEvent" else self.nodes
            target[record.xml_id] = record
            if ID_RE.match(record.xml_id) and record.xml_id not in used:
                used.add(record.xml_id)
                self.ids[record.xml_id] = record.xml_id
        for record in records:
            if record.xml_id not in self.ids:
                self.ids[record.xml_id] = _normalise(record.xml_id, ID_RE, 40, used)
        key = (
            process.xml_id if KEY_RE.match(process.xml_id) else _normalise(process.xml_id, KEY_RE, 64, set())
        )
        process.data["key"] = key
        if _name(process.element):
            process.data["title"] = {"zh": _name(process.element)}
        documentation = process.element.find(_b("documentation"))
        if documentation is not None and (documentation.text or "").strip():
            process.data["description"] = (documentation.text or "").strip()

    # -- elements --------------------------------------------------------------------------------------

    def _read_node(self, record: _Record) -> None:
        local = _local(record.element.tag)[1]
        record.data.update({"id": self.ids[record.xml_id], "kind": TAG_KIND[local]})
        if _name(record.element):
            record.data["title"] = {"zh": _name(record.element)}
        definitions = _event_definitions(record.element)
        if local == "startEvent" and definitions:
            kind = _local(definitions[0].tag)[1]
            self.error(record.path, _("开始事件不能带事件定义（%(definition)s）。") % {"definition": kind})
        elif local == "endEvent":
            self._read_end(record, definitions)
        elif local == "intermediateCatchEvent":
            self._read_timer(record, definitions, "wait", _("中间捕获事件只支持定时器。"))
        elif local == "parallelGateway":
            record.data["kind"] = self._parallel_kind(record)
        elif any(_local(c.tag)[1].endswith("LoopCharacteristics") for c in record.element):
            self.error(record.path, _("不支持循环或多实例任务。"))

    def _read_end(self, record: _Record, definitions: list[ET.Element]) -> None:
        for definition in definitions:
            kind = _local(definition.tag)[1]
            if kind == "terminateEventDefinition":
                record.data["outcome"] = record.data["id"]
            else:
                message = _("结束事件只支持终止事件定义，不支持 %(definition)s。") % {"definition": kind}
                self.error(record.path, message)

    def _read_timer(self, record: _Record, definitions: list[ET.Element], key: str, message: str) -> None:
        if len(definitions) != 1 or _local(definitions[0].tag)[1] != "timerEventDefinition":
            self.error(record.path, message)
            return
        duration = self._duration(definitions[0], record.path)
        if duration is not None:
            record.data[key] = duration

    def _duration(self, definition: ET.Element, path: str) -> Json | None:
        for child in definition:
            local = _local(child.tag)[1]
            text = (child.text or "").strip()
            if local == "timeCycle":
                self.error(f"{path}/timerEventDefinition", _("不支持周期定时器（timeCycle）。"))
            elif local == "timeDate" and text:
                return {"date": text}
            elif local == "timeDuration" and text:
                if days := DAYS_RE.fullmatch(text):
                    return {"days": int(days.group(1))}
                if hours := HOURS_RE.fullmatch(text):
                    return {"hours": int(hours.group(1))}
                message = _("无法识别的时长 %(value)s：只支持 P<天数>D 或 PT<小时数>H。") % {"value": text}
                self.error(f"{path}/timerEventDefinition/timeDuration", message)
        return None

    def _parallel_kind(self, record: _Record) -> str:
        direction = record.element.get("gatewayDirection")
        if direction == "Diverging":
            return "parallel_split"
        if direction == "Converging":
            return "parallel_join"
        incoming, outgoing = self.counts.get(record.xml_id, (0, 0))
        if incoming > 1 and outgoing > 1:
            self.error(record.path, _("并行网关不能同时汇聚和分支，请拆成两个网关。"))
        return "parallel_join" if incoming > 1 else "parallel_split"

    def _read_boundary(self, record: _Record) -> None:
        element = record.element
        record.data["id"] = self.ids[record.xml_id]
        if _name(element):
            record.data["title"] = {"zh": _name(element)}
        owner = self.nodes.get(element.get("attachedToRef", ""))
        if owner is None or _local(owner.element.tag)[1] not in ("userTask", "task"):
            message = _("边界事件附着的 %(ref)s 不是本流程中的用户任务。") % {
                "ref": element.get("attachedToRef")
            }
            self.error(record.path, message)
        self._read_timer(record, _event_definitions(element), "after", _("边界事件只支持定时器。"))
        cancel = element.get("cancelActivity")
        if "to" in record.data and cancel is not None:
            record.data["interrupting"] = cancel.strip() in ("true", "1")

    def _read_flows(self, flows: list[_Record]) -> list[_Record]:
        edges: list[_Record] = []
        for flow in flows:
            source, target = flow.element.get("sourceRef", ""), flow.element.get("targetRef", "")
            if not self._flow_ends_known(flow, source, target):
                continue
            incoming, outgoing = self.counts.get(target, (0, 0))
            self.counts[target] = (incoming + 1, outgoing)
            incoming, outgoing = self.counts.get(source, (0, 0))
            self.counts[source] = (incoming, outgoing + 1)
            if source in self.boundaries:
                self._boundary_path(flow, self.boundaries[source], target)
                continue
            flow.data.update({"from": self.ids[source], "to": self.ids[target]})
            if _name(flow.element):
                flow.data["label"] = {"zh": _name(flow.element)}
            condition = flow.element.find(_b("conditionExpression"))
            if condition is not None and (condition.text or "").strip():
                flow.data["condition"] = (condition.text or "").strip()
            edges.append(flow)
        return edges

    def _flow_ends_known(self, flow: _Record, source: str, target: str) -> bool:
        known = True
        if source not in self.nodes and source not in self.boundaries:
            if source not in self.unsupported:
                self.error(flow.path, _("连线的起点 %(ref)s 不是本流程中可识别的元素。") % {"ref": source})
            known = False
        if target not in self.nodes:
            if target not in self.unsupported:
                self.error(flow.path, _("连线的终点 %(ref)s 不是本流程中可识别的节点。") % {"ref": target})
            known = False
        return known

    def _boundary_path(self, flow: _Record, boundary: _Record, target: str) -> None:
        if "to" in boundary.data:
            self.error(flow.path, _("边界事件最多只能有一条出口连线。"))
            return
        boundary.data.update({"action": "path", "to": self.ids[target]})

    def _read_defaults(self, nodes: list[_Record], flows: list[_Record], edges: list[_Record]) -> None:
        by_id = {f.xml_id: f for f in flows}
        for record in nodes:
            default = record.element.get("default")
            if not default:
                continue
            flow = by_id.get(default)
            if flow is None or flow.element.get("sourceRef") != record.xml_id:
                self.error(record.path, _("默认连线 %(ref)s 不是从该元素出发的连线。") % {"ref": default})
            elif flow in edges:
                flow.data["default"] = True

    def _shapes(self) -> dict[str, tuple[float, float]]:
        shapes: dict[str, tuple[float, float]] = {}
        for shape in self.root.iter(_bpmndi("BPMNShape")):
            bounds = shape.find(f"{{{DC_NS}}}Bounds")
            if bounds is None or not shape.get("bpmnElement"):
                continue
            try:
                x, y = float(bounds.get("x", "")), float(bounds.get("y", ""))
            except ValueError:
                continue
            if math.isfinite(x) and math.isfinite(y):
                shapes[shape.get("bpmnElement", "")] = (x, y)
        return shapes


def _parse(xml: str | bytes) -> ET.Element:
    if not isinstance(xml, str | bytes):
        raise DefinitionInvalid(errors=[_error("/", _("BPMN 内容必须是文本或字节。"))])
    size = len(xml.encode("utf-8", "surrogatepass")) if isinstance(xml, str) else len(xml)
    if size > MAX_BYTES:
        message = _("文件大小 %(size)s 字节，超过了 %(limit)s 字节的上限。") % {
            "size": size,
            "limit": MAX_BYTES,
        }
        raise DefinitionInvalid(errors=[_error("/", message)])
    try:
        return SafeET.fromstring(xml, forbid_dtd=True)
    except DefusedXmlException:
        message = _("出于安全原因，不接受含有 DTD、实体声明或外部引用的 XML。")
    except SafeET.ParseError as exc:
        line, column = getattr(exc, "position", (0, 0))
        message = _("XML 格式错误（第 %(line)s 行第 %(column)s 列）。") % {"line": line, "column": column + 1}
    except (ValueError, UnicodeError):
        message = _("XML 格式错误：无法解码。")
    raise DefinitionInvalid(errors=[_error("/", message)])


def _merge(target: Json, extension: Json) -> None:
    for key, value in extension.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and key != "layout":
            target[key] = {**current, **value}
        else:
            target[key] = value


def _apply_extensions(result: _Result) -> None:
    errors: list[Json] = []
    for record in [result.process, *result.nodes, *result.boundaries, *result.edges]:
        container = record.element.find(_b("extensionElements"))
        if container is None:
            continue
        for properties in container.findall(f"{{{GOVFLOW_NS}}}properties"):
            try:
                extension = json.loads(properties.text or "{}")
            except ValueError:
                extension = None
            if not isinstance(extension, dict):
                errors.append(
                    _error(
                        f"{record.path}/extensionElements/properties", _("govflow 扩展属性不是 JSON 对象。")
                    )
                )
                continue
            _merge(record.data, extension)
    if errors:
        raise DefinitionInvalid(errors=errors)


def _close(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return abs(a[0] - b[0]) <= 0.01 and abs(a[1] - b[1]) <= 0.01


def _number(value: float) -> int | float:
    return int(value) if value.is_integer() and abs(value) < MAX_DURATION else value


def _apply_layout(result: _Result) -> None:
    """Keep `layout` where the shape still sits at it; record it where the shape is not at the auto layout."""
    auto = _auto_positions(result.doc)
    for record in result.nodes:
        shape = result.shapes.get(record.xml_id)
        node_id = record.data.get("id")
        if shape is None or not isinstance(node_id, str) or node_id not in auto:
            continue
        if "layout" in record.data:
            if _close(shape, _effective_position(record.data["layout"], auto[node_id])):
                continue
        elif _close(shape, auto[node_id]):
            continue
        record.data["layout"] = {"x": _number(shape[0]), "y": _number(shape[1])}


def bpmn_to_definition(xml: str | bytes) -> dict:
    """A workflow definition from BPMN 2.0 XML; raises DefinitionInvalid listing every problem found."""
    root = _parse(xml)
    result = _Reader(root).read()
    _apply_extensions(result)
    _apply_layout(result)
    return result.doc
