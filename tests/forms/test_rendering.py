"""The form renderer: every field kind renders and round-trips through submission_validate; rows, rules, escaping."""

from __future__ import annotations

import copy
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from govflow.forms.rendering import build_form, document_to_data, render_readonly
from govflow.forms.services import form_draft_save, form_import

SCHEMA = {
    "type": "object",
    "required": ["applicant", "household_income", "household_size"],
    "properties": {
        "applicant": {"type": "string", "title": "申请人", "minLength": 1, "maxLength": 30},
        "note": {"type": "string", "title": "情况说明", "maxLength": 500},
        "household_size": {"type": "integer", "title": "家庭人口", "minimum": 1},
        "household_income": {"type": "number", "format": "money", "title": "家庭年收入"},
        "house_area": {"type": "number", "title": "住房面积"},
        "disabled": {"type": "boolean", "title": "是否残疾"},
        "disability_grade": {"type": "integer", "title": "残疾等级", "minimum": 1, "maximum": 4},
        "insured": {"type": "boolean", "title": "是否参保"},
        "birth_date": {"type": "string", "format": "date", "title": "出生日期"},
        "applied_at": {"type": "string", "format": "date-time", "title": "申请时间"},
        "sex": {"enum": ["M", "F"], "title": "性别"},
        "marital": {"type": "string", "enum": ["single", "married"], "title": "婚姻状况"},
        "benefits": {
            "type": "array",
            "title": "已享受待遇",
            "items": {"enum": ["dibao", "wubao", "yiliao"]},
            "uniqueItems": True,
        },
        "id_card": {"type": "string", "format": "cn-id-card", "title": "公民身份号码"},
        "mobile": {"type": "string", "format": "cn-mobile", "title": "手机号码"},
        "village": {"type": "string", "format": "area-code", "title": "所在村"},
        "proof": {"type": "object", "title": "证明材料"},
        "per_capita": {"type": "number", "title": "人均年收入"},
        "children": {
            "type": "array",
            "title": "子女",
            "maxItems": 5,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "title": "姓名", "minLength": 1},
                    "disabled": {"type": "boolean", "title": "残疾"},
                    "grade": {"type": "integer", "title": "残疾等级", "minimum": 1, "maximum": 4},
                },
            },
        },
    },
}
UI = {
    "order": ["applicant", "id_card", "sex", "birth_date"],
    "fields": {
        "note": {"widget": "textarea", "help": {"zh": "写明困难原因", "en": "Why help is needed"}},
        "insured": {"widget": "radio"},
        "sex": {
            "widget": "radio",
            "enum_labels": {"M": {"zh": "男", "en": "Male"}, "F": {"zh": "女", "en": "Female"}},
        },
        "marital": {
            "enum_labels": {
                "single": {"zh": "未婚", "en": "Single"},
                "married": {"zh": "已婚", "en": "Married"},
            }
        },
        "benefits": {
            "widget": "checkboxes",
            "enum_labels": {
                "dibao": {"zh": "低保", "en": "Minimum living allowance"},
                "wubao": {"zh": "五保", "en": "Five guarantees"},
                "yiliao": {"zh": "医疗救助", "en": "Medical aid"},
            },
        },
        "id_card": {"id_card": {"birth_date_field": "birth_date", "sex_field": "sex"}},
        "village": {"widget": "area", "in_user_scope": True},
        "proof": {"widget": "file", "max_bytes": 1000, "content_types": ["application/pdf", "image/*"]},
        "per_capita": {"computed": "round(household_income / household_size, 2)"},
        "disability_grade": {"visible_if": "disabled", "required_if": "disabled"},
        "children/*/grade": {"visible_if": "disabled", "required_if": "disabled"},
    },
}
GOOD = {
    "applicant": "王芳",
    "note": "因病致贫",
    "household_size": 4,
    "household_income": 9000.5,
    "house_area": 72.5,
    "disabled": True,
    "disability_grade": 2,
    "insured": False,
    "birth_date": "1949-12-31",
    "applied_at": "2024-03-01T09:30:00+08:00",
    "sex": "F",
    "marital": "married",
    "benefits": ["dibao", "yiliao"],
    "id_card": "11010519491231002X",
    "mobile": "13800138000",
    "village": "371727100201",
    "children": [{"name": "甲", "disabled": False}, {"name": "乙", "disabled": True, "grade": 3}],
}


def _document(**overrides):
    return {
        "key": "assistance",
        "title": {"zh": "救助申请", "en": "Assistance application"},
        "schema": SCHEMA,
        "ui": UI,
        **overrides,
    }


