"""What the designer writes. Definitions are saved and published only through the forms and workflows
services (drafts may be invalid; publishing checks, diffs and audits); this module adds what only the
designer does: new procedures and forms, copies under a new key, retiring, publishing a procedure together
with its forms, BPMN saves from the modeler, and library bundles (zip files of roles/, forms/, workflows/).
"""

from __future__ import annotations

import copy
import io
import json
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from govflow.audit.services import audit_record
from govflow.errors import DefinitionInvalid, NotFound, ValidationFailed
from govflow.forms.models import FormVersion
from govflow.forms.services import form_draft_save, form_export, form_publish
from govflow.roles.library import ROLE_KEYS
from govflow.roles.models import Role
from govflow.workflows.bpmn import bpmn_to_definition
from govflow.workflows.library import export_procedure, import_library
from govflow.workflows.models import WorkflowVersion
from govflow.workflows.services import workflow_draft_save, workflow_export, workflow_publish

from . import formmodel
from .selectors import document_form_keys, form_working_version, publish_plan, workflow_working_version

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
CODE_RE = re.compile(r"^[A-Z][A-Z0-9]{1,5}$")
BUNDLE_FOLDERS = ("roles", "forms", "workflows")
# What a role may do: a bundle may add roles, but only whoever maintains the role catalog changes these.
ROLE_POWERS = ("can_design", "can_supervise", "sees_personal_data", "can_act")
MAX_BUNDLE_FILES = 500
MAX_BUNDLE_BYTES = 20 * 1024 * 1024  # uncompressed, all files together
MAX_BUNDLE_FILE_BYTES = 2 * 1024 * 1024


def _error(path: str, message: str) -> dict[str, Any]:
    return {"file": "", "path": path, "message": message}


def _check_key(key: str, *, exists: bool) -> None:
    if not KEY_RE.match(key or ""):
        raise ValidationFailed(
            _("标识只能用小写字母、数字和下划线，以字母开头，2 到 64 个字符。"),
            field_errors={"key": [_("标识无效。")]},
        )
    if exists:
        raise ValidationFailed(
            _("标识“%(k)s”已被使用。") % {"k": key}, field_errors={"key": [_("标识已存在。")]}
        )


# --------------------------------------------------------------------------------------------------------
# Procedures
# --------------------------------------------------------------------------------------------------------


def skeleton_workflow(*, key: str, title: dict[str, str], code: str, level: str, roles: list[str]) -> dict:
    """A new procedure's first draft: who starts it where, straight to an end with an outcome."""
    return {
        "key": key,
        "title": {k: v for k, v in title.items() if v},
        "code": code,
        "nodes": [
            {"id": "apply", "kind": "start", "title": {"zh": "申请"}, "roles": roles, "level": level},
            {"id": "done", "kind": "end", "title": {"zh": "办结"}, "outcome": "done"},
        ],
        "edges": [{"from": "apply", "to": "done"}],
    }


@transaction.atomic
def procedure_create(
    *, key: str, title: dict[str, str], code: str, level: str, roles: list[str], actor: Any
) -> WorkflowVersion:
    """A new procedure as a draft. Raises ValidationFailed when the key is taken or invalid."""
    _check_key(key, exists=WorkflowVersion.objects.filter(key=key).exists())
    document = skeleton_workflow(key=key, title=title, code=code, level=level, roles=roles)
    return workflow_draft_save(key=key, document=document, actor=actor)


def _copy_key(base: str, taken: set[str]) -> str:
    base = base[:64]
    candidate, n = base, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = base[: 64 - len(suffix)] + suffix, n + 1
    taken.add(candidate)
    return candidate


