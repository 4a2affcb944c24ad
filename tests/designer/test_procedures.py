"""Procedure list, create, duplicate, retire, export and import through the designer's pages."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from govflow.audit.models import AuditEvent
from govflow.cases.services import case_start
from govflow.errors import NotFound
from govflow.forms.models import FormVersion
from govflow.workflows.models import WorkflowVersion
from govflow.workflows.selectors import workflow_version_get
from tests.designer.conftest import VILLAGE


def start_case(staff):
    return case_start(
        user=staff["clerk_a"],
        procedure_key="test_every_kind",
        area_code=VILLAGE,
        data={"applicant": "张三", "amount": 100},
    )


def test_procedure_list_shows_versions_status_author_and_running_cases_when_published(
    designer_client, every_kind, staff
):
    start_case(staff)
    response = designer_client.get(reverse("designer:procedures"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "测试：全部节点类型" in html and "test_every_kind" in html
    assert "已发布" in html and "v1 · 1 件" in html
    assert f'href="{reverse("designer:workflow", args=["test_every_kind"])}"' in html


def test_procedure_create_saves_a_draft_with_a_start_and_an_end_when_key_is_new(designer_client, staff):
    response = designer_client.post(
        reverse("designer:procedure_create"),
        {
            "key": "new_thing",
            "title_zh": "新事项",
            "title_en": "New thing",
            "code": "NT",
            "level": "village",
            "roles": ["village_clerk"],
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("designer:workflow", args=["new_thing"])
    draft = WorkflowVersion.objects.get(key="new_thing")
    assert draft.status == "draft" and draft.created_by == staff["designer"]
    assert draft.document["title"] == {"zh": "新事项", "en": "New thing"}
    assert [n["kind"] for n in draft.document["nodes"]] == ["start", "end"]
    assert draft.errors == []


def test_procedure_create_refuses_the_key_when_it_is_taken(designer_client, every_kind):
    response = designer_client.post(
        reverse("designer:procedure_create"),
        {
            "key": "test_every_kind",
            "title_zh": "重复",
            "code": "RE",
            "level": "village",
            "roles": ["village_clerk"],
        },
    )
    assert response.status_code == 200
    assert "已被使用" in response.content.decode()
    assert WorkflowVersion.objects.filter(key="test_every_kind").count() == 1


def test_procedure_duplicate_copies_the_workflow_as_a_draft_under_the_new_key(designer_client, every_kind):
    response = designer_client.post(
        reverse("designer:procedure_duplicate", args=["test_every_kind"]),
        {"key": "every_kind_copy", "title_zh": "副本"},
    )
    assert response.status_code == 302
    copy = WorkflowVersion.objects.get(key="every_kind_copy")
    assert copy.status == "draft" and copy.version == 1
    assert copy.document["title"] == {"zh": "副本"}
    assert copy.document["nodes"] == every_kind.document["nodes"]
    assert copy.errors == []
    every_kind.refresh_from_db()
    assert every_kind.status == "published"


def test_procedure_duplicate_copies_the_forms_under_new_keys_when_asked(designer_client, every_kind):
    designer_client.post(
        reverse("designer:procedure_duplicate", args=["test_every_kind"]),
        {"key": "kind_two", "title_zh": "副本", "copy_forms": "on"},
    )
    copy = WorkflowVersion.objects.get(key="kind_two")
    forms = {n["form"] for n in copy.document["nodes"] if n.get("form")}
    assert forms == {"kind_two_t_apply", "kind_two_t_review", "kind_two_t_check", "kind_two_t_pay"}
    review = FormVersion.objects.get(key="kind_two_t_review")
    assert review.status == "draft"
    assert review.schema == FormVersion.objects.get(key="t_review").schema
    # the copy's forms are drafts, which the designer counts as existing; its errors are only about that
    assert all("尚未发布" in e["message"] for e in copy.errors)


def test_procedure_retire_stops_new_cases_keeps_running_ones_and_is_audited_when_published(
    designer_client, every_kind, staff
):
    running = start_case(staff)
    response = designer_client.post(reverse("designer:procedure_retire", args=["test_every_kind"]))
    assert response.status_code == 302
    every_kind.refresh_from_db()
    assert every_kind.status == "retired"
    event = AuditEvent.objects.get(action="definition.retired")
    assert event.procedure_key == "test_every_kind" and event.data["version"] == 1
    with pytest.raises(NotFound):
        start_case(staff)
    running.refresh_from_db()
    assert running.status == "open" and running.workflow_id == every_kind.pk
    listing = designer_client.get(reverse("designer:procedures")).content.decode()
    assert "已停用" in listing


def test_procedure_export_zips_the_roles_forms_and_workflow_files_when_published(designer_client, every_kind):
    response = designer_client.get(reverse("designer:procedure_export", args=["test_every_kind"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = sorted(archive.namelist())
    assert names == [
        "forms/t_apply.json",
        "forms/t_check.json",
        "forms/t_pay.json",
        "forms/t_review.json",
        "roles/catalog.json",
        "workflows/test_every_kind.json",
    ]
    workflow = json.loads(archive.read("workflows/test_every_kind.json"))
    assert workflow["nodes"] == every_kind.document["nodes"]
    roles = {r["key"] for r in json.loads(archive.read("roles/catalog.json"))["roles"]}
    assert roles == {
        "village_clerk",
        "township_reviewer",
        "township_leader",
        "county_approver",
        "county_cashier",
    }


def _zip(files: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(
                name, content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
            )
    return buffer.getvalue()


def _upload(client, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        reverse("designer:import"), {"bundle": SimpleUploadedFile("bundle.zip", data, "application/zip")}
    )


def test_bundle_import_publishes_only_what_changed_when_an_exported_zip_comes_back(
    designer_client, every_kind
):
    exported = designer_client.get(reverse("designer:procedure_export", args=["test_every_kind"])).content
    archive = zipfile.ZipFile(io.BytesIO(exported))
    files = {name: archive.read(name).decode() for name in archive.namelist()}
    workflow = json.loads(files["workflows/test_every_kind.json"])
    workflow["title"]["zh"] = "测试：改了名字"
    files["workflows/test_every_kind.json"] = json.dumps(workflow, ensure_ascii=False)
    files = {f"export/{name}": content for name, content in files.items()}  # zipped with a top folder
    response = _upload(designer_client, _zip(files))
    assert response.status_code == 200
    html = response.content.decode()
    assert "workflows/test_every_kind.json" in html and "forms/t_apply.json" in html
    latest = workflow_version_get(key="test_every_kind")
    assert latest.version == 2 and latest.title_zh == "测试：改了名字"
    assert FormVersion.objects.filter(key="t_apply").count() == 1
    assert (
        AuditEvent.objects.filter(action="definition.published", procedure_key="test_every_kind").count() == 2
    )


def test_bundle_import_refuses_paths_outside_the_library_folders_and_imports_nothing(designer_client, staff):
    form = {"key": "zz_form", "title": {"zh": "表"}, "schema": {"type": "object", "properties": {}}}
    response = _upload(designer_client, _zip({"forms/zz_form.json": form, "../../etc/evil.json": "{}"}))
    assert response.status_code == 400
    assert "不是事项库文件" in response.content.decode()
    assert not FormVersion.objects.filter(key="zz_form").exists()


def test_bundle_import_lists_every_error_with_file_and_path_and_imports_nothing_when_a_file_is_invalid(
    designer_client, staff
):
    good = {"key": "zz_good", "title": {"zh": "好"}, "schema": {"type": "object", "properties": {}}}
    bad = {
        "key": "zz_bad",
        "title": {"zh": "坏"},
        "schema": {"type": "object", "properties": {"a": {"enum": [1]}}},
        "ui": {"fields": {"a": {"widget": "radio"}}},
    }
    response = _upload(designer_client, _zip({"forms/zz_good.json": good, "forms/zz_bad.json": bad}))
    assert response.status_code == 400
    html = response.content.decode()
    assert "<code>forms/zz_bad.json</code> <code>/ui/fields/a/enum_labels</code>" in html
    assert "选项缺少显示名称" in html
    assert not FormVersion.objects.filter(key__in=["zz_good", "zz_bad"]).exists()


def test_bundle_import_says_so_when_the_upload_is_not_a_zip(designer_client, staff):
    response = _upload(designer_client, b"not a zip at all")
    assert response.status_code == 400
    assert "不是有效的 zip 文件" in response.content.decode()


def test_procedure_detail_shows_versions_and_the_forms_it_uses(designer_client, every_kind):
    html = designer_client.get(reverse("designer:procedure", args=["test_every_kind"])).content.decode()
    assert "v1" in html and "t_review" in html and "t_apply" in html


def test_bundle_import_refuses_to_change_what_an_existing_role_may_do(designer_client, every_kind):
    from govflow.roles.models import Role

    catalog = {
        "roles": [
            {"key": "village_clerk", "name_zh": "村计生专干", "levels": ["village"], "can_design": True}
        ]
    }
    response = _upload(designer_client, _zip({"roles/catalog.json": catalog}))
    assert response.status_code == 400
    assert "/roles/0/can_design" in response.content.decode()
    assert Role.objects.get(key="village_clerk").can_design is False