@pytest.fixture
def version(county):
    found, _created = form_import(document=_document())
    return found


@pytest.fixture
def clerk(staff):
    return staff["clerk_a"]


def _bound(version, document, user=None, files=None, **changes):
    data = document_to_data(version, document, user=user)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        elif isinstance(value, list):
            data.setlist(key, value)
        else:
            data[key] = value
    return build_form(version, data=data, files=files, user=user)


def test_every_field_kind_renders_with_its_widget_when_unbound(version, clerk):
    html = str(build_form(version, user=clerk))
    assert 'name="applicant"' in html and "<textarea" in html
    assert 'type="number"' in html and 'step="0.01"' in html and 'min="0"' in html  # money
    assert 'type="checkbox" name="disabled"' in html
    assert 'type="date" name="birth_date"' in html and 'type="datetime-local" name="applied_at"' in html
    assert 'type="radio" name="sex"' in html and "男</label>" in html
    assert '<select name="marital"' in html and "已婚" in html
    assert 'type="checkbox" name="benefits"' in html and "医疗救助" in html
    assert 'type="radio" name="insured" value="true"' in html  # yes/no as radio
    assert 'name="id_card"' in html and 'maxlength="18"' in html
    assert 'type="tel" name="mobile"' in html
    assert 'type="file" name="proof"' in html and 'accept="application/pdf,image/*"' in html
    assert 'name="children-TOTAL_FORMS"' in html and 'name="children-0-name"' in html
    assert "data-gf-empty" in html and "children-__prefix__-name" in html  # the JS row template


def test_field_order_follows_ui_order_then_schema_when_rendered(version):
    html = str(build_form(version))
    names = list(dict.fromkeys(re.findall(r'name="([a-z_]+)"', html)))
    assert names[:4] == ["applicant", "id_card", "sex", "birth_date"]


def test_document_round_trips_through_the_form_when_every_kind_is_filled(version, clerk):
    form = _bound(version, GOOD, user=clerk)
    assert form.is_valid(), form.field_errors
    expected = copy.deepcopy(GOOD)
    expected["per_capita"] = 2250.13  # computed on the server (half up)
    assert form.cleaned_document == expected


def test_cleaned_values_have_json_types_when_converted(version, clerk):
    form = _bound(version, GOOD, user=clerk, household_income="12.30", household_size="3", insured="true")
    assert form.is_valid(), form.field_errors
    doc = form.cleaned_document
    assert doc["household_income"] == 12.3 and isinstance(doc["household_size"], int)
    assert doc["insured"] is True and doc["benefits"] == ["dibao", "yiliao"]


def test_money_refuses_negative_and_three_decimals_when_typed(version, clerk):
    form = _bound(version, GOOD, user=clerk, household_income="-1")
    assert not form.is_valid()
    assert "household_income" in form.errors
    form = _bound(version, GOOD, user=clerk, household_income="1.234")
    assert not form.is_valid() and "household_income" in form.field_errors


def test_validator_errors_land_on_fields_when_invalid(version, clerk):
    form = _bound(version, GOOD, user=clerk, applicant="", id_card="340521198203150026", mobile="123")
    assert not form.is_valid()
    assert form.errors["applicant"] == ["此项必填。"]
    assert "公民身份号码无效" in form.errors["id_card"][0]
    assert "mobile" in form.errors
    assert set(form.field_errors) >= {"applicant", "id_card", "mobile"}
    assert form.cleaned_document is None


def test_cross_field_rule_error_is_shown_on_its_field_when_id_card_disagrees(version, clerk):
    form = _bound(version, GOOD, user=clerk, birth_date="1950-01-01")
    assert not form.is_valid()
    assert "出生日期" in form.errors["id_card"][0]
    assert "出生日期不一致" in str(form)


def test_repeating_group_errors_go_to_their_rows_when_rows_bad(version, clerk):
    doc = {**GOOD, "children": [{"name": "甲", "disabled": False}, {"name": "乙", "disabled": True}]}
    form = _bound(version, doc, user=clerk, **{"children-0-name": ""})
    assert not form.is_valid()
    rows = form.groups["children"].forms
    assert rows[0].errors["name"] == ["此项必填。"]
    assert rows[1].errors["grade"] == ["此项必填。"]
    assert "name" not in rows[1].errors
    assert set(form.field_errors) == {"children/0/name", "children/1/grade"}
    html = str(form)
    assert html.count("此项必填。") >= 2


