"""The BPMN save/load round trip through the designer's endpoints, as the bpmn-js modeler uses them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pytest
from django.urls import reverse

from govflow.designer.selectors import edge_element_ids
from govflow.workflows.bpmn import BPMN_NS, bpmn_to_definition, definition_to_bpmn
from govflow.workflows.models import WorkflowVersion
from tests.designer.conftest import post_json

REPO = Path(__file__).resolve().parents[2]

# What bpmn-js writes for a small diagram drawn by hand: its own ids, our properties in govflow:properties.
MODELER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" xmlns:di="http://www.omg.org/spec/DD/20100524/DI" xmlns:govflow="https://govflow.example/schema/bpmn" id="Definitions_1" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="drawn" name="画出来的" isExecutable="false">
    <bpmn:extensionElements><govflow:properties>{"code": "DR"}</govflow:properties></bpmn:extensionElements>
    <bpmn:startEvent id="StartEvent_1" name="申请">
      <bpmn:extensionElements><govflow:properties>{"roles": ["village_clerk"], "level": "village", "form": "t_apply"}</govflow:properties></bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:userTask id="Activity_0x1y2z" name="乡镇审核">
      <bpmn:extensionElements><govflow:properties>{"form": "t_review", "role": "township_reviewer", "level": "township", "due": {"days": 10, "calendar": "working"}}</govflow:properties></bpmn:extensionElements>
    </bpmn:userTask>
    <bpmn:exclusiveGateway id="Gateway_1" name="同意？" default="Flow_3" />
    <bpmn:endEvent id="Event_ok" name="办结">
      <bpmn:extensionElements><govflow:properties>{"outcome": "approved"}</govflow:properties></bpmn:extensionElements>
      <bpmn:terminateEventDefinition id="TerminateEventDefinition_1" />
    </bpmn:endEvent>
    <bpmn:endEvent id="Event_no" name="不同意">
      <bpmn:extensionElements><govflow:properties>{"outcome": "rejected"}</govflow:properties></bpmn:extensionElements>
      <bpmn:terminateEventDefinition id="TerminateEventDefinition_2" />
    </bpmn:endEvent>
    <bpmn:boundaryEvent id="Event_late" name="催办" cancelActivity="false" attachedToRef="Activity_0x1y2z">
      <bpmn:extensionElements><govflow:properties>{"action": "remind"}</govflow:properties></bpmn:extensionElements>
      <bpmn:timerEventDefinition id="TimerEventDefinition_1"><bpmn:timeDuration xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">P3D</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_0x1y2z" />
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_0x1y2z" targetRef="Gateway_1" />
    <bpmn:sequenceFlow id="Flow_3" sourceRef="Gateway_1" targetRef="Event_ok" />
    <bpmn:sequenceFlow id="Flow_4" name="不同意" sourceRef="Gateway_1" targetRef="Event_no">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">activity_0x1y2z.decision == "reject"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="BPMNDiagram_1">
    <bpmndi:BPMNPlane id="BPMNPlane_1" bpmnElement="drawn">
      <bpmndi:BPMNShape id="s1" bpmnElement="StartEvent_1"><dc:Bounds x="152" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s2" bpmnElement="Activity_0x1y2z"><dc:Bounds x="240" y="80" width="100" height="80" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s3" bpmnElement="Gateway_1" isMarkerVisible="true"><dc:Bounds x="395" y="95" width="50" height="50" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s4" bpmnElement="Event_ok"><dc:Bounds x="502" y="102" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s5" bpmnElement="Event_no"><dc:Bounds x="502" y="212" width="36" height="36" /></bpmndi:BPMNShape>
      <bpmndi:BPMNShape id="s6" bpmnElement="Event_late"><dc:Bounds x="262" y="142" width="36" height="36" /></bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


def url(key="test_every_kind"):
    return reverse("designer:workflow_bpmn", args=[key])


def test_designer_loads_the_working_version_as_bpmn_with_its_errors(designer_client, every_kind):
    body = designer_client.get(url()).json()
    assert body["ok"] and body["version"] == 1 and body["status"] == "published" and body["errors"] == []
    assert bpmn_to_definition(body["xml"]) == every_kind.document


def test_bpmn_round_trip_through_the_designer_endpoints_changes_nothing(designer_client, every_kind):
    loaded = designer_client.get(url()).json()["xml"]
    saved = post_json(designer_client, url(), {"xml": loaded}).json()
    assert saved["saved"] and saved["version"] == 2 and saved["status"] == "draft" and saved["errors"] == []
    draft = WorkflowVersion.objects.get(key="test_every_kind", status="draft")
    assert draft.document == every_kind.document
    assert designer_client.get(url()).json()["xml"] == loaded == saved["xml"]
    # saving again keeps using the same draft
    post_json(designer_client, url(), {"xml": loaded})
    assert WorkflowVersion.objects.filter(key="test_every_kind").count() == 2


def test_modeler_xml_is_saved_with_normalised_ids_and_its_govflow_properties(
    designer_client, every_kind, staff
):
    designer_client.post(
        reverse("designer:procedure_create"),
        {"key": "drawn", "title_zh": "画", "code": "DR", "level": "village", "roles": ["village_clerk"]},
    )
    body = post_json(designer_client, url("drawn"), {"xml": MODELER_XML}).json()
    assert body["saved"] and body["errors"] == [], body["errors"]
    draft = WorkflowVersion.objects.get(key="drawn", status="draft")
    nodes = {n["id"]: n for n in draft.document["nodes"]}
    assert set(nodes) == {"startevent_1", "activity_0x1y2z", "gateway_1", "event_ok", "event_no"}
    task = nodes["activity_0x1y2z"]
    assert task["role"] == "township_reviewer" and task["due"] == {"days": 10, "calendar": "working"}
    assert task["boundary"] == [
        {"id": "event_late", "title": {"zh": "催办"}, "after": {"days": 3}, "action": "remind"}
    ]
    assert draft.document["code"] == "DR" and draft.document["title"] == {"zh": "画出来的"}
    edges = {(e["from"], e["to"]): e for e in draft.document["edges"]}
    assert edges[("gateway_1", "event_ok")]["default"] is True
    assert edges[("gateway_1", "event_no")]["condition"] == 'activity_0x1y2z.decision == "reject"'
    # what comes back is what the server writes: the modeler reloads it and the ids match the errors
    root = SafeET.fromstring(body["xml"])
    ids = {el.get("id") for el in root.iter() if el.get("id")}
    assert "activity_0x1y2z" in ids and "Activity_0x1y2z" not in ids


def test_errors_name_the_diagram_elements_to_highlight(designer_client, every_kind):
    document = copy.deepcopy(every_kind.document)
    for edge in document["edges"]:
        if edge.get("condition"):
            edge["condition"] = "nosuch.value > 1"
    next(n for n in document["nodes"] if n["id"] == "check_a")["role"] = "county_cashier"
    body = post_json(designer_client, url(), {"xml": definition_to_bpmn(document)}).json()
    by_element = {e["element"]: e for e in body["errors"]}
    assert set(by_element) == {"flow_decide_rejected", "check_a"}
    assert by_element["flow_decide_rejected"]["path"] == "/edges/2/condition"
    root = SafeET.fromstring(body["xml"])
    flow_ids = [el.get("id") for el in root.iter(f"{{{BPMN_NS}}}sequenceFlow")]
    assert "flow_decide_rejected" in flow_ids


def test_a_dry_run_checks_the_diagram_without_saving(designer_client, every_kind):
    document = copy.deepcopy(every_kind.document)
    document["edges"] = document["edges"][:-1]
    body = post_json(designer_client, url(), {"xml": definition_to_bpmn(document), "dry_run": True}).json()
    assert body["ok"] and body["saved"] is False and body["errors"]
    assert WorkflowVersion.objects.filter(key="test_every_kind").count() == 1


def test_unreadable_bpmn_is_refused_with_its_problems_and_nothing_is_saved(designer_client, every_kind):
    response = post_json(designer_client, url(), {"xml": "<bpmn:definitions"})
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False and "XML 格式错误" in body["errors"][0]["message"]
    sub = MODELER_XML.replace(
        '<bpmn:exclusiveGateway id="Gateway_1" name="同意？" default="Flow_3" />',
        '<bpmn:subProcess id="Sub_1" />',
    )
    response = post_json(designer_client, url(), {"xml": sub})
    assert response.status_code == 400 and "subProcess" in json.dumps(response.json(), ensure_ascii=False)
    assert WorkflowVersion.objects.filter(key="test_every_kind").count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "tests/workflows/definitions/every_kind.json",
        *sorted(str(p.relative_to(REPO)) for p in (REPO / "workflows").glob("*.json")),
    ],
)
def test_edge_element_ids_are_the_ids_the_exporter_gives_the_flows(path):
    document = json.loads((REPO / path).read_text(encoding="utf-8"))
    root = SafeET.fromstring(definition_to_bpmn(document))
    flows = [el.get("id") for el in root.iter(f"{{{BPMN_NS}}}sequenceFlow")]
    assert edge_element_ids(document) == flows[: len(document["edges"])]


def test_workflow_designer_page_offers_published_and_draft_forms_and_the_role_catalog(
    designer_client, every_kind
):
    designer_client.post(reverse("designer:form_create"), {"key": "fresh_form", "title_zh": "新表"})
    page = designer_client.get(reverse("designer:workflow", args=["test_every_kind"]))
    assert page.status_code == 200
    config = page.context["config"]
    forms = {f["key"]: f["status"] for f in config["forms"]}
    assert forms["t_review"] == "published" and forms["fresh_form"] == "draft"
    roles = {r["key"]: r["levels"] for r in config["roles"]}
    assert roles["township_reviewer"] == ["township"]
    html = page.content.decode()
    assert "bpmn-modeler.production.min.js" in html and "designer/workflow-designer.js" in html
