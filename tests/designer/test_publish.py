"""Publishing from the designer: everything is checked, invalid drafts save but cannot publish, the page
lists exactly what changed, and each publish is audited by the forms and workflows services."""

from __future__ import annotations

import copy

from django.urls import reverse

from govflow.audit.models import AuditEvent
from govflow.designer.formmodel import model_from_document
from govflow.forms.models import FormVersion
from govflow.forms.services import form_export
from govflow.workflows.bpmn import definition_to_bpmn
from govflow.workflows.models import WorkflowVersion
from tests.designer.conftest import field, post_json


def _save_form(client, key, model):
    return post_json(client, reverse("designer:form_save", args=[key]), {"model": model})


def _save_workflow(client, key, document):
    return post_json(
        client, reverse("designer:workflow_bpmn", args=[key]), {"xml": definition_to_bpmn(document)}
    )


def test_invalid_form_draft_saves_but_the_procedure_cannot_publish(designer_client, every_kind):
    model = model_from_document(form_export(FormVersion.objects.get(key="t_review")))
    model["fields"].append(field("level", "choice", label={"zh": "等级"}, choices=[{"value": "a", "zh": ""}]))
    assert _save_form(designer_client, "t_review", model).status_code == 200
    draft = FormVersion.objects.get(key="t_review", status="draft")
    assert draft.errors and draft.errors[0]["path"] == "/ui/fields/level/enum_labels"

    page = designer_client.get(reverse("designer:procedure_publish", args=["test_every_kind"]))
    html = page.content.decode()
    assert "/ui/fields/level/enum_labels" in html and "有错误，不能发布" in html
    assert page.context["plan"].can_publish is False

    response = designer_client.post(
        reverse("designer:procedure_publish", args=["test_every_kind"]), {"change_note": "试试"}
    )
    assert response.status_code == 400
    assert "forms/t_review.json" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft"
    assert WorkflowVersion.objects.filter(key="test_every_kind").count() == 1
    assert not AuditEvent.objects.filter(action="definition.published", data__note="试试").exists()


def test_invalid_workflow_draft_saves_but_cannot_publish(designer_client, every_kind):
    document = copy.deepcopy(every_kind.document)
    document["edges"] = [e for e in document["edges"] if e["from"] != "calc"]  # calc leads nowhere now
    response = _save_workflow(designer_client, "test_every_kind", document)
    assert response.status_code == 200 and response.json()["saved"]
    draft = WorkflowVersion.objects.get(key="test_every_kind", status="draft")
    assert any(e.get("node") == "calc" for e in draft.errors)
    response = designer_client.post(
        reverse("designer:procedure_publish", args=["test_every_kind"]), {"change_note": "坏"}
    )
    assert response.status_code == 400
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_publish_page_lists_exactly_what_changed_in_the_workflow_and_its_forms(designer_client, every_kind):
    model = model_from_document(form_export(FormVersion.objects.get(key="t_review")))
    model["fields"][0]["label"]["zh"] = "审核结论"
    model["fields"].append(
        field("reason", "text", label={"zh": "理由"}, rules={"visible_if": 'decision == "reject"'})
    )
    assert _save_form(designer_client, "t_review", model).json()["errors"] == []
    document = copy.deepcopy(every_kind.document)
    review = next(n for n in document["nodes"] if n["id"] == "review")
    review["due"] = {"days": 5, "calendar": "working"}
    document["nodes"].append({"id": "archive", "kind": "end", "title": {"zh": "归档"}, "outcome": "archived"})
    document["edges"].append({"from": "decide", "to": "archive", "condition": 'review.decision == "archive"'})
    assert _save_workflow(designer_client, "test_every_kind", document).json()["saved"]

    page = designer_client.get(reverse("designer:procedure_publish", args=["test_every_kind"]))
    assert page.context["workflow_lines"] == [
        "新增节点：归档（archive）",
        "修改节点：乡镇审核（review），变更项：due",
        "新增连线：decide → archive",
    ]
    assert page.context["form_items"][0]["lines"] == [
        "修改字段：审核结论（decision）",
        "新增字段：理由（reason）",
        '规则 visible_if（reason）：“—” → “decision == "reject"”',
    ]
    assert page.context["plan"].can_publish


def test_publish_publishes_forms_then_workflow_with_the_note_and_audits_both(
    designer_client, every_kind, staff
):
    model = model_from_document(form_export(FormVersion.objects.get(key="t_review")))
    model["fields"].append(field("reason", "text", label={"zh": "理由"}))
    _save_form(designer_client, "t_review", model)
    document = copy.deepcopy(every_kind.document)
    document["title"]["zh"] = "测试：新名称"
    _save_workflow(designer_client, "test_every_kind", document)

    response = designer_client.post(
        reverse("designer:procedure_publish", args=["test_every_kind"]), {"change_note": "增加理由字段"}
    )
    assert response.status_code == 302
    workflow = WorkflowVersion.objects.get(key="test_every_kind", status="published")
    form = FormVersion.objects.get(key="t_review", status="published")
    assert (
        workflow.version == 2
        and workflow.change_note == "增加理由字段"
        and workflow.published_by == staff["designer"]
    )
    assert form.version == 2 and workflow.form_versions["t_review"] == form.pk
    events = AuditEvent.objects.filter(action="definition.published", data__note="增加理由字段").order_by(
        "seq"
    )
    assert [(e.data["kind"], e.data["key"]) for e in events] == [
        ("form", "t_review"),
        ("workflow", "test_every_kind"),
    ]
    assert {"change": "title_changed", "old": "测试：全部节点类型", "new": "测试：新名称"} in events[1].data[
        "changes"
    ]


def test_publishing_only_changed_forms_publishes_the_workflow_again_so_new_cases_use_them(
    designer_client, every_kind
):
    model = model_from_document(form_export(FormVersion.objects.get(key="t_apply")))
    model["fields"].append(field("phone", "mobile", label={"zh": "电话"}))
    _save_form(designer_client, "t_apply", model)
    page = designer_client.get(reverse("designer:procedure_publish", args=["test_every_kind"]))
    assert page.context["plan"].republish and "重新发布为新版本" in page.content.decode()
    designer_client.post(
        reverse("designer:procedure_publish", args=["test_every_kind"]), {"change_note": "加电话"}
    )
    workflow = WorkflowVersion.objects.get(key="test_every_kind", status="published")
    assert workflow.version == 2 and workflow.document == every_kind.document
    assert workflow.form_versions["t_apply"] == FormVersion.objects.get(key="t_apply", status="published").pk


def test_publish_says_so_when_there_is_nothing_to_publish(designer_client, every_kind):
    page = designer_client.get(reverse("designer:procedure_publish", args=["test_every_kind"]))
    assert "没有需要发布的草稿" in page.content.decode()


def test_form_publish_page_shows_the_diff_and_publishes_the_form_draft(designer_client, every_kind):
    model = model_from_document(form_export(FormVersion.objects.get(key="t_check")))
    model["fields"][0]["label"]["zh"] = "复核意见"
    _save_form(designer_client, "t_check", model)
    page = designer_client.get(reverse("designer:form_publish", args=["t_check"]))
    assert page.context["lines"] == ["修改字段：复核意见（ok）"]
    assert "test_every_kind" in page.content.decode()  # procedures to publish again to pin it
    response = designer_client.post(
        reverse("designer:form_publish", args=["t_check"]), {"change_note": "改名"}
    )
    assert response.status_code == 302
    assert FormVersion.objects.get(key="t_check", status="published").version == 2
    assert AuditEvent.objects.filter(action="definition.published", data__key="t_check").count() == 2