def test_row_index_skips_deleted_and_empty_rows_when_errors_mapped(version, clerk):
    doc = {**GOOD, "children": [{"name": "甲"}, {"name": "乙"}, {"name": "丙", "disabled": True}]}
    form = _bound(version, doc, user=clerk, **{"children-0-DELETE": "on"})
    assert not form.is_valid()
    # The deleted first row is not data: the third row is children/1 in the document.
    assert set(form.field_errors) == {"children/1/grade"}
    assert form.groups["children"].forms[2].errors["grade"] == ["此项必填。"]


def test_empty_extra_rows_are_ignored_and_new_rows_added_when_filled(version, clerk):
    form = build_form(version, user=clerk)
    data = document_to_data(version, {**GOOD, "children": []}, user=clerk)
    data["children-TOTAL_FORMS"] = "3"
    data["children-1-name"] = "新"
    form = build_form(version, data=data, user=clerk)
    assert form.is_valid(), form.field_errors
    assert form.cleaned_document["children"] == [{"name": "新", "disabled": False}]


def test_group_count_rule_reports_on_the_group_when_too_many_rows(version, clerk):
    doc = {**GOOD, "children": [{"name": str(i)} for i in range(6)]}
    form = _bound(version, doc, user=clerk)
    assert not form.is_valid()
    assert form.field_errors == {"children": ["最多填写5项。"]}
    assert "最多填写5项。" in str(form)


def test_conditional_field_is_hidden_then_shown_when_rule_changes(version, clerk):
    unbound = str(build_form(version, initial={"disabled": False}, user=clerk))
    assert 'name="disability_grade"' not in unbound
    shown = str(build_form(version, initial={"disabled": True}, user=clerk))
    assert 'name="disability_grade"' in shown
    assert re.search(r"残疾等级 <span class=\"gf-req\"", shown)  # required_if marks it required


def test_conditional_required_applies_only_when_visible(version, clerk):
    form = _bound(version, {**GOOD, "disability_grade": None}, user=clerk, disability_grade=None)
    assert not form.is_valid()
    assert form.errors["disability_grade"] == ["此项必填。"]
    hidden = _bound(version, {**GOOD, "disabled": False}, user=clerk, disability_grade=None)
    assert hidden.is_valid(), hidden.field_errors


def test_hidden_field_is_stripped_when_posted_anyway(version, clerk):
    form = _bound(version, {**GOOD, "disabled": False}, user=clerk, disability_grade="3")
    assert form.is_valid(), form.field_errors
    assert "disability_grade" not in form.cleaned_document
    rows = {**GOOD, "children": [{"name": "甲", "disabled": False}]}
    form = _bound(version, rows, user=clerk, **{"children-0-grade": "9"})
    assert form.is_valid(), form.field_errors
    assert form.cleaned_document["children"] == [{"name": "甲", "disabled": False}]


def test_bad_value_in_a_field_hidden_by_the_same_post_is_not_reported(version, clerk):
    form = _bound(version, {**GOOD, "disabled": False}, user=clerk, disability_grade="abc")
    assert form.is_valid(), form.field_errors


def test_computed_field_renders_read_only_and_ignores_client_value(version, clerk):
    form = _bound(version, GOOD, user=clerk, per_capita="999999")
    assert form.is_valid()
    assert form.cleaned_document["per_capita"] == 2250.13
    html = str(build_form(version, initial=GOOD, user=clerk))
    field = re.search(r'<input type="text" id="id_per_capita" value="([^"]*)" readonly', html)
    assert field and field.group(1) == "2250.13"
    assert 'name="per_capita"' not in html


def test_computed_field_stays_empty_when_it_cannot_be_computed(version, clerk):
    form = _bound(version, GOOD, user=clerk, household_size="0")
    assert not form.is_valid()
    assert "household_size" in form.errors and "per_capita" not in form.errors


def test_area_picker_offers_only_the_users_areas(version, clerk, staff):
    html = str(build_form(version, user=clerk))
    assert 'value="371727100201"' in html and 'value="371727101201"' not in html
    assert 'data-gf-area="1"' in html and 'data-parent="371727100"' in html
    wide = str(build_form(version, user=staff["approver"]))
    assert 'value="371727101201"' in wide and 'value="371727"' in wide
    outside = _bound(version, {**GOOD, "village": "371727101201"}, user=clerk)
    assert not outside.is_valid() and "village" in outside.errors


