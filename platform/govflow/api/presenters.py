"""Rows -> plain dicts for the response serializers. Reads only what the selectors already loaded."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils.translation import get_language

from govflow.audit.masking import mask_text, mask_value
from govflow.audit.selectors import EventView
from govflow.cases.selectors import localized, shown_id_card, task_routing, task_spec
from govflow.roles.models import CODE_LENGTH
from govflow.roles.selectors import Grant


def area_dict(area: Any) -> dict[str, Any]:
    return {"code": area.code, "name": area.name, "level": area.level, "parent": area.parent_id}


def grant_dict(grant: Grant) -> dict[str, Any]:
    return {
        "role": grant.role_key,
        "role_name": grant.role_name,
        "area_code": grant.area_code,
        "area_name": grant.area_name,
        "area_level": grant.area_level,
        "can_act": grant.can_act,
        "can_supervise": grant.can_supervise,
        "can_design": grant.can_design,
        "can_start": list(grant.can_start),
        "sees_personal_data": grant.sees_personal_data,
    }


def form_dict(form: Any) -> dict[str, Any]:
    title = form.title_en if (get_language() or "").startswith("en") and form.title_en else form.title_zh
    return {
        "key": form.key,
        "version": form.version,
        "title": title,
        "schema": form.schema,
        "ui": form.ui_schema or {},
    }


def start_spec(version: Any) -> dict[str, Any]:
    return next((n for n in version.document.get("nodes", []) if n.get("kind") == "start"), {})


def procedure_dict(version: Any, *, may_start: bool) -> dict[str, Any]:
    start = start_spec(version)
    return {
        "key": version.key,
        "version": version.version,
        "title": version.title,
        "title_zh": version.title_zh,
        "title_en": version.title_en,
        "code": version.code,
        "description": str(version.document.get("description") or ""),
        "published_at": version.published_at,
        "start": {
            "node": start.get("id", ""),
            "form": start.get("form") or None,
            "level": start.get("level", ""),
            "roles": list(start.get("roles", [])),
        },
        "may_start": may_start,
    }


def node_summary(node: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": node.get("id", ""),
        "kind": node.get("kind", ""),
        "title": localized(node.get("title"), node.get("id", "")),
        "form": node.get("form") or None,
        "role": node.get("role") or None,
        "level": node.get("level") or None,
    }


def case_ref(case: Any, user: Any) -> dict[str, Any]:
    return {
        "id": case.pk,
        "reference": case.reference,
        "title": case.title,
        "procedure_key": case.procedure_key,
        "area_code": case.area_code,
        "status": case.status,
        "applicant": case.applicant,
        "id_card": shown_id_card(user=user, case=case),
    }


def case_dict(case: Any, user: Any) -> dict[str, Any]:
    return {
        **case_ref(case, user),
        "version": case.workflow.version,
        "outcome": case.outcome,
        "started_by": case.started_by.get_username() if case.started_by_id else None,
        "created": case.created,
        "finished": case.finished,
    }


def task_dict(task: Any, user: Any) -> dict[str, Any]:
    spec = task_spec(task)
    role, area = task_routing(task)
    node = str(spec.get("id") or "")
    data = task.data if isinstance(task.data, dict) else {}
    return {
        "id": task.pk,
        "node": node,
        "title": localized(spec.get("title"), node),
        "form": spec.get("form") or None,
        "status": task.status,
        "owner": task.owner.get_username() if task.owner_id else None,
        "role": role,
        "area_code": area,
        "created": task.created,
        "assigned": task.assigned,
        "due": task.scheduled,
        "finished": task.finished,
        "last_error": data.get("last_error"),
        "case": case_ref(task.process.case, user),
    }


def _actor_username(event: Any) -> str | None:
    if not event.actor_id:
        return None
    try:
        return event.actor.get_username()
    except ObjectDoesNotExist:  # the log outlives users (no foreign-key constraint)
        return None


def event_dict(view: EventView, *, full: bool = False) -> dict[str, Any]:
    e = view.event
    row: dict[str, Any] = {
        "seq": e.seq,
        "created": e.created,
        "actor": _actor_username(e),
        "actor_name": e.actor_name,
        "role": e.role_key,
        "area_code": e.area_code,
        "action": e.action,
        "action_label": view.action_label,
        "procedure_key": e.procedure_key,
        "case_id": e.case_id,
        "task_id": e.task_id,
        "changes": [{"path": c.path, "label": c.label, "old": c.old, "new": c.new} for c in view.changes],
        "details": dict(view.details),
        "masked": view.masked,
    }
    if full:
        row.update({"client_address": e.client_address, "prev_hash": e.prev_hash, "hash": e.hash})
    return row


def masked_paths(value: Any, path: str = "") -> list[str]:
    """JSON paths of the values masking would change (where an ID or mobile number sits)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in masked_paths(v, f"{path}/{k}" if path else str(k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in masked_paths(v, f"{path}/{i}" if path else str(i))]
    return [path] if mask_value(value) != value else []


def start_area_dict(code: str, name: str, level: str) -> dict[str, Any]:
    parents = [n for n in sorted(CODE_LENGTH.values()) if n < len(code)]
    return {"code": code, "name": name, "level": level, "parent": code[: parents[-1]] if parents else None}


def attachment_dict(attachment: Any) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "filename": attachment.filename,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "task_id": attachment.task_id,
        "uploaded_by": attachment.uploaded_by.get_username() if attachment.uploaded_by_id else None,
        "created": attachment.created,
        "url": reverse("api:attachment", kwargs={"attachment_id": attachment.pk}),
    }


def comment_dict(comment: Any, *, masked: bool) -> dict[str, Any]:
    return {
        "id": comment.pk,
        "task_id": comment.task_id,
        "author": comment.author.get_username() if comment.author_id else None,
        "author_name": (comment.author.get_full_name() or comment.author.get_username())
        if comment.author_id
        else "",
        "text": mask_text(comment.text) if masked else comment.text,
        "mentions": list(comment.mentions or []),
        "created": comment.created,
    }


def document_dict(document: Any) -> dict[str, Any]:
    return {
        "id": document.pk,
        "key": document.key,
        "title": document.title,
        "filename": document.filename,
        "sha256": document.sha256,
        "task_id": document.task_id,
        "created": document.created,
        "url": reverse(
            "api:case-document", kwargs={"case_id": document.process_id, "document_id": document.pk}
        ),
    }


def notification_dict(notification: Any) -> dict[str, Any]:
    return {
        "id": notification.pk,
        "kind": notification.kind,
        "kind_label": str(notification.get_kind_display()),
        "text": notification.text,
        "case_id": notification.case_id,
        "case_reference": notification.case.reference if notification.case_id else None,
        "task_id": notification.task_id,
        "created": notification.created,
        "read_at": notification.read_at,
    }
