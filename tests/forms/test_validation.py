import pytest

from govflow.forms.validation import FormInvalid, validate_submission

SCHEMA = {
    "type": "object",
    "required": ["applicant", "household_income", "household_size"],
    "properties": {
        "applicant": {"type": "string", "minLength": 1, "maxLength": 30},
        "id_card": {"type": "string", "format": "cn-id-card"},
        "birth_date": {"type": "string", "format": "date"},
        "sex": {"enum": ["M", "F"]},
        "mobile": {"type": "string", "format": "cn-mobile"},
        "household_income": {"type": "number", "format": "money"},
        "household_size": {"type": "integer", "minimum": 1},
        "per_capita": {"type": "number"},
        "married_on": {"type": "string", "format": "date"},
        "applied_on": {"type": "string", "format": "date"},
        "children": {
            "type": "array",
            "maxItems": 10,
            "items": {
                "type": "object",
                "required": ["name", "disabled"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "id_card": {"type": "string", "format": "cn-id-card"},
                    "disabled": {"type": "boolean"},
                    "disability_grade": {"type": "integer", "minimum": 1, "maximum": 4},
                },
            },
        },
    },
}
UI = {
    "fields": {
        "id_card": {"id_card": {"birth_date_field": "birth_date", "sex_field": "sex"}},
        "per_capita": {"computed": "round(household_income / household_size, 2)"},
        "children/*/disability_grade": {"visible_if": "disabled", "required_if": "disabled"},
        "applied_on": {"not_future": True, "not_before": "married_on"},
    }
}
GOOD = {
    "applicant": "王芳",
    "id_card": "11010519491231002X",
    "birth_date": "1949-12-31",
    "sex": "F",
    "mobile": "13800138000",
    "household_income": 9000,
    "household_size": 4,
    "children": [{"name": "甲", "disabled": False}, {"name": "乙", "disabled": True, "disability_grade": 2}],
}


def check(data, **kw):
    return validate_submission(SCHEMA, UI, data, context={"__today__": "2013-06-01"}, **kw)


def errors_of(data, **kw):
    with pytest.raises(FormInvalid) as info:
        check(data, **kw)
    return info.value.field_errors


def test_valid_submission_is_cleaned_and_computed_when_all_good():
    cleaned = check({**GOOD, "per_capita": 1, "unknown": "x"})
    assert cleaned["per_capita"] == 2250  # computed from the data; the client's value is ignored
    assert "unknown" not in cleaned


def test_hidden_field_is_stripped_and_not_validated_when_rule_false():
    data = {**GOOD, "children": [{"name": "甲", "disabled": False, "disability_grade": 99}]}
    cleaned = check(data)
    assert "disability_grade" not in cleaned["children"][0]


def test_conditional_required_reports_row_path_when_child_disabled():
    data = {**GOOD, "children": [{"name": "甲", "disabled": False}, {"name": "乙", "disabled": True}]}
    assert errors_of(data) == {"children/1/disability_grade": ["此项必填。"]}


def test_repeating_group_errors_carry_row_index_when_rows_bad():
    data = {**GOOD, "children": [{"name": "", "disabled": False}, {"disabled": True, "disability_grade": 7}]}
    errors = errors_of(data)
    assert set(errors) == {"children/0/name", "children/1/name", "children/1/disability_grade"}


def test_id_card_must_agree_with_birth_date_and_sex_when_both_given():
    errors = errors_of({**GOOD, "birth_date": "1950-01-01", "sex": "M"})
    assert len(errors["id_card"]) == 2


def test_invalid_id_card_is_refused_when_checksum_wrong():
    assert "id_card" in errors_of({**GOOD, "id_card": "340521198203150026"})


def test_required_and_types_are_reported_all_at_once_when_many_errors():
    errors = errors_of({"household_size": 0, "household_income": "12.345", "mobile": "123"})
    assert set(errors) == {"applicant", "household_size", "household_income", "mobile"}


def test_date_rules_refuse_future_and_order_when_dates_bad():
    assert "applied_on" in errors_of({**GOOD, "applied_on": "2014-01-01"})
    assert "applied_on" in errors_of({**GOOD, "married_on": "2013-05-01", "applied_on": "2013-04-01"})
    assert check({**GOOD, "married_on": "2013-04-01", "applied_on": "2013-05-01"})


def test_english_messages_when_language_is_english():
    from django.utils import translation

    with translation.override("en"):
        errors = errors_of({**GOOD, "applicant": None})
    assert errors["applicant"] == ["Must be text."]


def test_oversized_and_deeply_nested_data_refused_when_hostile():
    with pytest.raises(FormInvalid) as info:
        check({**GOOD, "applicant": "x" * (1024 * 1024 + 10)})
    assert info.value.code == "too_large"
    nested: list = []
    for _ in range(20):
        nested = [nested]
    assert "" in errors_of({**GOOD, "children": nested})


def test_remote_ref_is_never_fetched_when_schema_points_outside():
    schema = {"type": "object", "properties": {"x": {"$ref": "https://example.invalid/evil.json"}}}
    with pytest.raises(Exception) as info:
        validate_submission(schema, {}, {"x": 1})
    assert "example.invalid" in str(info.value)


def test_step_validation_checks_only_that_steps_fields_when_partial():
    assert check({"applicant": "王芳"}, only_fields={"applicant"})["applicant"] == "王芳"
