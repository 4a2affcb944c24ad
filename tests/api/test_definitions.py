"""Designers: validate, import, export, drafts and publishing of definitions through the API."""

from __future__ import annotations

import copy
import json

import pytest

from govflow.workflows.models import WorkflowVersion
from tests.workflows.conftest import DEFINITIONS, load

FILES = ["t_apply.json", "t_review.json", "t_check.json", "t_pay.json", "every_kind.json"]


def library_body(**changed) -> dict:
    files = []
    for name in FILES:
        folder = "workflows" if name == "every_kind.json" else "forms"
        files.append({"name": f"{folder}/{name}", "document": changed.get(name) or load(name)})
    return {"files": files}


@pytest.mark.parametrize("who", ["clerk_a", "reviewer_x", "supervisor", "approver"])
def test_definitions_are_for_designers_only(who, staff, api):
    client = api(who)
    for method, url in (
        ("post", "/api/v1/definitions/validate/"),
        ("post", "/api/v1/definitions/import/"),
        ("get", "/api/v1/definitions/workflows/test_every_kind/export/"),
        ("get", "/api/v1/definitions/workflows/test_every_kind/versions/"),
        ("put", "/api/v1/definitions/forms/t_apply/draft/"),
        ("post", "/api/v1/definitions/workflows/test_every_kind/versions/1/publish/"),
    ):
        response = getattr(client, method)(url, library_body(), format="json")
        assert response.status_code == 403 and response.json()["code"] == "forbidden", (method, url)


def test_validate_reports_errors_by_the_names_sent(staff, api):
    client = api("designer")
    ok = client.post("/api/v1/definitions/validate/", library_body(), format="json")
    assert ok.status_code == 200 and ok.json() == {"valid": True, "errors": []}
    broken = copy.deepcopy(load("every_kind.json"))
    broken["nodes"][1]["role"] = "no_such_role"
    response = client.post(
        "/api/v1/definitions/validate/", library_body(**{"every_kind.json": broken}), format="json"
    )
    body = response.json()
    assert response.status_code == 200 and body["valid"] is False
    assert {e["file"] for e in body["errors"]} == {"workflows/every_kind.json"}
    assert any("nodes/1" in e["path"] for e in body["errors"])
    # Without its forms the workflow is checked against those already imported (none yet).
    alone = client.post(
        "/api/v1/definitions/validate/", {"files": library_body()["files"][-1:]}, format="json"
    )
    assert alone.json()["valid"] is False


def test_bad_request_bodies_have_field_errors_by_json_path(staff, api):
    response = api("designer").post(
        "/api/v1/definitions/validate/",
        {"files": [{"name": "../etc/passwd.json", "document": {}}, {"name": "forms/x.json"}]},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()["field_errors"]) == {"files/0/name", "files/1/document"}
    assert (
        api("designer").post("/api/v1/definitions/validate/", {"files": []}, format="json").status_code == 400
    )


