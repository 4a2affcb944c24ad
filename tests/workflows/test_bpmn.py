"""BPMN 2.0 export and import of workflow definitions (govflow.workflows.bpmn)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
import pytest

from govflow.errors import DefinitionInvalid
from govflow.workflows.bpmn import MAX_BYTES, bpmn_to_definition, definition_to_bpmn

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
FLOW_NODE_TAGS = (
    "startEvent",
    "endEvent",
    "userTask",
    "serviceTask",
    "scriptTask",
    "exclusiveGateway",
    "parallelGateway",
    "intermediateCatchEvent",
    "boundaryEvent",
)
NAMESPACES = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" '
    'xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" '
    'xmlns:di="http://www.omg.org/spec/DD/20100524/DI" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


@pytest.fixture
def every_kind() -> dict[str, Any]:
    return json.loads((DEFINITIONS / "every_kind.json").read_text(encoding="utf-8"))


def _foreign(process_body: str, diagram: str = "") -> str:
    """A document the way bpmn-js writes it, with the given process content."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<bpmn:definitions {NAMESPACES} id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn" '
        'exporter="bpmn-js (https://demo.bpmn.io)" exporterVersion="18.6.1">\n'
        f'  <bpmn:process id="Process_1" isExecutable="false">\n{process_body}\n  </bpmn:process>\n'
        f"{diagram}</bpmn:definitions>\n"
    )


def _errors(xml: str | bytes) -> list[dict[str, Any]]:
    with pytest.raises(DefinitionInvalid) as caught:
        bpmn_to_definition(xml)
    errors = caught.value.errors
    assert errors and all(e["path"] and e["message"] and e["file"] == "" for e in errors)
    return errors


# --- round trip ---------------------------------------------------------------------------------------


def test_every_kind_round_trips_when_exported_and_imported(every_kind):
    assert bpmn_to_definition(definition_to_bpmn(every_kind)) == every_kind


def test_round_trip_adds_no_layout_when_layout_is_absent(every_kind):
    assert all("layout" not in node for node in every_kind["nodes"])
    back = bpmn_to_definition(definition_to_bpmn(every_kind))
    assert back == every_kind
    assert all("layout" not in node for node in back["nodes"])


def test_round_trip_keeps_layout_when_some_nodes_have_it(every_kind):
    every_kind["nodes"][0]["layout"] = {"x": 10, "y": 20}
    every_kind["nodes"][1]["layout"] = {"x": 300.5, "y": -40.25}
    every_kind["nodes"][2]["layout"] = {}
    every_kind["nodes"][3]["layout"] = {"x": 100.0}
    assert bpmn_to_definition(definition_to_bpmn(every_kind)) == every_kind


def test_shapes_use_layout_when_nodes_have_it(every_kind):
    every_kind["nodes"][1]["layout"] = {"x": 300.5, "y": -40}
    root = SafeET.fromstring(definition_to_bpmn(every_kind))
    shape = next(s for s in root.iter(f"{BPMNDI}BPMNShape") if s.get("bpmnElement") == "review")
    bounds = shape.find("{http://www.omg.org/spec/DD/20100524/DC}Bounds")
    assert (bounds.get("x"), bounds.get("y")) == ("300.5", "-40")


def test_layout_follows_the_diagram_when_a_shape_was_moved_in_a_modeler(every_kind):
    xml = definition_to_bpmn(every_kind)
    root = SafeET.fromstring(xml)
    shape = next(s for s in root.iter(f"{BPMNDI}BPMNShape") if s.get("bpmnElement") == "review")
    bounds = shape.find("{http://www.omg.org/spec/DD/20100524/DC}Bounds")
    moved = xml.replace(
        f'<dc:Bounds x="{bounds.get("x")}" y="{bounds.get("y")}" width="120"',
        '<dc:Bounds x="555" y="66" width="120"',
    )
    back = bpmn_to_definition(moved)
    nodes = {n["id"]: n for n in back["nodes"]}
    assert nodes["review"]["layout"] == {"x": 555, "y": 66}
    assert all("layout" not in n for n in back["nodes"] if n["id"] != "review")


