"""What the designer pages read: procedures and forms with their versions, the choices of the side panels,
the variables an expression may use, and the publish plan (errors and readable diffs)."""

from __future__ import annotations

import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count
from django.utils.translation import gettext as _

from govflow.cases.models import Case
from govflow.errors import NotFound
from govflow.forms.definitions import check_form_document
from govflow.forms.models import FormVersion
from govflow.forms.services import form_diff, form_export
from govflow.roles.models import Role
from govflow.workflows.definitions import check_workflow_document, published_form_keys, successors
from govflow.workflows.models import WorkflowVersion
from govflow.workflows.services import workflow_diff

LEVELS = ("county", "township", "village")
RESERVED = ("case", "settings")
CASE_FIELDS = ("case.area", "case.reference", "case.started", "case.outcome")


# --------------------------------------------------------------------------------------------------------
# Procedures and forms
# --------------------------------------------------------------------------------------------------------


@dataclass
class VersionRow:
    version: Any
    running: int = 0

    @property
    def changed_by(self) -> Any:
        return self.version.published_by or self.version.created_by

    @property
    def changed_at(self) -> Any:
        return self.version.published_at or self.version.created


@dataclass
class ProcedureRow:
    key: str
    title: str
    code: str
    versions: list[VersionRow] = field(default_factory=list)

    @property
    def latest(self) -> VersionRow:
        return self.versions[0]

    @property
    def published(self) -> VersionRow | None:
        return next((v for v in self.versions if v.version.status == WorkflowVersion.Status.PUBLISHED), None)

    @property
    def draft(self) -> VersionRow | None:
        return next((v for v in self.versions if v.version.status == WorkflowVersion.Status.DRAFT), None)

    @property
    def running(self) -> int:
        return sum(v.running for v in self.versions)

    @property
    def status(self) -> str:
        """published, draft (never published), or retired (nothing published any more)."""
        if self.published is not None:
            return WorkflowVersion.Status.PUBLISHED
        if all(v.version.status == WorkflowVersion.Status.DRAFT for v in self.versions):
            return WorkflowVersion.Status.DRAFT
        return WorkflowVersion.Status.RETIRED


def running_cases_by_version(keys: list[str] | None = None) -> dict[int, int]:
    """Open cases per workflow version pk."""
    qs = Case.objects.filter(status=Case.Status.OPEN)
    if keys is not None:
        qs = qs.filter(procedure_key__in=keys)
    return dict(qs.values_list("workflow_id").annotate(n=Count("pk")).values_list("workflow_id", "n"))


def procedure_rows(*, key: str | None = None) -> list[ProcedureRow]:
    """Every procedure (or one) with its versions, newest first, and the open cases of each version."""
    qs = WorkflowVersion.objects.select_related("created_by", "published_by").order_by("key", "-version")
    if key is not None:
        qs = qs.filter(key=key)
    versions = list(qs)
    running = running_cases_by_version([key] if key is not None else None)
    rows: dict[str, ProcedureRow] = {}
    for version in versions:
        row = rows.get(version.key)
        if row is None:
            row = rows[version.key] = ProcedureRow(version.key, version.title, version.code)
        row.versions.append(VersionRow(version, running.get(version.pk, 0)))
    return list(rows.values())


def procedure_get(*, key: str) -> ProcedureRow:
    """Raises NotFound."""
    rows = procedure_rows(key=key)
    if not rows:
        raise NotFound(_("事项“%(k)s”不存在。") % {"k": key})
    return rows[0]


def workflow_working_version(*, key: str) -> WorkflowVersion:
    """The version the designer edits: the open draft, else the newest version. Raises NotFound."""
    qs = WorkflowVersion.objects.filter(key=key)
    found = qs.filter(status=WorkflowVersion.Status.DRAFT).order_by("-version").first()
    found = found or qs.order_by("-version").first()
    if found is None:
        raise NotFound(_("事项“%(k)s”不存在。") % {"k": key})
    return found


def form_working_version(*, key: str) -> FormVersion:
    """The open draft of a form, else its newest version. Raises NotFound."""
    qs = FormVersion.objects.filter(key=key)
    found = qs.filter(status=FormVersion.Status.DRAFT).order_by("-version").first()
    found = found or qs.order_by("-version").first()
    if found is None:
        raise NotFound(_("表单“%(k)s”不存在。") % {"k": key})
    return found


@dataclass
class FormRow:
    key: str
    title: str
    versions: list[FormVersion] = field(default_factory=list)
    used_by: list[str] = field(default_factory=list)

    @property
    def latest(self) -> FormVersion:
        return self.versions[0]

    @property
    def published(self) -> FormVersion | None:
        return next((v for v in self.versions if v.status == FormVersion.Status.PUBLISHED), None)

    @property
    def draft(self) -> FormVersion | None:
        return next((v for v in self.versions if v.status == FormVersion.Status.DRAFT), None)


