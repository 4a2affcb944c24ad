"""Broken definitions are reported, never crash the checker: random mutations of the shipped workflows and
forms give a list of {"path", "message"} errors whose paths are JSON pointers into the mutated document."""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govflow.forms.definitions import check_form_document
from govflow.workflows.definitions import check_workflow_document
from tests.hostile import hostile, library, roles_catalog

WORKFLOWS = library("workflows")
FORMS = library("forms")
FORM_KEYS = {document["key"] for document in FORMS.values()}
ROLES = roles_catalog()
TIME_BOX = 2.0  # seconds per check; the real cost is a few milliseconds
EXPRESSION_KEYS = {"expr", "condition", "date", "visible_if", "required_if", "computed"}

RANDOM_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
EXPRESSION_TEXT = st.text(max_size=40) | st.sampled_from(
    ["", "1 +", "__import__('os')", "x.__class__", "(" * 60 + "1" + ")" * 60, "ghost > 1", "a ? b"]
)


def check_workflow(document: Any) -> list[dict[str, Any]]:
    return check_workflow_document(
        document,
        file="workflows/x.json",
        forms=lambda keys: keys & FORM_KEYS,
        roles=lambda keys: {k: ROLES[k] for k in keys if k in ROLES},
    )


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in the document (the root excluded)."""
    found = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        found.append((*prefix, key))
        found.extend(_paths(value, (*prefix, key)))
    return found


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


def _resolves(document: Any, pointer: str) -> bool:
    """Whether a JSON pointer names a value of the document, or a member missing from an object in it."""
    if pointer == "":
        return True
    if not pointer.startswith("/"):
        return False
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer[1:].split("/")]
    node = document
    for i, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return i == len(parts) - 1 and isinstance(node, dict)  # "missing key" errors
    return True


@st.composite
def mutated(draw: Any, document: dict[str, Any], id_lists: tuple[str, ...]) -> dict[str, Any]:
    """The document after one to three random mutations."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3), label="mutations")):
        paths = _paths(doc)
        kind = draw(
            st.sampled_from(
                [
                    "delete_item",
                    "retarget_edge",
                    "drop_condition",
                    "duplicate_id",
                    "expression",
                    "retype",
                    "drop",
                ]
            ),
            label="kind",
        )
        lists = [p for p in paths if isinstance(_get(doc, p), list) and _get(doc, p)]
        if kind == "delete_item" and lists:
            target = _get(doc, draw(st.sampled_from(lists)))
            del target[draw(st.integers(0, len(target) - 1))]
        elif kind == "retarget_edge" and isinstance(doc.get("edges"), list) and doc["edges"]:
            edge = draw(st.sampled_from(doc["edges"]))
            if isinstance(edge, dict):
                edge[draw(st.sampled_from(["to", "from"]))] = draw(
                    st.sampled_from(
                        [n.get("id") for n in doc.get("nodes", []) if isinstance(n, dict)] or ["x"]
                    )
                    | st.text(max_size=10)
                )
        elif kind == "drop_condition":
            holders = [p for p in paths if isinstance(_get(doc, p), dict) and "condition" in _get(doc, p)]
            holders += [p for p in paths if isinstance(_get(doc, p), dict) and "default" in _get(doc, p)]
            if holders:
                holder = _get(doc, draw(st.sampled_from(holders)))
                holder.pop(draw(st.sampled_from(["condition", "default"])), None)
        elif kind == "duplicate_id":
            ids = [p for p in paths if p and p[-1] in ("id", "key", "var")]
            if len(ids) >= 2:
                a, b = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
                _get(doc, a[:-1])[a[-1]] = copy.deepcopy(_get(doc, b))
        elif kind == "expression":
            texts = [p for p in paths if p[-1] in EXPRESSION_KEYS and isinstance(_get(doc, p), str)]
            if texts:
                path = draw(st.sampled_from(texts))
                _get(doc, path[:-1])[path[-1]] = draw(EXPRESSION_TEXT)
        elif kind == "retype" and paths:
            path = draw(st.sampled_from(paths))
            _get(doc, path[:-1])[path[-1]] = draw(RANDOM_JSON)
        elif kind == "drop" and paths:
            path = draw(st.sampled_from(paths))
            container = _get(doc, path[:-1])
            if isinstance(container, dict):
                del container[path[-1]]
            else:
                container.pop(path[-1])
    return doc


def _non_object_properties(node: Any) -> bool:
    """A schema node (below the root) whose "properties" is not an object (tested on its own below)."""
    if isinstance(node, dict):
        if "properties" in node and not isinstance(node["properties"], dict):
            return True
        return any(_non_object_properties(v) for v in node.values())
    if isinstance(node, list):
        return any(_non_object_properties(v) for v in node)
    return False


def assert_reported(checker: Any, document: Any) -> None:
    start = time.perf_counter()
    errors = checker(document)
    elapsed = time.perf_counter() - start
    assert isinstance(errors, list)
    for error in errors:
        assert isinstance(error, dict) and isinstance(error["path"], str), error
        assert str(error["message"]), error
        assert _resolves(document, error["path"]), f"path {error['path']!r} is not in the document"
    assert elapsed < TIME_BOX, f"check took {elapsed:.2f}s"


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_shipped_workflow_has_no_errors(name):
    assert check_workflow(WORKFLOWS[name]) == []


@pytest.mark.parametrize("name", sorted(FORMS))
def test_shipped_form_has_no_errors(name):
    assert check_form_document(FORMS[name], file=name) == []


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
@hostile(60)
@given(data=st.data())
def test_mutated_workflow_is_reported_never_raises(name, data):
    document = data.draw(mutated(WORKFLOWS[name], ("nodes", "edges")), label="workflow")
    assert_reported(check_workflow, document)


@pytest.mark.parametrize("name", sorted(FORMS)[::3])
@hostile(25)
@given(data=st.data())
def test_mutated_form_is_reported_never_raises(name, data):
    document = data.draw(mutated(FORMS[name], ()), label="form")
    assert_reported(lambda d: check_form_document(d, file=name), document)


@hostile(60)
@given(document=RANDOM_JSON)
def test_random_json_as_a_definition_is_reported_never_raises(document):
    assert_reported(check_workflow, document)
    assert_reported(lambda d: check_form_document(d, file="forms/x.json"), document)


def test_nested_properties_that_are_not_an_object_are_reported():
    document = copy.deepcopy(FORMS["assistance_application.json"])
    document["schema"]["properties"]["husband"]["properties"] = None
    assert_reported(lambda d: check_form_document(d, file="forms/x.json"), document)
