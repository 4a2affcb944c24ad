"""The designer's preview page and the htmx fragment that re-renders a form after a change."""

from __future__ import annotations

import json
import re

import pytest

from govflow.forms.models import FormVersion
from govflow.forms.services import form_draft_save, form_import

HOSTILE = "<script>alert(1)</script>"
FORM = {
    "key": "subsidy",
    "title": {"zh": "扶助申请", "en": "Subsidy application"},
    "schema": {
        "type": "object",
        "required": ["name", "household_size"],
        "properties": {
            "name": {"type": "string", "title": "姓名", "minLength": 1},
            "household_size": {"type": "integer", "title": "家庭人口", "minimum": 1},
            "income": {"type": "number", "format": "money", "title": "年收入"},
            "per_capita": {"type": "number", "title": "人均收入"},
            "disabled": {"type": "boolean", "title": "是否残疾"},
            "grade": {"type": "integer", "title": "残疾等级", "minimum": 1, "maximum": 4},
            "children": {
                "type": "array",
                "title": "子女",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"type": "string", "title": "子女姓名", "minLength": 1}},
                },
            },
        },
    },
    "ui": {
        "fields": {
            "name": {"help": {"zh": "与户口簿一致", "en": "As in the household register"}},
            "per_capita": {"computed": "round(income / household_size, 2)"},
            "grade": {"visible_if": "disabled", "required_if": "disabled"},
        }
    },
}
URL = "/forms/preview/subsidy/1/"


@pytest.fixture
def published(county):
    version, _created = form_import(document=FORM)
    return version


def test_preview_forbidden_for_non_designers(client, staff, published):
    for who in ("clerk_a", "approver", "supervisor"):
        client.force_login(staff[who])
        assert client.get(URL).status_code == 403
        assert client.post(URL, {"mode": "sample", "sample": "{}"}).status_code == 403


def test_preview_sends_anonymous_users_to_login(client, published):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_preview_renders_published_version_for_designer(client, staff, published):
    client.force_login(staff["designer"])
    html = client.get(URL).content.decode()
    assert "扶助申请" in html and 'name="name"' in html and "与户口簿一致" in html
    assert 'name="children-TOTAL_FORMS"' in html and "示例数据" in html


def test_preview_renders_a_draft_with_its_definition_errors(client, staff, county):
    broken = {**FORM, "ui": {"fields": {"nope": {"widget": "text"}}}}
    draft = form_draft_save(key="subsidy", document=broken)
    assert draft.status == FormVersion.Status.DRAFT and draft.errors
    client.force_login(staff["designer"])
    html = client.get(URL).content.decode()
    assert "不能发布" in html and "nope" in html and 'name="name"' in html


def test_preview_of_missing_version_is_404(client, staff, published):
    client.force_login(staff["designer"])
    assert client.get("/forms/preview/subsidy/9/").status_code == 404


def test_sample_data_errors_are_listed_by_json_path(client, staff, published):
    client.force_login(staff["designer"])
    sample = {"name": "", "household_size": 0, "disabled": True, "children": [{"name": ""}]}
    html = client.post(URL, {"mode": "sample", "sample": json.dumps(sample)}).content.decode()
    for path in (
        "<code>name</code>",
        "<code>household_size</code>",
        "<code>grade</code>",
        "<code>children/0/name</code>",
    ):
        assert path in html
    assert "校验未通过" in html
    assert 'value="0"' in html  # the form is filled with the sample, its errors shown on the fields
    assert html.count("此项必填。") >= 4


def test_valid_sample_shows_the_cleaned_document_and_readonly_view(client, staff, published):
    client.force_login(staff["designer"])
    sample = {
        "name": "王芳",
        "household_size": 4,
        "income": 9000,
        "per_capita": 1,
        "disabled": False,
        "grade": 9,
    }
    html = client.post(URL, {"mode": "sample", "sample": json.dumps(sample)}).content.decode()
    assert "校验通过" in html
    assert "&quot;per_capita&quot;: 2250" in html  # computed, the sample's value ignored
    assert "grade" not in html.split("校验通过")[1].split("<dl")[0]  # hidden field stripped
    assert "9,000.00 元" in html  # the read-only view


def test_invalid_json_sample_is_reported(client, staff, published):
    client.force_login(staff["designer"])
    html = client.post(URL, {"mode": "sample", "sample": "{not json"}).content.decode()
    assert "不是有效的 JSON" in html
    html = client.post(URL, {"mode": "sample", "sample": "[1, 2]"}).content.decode()
    assert "应为 JSON 对象" in html