def form_rows() -> list[FormRow]:
    """Every form with its versions, newest first, and the procedures whose latest workflow uses it."""
    rows: dict[str, FormRow] = {}
    for version in FormVersion.objects.select_related("created_by", "published_by").order_by(
        "key", "-version"
    ):
        row = rows.get(version.key)
        if row is None:
            row = rows[version.key] = FormRow(version.key, version.title_zh)
        row.versions.append(version)
    for key, forms in procedure_form_keys().items():
        for form_key in forms:
            if form_key in rows:
                rows[form_key].used_by.append(key)
    return list(rows.values())


def procedure_form_keys() -> dict[str, set[str]]:
    """The forms each procedure's newest workflow version names."""
    result: dict[str, set[str]] = {}
    for version in WorkflowVersion.objects.order_by("key", "-version"):
        if version.key in result:
            continue
        result[version.key] = document_form_keys(version.document)
    return result


def document_form_keys(document: Any) -> set[str]:
    nodes = document.get("nodes", []) if isinstance(document, dict) else []
    return {n["form"] for n in nodes if isinstance(n, dict) and isinstance(n.get("form"), str)}


def form_choices() -> list[dict[str, Any]]:
    """Forms a step may name: published ones, and drafts (published together with the procedure)."""
    choices: dict[str, dict[str, Any]] = {}
    for version in FormVersion.objects.exclude(status=FormVersion.Status.RETIRED).order_by("key", "-version"):
        entry = choices.setdefault(version.key, {"key": version.key, "title": version.title_zh, "status": ""})
        if version.status == FormVersion.Status.PUBLISHED or not entry["status"]:
            entry["status"] = version.status
    return list(choices.values())


def role_choices() -> list[dict[str, Any]]:
    """The role catalog: key, names and the levels each role acts at."""
    return [
        {"key": r.key, "name": r.name_zh, "name_en": r.name_en, "levels": list(r.levels or [])}
        for r in Role.objects.order_by("key")
    ]


# --------------------------------------------------------------------------------------------------------
# Checking a workflow in the designer
# --------------------------------------------------------------------------------------------------------


def designer_form_keys(keys: set[str]) -> set[str]:
    """Forms that exist for the designer's check: published, or with a draft that will be published too."""
    drafts = set(
        FormVersion.objects.filter(key__in=keys, status=FormVersion.Status.DRAFT).values_list(
            "key", flat=True
        )
    )
    return published_form_keys(keys) | drafts


def edge_element_ids(document: dict[str, Any]) -> list[str]:
    """The BPMN ids definition_to_bpmn gives the edges, in order (flow_<from>_<to>, then _2, _3...)."""
    nodes = [n for n in document.get("nodes", []) if isinstance(n, dict)]
    used = {n.get("id") for n in nodes}
    pending: list[str] = []
    for node in nodes:
        boundaries = node.get("boundary")
        if node.get("kind") != "user_task" or not isinstance(boundaries, list):
            continue
        used.update(b.get("id") for b in boundaries if isinstance(b, dict))
        pending += [
            f"flow_{b.get('id')}_{b.get('to')}"
            for b in boundaries
            if isinstance(b, dict) and b.get("action") == "path"
        ]
    used.add(document.get("key") or "Process_1")
    used.add("Definitions_1")
    ids: list[str] = []

    def new(wanted: str) -> str:
        candidate, n = wanted, 2
        while candidate in used:
            candidate, n = f"{wanted}_{n}", n + 1
        used.add(candidate)
        return candidate

    for wanted in pending:
        new(wanted)
    for edge in document.get("edges", []):
        ids.append(new(f"flow_{edge.get('from')}_{edge.get('to')}") if isinstance(edge, dict) else "")
    return ids


