from govflow.forms.definitions import check_form_document

GOOD = {
    "key": "assistance_application",
    "title": {"zh": "奖励扶助申请", "en": "Reward assistance application"},
    "schema": {
        "type": "object",
        "required": ["applicant"],
        "properties": {
            "applicant": {"type": "string", "title": "申请人", "pattern": "^[\\u4e00-\\u9fa5·]{2,20}$"},
            "hukou": {"enum": ["rural", "urban"]},
            "income": {"type": "number", "format": "money"},
            "size": {"type": "integer", "minimum": 1},
            "per_capita": {"type": "number"},
            "children": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"disabled": {"type": "boolean"}, "grade": {"type": "integer"}},
                },
            },
        },
    },
    "ui": {
        "fields": {
            "hukou": {"widget": "radio", "enum_labels": {"rural": {"zh": "农业"}, "urban": {"zh": "非农业"}}},
            "per_capita": {"computed": "round(income / size, 2)"},
            "children/*/grade": {"visible_if": "disabled", "required_if": "disabled"},
        },
        "steps": [
            {"key": "who", "title": {"zh": "申请人"}, "fields": ["applicant", "hukou"]},
            {
                "key": "family",
                "title": {"zh": "家庭"},
                "fields": ["income", "size", "per_capita", "children"],
            },
        ],
    },
}


def paths(document):
    return [e["path"] for e in check_form_document(document, file="forms/x.json")]


def test_good_definition_has_no_errors_when_checked():
    assert check_form_document(GOOD, file="forms/x.json") == []


def test_all_layers_report_paths_at_once_when_definition_broken():
    broken = {
        **GOOD,
        "schema": {
            **GOOD["schema"],
            "properties": {
                **GOOD["schema"]["properties"],
                "remote": {"$ref": "https://example.invalid/x.json"},
                "evil": {"type": "string", "pattern": "(a+)+$"},
                "bad_type": {"type": "strin"},
            },
        },
        "ui": {
            "fields": {
                **GOOD["ui"]["fields"],
                "ghost": {"widget": "text"},
                "per_capita": {"computed": "round(incom / size, 2)"},
                "hukou": {"enum_labels": {"rural": {"zh": "农业"}}},
                "size": {"visible_if": "income >"},
            },
            "steps": [{"key": "only", "title": {"zh": "一"}, "fields": ["applicant", "applicant"]}],
        },
    }
    found = paths(broken)
    for expected in [
        "/schema/properties/remote/$ref",
        "/schema/properties/evil/pattern",
        "/schema/properties/bad_type/type",
        "/ui/fields/ghost",
        "/ui/fields/per_capita/computed",
        "/ui/fields/hukou/enum_labels",
        "/ui/fields/size/visible_if",
        "/ui/steps/0/fields/1",
        "/ui/steps",
    ]:
        assert expected in found, (expected, found)


def test_file_shape_errors_are_reported_when_keys_missing():
    assert "/title" in paths({"key": "x_form", "schema": {"type": "object"}, "title": {"en": "no zh"}})
    found = paths({"key": "Bad Key"})
    assert "/key" in found and "" in found  # bad key pattern; missing title and schema at the root