@transaction.atomic
def procedure_duplicate(
    *, source_key: str, new_key: str, title: dict[str, str], actor: Any, copy_forms: bool = False
) -> WorkflowVersion:
    """A copy of a procedure's working version under a new key, as a draft. With `copy_forms` each form it
    uses is copied too (as a draft under a new key: the source key's prefix replaced by the new key), so
    the two procedures can change their forms independently. Raises NotFound, ValidationFailed."""
    source = workflow_working_version(key=source_key)
    _check_key(new_key, exists=WorkflowVersion.objects.filter(key=new_key).exists())
    document = copy.deepcopy(source.document)
    document["key"] = new_key
    document["title"] = {k: v for k, v in title.items() if v} or document.get("title", {})
    if copy_forms:
        taken = set(FormVersion.objects.values_list("key", flat=True).distinct())
        renamed: dict[str, str] = {}
        for form_key in sorted(document_form_keys(document)):
            stem = form_key[len(source_key) :] if form_key.startswith(source_key) else f"_{form_key}"
            renamed[form_key] = _copy_key(f"{new_key}{stem}", taken)
            try:
                form = form_working_version(key=form_key)
            except NotFound:
                continue
            form_document = form_export(form)
            form_draft_save(
                key=renamed[form_key], document={**form_document, "key": renamed[form_key]}, actor=actor
            )
        for node in document.get("nodes", []):
            if isinstance(node, dict) and node.get("form") in renamed:
                node["form"] = renamed[node["form"]]
    return workflow_draft_save(key=new_key, document=document, actor=actor)


@transaction.atomic
def procedure_retire(*, key: str, actor: Any) -> WorkflowVersion:
    """Stop new cases: the published version becomes retired (running cases finish on it). Audited.

    Raises NotFound when nothing is published."""
    version = (
        WorkflowVersion.objects.select_for_update()
        .filter(key=key, status=WorkflowVersion.Status.PUBLISHED)
        .order_by("-version")
        .first()
    )
    if version is None:
        raise NotFound(_("事项“%(k)s”没有已发布的版本。") % {"k": key})
    WorkflowVersion.objects.filter(pk=version.pk).update(status=WorkflowVersion.Status.RETIRED)
    audit_record(
        action="definition.retired",
        actor=actor,
        procedure_key=key,
        data={"kind": "workflow", "key": key, "version": version.version},
    )
    version.refresh_from_db()
    return version


@dataclass
class Published:
    forms: list[FormVersion] = field(default_factory=list)
    workflow: WorkflowVersion | None = None


@transaction.atomic
def procedure_publish(*, key: str, actor: Any, change_note: str) -> Published:
    """Publish a procedure's workflow draft and the drafts of the forms it uses, all or nothing, each through
    its service (which checks it, records the diff and audits). When only forms changed, the published
    workflow is published again as a new version so that new cases pin the new forms.

    Raises DefinitionInvalid with every error, ValidationFailed when there is nothing to publish."""
    plan = publish_plan(key=key)
    if plan.has_errors:
        errors = [{**e, "file": f"forms/{f.key}.json"} for f in plan.forms for e in f.errors]
        errors += [{**e, "file": f"workflows/{key}.json"} for e in plan.errors]
        raise DefinitionInvalid(errors=errors)
    if not plan.can_publish:
        raise ValidationFailed(_("没有需要发布的草稿。"), code="nothing_to_publish")
    note = change_note.strip()
    result = Published()
    for item in plan.forms:
        result.forms.append(form_publish(version=item.draft, actor=actor, change_note=note))
    workflow = plan.workflow
    if workflow is None:
        assert plan.current is not None
        workflow = workflow_draft_save(key=key, document=workflow_export(plan.current), actor=actor)
    result.workflow = workflow_publish(version=workflow, actor=actor, change_note=note)
    return result


@transaction.atomic
def workflow_bpmn_save(*, key: str, xml: str, actor: Any) -> WorkflowVersion:
    """Save the modeler's BPMN as the procedure's draft (its errors are stored with it).

    Raises DefinitionInvalid when the XML cannot be read as a govflow workflow (nothing is saved)."""
    document = bpmn_to_definition(xml)
    document["key"] = key
    return workflow_draft_save(key=key, document=document, actor=actor)


# --------------------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------------------