def test_file_upload_is_returned_not_stored_when_valid(version, clerk):
    upload = SimpleUploadedFile("证明.pdf", b"%PDF-1.4 tiny", content_type="application/pdf")
    form = _bound(version, GOOD, user=clerk, files={"proof": upload})
    assert form.is_valid(), form.field_errors
    assert form.cleaned_document["proof"] == {
        "name": "证明.pdf",
        "size": 13,
        "content_type": "application/pdf",
    }
    assert form.cleaned_files == {"proof": upload}


def test_file_upload_limits_refuse_big_or_wrong_type_files(version, clerk):
    big = SimpleUploadedFile("a.pdf", b"x" * 2000, content_type="application/pdf")
    form = _bound(version, GOOD, user=clerk, files={"proof": big})
    assert not form.is_valid() and "proof" in form.errors
    exe = SimpleUploadedFile("a.exe", b"MZ", content_type="application/x-msdownload")
    form = _bound(version, GOOD, user=clerk, files={"proof": exe})
    assert not form.is_valid() and "proof" in form.errors
    disguised = SimpleUploadedFile("a.exe", b"MZ", content_type="application/pdf")
    assert not _bound(version, GOOD, user=clerk, files={"proof": disguised}).is_valid()


def test_type_errors_are_reported_once_when_text_does_not_convert(version, clerk):
    form = _bound(version, GOOD, user=clerk, household_size="abc")
    assert not form.is_valid()
    assert len(form.errors["household_size"]) == 1
    assert "household_size" in form.field_errors


def test_hostile_labels_are_escaped_in_form_and_readonly(county):
    hostile = "<script>alert(1)</script>"
    schema = {
        "type": "object",
        "properties": {
            "a": {"type": "string", "title": hostile},
            "b": {"enum": ["x"], "title": "<b>b</b>"},
            "rows": {
                "type": "array",
                "title": hostile,
                "items": {"type": "object", "properties": {"c": {"type": "string", "title": hostile}}},
            },
        },
    }
    ui = {
        "fields": {
            "a": {
                "help": {"zh": "<img src=x onerror=alert(2)>"},
                "placeholder": {"zh": '"><script>alert(3)</script>'},
            },
            "b": {"enum_labels": {"x": {"zh": "<script>alert(4)</script>"}}},
        }
    }
    version, _created = form_import(
        document={"key": "hostile", "title": {"zh": hostile}, "schema": schema, "ui": ui}
    )
    html = str(build_form(version, initial={"a": hostile}))
    readonly = render_readonly(version, {"a": hostile, "b": "x", "rows": [{"c": hostile}]})
    for page in (html, readonly):
        assert "<script>alert" not in page
        assert "<img src=x" not in page and "<b>b</b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;script&gt;alert(4)&lt;/script&gt;" in readonly


def test_english_labels_when_english_is_active(county):
    ui = copy.deepcopy(UI)
    ui["fields"]["applicant"] = {"label": {"zh": "申请人", "en": "Applicant"}}
    draft = form_draft_save(key="assistance_en", document=_document(ui=ui))
    with translation.override("en"):
        html = str(build_form(draft))
        readonly = render_readonly(draft, GOOD)
    assert "Applicant" in html and "Male" in html and "Why help is needed" in html and "Married" in html
    assert "Minimum living allowance" in readonly and "Female" in readonly
    with translation.override("zh-hans"):
        chinese = str(build_form(draft))
    assert "申请人" in chinese and "Applicant" not in chinese and "男" in chinese


def test_readonly_shows_labels_and_formatted_values(version):
    html = render_readonly(version, {**GOOD, "per_capita": 2250.13, "proof": {"name": "证明.pdf"}})
    assert "申请人" in html and "王芳" in html
    assert "9,000.50 元" in html
    assert "1949年12月31日" in html and "2024年3月1日 09:30" in html
    assert "女" in html and "已婚" in html and "低保、医疗救助" in html
    assert "甲村（371727100201）" in html and "证明.pdf" in html
    assert "<table" in html and '<th scope="col">姓名</th>' in html and "<td>乙</td>" in html
    assert "<td>3</td>" in html and "否" in html


def test_readonly_masks_personal_data_when_asked(version):
    html = render_readonly(version, GOOD, mask_personal=True)
    assert "11010519491231002X" not in html and "1101**********002X" in html
    assert "138****8000" in html


def test_readonly_in_english_uses_english_labels_and_formats(version):
    with translation.override("en"):
        html = render_readonly(version, GOOD)
    assert "Female" in html and "Dec. 31, 1949" in html


