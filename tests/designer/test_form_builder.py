"""The form builder: every field kind saved through the designer's endpoints into a valid definition, drafts
that may be invalid (with their errors and paths shown), and models the file could not express refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse

from govflow.designer.formmodel import (
    document_from_model,
    error_field,
    model_errors,
    model_from_document,
    variables_in_scope,
)
from govflow.forms.definitions import check_form_document
from govflow.forms.models import FormVersion
from govflow.forms.rendering import build_form
from govflow.forms.services import form_import
from tests.designer.conftest import every_kind_model, field, post_json

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def new_form(designer_client):
    designer_client.post(reverse("designer:form_create"), {"key": "all_kinds", "title_zh": "全部字段类型"})
    return FormVersion.objects.get(key="all_kinds")


def test_form_create_saves_an_empty_draft_and_opens_the_builder(designer_client, staff):
    response = designer_client.post(
        reverse("designer:form_create"), {"key": "brand_new", "title_zh": "新表单"}
    )
    assert response.status_code == 302 and response["Location"] == reverse(
        "designer:form_builder", args=["brand_new"]
    )
    draft = FormVersion.objects.get(key="brand_new")
    assert draft.status == "draft" and draft.errors == []
    page = designer_client.get(response["Location"])
    assert page.status_code == 200
    config = page.context["config"]
    assert config["model"]["title"]["zh"] == "新表单" and config["model"]["fields"] == []
    assert {k["kind"] for k in config["kinds"]} >= {
        "text",
        "textarea",
        "integer",
        "money",
        "number",
        "boolean",
        "date",
        "datetime",
        "choice",
        "multichoice",
        "id_card",
        "mobile",
        "area",
        "file",
        "group",
    }


def test_builder_saves_every_field_kind_into_a_valid_definition(designer_client, new_form, staff):
    response = post_json(
        designer_client, reverse("designer:form_save", args=["all_kinds"]), {"model": every_kind_model()}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["saved"] and body["errors"] == []
    draft = FormVersion.objects.get(key="all_kinds", status="draft")
    assert draft.pk == new_form.pk and draft.errors == []
    properties = draft.schema["properties"]
    assert properties["name"] == {
        "type": "string",
        "title": "姓名",
        "minLength": 2,
        "maxLength": 20,
        "pattern": "^[^0-9]+$",
    }
    assert properties["id_card"]["format"] == "cn-id-card"
    assert properties["mobile"]["format"] == "cn-mobile"
    assert properties["village"]["format"] == "area-code"
    assert properties["income"] == {"type": "number", "format": "money", "title": "家庭年收入", "minimum": 0}
    assert properties["household_size"]["minimum"] == 1 and properties["household_size"]["type"] == "integer"
    assert properties["applied_at"]["format"] == "date-time"
    assert properties["grade"]["enum"] == [1, 2, 3, 4]
    assert (
        properties["benefits"]["items"] == {"enum": ["dibao", "wubao"]}
        and properties["benefits"]["uniqueItems"]
    )
    members = properties["members"]
    assert members["type"] == "array" and members["maxItems"] == 10
    assert members["items"]["required"] == ["member_name"]
    assert list(members["items"]["properties"]) == ["member_name", "member_id", "student", "school"]
    assert draft.schema["required"] == ["name", "id_card", "household_size"]
    ui = draft.ui_schema
    assert ui["fields"]["name"]["label"] == {"zh": "姓名", "en": "Name"}
    assert (
        ui["fields"]["grade"]["visible_if"] == "disabled"
        and ui["fields"]["grade"]["required_if"] == "disabled"
    )
    assert ui["fields"]["per_capita"]["computed"] == "round(income / household_size, 2)"
    assert ui["fields"]["members/*/school"]["visible_if"] == "student"
    assert ui["fields"]["sex"]["enum_labels"]["F"] == {"zh": "女", "en": "Female"}
    assert ui["fields"]["proof"] == {
        "widget": "file",
        "max_bytes": 100000,
        "content_types": ["application/pdf", "image/*"],
    }
    assert ui["fields"]["id_card"]["id_card"] == {"birth_date_field": "birth_date", "sex_field": "sex"}
    assert ui["fields"]["birth_date"]["not_future"] is True
    assert [s["key"] for s in ui["steps"]] == ["person", "details"]
    assert "members" in ui["steps"][1]["fields"]
    # the renderer builds it, and the builder reads it back as it wrote it
    rendered = build_form(draft, user=staff["clerk_a"]).render()
    assert 'name="members-TOTAL_FORMS"' in rendered and "公民身份号码" in rendered
    model = designer_client.get(reverse("designer:form_builder", args=["all_kinds"])).context["config"][
        "model"
    ]
    assert [(f["name"], f["kind"]) for f in model["fields"]][-3:] == [
        ("proof", "file"),
        ("members", "group"),
        ("address", "object"),
    ]
    assert document_from_model(model)["schema"] == draft.schema


def test_builder_keeps_an_invalid_draft_and_returns_every_error_with_path_and_field(
    designer_client, new_form
):
    model = every_kind_model()
    model["fields"][3]["choices"][1].update(zh="", en="")  # sex: option F without a label
    model["fields"][12]["rules"]["visible_if"] = "disabled &&"  # grade: a rule that does not compile
    model["fields"][16]["children"][3]["rules"]["visible_if"] = "nobody"  # members/*/school: unknown name
    response = post_json(designer_client, reverse("designer:form_save", args=["all_kinds"]), {"model": model})
    assert response.status_code == 200
    errors = response.json()["errors"]
    by_field = {e["field"]: e["path"] for e in errors}
    assert by_field == {
        "sex": "/ui/fields/sex/enum_labels",
        "grade": "/ui/fields/grade/visible_if",
        "members/*/school": "/ui/fields/members~1*~1school/visible_if",
    }
    draft = FormVersion.objects.get(key="all_kinds", status="draft")
    assert len(draft.errors) == 3


def test_builder_refuses_a_model_with_repeated_or_invalid_names_and_saves_nothing(designer_client, new_form):
    model = every_kind_model()
    model["fields"].append(field("name", "text"))
    model["fields"][16]["children"].append(field("Bad Name", "text"))
    response = post_json(designer_client, reverse("designer:form_save", args=["all_kinds"]), {"model": model})
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert {(e["path"], e["field"]) for e in errors} == {
        ("/fields/18/name", "name"),
        ("/fields/16/children/4/name", "members/*/Bad Name"),
    }
    draft = FormVersion.objects.get(key="all_kinds")
    assert draft.schema["properties"] == {}


def test_compose_returns_the_document_its_errors_and_a_rendered_preview(designer_client, new_form):
    response = post_json(
        designer_client, reverse("designer:form_compose", args=["all_kinds"]), {"model": every_kind_model()}
    )
    body = response.json()
    assert body["errors"] == []
    assert body["document"]["schema"]["properties"]["members"]["type"] == "array"
    html = body["preview"]["html"]
    assert 'name="gd-name"' in html and "家庭成员" in html
    assert "/forms/fragment/" not in html  # unsaved: the renderer's own refresh never replaces the preview
    assert FormVersion.objects.get(key="all_kinds").schema["properties"] == {}  # nothing saved


def test_compose_preview_applies_rules_and_validates_what_was_typed(designer_client, new_form):
    url = reverse("designer:form_compose", args=["all_kinds"])
    data = (
        "gd-name=王芳&gd-household_size=0&gd-disabled=on&gd-members-TOTAL_FORMS=0&gd-members-INITIAL_FORMS=0"
    )
    body = post_json(
        designer_client, url, {"model": every_kind_model(), "preview": data, "validate": True}
    ).json()
    result = body["preview"]["result"]
    assert result["ok"] is False
    assert (
        "household_size" in result["errors"] and "grade" in result["errors"] and "id_card" in result["errors"]
    )


def test_from_json_turns_an_edited_document_into_the_builder_model(designer_client, new_form):
    document = document_from_model(every_kind_model())
    document["schema"]["properties"]["extra"] = {"type": "string", "title": "附加", "description": "说明文字"}
    response = post_json(
        designer_client,
        reverse("designer:form_from_json", args=["all_kinds"]),
        {"document": json.dumps(document)},
    )
    body = response.json()
    extra = body["model"]["fields"][-1]
    assert (
        extra["name"] == "extra"
        and extra["kind"] == "text"
        and extra["schema_extra"] == {"description": "说明文字"}
    )
    assert body["errors"] == [
        {"file": "", "path": "/ui/steps", "message": "字段“extra”不在任何步骤中。", "field": ""}
    ]
    bad = post_json(
        designer_client, reverse("designer:form_from_json", args=["all_kinds"]), {"document": "{oops"}
    )
    assert bad.status_code == 400 and "不是有效的 JSON" in bad.json()["message"]


@pytest.mark.parametrize(
    "path",
    sorted(str(p.relative_to(REPO)) for p in (REPO / "forms").glob("*.json"))
    + sorted(str(p.relative_to(REPO)) for p in (REPO / "tests/workflows/definitions").glob("t_*.json")),
)
def test_builder_model_round_trips_every_shipped_form_without_change(path):
    document = json.loads((REPO / path).read_text(encoding="utf-8"))
    back = document_from_model(json.loads(json.dumps(model_from_document(document))))
    expected = {**document, "ui": {**document.get("ui", {}), "order": back["ui"]["order"]}}
    assert back == expected
    assert check_form_document(back) == check_form_document(document)


def test_builder_keeps_what_it_has_no_control_for(staff):
    document = {
        "key": "odd",
        "title": {"zh": "特殊"},
        "schema": {
            "type": "object",
            "$defs": {"person": {"type": "object", "properties": {"n": {"type": "string"}}}},
            "properties": {
                "who": {"$ref": "#/$defs/person", "title": "当事人"},
                "code": {"type": "string", "title": "代码", "pattern": "^[A-Z]+$", "description": "大写"},
                "kind": {"type": "string", "enum": ["a"], "title": "种类"},
            },
        },
        "ui": {"fields": {"kind": {"enum_labels": {"a": {"zh": "甲"}, "b": {"zh": "乙"}}}}},
    }
    model = model_from_document(document)
    assert [f["kind"] for f in model["fields"]] == ["raw", "text", "choice"]
    assert model["schema_extra"]["$defs"] == document["schema"]["$defs"]
    back = document_from_model(model)
    assert back["schema"] == document["schema"]
    assert back["ui"]["fields"] == document["ui"]["fields"]
    form_import(document=back)


def test_error_field_names_the_builder_field_of_a_definition_error():
    assert error_field("/schema/properties/members/items/properties/school/pattern") == "members/*/school"
    assert error_field("/schema/properties/address/properties/street") == "address/street"
    assert error_field("/ui/fields/members~1*~1school/visible_if") == "members/*/school"
    assert error_field("/ui/steps") == "" and error_field("/title") == ""


def test_rule_scope_lists_top_fields_the_row_fields_and_row_inside_a_group():
    names = variables_in_scope(every_kind_model(), "members/*/school")
    assert "income" in names and "student" in names and "row" in names and names[-1] == "settings"
    assert "row" not in variables_in_scope(every_kind_model(), "grade")


def test_model_errors_find_empty_choice_lists_and_bad_integer_values():
    model = every_kind_model()
    model["fields"][3]["choices"] = []
    model["fields"][12]["choices"][0]["value"] = "one"
    messages = {e["field"]: e["message"] for e in model_errors(model)}
    assert messages == {"sex": "请至少添加一个选项。", "grade": "整数选项的值必须是整数。"}