@transaction.atomic
def form_create(*, key: str, title: dict[str, str], actor: Any) -> FormVersion:
    """A new, empty form as a draft. Raises ValidationFailed when the key is taken or invalid."""
    _check_key(key, exists=FormVersion.objects.filter(key=key).exists())
    document = formmodel.document_from_model(formmodel.empty_model(key, title))
    return form_draft_save(key=key, document=document, actor=actor)


@transaction.atomic
def form_model_save(*, key: str, model: Any, actor: Any) -> FormVersion:
    """Save the builder's model as the form's draft. The draft may be invalid (its errors are stored with it)
    but a model the file cannot express (empty or repeated names) is refused with DefinitionInvalid."""
    errors = formmodel.model_errors(model)
    if errors:
        raise DefinitionInvalid(errors=[{"file": "", **e} for e in errors])
    document = formmodel.document_from_model({**model, "key": key})
    return form_draft_save(key=key, document=document, actor=actor)


@transaction.atomic
def form_publish_draft(*, key: str, actor: Any, change_note: str) -> FormVersion:
    """Publish a form's open draft (form_publish checks, diffs and audits). Raises NotFound, DefinitionInvalid."""
    draft = FormVersion.objects.filter(key=key, status=FormVersion.Status.DRAFT).order_by("-version").first()
    if draft is None:
        raise NotFound(_("表单“%(k)s”没有草稿。") % {"k": key})
    return form_publish(version=draft, actor=actor, change_note=change_note.strip())


# --------------------------------------------------------------------------------------------------------
# Library bundles
# --------------------------------------------------------------------------------------------------------


def _role_entry(role: Role) -> dict[str, Any]:
    entry = {name: getattr(role, name) for name in ("key", "name_zh", "name_en", "description", "levels")}
    for name in ("can_act", "can_start", "can_design", "can_supervise", "sees_personal_data"):
        entry[name] = getattr(role, name)
    return {k: v for k, v in entry.items() if k in ROLE_KEYS}


