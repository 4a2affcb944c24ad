"""Submitted data never crashes validate_submission: it is accepted or refused with FormInvalid, whose field
errors are keyed by JSON paths that exist in the data or in the form's schema, and it is refused quickly.

Valid-looking data comes from each shipped form's JSON Schema (hypothesis-jsonschema for the leaves, with
strategies for our custom formats); hostile data is arbitrary JSON keyed by the form's own field names.

hypothesis-jsonschema 0.23.1 cannot draw objects with Hypothesis >= 6.150 (`'many' object has no attribute
'more'`), so objects and arrays are built here (`schema_strategy`) and only leaf schemas go to from_schema.
"""

from __future__ import annotations

import json
import math
import time
from datetime import date
from typing import Any
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from govflow.forms.formats import ID_CHECK, ID_WEIGHTS
from govflow.forms.validation import MAX_DEPTH, FormInvalid, validate_submission
from tests.hostile import hostile, library

FORMS = library("forms")
TIME_BOX = 1.0  # seconds per submission, generous: the real cost is milliseconds
# Generated numbers go far beyond any real amount (the money format refuses them cleanly).
MAX_MAGNITUDE = 10**40


def _with_check_digit(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + ID_CHECK[total % 11]


ID_CARDS = st.builds(
    lambda area, born, seq: _with_check_digit(f"{area}{born:%Y%m%d}{seq:03d}"),
    st.sampled_from(["371727", "110105", "440524", "510104"]),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2024, 12, 31)),
    st.integers(0, 999),
)
MOBILES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
MONEY_TEXT = st.integers(0, 10**9).map(lambda cents: f"{cents // 100}.{cents % 100:02d}")
AREA_CODES = st.sampled_from(["371727", "371727100", "371727100201"])
DATES = st.dates(min_value=date(1900, 1, 1), max_value=date(2035, 12, 31)).map(date.isoformat)
CUSTOM_FORMATS = {"cn-id-card": ID_CARDS, "cn-mobile": MOBILES, "money": MONEY_TEXT, "area-code": AREA_CODES}