def test_preview_form_submission_shows_errors_or_document(client, staff, published):
    client.force_login(staff["designer"])
    base = {"mode": "form", "children-TOTAL_FORMS": "0", "children-INITIAL_FORMS": "0"}
    html = client.post(URL, {**base, "name": "", "household_size": "2"}).content.decode()
    assert "<code>name</code>" in html and "此项必填。" in html
    html = client.post(URL, {**base, "name": "王芳", "household_size": "2", "income": "100"}).content.decode()
    assert "校验通过" in html and "&quot;per_capita&quot;: 50" in html


def test_hostile_labels_are_escaped_in_preview(client, staff, county):
    hostile = json.loads(json.dumps(FORM))
    hostile["title"]["zh"] = HOSTILE
    hostile["schema"]["properties"]["name"]["title"] = HOSTILE
    hostile["ui"]["fields"]["name"]["help"] = {"zh": '<img src=x onerror="alert(2)">'}
    form_import(document=hostile)
    client.force_login(staff["designer"])
    sample = {"name": HOSTILE, "household_size": 1}
    html = client.post(URL, {"mode": "sample", "sample": json.dumps(sample)}).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_preview_in_english_shows_english_labels(client, staff, published):
    client.force_login(staff["designer"])
    html = client.get(URL + "?lang=en").content.decode()
    assert "Subsidy application" in html and "As in the household register" in html


def test_fragment_shows_conditional_field_and_computed_value_after_change(client, staff, published):
    client.force_login(staff["clerk_a"])
    management = {"children-TOTAL_FORMS": "0", "children-INITIAL_FORMS": "0"}
    base = {"name": "王芳", "household_size": "4", "income": "9000", **management}
    html = client.post("/forms/fragment/subsidy/1/", base).content.decode()
    assert html.startswith('<div class="gf-form" id="gf-form">')
    assert 'name="grade"' not in html and 'value="2250"' in html
    html = client.post("/forms/fragment/subsidy/1/", {**base, "disabled": "on", "name": ""}).content.decode()
    assert 'name="grade"' in html
    assert "此项必填" not in html and "errorlist" not in html  # not submitted yet: no errors


def test_form_fields_that_rules_read_carry_the_htmx_refresh(client, staff, published):
    client.force_login(staff["designer"])
    html = client.get(URL).content.decode()
    assert 'hx-post="/forms/fragment/subsidy/1/"' in html and 'hx-target="#gf-form"' in html
    name_input = (
        html.split('name="name"')[0].rsplit("<input", 1)[1] + html.split('name="name"')[1].split(">")[0]
    )
    assert "hx-post" not in name_input  # only fields a rule reads trigger a refresh


def test_fragment_of_a_draft_is_hidden_from_non_designers(client, staff, county):
    form_draft_save(key="subsidy", document=FORM)
    client.force_login(staff["clerk_a"])
    assert client.post("/forms/fragment/subsidy/1/", {}).status_code == 404
    client.force_login(staff["designer"])
    assert client.post("/forms/fragment/subsidy/1/", {}).status_code == 200


def test_fragment_uses_signed_context_and_ignores_forged_context(client, staff, county):
    from django.core import signing

    from govflow.forms.rendering import build_form

    document = json.loads(json.dumps(FORM))
    document["ui"]["fields"]["grade"] = {"visible_if": "case_kind == 'special'"}
    draft = form_draft_save(key="ctxform", document=document)  # case variables are not fields: a draft
    html = str(build_form(draft, context={"case_kind": "special"}))
    assert 'name="grade"' in html
    token = re.search(r'name="gf-form__context" value="([^"]+)"', html).group(1)
    client.force_login(staff["designer"])
    url = "/forms/fragment/ctxform/1/"
    assert 'name="grade"' in client.post(url, {"gf-form__context": token}).content.decode()
    forged = signing.dumps({"case_kind": "special"}, salt="not-the-salt")
    assert 'name="grade"' not in client.post(url, {"gf-form__context": forged}).content.decode()


def test_rule_context_with_dates_and_decimals_still_renders(published):
    from datetime import date
    from decimal import Decimal

    from govflow.forms.rendering import build_form

    html = str(build_form(published, context={"served_on": date(2024, 1, 1), "fee": Decimal("1.50")}))
    assert 'name="gf-form__context"' in html