def with_elements(document: dict[str, Any], errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each error with `element`: the id of the diagram element to highlight (a node, a boundary event or a
    flow), when there is one."""
    flows = edge_element_ids(document) if isinstance(document.get("edges"), list) else []
    result = []
    for error in errors:
        item = {**error, "message": str(error.get("message", ""))}
        parts = str(error.get("path", "")).split("/")
        if len(parts) >= 3 and parts[1] == "edges" and parts[2].isdigit() and int(parts[2]) < len(flows):
            item["element"] = flows[int(parts[2])]
        elif error.get("node"):
            item["element"] = error["node"]
        elif len(parts) >= 3 and parts[1] == "nodes" and parts[2].isdigit():
            nodes = document.get("nodes", [])
            index = int(parts[2])
            if index < len(nodes) and isinstance(nodes[index], dict):
                item["element"] = nodes[index].get("id", "")
        result.append(item)
    return result


def workflow_designer_errors(document: Any) -> list[dict[str, Any]]:
    """check_workflow_document as the designer shows it: draft forms count as existing (they are published
    with the procedure), and each error names the diagram element to highlight."""
    errors = check_workflow_document(document, forms=designer_form_keys)
    return with_elements(document if isinstance(document, dict) else {}, errors)


# --------------------------------------------------------------------------------------------------------
# Variables an expression may use
# --------------------------------------------------------------------------------------------------------


def _upstream(document: dict[str, Any], node_id: str) -> set[str]:
    graph = successors(document)
    reverse: dict[str, set[str]] = defaultdict(set)
    for src, targets in graph.items():
        for dst in targets:
            reverse[dst].add(src)
    seen = {node_id}
    queue = deque([node_id])
    while queue:
        for nxt in reverse.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen - {node_id}


def node_id_in(document: Any, element_id: str) -> str:
    """The node id a modeler element id became on import (bpmn_to_definition lower-cases ids and replaces
    other characters: Gateway_0x1 -> gateway_0x1)."""
    nodes = (
        {n.get("id") for n in document.get("nodes", []) if isinstance(n, dict)}
        if isinstance(document, dict)
        else set()
    )
    for candidate in (element_id, element_id.lower(), re.sub(r"[^a-z0-9_]", "_", element_id.lower())):
        if candidate in nodes:
            return candidate
    return element_id


def form_field_names(form_key: str) -> list[str]:
    """Top-level fields of a form's working version (draft or newest)."""
    version = (
        FormVersion.objects.filter(key=form_key).order_by("-version").only("schema", "ui_schema").first()
    )
    if version is None:
        return []
    properties = (version.schema or {}).get("properties", {})
    order = [n for n in (version.ui_schema or {}).get("order", []) if n in properties]
    return order + [n for n in properties if n not in order]


def workflow_variables(document: Any, node_id: str) -> list[dict[str, Any]]:
    """What an expression at `node_id` may read: `case`, `settings`, and what nodes upstream define (form
    steps by their node id with their fields, service-task variables, numbers). For an edge, pass its
    source node; a service task also sees its own earlier assignments."""
    document = document if isinstance(document, dict) else {}
    nodes = {n.get("id"): n for n in document.get("nodes", []) if isinstance(n, dict)}
    try:
        upstream = _upstream(document, node_id) if node_id in nodes else set(nodes)
    except (KeyError, TypeError):
        upstream = set(nodes)
    settings = document.get("settings") if isinstance(document.get("settings"), dict) else {}
    assert isinstance(settings, dict)
    result: list[dict[str, Any]] = [
        {"name": "case", "fields": list(CASE_FIELDS), "source": _("案件")},
        {"name": "settings", "fields": [f"settings.{k}" for k in settings], "source": _("事项设置")},
    ]
    ordered = [n for n in nodes if n in upstream]
    if node_id in nodes:
        ordered.append(node_id)
    for other in ordered:
        node = nodes[other]
        title = (node.get("title") or {}).get("zh", other) if isinstance(node.get("title"), dict) else other
        own = other == node_id
        if node.get("kind") in ("start", "user_task") and node.get("form") and not own:
            fields = [f"{other}.{name}" for name in form_field_names(str(node["form"]))]
            result.append({"name": other, "fields": fields, "source": title})
        for item in node.get("set", []) or []:
            if isinstance(item, dict) and item.get("var"):
                result.append({"name": item["var"], "fields": [], "source": title})
        number = node.get("number")
        if isinstance(number, dict) and number.get("var") and not own:
            result.append({"name": number["var"], "fields": [], "source": title})
    return result


# --------------------------------------------------------------------------------------------------------
# Publishing: what would be published, its errors and its diff
# --------------------------------------------------------------------------------------------------------


@dataclass
class FormPlan:
    key: str
    draft: FormVersion
    previous: FormVersion | None
    changes: list[dict[str, Any]]
    errors: list[dict[str, Any]]


@dataclass
class PublishPlan:
    key: str
    workflow: WorkflowVersion | None  # the draft to publish; None when only forms changed
    current: WorkflowVersion | None  # the published version it replaces
    changes: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    forms: list[FormPlan] = field(default_factory=list)

    @property
    def republish(self) -> bool:
        """Only forms changed: the published workflow is published again so new cases use the new forms."""
        return self.workflow is None and bool(self.forms) and self.current is not None

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(f.errors for f in self.forms)

    @property
    def nothing(self) -> bool:
        return self.workflow is None and not self.forms

    @property
    def can_publish(self) -> bool:
        if self.has_errors or self.nothing:
            return False
        return self.workflow is not None or self.republish


def form_plan(*, key: str) -> FormPlan | None:
    """The open draft of a form with its errors and its diff against the published version."""
    draft = FormVersion.objects.filter(key=key, status=FormVersion.Status.DRAFT).order_by("-version").first()
    if draft is None:
        return None
    previous = FormVersion.objects.filter(key=key, status=FormVersion.Status.PUBLISHED).first()
    return FormPlan(
        key=key,
        draft=draft,
        previous=previous,
        changes=form_diff(previous, draft),
        errors=check_form_document(form_export(draft)),
    )


def publish_plan(*, key: str) -> PublishPlan:
    """Everything a procedure's publish would do: its workflow draft and the drafts of the forms it uses,
    each checked, with readable diffs. Raises NotFound."""
    versions = WorkflowVersion.objects.filter(key=key)
    if not versions.exists():
        raise NotFound(_("事项“%(k)s”不存在。") % {"k": key})
    draft = versions.filter(status=WorkflowVersion.Status.DRAFT).order_by("-version").first()
    current = versions.filter(status=WorkflowVersion.Status.PUBLISHED).first()
    plan = PublishPlan(key=key, workflow=draft, current=current)
    document = (draft or current or versions.order_by("-version").first()).document  # type: ignore[union-attr]
    for form_key in sorted(document_form_keys(document)):
        item = form_plan(key=form_key)
        if item is not None:
            plan.forms.append(item)
    if draft is not None:
        plan.changes = workflow_diff(current, draft)
        ready = {f.key for f in plan.forms if not f.errors}
        plan.errors = with_elements(
            draft.document,
            check_workflow_document(
                draft.document, forms=lambda keys: published_form_keys(keys) | (keys & ready)
            ),
        )
    return plan


def workflow_change_lines(changes: list[dict[str, Any]]) -> list[str]:
    """workflow_diff entries as sentences."""
    lines = []
    for change in changes:
        kind = change.get("change")
        if kind == "node_added":
            lines.append(_("新增节点：%(label)s（%(node)s）") % change)
        elif kind == "node_removed":
            lines.append(_("删除节点：%(label)s（%(node)s）") % change)
        elif kind == "node_changed":
            lines.append(
                _("修改节点：%(label)s（%(node)s），变更项：%(fields)s")
                % {**change, "fields": "、".join(change.get("fields", []))}
            )
        elif kind == "edge_added":
            lines.append(_("新增连线：%(from)s → %(to)s") % change)
        elif kind == "edge_removed":
            lines.append(_("删除连线：%(from)s → %(to)s") % change)
        elif kind == "title_changed":
            lines.append(_("名称由“%(old)s”改为“%(new)s”") % change)
        else:
            lines.append(str(change))
    return lines


RULE_NAMES = {"visible_if": "visible_if", "required_if": "required_if", "computed": "computed"}


def form_change_lines(changes: list[dict[str, Any]]) -> list[str]:
    """form_diff entries as sentences."""
    lines = []
    for change in changes:
        kind = change.get("change")
        label = change.get("label")
        values = {**change, "label": label if isinstance(label, str) else change.get("field", "")}
        if kind == "field_added":
            lines.append(_("新增字段：%(label)s（%(field)s）") % values)
        elif kind == "field_removed":
            lines.append(_("删除字段：%(label)s（%(field)s）") % values)
        elif kind == "field_changed":
            lines.append(_("修改字段：%(label)s（%(field)s）") % values)
        elif kind == "rule_changed":
            lines.append(
                _("规则 %(rule)s（%(field)s）：“%(old)s” → “%(new)s”")
                % {**values, "old": change.get("old") or "—", "new": change.get("new") or "—"}
            )
        elif kind == "steps_changed":
            lines.append(_("步骤有变化"))
        elif kind == "title_changed":
            lines.append(_("名称由“%(old)s”改为“%(new)s”") % change)
        else:
            lines.append(str(change))
    return lines


def procedures_using_form(*, form_key: str) -> list[str]:
    """Procedures whose published workflow names the form (they pin its version when published)."""
    return sorted(
        v.key
        for v in WorkflowVersion.objects.filter(status=WorkflowVersion.Status.PUBLISHED)
        if form_key in document_form_keys(v.document)
    )


def start_areas(*, level: str) -> list[tuple[str, str]]:
    """Areas of a level, for the test run's case area."""
    from govflow.roles.models import Area

    return list(Area.objects.filter(level=level).order_by("code").values_list("code", "name")[:500])