def test_import_publishes_on_change_only_and_is_all_or_nothing(staff, api):
    client = api("designer")
    first = client.post("/api/v1/definitions/import/", library_body(), format="json")
    assert first.status_code == 200, first.json()
    assert sorted(first.json()["created"]) == sorted(
        f"{'workflows' if n == 'every_kind.json' else 'forms'}/{n}" for n in FILES
    )
    again = client.post("/api/v1/definitions/import/", library_body(), format="json").json()
    assert again["created"] == [] and len(again["unchanged"]) == len(FILES)
    broken = copy.deepcopy(load("every_kind.json"))
    broken["title"]["zh"] = "改过的标题"
    broken["edges"] = []
    response = client.post(
        "/api/v1/definitions/import/", library_body(**{"every_kind.json": broken}), format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "definition_invalid"
    assert response.json()["errors"][0]["file"] == "workflows/every_kind.json"
    assert WorkflowVersion.objects.filter(key="test_every_kind").count() == 1
    version = WorkflowVersion.objects.get(key="test_every_kind")
    assert version.published_by.username == "designer"


def test_export_round_trips_through_import(every_kind, api):
    client = api("designer")
    exported = client.get("/api/v1/definitions/workflows/test_every_kind/export/")
    assert exported.status_code == 200
    body = exported.json()
    assert body["key"] == "test_every_kind" and body["version"] == 1
    names = [f["name"] for f in body["files"]]
    assert names[0] == "workflows/test_every_kind.json"
    assert {"forms/t_apply.json", "forms/t_review.json", "forms/t_check.json", "forms/t_pay.json"} <= set(
        names
    )
    back = client.post("/api/v1/definitions/import/", {"files": body["files"]}, format="json").json()
    assert back["created"] == [] and sorted(back["unchanged"]) == sorted(names)
    with_bpmn = client.get("/api/v1/definitions/workflows/test_every_kind/export/?bpmn=true").json()
    bpmn = [f for f in with_bpmn["files"] if f["name"].endswith(".bpmn")]
    assert len(bpmn) == 1 and bpmn[0]["content"].lstrip().startswith("<?xml")
    assert client.get("/api/v1/definitions/workflows/nothing/export/").status_code == 404


def test_draft_then_publish_answers_with_the_changes(every_kind, api):
    client = api("designer")
    document = load("every_kind.json")
    document["nodes"][1]["title"] = {"zh": "乡镇初审", "en": "First review"}
    draft = client.put(
        "/api/v1/definitions/workflows/test_every_kind/draft/", {"document": document}, format="json"
    )
    assert draft.status_code == 200, draft.json()
    assert draft.json()["status"] == "draft" and draft.json()["version"] == 2 and draft.json()["errors"] == []
    versions = client.get("/api/v1/definitions/workflows/test_every_kind/versions/").json()
    assert [(v["version"], v["status"]) for v in versions] == [(2, "draft"), (1, "published")]
    published = client.post(
        "/api/v1/definitions/workflows/test_every_kind/versions/2/publish/",
        {"change_note": "rename"},
        format="json",
    )
    assert published.status_code == 200, published.json()
    body = published.json()
    assert body["version"]["status"] == "published" and body["version"]["change_note"] == "rename"
    assert body["changes"] == [
        {"change": "node_changed", "node": "review", "label": "乡镇初审", "fields": ["title"]}
    ]
    assert client.get("/api/v1/procedures/test_every_kind/").json()["version"] == 2
    again = client.post(
        "/api/v1/definitions/workflows/test_every_kind/versions/2/publish/", {}, format="json"
    )
    assert again.status_code == 400 and again.json()["code"] == "not_draft"
    assert (
        client.post(
            "/api/v1/definitions/workflows/test_every_kind/versions/9/publish/", {}, format="json"
        ).status_code
        == 404
    )


def test_an_invalid_draft_is_saved_with_its_errors_and_cannot_be_published(every_kind, api):
    client = api("designer")
    document = load("every_kind.json")
    document["edges"] = []
    draft = client.put(
        "/api/v1/definitions/workflows/test_every_kind/draft/", {"document": document}, format="json"
    )
    assert draft.status_code == 200 and draft.json()["errors"]
    response = client.post(
        "/api/v1/definitions/workflows/test_every_kind/versions/2/publish/", {}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "definition_invalid"
    assert response.json()["errors"]


def test_form_drafts_and_publishing(every_kind, api):
    client = api("designer")
    document = json.loads((DEFINITIONS / "t_review.json").read_text(encoding="utf-8"))
    document["schema"]["properties"]["note"]["maxLength"] = 100
    draft = client.put("/api/v1/definitions/forms/t_review/draft/", {"document": document}, format="json")
    assert draft.status_code == 200, draft.json()
    assert draft.json()["kind"] == "forms" and draft.json()["status"] == "draft"
    version = draft.json()["version"]
    published = client.post(
        f"/api/v1/definitions/forms/t_review/versions/{version}/publish/", {}, format="json"
    )
    assert published.status_code == 200, published.json()
    assert published.json()["changes"]
    form = client.get("/api/v1/forms/t_review/").json()
    assert form["version"] == version and form["schema"]["properties"]["note"]["maxLength"] == 100
    assert client.get("/api/v1/forms/t_review/?version=1").json()["version"] == 1
    assert client.get("/api/v1/definitions/forms/nothing/versions/").status_code == 404
    assert (
        client.put("/api/v1/definitions/forms/t_review/draft/", {"document": "x"}, format="json").status_code
        == 400
    )