@pytest.mark.parametrize(
    "condition",
    [
        "a < b && c > 1 & d == \"引号\" || e == '单引号'",
        '金额 >= 1000 && 申请人.姓名 != "张三"',
        "  spaced <tag/> ]]> --> &amp;  ",
        "line one\r\nline two\ttab",
    ],
)
def test_condition_text_survives_when_it_has_xml_special_characters(every_kind, condition):
    every_kind["edges"][2]["condition"] = condition
    xml = definition_to_bpmn(every_kind)
    SafeET.fromstring(xml)
    assert bpmn_to_definition(xml)["edges"][2]["condition"] == condition


def test_round_trip_is_lossless_when_properties_need_the_extension(every_kind):
    doc = copy.deepcopy(every_kind)
    doc["key"] = "review"  # same as a node id: the process gets another XML id
    doc["$schema"] = "https://govflow.example/schemas/workflow.schema.json"
    doc["edges"].append({"from": "decide", "to": "calc", "default": True})  # a second default
    doc["edges"].append({"from": "split", "to": "check_a", "default": False})
    doc["edges"].append({"from": "check_a", "to": "check_a"})  # a loop
    doc["nodes"][3]["title"] = {"zh": "多行\n标题\t", "en": ""}
    doc["nodes"][6]["boundary"] = []
    doc["nodes"][7]["boundary"][0].pop("interrupting")
    doc["nodes"][9]["wait"] = {"hours": 5}
    doc["nodes"][10]["boundary"][0]["after"] = {"date": "  add_days(case.started, 45)\r"}
    doc["nodes"][4]["title"] = {"zh": "控制\x01字符\ufffe"}
    assert bpmn_to_definition(definition_to_bpmn(doc)) == doc


# --- the exported XML ---------------------------------------------------------------------------------