def schema_strategy(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Data that (mostly) fits a form schema: objects and arrays built here, leaves by hypothesis-jsonschema."""
    kind = schema.get("type")
    if "enum" in schema or "const" in schema:
        return from_schema(schema)
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return st.fixed_dictionaries(
            {k: schema_strategy(v) for k, v in properties.items() if k in required},
            optional={k: schema_strategy(v) for k, v in properties.items() if k not in required},
        )
    if kind == "array" and isinstance(schema.get("items"), dict):
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", low + 3), low + 3)
        unique_by = (lambda v: json.dumps(v, sort_keys=True)) if schema.get("uniqueItems") else None
        return st.lists(schema_strategy(schema["items"]), min_size=low, max_size=high, unique_by=unique_by)
    fmt = schema.get("format")
    if fmt == "money" and kind in ("number", "integer"):
        cents = st.integers(0, 10**9)
        return cents.map(lambda c: c // 100) if kind == "integer" else cents.map(lambda c: c / 100)
    if fmt == "date" and kind == "string":
        return DATES
    return from_schema(schema, custom_formats=CUSTOM_FORMATS)


SAFE_KEYS = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_MAGNITUDE, MAX_MAGNITUDE)
    | st.floats(min_value=-1e40, max_value=1e40)
    | st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e-300])
    | st.text(max_size=30)
    | st.sampled_from(["", "2013-02-30", "0000-00-00", "1.005", "-1", "11010519491231002X", "NaN", "1e3"])
)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(keys, inner, max_size=5),
        max_leaves=25,
    )


def _in_data(parts: list[str], node: Any) -> bool:
    for part in parts:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    return True


def _in_schema(parts: list[str], node: Any) -> bool:
    for part in parts:
        if not isinstance(node, dict):
            return False
        if part.isdigit() and isinstance(node.get("items"), dict):
            node = node["items"]
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            return False
    return True


def assert_refused_or_accepted(document: dict[str, Any], data: Any) -> None:
    start = time.perf_counter()
    try:
        with mock.patch("govflow.roles.models.Area") as area:  # area-code looks codes up in the database
            area.objects.filter.return_value.exists.return_value = True
            cleaned = validate_submission(document["schema"], document.get("ui"), data)
    except FormInvalid as exc:
        assert exc.field_errors, "FormInvalid without field errors"
        for path, messages in exc.field_errors.items():
            assert isinstance(path, str)
            assert (
                path == ""
                or _in_data(path.split("/"), data)
                or _in_schema(path.split("/"), document["schema"])
            ), f"error path {path!r} is neither in the data nor in the schema"
            assert messages and all(str(m) for m in messages)
    else:
        assert isinstance(cleaned, dict)
        assert set(cleaned) <= set(document["schema"].get("properties", {}))
    elapsed = time.perf_counter() - start
    assert elapsed < TIME_BOX, f"validation took {elapsed:.2f}s"


@pytest.mark.parametrize("name", sorted(FORMS))
@hostile(25)
@given(data=st.data())
def test_schema_shaped_data_is_accepted_or_refused_by_path(name, data):
    document = FORMS[name]
    assert_refused_or_accepted(document, data.draw(schema_strategy(document["schema"]), label="submission"))


@pytest.mark.parametrize("name", sorted(FORMS))
@hostile(15)
@given(data=st.data())
def test_schema_shaped_data_with_one_hostile_field_is_refused_by_path(name, data):
    document = FORMS[name]
    submission = data.draw(schema_strategy(document["schema"]), label="submission")
    field = data.draw(st.sampled_from(sorted(document["schema"]["properties"])), label="field")
    submission[field] = data.draw(json_values(SAFE_KEYS), label="value")
    assert_refused_or_accepted(document, submission)


@pytest.mark.parametrize("name", sorted(FORMS))
@hostile(15)
@given(data=st.data())
def test_arbitrary_json_is_refused_by_path_never_crashes(name, data):
    document = FORMS[name]
    keys = st.sampled_from(sorted(document["schema"]["properties"])) | SAFE_KEYS
    submission = data.draw(st.dictionaries(keys, json_values(keys), max_size=8) | json_values(keys))
    assert_refused_or_accepted(document, submission)


def _nested(depth: int, leaf: Any = 1) -> Any:
    value: Any = leaf
    for i in range(depth):
        value = {"children": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize("depth", [MAX_DEPTH, MAX_DEPTH + 1, 50, 500, 900])
def test_deeply_nested_data_is_refused_quickly(depth):
    document = FORMS["assistance_application.json"]
    start = time.perf_counter()
    with pytest.raises(FormInvalid) as info:
        validate_submission(document["schema"], document["ui"], {"children": _nested(depth)})
    assert time.perf_counter() - start < TIME_BOX
    if depth > MAX_DEPTH:
        assert info.value.field_errors == {"": [mock.ANY]}


@pytest.mark.parametrize(
    "data",
    [
        {"note": "字" * 600_000},  # over 1 MiB once encoded
        {"note": [0] * 400_000},
        {f"k{i}": i for i in range(200_000)},
        {"children": [{"name": "x" * 100}] * 20_000},
    ],
    ids=["long-text", "long-list", "many-keys", "many-rows"],
)
def test_huge_data_is_refused_quickly(data):
    document = FORMS["assistance_application.json"]
    start = time.perf_counter()
    with pytest.raises(FormInvalid):
        validate_submission(document["schema"], document["ui"], data)
    assert time.perf_counter() - start < TIME_BOX


@pytest.mark.parametrize("data", [None, [], "text", 1, [{"a": 1}]])
def test_non_object_submission_is_refused_as_a_whole(data):
    with pytest.raises(FormInvalid) as info:
        validate_submission(FORMS["birth_register.json"]["schema"], {}, data)
    assert list(info.value.field_errors) == [""]


# --- bugs these tests found, now fixed: kept as regressions ----------------------------------------------


def test_data_nested_deeper_than_the_recursion_limit_is_refused():
    document = FORMS["assistance_application.json"]
    with pytest.raises(FormInvalid):
        validate_submission(document["schema"], document["ui"], {"children": _nested(5000)})


def test_huge_money_amount_is_refused_not_crashed():
    from decimal import InvalidOperation

    document = FORMS["social_fee_investigation.json"]
    try:
        validate_submission(document["schema"], document["ui"], {"household_income": 10**30})
    except FormInvalid as exc:
        assert "household_income" in exc.field_errors
    except InvalidOperation:
        pytest.fail("decimal.InvalidOperation escaped validate_submission")


def test_each_missing_field_is_reported_once():
    with pytest.raises(FormInvalid) as info:
        validate_submission(FORMS["birth_register.json"]["schema"], {}, {})
    assert all(len(messages) == 1 for messages in info.value.field_errors.values())