def test_step_form_holds_only_that_steps_fields(county):
    ui = {
        **UI,
        "steps": [
            {
                "key": "who",
                "title": {"zh": "申请人"},
                "fields": ["applicant", "id_card", "sex", "birth_date", "mobile", "village", "marital"],
            },
            {
                "key": "money",
                "title": {"zh": "家庭"},
                "fields": [
                    n
                    for n in SCHEMA["properties"]
                    if n not in ("applicant", "id_card", "sex", "birth_date", "mobile", "village", "marital")
                ],
            },
        ],
    }
    version, _created = form_import(document=_document(key="stepped", ui=ui))
    form = build_form(version, step="who", data={"applicant": "王芳"})
    assert set(form.fields) == {"applicant", "id_card", "sex", "birth_date", "mobile", "village", "marital"}
    assert form.is_valid(), form.field_errors
    assert form.cleaned_document == {"applicant": "王芳"}
    whole = str(build_form(version))
    assert "<legend>申请人</legend>" in whole and "<legend>家庭</legend>" in whole


NESTED = {
    "type": "object",
    "properties": {
        "spouse": {
            "type": "object",
            "title": "配偶",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "title": "配偶姓名", "minLength": 1},
                "mobile": {"type": "string", "format": "cn-mobile", "title": "配偶手机"},
            },
        },
        "families": {
            "type": "array",
            "title": "家庭",
            "items": {
                "type": "object",
                "properties": {
                    "head": {"type": "string", "title": "户主"},
                    "members": {
                        "type": "array",
                        "title": "成员",
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {"name": {"type": "string", "title": "成员姓名", "minLength": 1}},
                        },
                    },
                },
            },
        },
        "nicknames": {"type": "array", "title": "曾用名", "items": {"type": "string"}},
        "tags": {"type": "array", "title": "标签", "items": {"enum": [1, 2, 3]}},
    },
}
NESTED_UI = {
    "fields": {
        "tags": {"widget": "select", "enum_labels": {"1": {"zh": "一"}, "2": {"zh": "二"}, "3": {"zh": "三"}}}
    }
}
NESTED_DOC = {
    "spouse": {"name": "李强", "mobile": "13900139000"},
    "families": [{"head": "甲", "members": [{"name": "子"}, {"name": "丑"}]}, {"head": "乙", "members": []}],
    "nicknames": ["小芳", "阿芳"],
    "tags": [1, 3],
}


@pytest.fixture
def nested(county):
    found, _created = form_import(
        document={"key": "nested", "title": {"zh": "嵌套"}, "schema": NESTED, "ui": NESTED_UI}
    )
    return found


def test_nested_objects_groups_lists_and_multiselect_round_trip(nested):
    html = str(build_form(nested, initial=NESTED_DOC))
    assert 'name="spouse-name"' in html and 'name="families-0-members-1-name"' in html
    assert (
        'name="families-0-members-TOTAL_FORMS"' in html
        and "families-__prefix__-members-__prefix__-name" in html
    )
    assert '<select name="tags"' in html and "multiple" in html
    form = build_form(nested, data=document_to_data(nested, NESTED_DOC))
    assert form.is_valid(), form.field_errors
    assert form.cleaned_document == NESTED_DOC


def test_errors_in_nested_objects_and_rows_of_rows_land_on_their_fields(nested):
    data = document_to_data(nested, NESTED_DOC)
    data["spouse-name"] = ""
    data["spouse-mobile"] = "123"
    data["families-0-members-1-name"] = ""
    form = build_form(nested, data=data)
    assert not form.is_valid()
    assert set(form.field_errors) == {"spouse/name", "spouse/mobile", "families/0/members/1/name"}
    assert form.objects["spouse"].errors["name"] == ["此项必填。"]
    members = form.groups["families"].forms[0].groups["members"].forms
    assert members[1].errors["name"] == ["此项必填。"] and not members[0].errors


def test_readonly_renders_nested_objects_and_rows_of_rows(nested):
    html = render_readonly(nested, NESTED_DOC)
    assert "配偶姓名" in html and "李强" in html and "子" in html and "丑" in html
    assert "小芳、阿芳" in html and "一、三" in html


def test_unsaved_version_renders_without_htmx_refresh(county):
    from govflow.forms.models import FormVersion

    unsaved = FormVersion(key="live", version=0, schema=SCHEMA, ui_schema=UI, checksum="live")
    html = str(build_form(unsaved, initial={"disabled": True}))
    assert "hx-post" not in html and 'name="disability_grade"' in html


def test_quiet_form_shows_typed_values_without_errors(version, clerk):
    form = _bound(version, GOOD, user=clerk, applicant="", household_size="abc")
    form.env.quiet = True
    html = str(form)
    assert "errorlist" not in html and 'value="abc"' in html
