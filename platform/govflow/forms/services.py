"""Writing form definitions: import, drafts, publish, diff, export, and the submission validator door."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.audit.services import audit_record
from govflow.errors import DefinitionInvalid, ValidationFailed

from .definitions import check_form_document
from .models import FormDefinition, FormVersion
from .validation import FormInvalid, validate_submission

__all__ = [
    "FormInvalid",
    "form_check_definition",
    "form_diff",
    "form_draft_save",
    "form_export",
    "form_import",
    "form_publish",
    "submission_validate",
]


def form_check_definition(document: Any, *, file: str = "") -> list[dict[str, Any]]:
    return check_form_document(document, file=file)


def _checksum(document: dict[str, Any]) -> str:
    content = {k: document.get(k) for k in ("key", "title", "schema", "ui")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def form_export(version: FormVersion) -> dict[str, Any]:
    """The file document of a version; form_import(form_export(v)) creates nothing new."""
    title = {"zh": version.title_zh}
    if version.title_en:
        title["en"] = version.title_en
    document: dict[str, Any] = {"key": version.key, "title": title, "schema": version.schema}
    if version.ui_schema:
        document["ui"] = version.ui_schema
    return document


def _new_version(
    definition: FormDefinition, document: dict[str, Any], actor: Any, errors: list
) -> FormVersion:
    last = definition.versions.order_by("-version").first()
    return FormVersion.objects.create(
        definition=definition,
        key=definition.key,
        version=(last.version + 1) if last else 1,
        title_zh=document.get("title", {}).get("zh", ""),
        title_en=document.get("title", {}).get("en", ""),
        schema=document.get("schema", {}),
        ui_schema=document.get("ui", {}),
        checksum=_checksum(document),
        errors=errors,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


@transaction.atomic
def form_draft_save(*, key: str, document: dict[str, Any], actor: Any = None) -> FormVersion:
    """Save a draft (it may be invalid; its errors are stored with it). Reuses the open draft if any."""
    if not isinstance(document, dict):
        raise DefinitionInvalid(errors=[{"file": "", "path": "", "message": _("表单定义应为对象。")}])
    definition, _created = FormDefinition.objects.get_or_create(key=key)
    document = {**document, "key": key}
    errors = check_form_document(document)
    draft = definition.versions.filter(status=FormVersion.Status.DRAFT).order_by("-version").first()
    if draft is None:
        return _new_version(definition, document, actor, errors)
    draft.title_zh = document.get("title", {}).get("zh", "")
    draft.title_en = document.get("title", {}).get("en", "")
    draft.schema = document.get("schema", {})
    draft.ui_schema = document.get("ui", {})
    draft.checksum = _checksum(document)
    draft.errors = errors
    draft.save()
    return draft


@transaction.atomic
def form_publish(*, version: FormVersion, actor: Any = None, change_note: str = "") -> FormVersion:
    """Publish a draft: refuses one with errors (DefinitionInvalid); retires the previous published version."""
    version = FormVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != FormVersion.Status.DRAFT:
        raise ValidationFailed(_("只有草稿可以发布。"), code="not_draft")
    errors = check_form_document(form_export(version))
    if errors:
        raise DefinitionInvalid(errors=errors)
    previous = (
        FormVersion.objects.filter(definition=version.definition, status=FormVersion.Status.PUBLISHED)
        .exclude(pk=version.pk)
        .first()
    )
    diff = form_diff(previous, version)
    if previous is not None:
        FormVersion.objects.filter(pk=previous.pk).update(status=FormVersion.Status.RETIRED)
    FormVersion.objects.filter(pk=version.pk).update(
        status=FormVersion.Status.PUBLISHED,
        published_at=timezone.now(),
        published_by=actor if getattr(actor, "is_authenticated", False) else None,
        change_note=change_note,
        errors=[],
    )
    audit_record(
        action="definition.published",
        actor=actor,
        data={
            "kind": "form",
            "key": version.key,
            "version": version.version,
            "changes": diff,
            "note": change_note,
        },
    )
    version.refresh_from_db()
    return version


@transaction.atomic
def form_import(
    *,
    document: dict[str, Any],
    actor: Any = None,
    publish: bool = True,
    change_note: str = "",
    file: str = "",
) -> tuple[FormVersion, bool]:
    """Import a form file: a new published version only when its content changed. Raises DefinitionInvalid."""
    errors = check_form_document(document, file=file)
    if errors:
        raise DefinitionInvalid(errors=errors)
    definition, _created = FormDefinition.objects.get_or_create(key=document["key"])
    current = definition.versions.filter(status=FormVersion.Status.PUBLISHED).order_by("-version").first()
    if current is not None and current.checksum == _checksum(document):
        return current, False
    version = _new_version(definition, document, actor, [])
    if publish:
        version = form_publish(version=version, actor=actor, change_note=change_note or _("导入"))
    return version, True


def _fields(version: FormVersion | None) -> dict[str, dict[str, Any]]:
    if version is None:
        return {}
    return dict(version.schema.get("properties", {}))


def form_diff(old: FormVersion | None, new: FormVersion) -> list[dict[str, Any]]:
    """What changed between two versions, readable: fields added/removed/changed, rules and steps changed."""
    changes: list[dict[str, Any]] = []
    before, after = _fields(old), _fields(new)
    for name in sorted(set(before) | set(after)):
        label = (after.get(name) or before.get(name) or {}).get("title", name)
        if name not in before:
            changes.append({"change": "field_added", "field": name, "label": label})
        elif name not in after:
            changes.append({"change": "field_removed", "field": name, "label": label})
        elif before[name] != after[name]:
            changes.append({"change": "field_changed", "field": name, "label": label})
    old_ui = old.ui_schema if old else {}
    old_rules, new_rules = old_ui.get("fields", {}), new.ui_schema.get("fields", {})
    for key in sorted(set(old_rules) | set(new_rules)):
        for rule in ("visible_if", "required_if", "computed"):
            a, b = old_rules.get(key, {}).get(rule), new_rules.get(key, {}).get(rule)
            if a != b:
                changes.append({"change": "rule_changed", "field": key, "rule": rule, "old": a, "new": b})
    if old_ui.get("steps") != new.ui_schema.get("steps"):
        changes.append({"change": "steps_changed"})
    if old is not None and (old.title_zh, old.title_en) != (new.title_zh, new.title_en):
        changes.append({"change": "title_changed", "old": old.title_zh, "new": new.title_zh})
    return changes


def submission_validate(
    *,
    form: FormVersion,
    data: Any,
    user: Any = None,
    context: dict[str, Any] | None = None,
    partial_step: str | None = None,
) -> dict[str, Any]:
    """THE validator for submitted data of `form` (web, API, import, engine). Raises FormInvalid."""
    only: set[str] | None = None
    if partial_step is not None:
        steps = {s["key"]: s["fields"] for s in form.ui_schema.get("steps", [])}
        if partial_step not in steps:
            raise ValidationFailed(_("步骤“%(s)s”不存在。") % {"s": partial_step}, code="unknown_step")
        only = set(steps[partial_step])
    return validate_submission(
        form.schema,
        form.ui_schema,
        data,
        context=context,
        only_fields=only,
        cache_key=f"form:{form.pk}:{form.checksum}",
    )
