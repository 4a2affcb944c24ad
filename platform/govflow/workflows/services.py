"""Writing workflow definitions (check, drafts, publish with a diff, import only on change, export) and the
gap-free number sequences that case references and service tasks draw from."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from govflow.audit.services import audit_record
from govflow.errors import DefinitionInvalid, ValidationFailed
from govflow.forms.models import FormVersion

from .definitions import check_workflow_document
from .models import Sequence, WorkflowDefinition, WorkflowVersion

__all__ = [
    "sequence_next",
    "sequence_next_formatted",
    "workflow_check_definition",
    "workflow_diff",
    "workflow_draft_save",
    "workflow_export",
    "workflow_import",
    "workflow_publish",
]

CONTENT_KEYS = (
    "key",
    "title",
    "description",
    "code",
    "summary",
    "report",
    "settings",
    "documents",
    "nodes",
    "edges",
)


def workflow_check_definition(document: Any, *, file: str = "") -> list[dict[str, Any]]:
    return check_workflow_document(document, file=file)


def _content(document: dict[str, Any]) -> dict[str, Any]:
    return {k: document[k] for k in CONTENT_KEYS if k in document}


def _checksum(document: dict[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(_content(document), sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def workflow_export(version: WorkflowVersion) -> dict[str, Any]:
    """The file document of a version; workflow_import(workflow_export(v)) creates nothing new."""
    return _content(version.document)


def _new_version(
    definition: WorkflowDefinition, document: dict[str, Any], actor: Any, errors: list[dict[str, Any]]
) -> WorkflowVersion:
    last = definition.versions.order_by("-version").first()
    return WorkflowVersion.objects.create(
        definition=definition,
        key=definition.key,
        version=(last.version + 1) if last else 1,
        title_zh=(document.get("title") or {}).get("zh", ""),
        title_en=(document.get("title") or {}).get("en", ""),
        code=document.get("code", "") if isinstance(document.get("code"), str) else "",
        document=_content(document),
        checksum=_checksum(document),
        errors=errors,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


@transaction.atomic
def workflow_draft_save(*, key: str, document: dict[str, Any], actor: Any = None) -> WorkflowVersion:
    """Save a draft (it may be invalid; its errors are stored with it). Reuses the open draft if any."""
    if not isinstance(document, dict):
        raise DefinitionInvalid(errors=[{"file": "", "path": "", "message": _("流程定义应为对象。")}])
    definition, _created = WorkflowDefinition.objects.get_or_create(key=key)
    document = {**document, "key": key}
    errors = check_workflow_document(document)
    draft = definition.versions.filter(status=WorkflowVersion.Status.DRAFT).order_by("-version").first()
    if draft is None:
        return _new_version(definition, document, actor, errors)
    draft.title_zh = (document.get("title") or {}).get("zh", "")
    draft.title_en = (document.get("title") or {}).get("en", "")
    draft.code = document.get("code", "") if isinstance(document.get("code"), str) else ""
    draft.document = _content(document)
    draft.checksum = _checksum(document)
    draft.errors = errors
    draft.save()
    return draft


def workflow_diff(old: WorkflowVersion | None, new: WorkflowVersion) -> list[dict[str, Any]]:
    """What changed, readable: nodes added, removed or changed; edges added or removed; title changed."""
    before = {n["id"]: n for n in (old.document["nodes"] if old else [])}
    after = {n["id"]: n for n in new.document["nodes"]}
    changes: list[dict[str, Any]] = []
    for node_id in sorted(set(before) | set(after)):
        label = ((after.get(node_id) or before.get(node_id) or {}).get("title") or {}).get("zh", node_id)
        if node_id not in before:
            changes.append({"change": "node_added", "node": node_id, "label": label})
        elif node_id not in after:
            changes.append({"change": "node_removed", "node": node_id, "label": label})
        elif before[node_id] != after[node_id]:
            fields = sorted(
                k
                for k in set(before[node_id]) | set(after[node_id])
                if before[node_id].get(k) != after[node_id].get(k)
            )
            changes.append({"change": "node_changed", "node": node_id, "label": label, "fields": fields})

    def edge_key(edge: dict[str, Any]) -> str:
        return json.dumps(edge, sort_keys=True, ensure_ascii=False)

    old_edges = {edge_key(e): e for e in (old.document["edges"] if old else [])}
    new_edges = {edge_key(e): e for e in new.document["edges"]}
    for key in sorted(set(new_edges) - set(old_edges)):
        changes.append({"change": "edge_added", "from": new_edges[key]["from"], "to": new_edges[key]["to"]})
    for key in sorted(set(old_edges) - set(new_edges)):
        changes.append({"change": "edge_removed", "from": old_edges[key]["from"], "to": old_edges[key]["to"]})
    if old is not None and (old.title_zh, old.title_en) != (new.title_zh, new.title_en):
        changes.append({"change": "title_changed", "old": old.title_zh, "new": new.title_zh})
    return changes


@transaction.atomic
def workflow_publish(
    *, version: WorkflowVersion, actor: Any = None, change_note: str = ""
) -> WorkflowVersion:
    """Publish a draft: refuses one with errors (DefinitionInvalid); retires the previous published version.
    Running cases keep the version they started on; new cases take this one."""
    version = WorkflowVersion.objects.select_for_update().get(pk=version.pk)
    if version.status != WorkflowVersion.Status.DRAFT:
        raise ValidationFailed(_("只有草稿可以发布。"), code="not_draft")
    errors = check_workflow_document(version.document)
    if errors:
        raise DefinitionInvalid(errors=errors)
    previous = (
        WorkflowVersion.objects.filter(definition=version.definition, status=WorkflowVersion.Status.PUBLISHED)
        .exclude(pk=version.pk)
        .first()
    )
    diff = workflow_diff(previous, version)
    if previous is not None:
        WorkflowVersion.objects.filter(pk=previous.pk).update(status=WorkflowVersion.Status.RETIRED)
    form_keys = {n["form"] for n in version.document["nodes"] if n.get("form")}
    pinned = dict(
        FormVersion.objects.filter(key__in=form_keys, status=FormVersion.Status.PUBLISHED).values_list(
            "key", "pk"
        )
    )
    WorkflowVersion.objects.filter(pk=version.pk).update(
        form_versions=pinned,
        status=WorkflowVersion.Status.PUBLISHED,
        published_at=timezone.now(),
        published_by=actor if getattr(actor, "is_authenticated", False) else None,
        change_note=change_note,
        errors=[],
    )
    audit_record(
        action="definition.published",
        actor=actor,
        procedure_key=version.key,
        data={
            "kind": "workflow",
            "key": version.key,
            "version": version.version,
            "changes": diff,
            "note": change_note,
        },
    )
    version.refresh_from_db()
    return version


@transaction.atomic
def workflow_import(
    *,
    document: dict[str, Any],
    actor: Any = None,
    publish: bool = True,
    change_note: str = "",
    file: str = "",
) -> tuple[WorkflowVersion, bool]:
    """Import a workflow file: a new published version only when its content changed. Raises DefinitionInvalid.

    Forms and roles the workflow names must already be imported (import_procedures orders this)."""
    errors = check_workflow_document(document, file=file)
    if errors:
        raise DefinitionInvalid(errors=errors)
    definition, _created = WorkflowDefinition.objects.get_or_create(key=document["key"])
    current = definition.versions.filter(status=WorkflowVersion.Status.PUBLISHED).order_by("-version").first()
    if current is not None and current.checksum == _checksum(document):
        return current, False
    version = _new_version(definition, document, actor, [])
    if publish:
        version = workflow_publish(version=version, actor=actor, change_note=change_note or _("导入"))
    return version, True


def sequence_next(scope: str) -> int:
    """The next number of a gap-free sequence, in the caller's transaction (rolled back with it)."""
    with transaction.atomic(savepoint=False):
        # One statement in the usual case: the row exists and is incremented under its own row lock.
        table = Sequence._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET last = last + 1 WHERE scope = %s RETURNING last", [scope])  # noqa: S608
            found = cursor.fetchone()
        if found is not None:
            return int(found[0])
        row, _created = Sequence.objects.select_for_update().get_or_create(scope=scope)
        row.last += 1
        row.save(update_fields=["last"])
        return row.last


def sequence_next_formatted(*, county: str, sequence: str, fmt: str, year: int | None = None) -> str:
    """A document number such as 371727-SF-JD-2013-0007: one sequence per county, name and year."""
    year = year or timezone.localdate().year
    number = sequence_next(f"{county}:{sequence}:{year}")
    text = fmt.replace("{county}", county).replace("{year}", str(year)).replace("{sequence}", sequence)
    for width in range(1, 10):
        text = text.replace(f"{{seq:0{width}}}", str(number).zfill(width))
    return text.replace("{seq}", str(number))
