import copy

import pytest

from govflow.audit.models import AuditEvent
from govflow.errors import DefinitionInvalid, NotFound
from govflow.forms.models import PublishedVersionImmutable
from govflow.forms.selectors import form_version_get
from govflow.forms.services import (
    FormInvalid,
    form_diff,
    form_draft_save,
    form_export,
    form_import,
    form_publish,
    submission_validate,
)
from tests.forms.test_definitions import GOOD


def test_import_publishes_once_and_round_trips_when_unchanged(db):
    version, created = form_import(document=GOOD)
    assert created and version.version == 1 and version.status == "published"
    again, created_again = form_import(document=form_export(version))
    assert not created_again and again.pk == version.pk
    assert form_export(version) == GOOD
    assert AuditEvent.objects.filter(action="definition.published").count() == 1


def test_new_content_makes_new_version_and_old_stays_when_reimported(db):
    v1, _ = form_import(document=GOOD)
    changed = copy.deepcopy(GOOD)
    changed["schema"]["properties"]["phone"] = {"type": "string", "format": "cn-mobile"}
    changed["ui"]["steps"][0]["fields"].append("phone")
    v2, created = form_import(document=changed)
    assert created and v2.version == 2
    v1.refresh_from_db()
    assert v1.status == "retired" and "phone" not in v1.schema["properties"]
    assert form_version_get(key=GOOD["key"]).pk == v2.pk
    assert form_version_get(key=GOOD["key"], version=1).pk == v1.pk


def test_published_version_refuses_edit_when_saved(db):
    version, _ = form_import(document=GOOD)
    version.schema = {"type": "object"}
    with pytest.raises(PublishedVersionImmutable):
        version.save()


def test_invalid_draft_saves_but_cannot_publish_when_broken(db):
    broken = copy.deepcopy(GOOD)
    broken["ui"]["fields"]["ghost"] = {"widget": "text"}
    draft = form_draft_save(key=GOOD["key"], document=broken)
    assert draft.status == "draft" and draft.errors
    with pytest.raises(DefinitionInvalid) as info:
        form_publish(version=draft)
    assert info.value.errors[0]["path"] == "/ui/fields/ghost"
    with pytest.raises(NotFound):
        form_version_get(key=GOOD["key"])


def test_diff_lists_exact_changes_when_versions_differ(db):
    v1, _ = form_import(document=GOOD)
    changed = copy.deepcopy(GOOD)
    del changed["schema"]["properties"]["income"]
    changed["ui"]["steps"][1]["fields"].remove("income")
    changed["schema"]["properties"]["size"]["minimum"] = 2
    changed["ui"]["fields"]["per_capita"]["computed"] = "0"
    v2 = form_draft_save(key=GOOD["key"], document=changed)
    assert form_diff(v1, v2) == [
        {"change": "field_removed", "field": "income", "label": "income"},
        {"change": "field_changed", "field": "size", "label": "size"},
        {
            "change": "rule_changed",
            "field": "per_capita",
            "rule": "computed",
            "old": "round(income / size, 2)",
            "new": "0",
        },
        {"change": "steps_changed"},
    ]


def test_submission_validate_checks_one_step_when_partial(db):
    version, _ = form_import(document=GOOD)
    assert submission_validate(form=version, data={"applicant": "王芳"}, partial_step="who") == {
        "applicant": "王芳"
    }
    with pytest.raises(FormInvalid) as info:
        submission_validate(form=version, data={"size": 0}, partial_step="family")
    assert set(info.value.field_errors) == {"size"}


def test_draft_save_refuses_with_translated_error_when_document_not_object(db):
    with pytest.raises(DefinitionInvalid) as info:
        form_draft_save(key="x_form", document=["not", "an", "object"])
    assert info.value.errors[0]["message"] == "表单定义应为对象。"