def bundle_export(*, key: str) -> bytes:
    """A zip of the procedure's library files: workflows/<key>.json, forms/<form>.json (the
    published versions, as export_procedure writes them) and roles/catalog.json with the roles it names.
    Raises NotFound when the procedure has no published version."""
    with tempfile.TemporaryDirectory(prefix="govflow-export-") as tmp:
        out = Path(tmp)
        written = export_procedure(key, out)
        document = json.loads((out / "workflows" / f"{key}.json").read_text(encoding="utf-8"))
        role_keys: set[str] = set()
        for node in document.get("nodes", []):
            role_keys.update(node.get("roles", []))
            if node.get("role"):
                role_keys.add(node["role"])
            role_keys.update(b["role"] for b in node.get("boundary", []) if b.get("role"))
        roles = [_role_entry(r) for r in Role.objects.filter(key__in=role_keys).order_by("key")]
        (out / "roles").mkdir(exist_ok=True)
        catalog = out / "roles" / "catalog.json"
        catalog.write_text(
            json.dumps({"roles": roles}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        written.append(catalog)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(written):
                archive.write(path, path.relative_to(out).as_posix())
    return buffer.getvalue()


@dataclass
class BundleResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _bundle_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The library files of an uploaded zip, refusing anything that could escape the folder or flood it."""
    members: list[zipfile.ZipInfo] = []
    errors: list[dict[str, Any]] = []
    total = 0
    infos = archive.infolist()
    if len(infos) > MAX_BUNDLE_FILES:
        raise DefinitionInvalid(
            errors=[_error("", _("压缩包中的文件过多（最多 %(n)d 个）。") % {"n": MAX_BUNDLE_FILES})]
        )
    for info in infos:
        if info.is_dir():
            continue
        name = PurePosixPath(info.filename)
        parts = [p for p in name.parts if p not in ("", ".")]
        # A bundle may be zipped with a top folder (export/forms/x.json): find the library folder in the path.
        start = next((i for i, p in enumerate(parts) if p in BUNDLE_FOLDERS), None)
        if (
            info.filename.startswith("/")
            or ".." in name.parts
            or "\\" in info.filename
            or start is None
            or name.suffix not in (".json", ".bpmn")
            or len(parts) - start != 2
        ):
            if name.name.startswith(".") or "__MACOSX" in name.parts:
                continue
            errors.append({"file": info.filename, "path": "", "message": _("不是事项库文件，已拒绝。")})
            continue
        if info.file_size > MAX_BUNDLE_FILE_BYTES:
            errors.append({"file": info.filename, "path": "", "message": _("文件过大。")})
            continue
        total += info.file_size
        members.append(info)
    if total > MAX_BUNDLE_BYTES:
        errors.append(_error("", _("压缩包解压后过大。")))
    if errors:
        raise DefinitionInvalid(errors=errors)
    if not members:
        raise DefinitionInvalid(
            errors=[_error("", _("压缩包中没有 roles/、forms/ 或 workflows/ 下的文件。"))]
        )
    return members


def _refuse_role_power_changes(folder: Path) -> None:
    """A bundle may bring new roles and new names, but not change what an existing role may do (design,
    supervise, see personal data, act): that would hand powers to everyone holding the role."""
    if not folder.exists():
        return
    existing = {r.key: r for r in Role.objects.all()}
    errors: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")):
        try:
            catalog = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, ValueError):
            continue  # the library importer reports unreadable files with their paths
        entries = catalog.get("roles") if isinstance(catalog, dict) else None
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            role = existing.get(str(entry.get("key"))) if isinstance(entry, dict) else None
            if role is None:
                continue
            for power in ROLE_POWERS:
                if power in entry and entry[power] != getattr(role, power):
                    errors.append(
                        {
                            "file": f"roles/{path.name}",
                            "path": f"/roles/{index}/{power}",
                            "message": _(
                                "导入不能改变已有角色“%(k)s”的权限（%(p)s），请由角色目录的维护人修改。"
                            )
                            % {"k": role.key, "p": power},
                        }
                    )
    if errors:
        raise DefinitionInvalid(errors=errors)


@transaction.atomic
def bundle_import(*, data: bytes, actor: Any) -> BundleResult:
    """Import a zip of library files with the library importer: all files are checked together, nothing is
    imported if any has an error, and a new version is published only where the content changed (each
    publish audited by its service). A roles file may add roles but not change the powers of existing ones.
    Raises DefinitionInvalid with file, JSON path and message."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise DefinitionInvalid(errors=[_error("", _("不是有效的 zip 文件：%(e)s") % {"e": exc})]) from exc
    with archive, tempfile.TemporaryDirectory(prefix="govflow-import-") as tmp:
        root = Path(tmp)
        written: list[Path] = []
        total = 0
        for info in _bundle_members(archive):
            parts = [p for p in PurePosixPath(info.filename).parts if p not in ("", ".")]
            start = next(i for i, p in enumerate(parts) if p in BUNDLE_FOLDERS)
            target = root.joinpath(*parts[start:])
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source:
                content = source.read(MAX_BUNDLE_FILE_BYTES + 1)
            total += len(content)
            if len(content) > MAX_BUNDLE_FILE_BYTES or total > MAX_BUNDLE_BYTES:
                # the sizes in a zip's directory are the sender's word; what is read is what counts
                raise DefinitionInvalid(
                    errors=[{"file": info.filename, "path": "", "message": _("文件过大。")}]
                )
            target.write_bytes(content)
            written.append(target)
        _refuse_role_power_changes(root / "roles")
        folders = [root / name for name in BUNDLE_FOLDERS if (root / name).exists()]

        def relative(text: str) -> str:
            return text.replace(str(root) + "/", "")

        try:
            imported = import_library(folders, actor=actor)
        except DefinitionInvalid as exc:
            raise DefinitionInvalid(
                errors=[{**e, "file": relative(str(e.get("file", "")))} for e in exc.errors]
            ) from exc
        return BundleResult(
            created=[relative(p) for p in imported.created],
            unchanged=[relative(p) for p in imported.unchanged],
        )
