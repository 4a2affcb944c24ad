"""Designer fixtures: a signed-in designer, the test procedure that uses every node kind, and a builder
model with one field of every kind."""

from __future__ import annotations

import json

import pytest

from tests.workflows.conftest import DEFINITIONS

VILLAGE = "371727100201"


@pytest.fixture
def designer_client(client, staff):
    client.force_login(staff["designer"])
    return client


@pytest.fixture
def every_kind(staff):
    from govflow.workflows.library import import_library
    from govflow.workflows.selectors import workflow_version_get

    import_library([DEFINITIONS])
    return workflow_version_get(key="test_every_kind")


def post_json(client, url, body):
    return client.post(
        url, data=json.dumps(body), content_type="application/json", HTTP_ACCEPT="application/json"
    )


def field(name, kind, **extra):
    """A builder field as the browser sends it (govflow/static/designer/form-builder.js)."""
    from govflow.designer.formmodel import new_field

    value = new_field(kind, name)
    for key, item in extra.items():
        if isinstance(item, dict) and isinstance(value.get(key), dict):
            value[key] = {**value[key], **item}
        else:
            value[key] = item
    return value


def every_kind_model(key: str = "all_kinds") -> dict:
    """One field of every kind the builder offers, with labels, help, validation settings and rules."""
    return {
        "key": key,
        "title": {"zh": "全部字段类型", "en": "Every field kind"},
        "steps": [
            {"key": "person", "title": {"zh": "申请人", "en": "Applicant"}},
            {"key": "details", "title": {"zh": "详情", "en": "Details"}},
        ],
        "schema_extra": {},
        "ui_extra": {},
        "fields": [
            field(
                "name",
                "text",
                label={"zh": "姓名", "en": "Name"},
                required=True,
                step="person",
                settings={"min_length": "2", "max_length": "20", "pattern": "^[^0-9]+$"},
                help={"zh": "与身份证一致", "en": "As on the ID card"},
                placeholder={"zh": "张三"},
            ),
            field(
                "id_card",
                "id_card",
                label={"zh": "公民身份号码"},
                required=True,
                step="person",
                settings={"birth_date_field": "birth_date", "sex_field": "sex"},
            ),
            field(
                "birth_date", "date", label={"zh": "出生日期"}, step="person", settings={"not_future": True}
            ),
            field(
                "sex",
                "choice",
                label={"zh": "性别"},
                widget="radio",
                step="person",
                choices=[
                    {"value": "M", "zh": "男", "en": "Male"},
                    {"value": "F", "zh": "女", "en": "Female"},
                ],
            ),
            field("mobile", "mobile", label={"zh": "手机号码"}, step="person"),
            field("village", "area", label={"zh": "所在村"}, step="person", settings={"in_user_scope": True}),
            field(
                "note", "textarea", label={"zh": "情况说明"}, step="details", settings={"max_length": "500"}
            ),
            field(
                "household_size",
                "integer",
                label={"zh": "家庭人口"},
                required=True,
                step="details",
                settings={"minimum": "1", "maximum": "20"},
            ),
            field("income", "money", label={"zh": "家庭年收入"}, step="details", settings={"minimum": "0"}),
            field("area_m2", "number", label={"zh": "住房面积"}, step="details"),
            field(
                "per_capita",
                "number",
                label={"zh": "人均收入"},
                step="details",
                rules={"computed": "round(income / household_size, 2)"},
            ),
            field("disabled", "boolean", label={"zh": "是否残疾"}, step="details"),
            field(
                "grade",
                "choice",
                label={"zh": "残疾等级"},
                step="details",
                value_type="integer",
                choices=[{"value": str(i), "zh": f"{i}级"} for i in range(1, 5)],
                rules={"visible_if": "disabled", "required_if": "disabled"},
            ),
            field("applied_at", "datetime", label={"zh": "申请时间"}, step="details"),
            field(
                "benefits",
                "multichoice",
                label={"zh": "已享受待遇"},
                step="details",
                settings={"unique": True, "max_items": "2"},
                choices=[{"value": "dibao", "zh": "低保"}, {"value": "wubao", "zh": "五保"}],
            ),
            field(
                "proof",
                "file",
                label={"zh": "证明材料"},
                step="details",
                settings={"max_bytes": "100000", "content_types": ["application/pdf", "image/*"]},
            ),
            field(
                "members",
                "group",
                label={"zh": "家庭成员"},
                step="details",
                settings={"max_items": "10"},
                children=[
                    field("member_name", "text", label={"zh": "姓名"}, required=True),
                    field("member_id", "id_card", label={"zh": "身份号码"}),
                    field("student", "boolean", label={"zh": "在校学生"}),
                    field("school", "text", label={"zh": "学校"}, rules={"visible_if": "student"}),
                ],
            ),
            field(
                "address",
                "object",
                label={"zh": "地址"},
                step="details",
                children=[
                    field("street", "text", label={"zh": "街道"}),
                ],
            ),
        ],
    }
