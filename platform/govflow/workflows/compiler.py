"""Compile a workflow version (data) into a viewflow Flow class (code), once per process and version.

The class is named after the version's pk and checksum and lives in govflow.workflows.flows, whose module
`__getattr__` compiles on first use: viewflow's stored references ("workflows/flows.V12_ab34...") resolve in
any process, and a changed document can never hide behind an old class (the name would differ).
Node attributes are prefixed (n_<id>, b_<boundary id>, x_<boundary id>...) because some names break a
Flow class (lock, instance, *_path).
"""

from __future__ import annotations

from typing import Any

from viewflow import this
from viewflow.workflow import nodes as vf
from viewflow.workflow.base import Flow

from govflow.workflows import nodes
from govflow.workflows.models import WorkflowVersion

FLOWS_MODULE = "govflow.workflows.flows"


# Default chart titles of the helper steps of non-interrupting timeouts (Chinese, like the definitions).
ACTION_TITLES = {"remind": "超期催办", "escalate": "超期升级"}


def node_attr(node_id: str) -> str:
    return f"n_{node_id}"


def _ref(node_id: str) -> Any:
    return getattr(this, node_attr(node_id))


def _title(spec: dict[str, Any]) -> str:
    return (spec.get("title") or {}).get("zh", "")


def _start(activation: Any, user: Any = None) -> Any:
    """The start task is done by the user who starts the case."""
    activation.task.owner = user
    return activation.process


def _build_node(spec: dict[str, Any]) -> Any:
    from govflow.workflows.services import sequence_next_formatted

    kind = spec["kind"]
    if kind == "start":
        node: Any = vf.StartHandle(_start)
    elif kind == "user_task":
        node = nodes.UserTask(spec)
    elif kind == "service_task":
        node = vf.Function(nodes.service_function(spec, sequence_next_formatted))
    elif kind == "exclusive":
        node = vf.Switch()
    elif kind == "parallel_split":
        node = vf.Split()
    elif kind == "parallel_join":
        node = vf.Join()
    elif kind == "timer":
        node = vf.Timer(nodes.delay(spec["wait"]))
    elif kind == "end":
        node = nodes.OutcomeEnd(spec["outcome"]) if spec.get("outcome") else vf.End()
    else:  # the definition check refuses other kinds before anything is compiled
        raise ValueError(f"unknown node kind {kind!r}")
    node.node_id = spec["id"]
    if spec.get("title"):
        node.Annotation(title=_title(spec))
    return node


def build_flow_class(version: WorkflowVersion) -> type[Flow]:
    document = version.document
    attrs: dict[str, Any] = {
        "__module__": FLOWS_MODULE,
        "__doc__": version.title_zh,
        "process_title": version.title_zh,
        "lock_impl": nodes.ROW_LOCK,
        "procedure_key": version.key,
        "version_pk": version.pk,
        "document": document,
    }
    built: dict[str, Any] = {}
    specs = {spec["id"]: spec for spec in document["nodes"]}
    for spec in document["nodes"]:
        built[spec["id"]] = _build_node(spec)
    for edge in document["edges"]:
        source_spec = specs[edge["from"]]
        source = built[edge["from"]]
        if source_spec["kind"] == "exclusive":
            continue
        source.Next(_ref(edge["to"]))
    for spec in document["nodes"]:
        if spec["kind"] != "exclusive":
            continue
        gateway = built[spec["id"]]
        edges = [e for e in document["edges"] if e["from"] == spec["id"]]
        for edge in edges:
            if not edge.get("default"):
                gateway.Case(_ref(edge["to"]), nodes.condition(edge["condition"]))
        for edge in edges:
            if edge.get("default"):
                gateway.Default(_ref(edge["to"]))
    for spec in document["nodes"]:
        for boundary in spec.get("boundary", []):
            interrupting = boundary["action"] == "path" and boundary.get("interrupting", True)
            timer = vf.TimerBoundary(
                _ref(spec["id"]), delay=nodes.delay(boundary["after"]), interrupting=interrupting
            )
            timer.node_id = boundary["id"]
            if boundary.get("title"):
                timer.Annotation(title=_title(boundary))
            attrs[f"b_{boundary['id']}"] = timer
            if boundary["action"] == "path":
                timer.Next(_ref(boundary["to"]))
                continue
            action = vf.Function(nodes.boundary_action(boundary, spec))
            action.node_id = boundary["id"]
            # The chart shows this helper step: name it after the timeout, or after what it does.
            action.Annotation(title=_title(boundary) or ACTION_TITLES[boundary["action"]])
            end = vf.End()
            end.node_id = boundary["id"]
            timer.Next(getattr(this, f"x_{boundary['id']}_act"))
            action.Next(getattr(this, f"x_{boundary['id']}_end"))
            attrs[f"x_{boundary['id']}_act"] = action
            attrs[f"x_{boundary['id']}_end"] = end
    for node_id, node in built.items():
        attrs[node_attr(node_id)] = node
    return type(version.flow_class_name, (Flow,), attrs)