def test_exported_xml_has_a_shape_and_an_edge_for_every_element_when_parsed(every_kind):
    root = SafeET.fromstring(definition_to_bpmn(every_kind).encode("utf-8"))
    process = root.find(f"{BPMN}process")
    assert process.get("id") == "test_every_kind"
    flow_nodes = {c.get("id") for c in process if c.tag.removeprefix(BPMN) in FLOW_NODE_TAGS}
    flows = {c.get("id") for c in process if c.tag == f"{BPMN}sequenceFlow"}
    shapes = {s.get("bpmnElement") for s in root.iter(f"{BPMNDI}BPMNShape")}
    edges = {e.get("bpmnElement") for e in root.iter(f"{BPMNDI}BPMNEdge")}
    assert flow_nodes == {n["id"] for n in every_kind["nodes"]} | {
        "review_remind",
        "review_escalate",
        "check_b_late",
        "pay_notice",
    }
    assert shapes == flow_nodes
    assert edges == flows
    assert len(flows) == len(every_kind["edges"]) + 2  # plus the two boundary paths
    for edge in root.iter(f"{BPMNDI}BPMNEdge"):
        assert len(edge.findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2


def test_exported_elements_map_node_kinds_when_written(every_kind):
    process = SafeET.fromstring(definition_to_bpmn(every_kind)).find(f"{BPMN}process")
    by_id = {c.get("id"): c for c in process}
    assert by_id["apply"].tag == f"{BPMN}startEvent"
    assert by_id["review"].tag == f"{BPMN}userTask"
    assert by_id["review"].get("name") == "乡镇审核"
    assert by_id["calc"].tag == f"{BPMN}serviceTask"
    assert by_id["decide"].tag == f"{BPMN}exclusiveGateway"
    assert by_id["decide"].get("default") == "flow_decide_calc"
    assert by_id["split"].get("gatewayDirection") == "Diverging"
    assert by_id["join"].get("gatewayDirection") == "Converging"
    assert by_id["wait"].find(f"{BPMN}timerEventDefinition/{BPMN}timeDuration").text == "P30D"
    assert by_id["paid"].find(f"{BPMN}terminateEventDefinition") is not None
    assert by_id["notice_done"].find(f"{BPMN}terminateEventDefinition") is None
    condition = by_id["flow_decide_rejected"].find(f"{BPMN}conditionExpression")
    assert condition.text == 'review.decision == "reject"'
    assert condition.get("{http://www.w3.org/2001/XMLSchema-instance}type") == "bpmn:tFormalExpression"
    assert by_id["flow_decide_rejected"].get("name") == "不予受理"
    properties = by_id["apply"].find(
        f"{BPMN}extensionElements/{{https://govflow.example/schema/bpmn}}properties"
    )
    assert json.loads(properties.text) == {
        "title": {"en": "Apply"},
        "form": "t_apply",
        "roles": ["village_clerk"],
        "level": "village",
    }


def test_boundary_events_are_attached_and_interrupt_only_when_asked(every_kind):
    process = SafeET.fromstring(definition_to_bpmn(every_kind)).find(f"{BPMN}process")
    boundaries = {b.get("id"): b for b in process.iter(f"{BPMN}boundaryEvent")}
    expected = {
        "review_remind": ("review", "false"),
        "review_escalate": ("review", "false"),
        "check_b_late": ("check_b", "true"),
        "pay_notice": ("pay", "false"),
    }
    assert {k: (b.get("attachedToRef"), b.get("cancelActivity")) for k, b in boundaries.items()} == expected
    assert boundaries["pay_notice"].find(f"{BPMN}timerEventDefinition/{BPMN}timeDate").text == (
        "add_days(case.started, 45)"
    )
    paths = {(f.get("sourceRef"), f.get("targetRef")) for f in process.iter(f"{BPMN}sequenceFlow")}
    assert ("check_b_late", "expired") in paths
    assert ("pay_notice", "notice") in paths
    assert not any(source in ("review_remind", "review_escalate") for source, _target in paths)


def test_interrupting_survives_when_a_modeler_drops_the_default_cancel_activity(every_kind):
    # bpmn-js / Camunda Modeler leave out cancelActivity="true" on save: it is the BPMN default.
    xml = definition_to_bpmn(every_kind)
    assert xml.count('cancelActivity="true"') == 1
    assert bpmn_to_definition(xml.replace(' cancelActivity="true"', "")) == every_kind


def test_flow_ids_are_unique_when_edges_repeat(every_kind):
    every_kind["edges"].append({"from": "apply", "to": "review"})
    process = SafeET.fromstring(definition_to_bpmn(every_kind)).find(f"{BPMN}process")
    ids = [c.get("id") for c in process]
    assert len(ids) == len(set(ids))
    assert {"flow_apply_review", "flow_apply_review_2"} <= set(ids)


def test_export_refuses_when_edges_point_at_unknown_nodes(every_kind):
    every_kind["edges"].append({"from": "apply", "to": "nowhere"})
    with pytest.raises(DefinitionInvalid) as caught:
        definition_to_bpmn(every_kind)
    assert caught.value.errors[0]["path"] == f"/edges/{len(every_kind['edges']) - 1}/to"


# --- importing foreign BPMN ---------------------------------------------------------------------------

BPMN_JS_MINIMAL = _foreign(
    """    <bpmn:startEvent id="StartEvent_1" name="提交申请">
      <bpmn:outgoing>Flow_0a1</bpmn:outgoing>
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_1x2y3z" name="审核">
      <bpmn:incoming>Flow_0a1</bpmn:incoming>
      <bpmn:outgoing>Flow_0b2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_0k9" name="是否通过" default="Flow_1c3">
      <bpmn:incoming>Flow_0b2</bpmn:incoming>
      <bpmn:outgoing>Flow_1c3</bpmn:outgoing>
      <bpmn:outgoing>Flow_1d4</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:endEvent id="Event_0ok" name="通过">
      <bpmn:incoming>Flow_1c3</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:endEvent id="Event_1no" name="驳回">
      <bpmn:incoming>Flow_1d4</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="Flow_0a1" sourceRef="StartEvent_1" targetRef="Activity_1x2y3z" />
    <bpmn:sequenceFlow id="Flow_0b2" sourceRef="Activity_1x2y3z" targetRef="Gateway_0k9" />
    <bpmn:sequenceFlow id="Flow_1c3" name="同意" sourceRef="Gateway_0k9" targetRef="Event_0ok" />
    <bpmn:sequenceFlow id="Flow_1d4" name="不同意" sourceRef="Gateway_0k9" targetRef="Event_1no">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">review.decision == "reject"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>""",
    """  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="Process_1">
      <bpmndi:BPMNShape id="_BPMNShape_StartEvent_2" bpmnElement="StartEvent_1">
        <dc:Bounds x="152" y="102" width="36" height="36" />
        <bpmndi:BPMNLabel>
          <dc:Bounds x="147" y="145" width="46" height="14" />
        </bpmndi:BPMNLabel>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Activity_1x2y3z_di" bpmnElement="Activity_1x2y3z">
        <dc:Bounds x="240" y="80" width="100" height="80" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Gateway_0k9_di" bpmnElement="Gateway_0k9" isMarkerVisible="true">
        <dc:Bounds x="395" y="95" width="50" height="50" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Event_0ok_di" bpmnElement="Event_0ok">
        <dc:Bounds x="502" y="102" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="Event_1no_di" bpmnElement="Event_1no">
        <dc:Bounds x="502" y="212.5" width="36" height="36" />
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="Flow_0a1_di" bpmnElement="Flow_0a1">
        <di:waypoint x="188" y="120" />
        <di:waypoint x="240" y="120" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_0b2_di" bpmnElement="Flow_0b2">
        <di:waypoint x="340" y="120" />
        <di:waypoint x="395" y="120" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_1c3_di" bpmnElement="Flow_1c3">
        <di:waypoint x="445" y="120" />
        <di:waypoint x="502" y="120" />
      </bpmndi:BPMNEdge>
      <bpmndi:BPMNEdge id="Flow_1d4_di" bpmnElement="Flow_1d4">
        <di:waypoint x="420" y="145" />
        <di:waypoint x="420" y="230" />
        <di:waypoint x="502" y="230" />
      </bpmndi:BPMNEdge>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
""",
)


def test_bpmn_js_drawing_imports_when_it_has_no_govflow_extension():
    assert bpmn_to_definition(BPMN_JS_MINIMAL) == {
        "key": "process_1",
        "nodes": [
            {
                "id": "startevent_1",
                "kind": "start",
                "title": {"zh": "提交申请"},
                "layout": {"x": 152, "y": 102},
            },
            {
                "id": "activity_1x2y3z",
                "kind": "user_task",
                "title": {"zh": "审核"},
                "layout": {"x": 240, "y": 80},
            },
            {
                "id": "gateway_0k9",
                "kind": "exclusive",
                "title": {"zh": "是否通过"},
                "layout": {"x": 395, "y": 95},
            },
            {"id": "event_0ok", "kind": "end", "title": {"zh": "通过"}, "layout": {"x": 502, "y": 102}},
            {"id": "event_1no", "kind": "end", "title": {"zh": "驳回"}, "layout": {"x": 502, "y": 212.5}},
        ],
        "edges": [
            {"from": "startevent_1", "to": "activity_1x2y3z"},
            {"from": "activity_1x2y3z", "to": "gateway_0k9"},
            {"from": "gateway_0k9", "to": "event_0ok", "label": {"zh": "同意"}, "default": True},
            {
                "from": "gateway_0k9",
                "to": "event_1no",
                "label": {"zh": "不同意"},
                "condition": 'review.decision == "reject"',
            },
        ],
    }


def test_foreign_timers_import_as_durations_when_written_as_iso_periods():
    body = """
    <bpmn:userTask id="task" name="办理" />
    <bpmn:boundaryEvent id="late" attachedToRef="task" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT5H</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="hint" attachedToRef="task" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration> P2D </bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:intermediateCatchEvent id="pause">
      <bpmn:timerEventDefinition><bpmn:timeDuration>P10D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:parallelGateway id="fork" />
    <bpmn:endEvent id="stop"><bpmn:terminateEventDefinition /></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="task" targetRef="pause" />
    <bpmn:sequenceFlow id="f2" sourceRef="late" targetRef="stop" />
    <bpmn:sequenceFlow id="f3" sourceRef="pause" targetRef="fork" />
    <bpmn:sequenceFlow id="f4" sourceRef="fork" targetRef="stop" />
    <bpmn:sequenceFlow id="f5" sourceRef="fork" targetRef="task" />"""
    doc = bpmn_to_definition(_foreign(body))
    nodes = {n["id"]: n for n in doc["nodes"]}
    assert nodes["task"]["boundary"] == [
        {"id": "late", "after": {"hours": 5}, "action": "path", "to": "stop", "interrupting": False},
        {"id": "hint", "after": {"days": 2}},
    ]
    assert nodes["pause"] == {"id": "pause", "kind": "timer", "wait": {"days": 10}}
    assert nodes["fork"]["kind"] == "parallel_split"
    assert nodes["stop"] == {"id": "stop", "kind": "end", "outcome": "stop"}


# --- refusals -----------------------------------------------------------------------------------------


def test_import_refuses_when_xml_is_malformed():
    errors = _errors("<bpmn:definitions><bpmn:process></bpmn:definitions>")
    assert errors[0]["path"] == "/"


def test_import_refuses_when_the_document_is_not_bpmn():
    errors = _errors("<html><body/></html>")
    assert errors[0]["path"] == "/html"


def test_import_refuses_when_there_is_no_process():
    errors = _errors(f'<bpmn:definitions {NAMESPACES} id="d" targetNamespace="x"/>')
    assert errors[0]["path"] == "/definitions"


def test_import_refuses_when_it_meets_a_subprocess():
    body = """
    <bpmn:startEvent id="s" />
    <bpmn:subProcess id="Sub_1"><bpmn:startEvent id="inner" /></bpmn:subProcess>
    <bpmn:sequenceFlow id="f" sourceRef="s" targetRef="Sub_1" />"""
    errors = _errors(_foreign(body))
    assert [e["path"] for e in errors] == ["/definitions/process[@id='Process_1']/subProcess[@id='Sub_1']"]
    assert "subProcess" in errors[0]["message"]


def test_import_reports_every_unsupported_element_when_there_are_several():
    body = """
    <bpmn:sendTask id="send" />
    <bpmn:eventBasedGateway id="race" />
    <bpmn:inclusiveGateway id="maybe" />
    <bpmn:callActivity id="call" />
    <bpmn:intermediateCatchEvent id="msg"><bpmn:messageEventDefinition /></bpmn:intermediateCatchEvent>"""
    paths = [e["path"] for e in _errors(_foreign(body))]
    prefix = "/definitions/process[@id='Process_1']/"
    assert paths == [
        prefix + "sendTask[@id='send']",
        prefix + "eventBasedGateway[@id='race']",
        prefix + "inclusiveGateway[@id='maybe']",
        prefix + "callActivity[@id='call']",
        prefix + "intermediateCatchEvent[@id='msg']",
    ]


def test_import_refuses_when_the_document_declares_entities():
    laughs = (
        '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n<!ENTITY lol "lol">\n'
        + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">\n' for i in range(1, 10)).replace(
            "&lol0;", "&lol;"
        )
        + f"]>\n<bpmn:definitions {NAMESPACES}>&lol9;</bpmn:definitions>"
    )
    errors = _errors(laughs)
    assert errors[0]["path"] == "/"


def test_import_refuses_when_the_input_is_over_the_size_limit():
    body = '<bpmn:startEvent id="s" name="x" />\n' * (MAX_BYTES // 30)
    xml = _foreign(body).encode("utf-8")
    assert len(xml) > MAX_BYTES
    errors = _errors(xml)
    assert errors[0]["path"] == "/"


def test_import_refuses_when_the_extension_is_not_a_json_object(every_kind):
    xml = definition_to_bpmn(every_kind).replace('{"title": {"en": "Apply"}', '[{"title": {"en": "Apply"}', 1)
    xml = xml.replace(
        '"level": "village"}</govflow:properties>', '"level": "village"}]</govflow:properties>', 1
    )
    errors = _errors(xml)
    assert errors[0]["path"] == (
        "/definitions/process[@id='test_every_kind']/startEvent[@id='apply']/extensionElements/properties"
    )
