"""The procedure library as files: roles/*.json (role catalog), forms/*.json, workflows/*.json or *.bpmn.

validate_procedures, import_procedures and export_procedure read and write exactly these files. A file's
kind is told by its content (a catalog has "roles", a form "schema", a workflow "nodes"; .bpmn is BPMN 2.0
XML), so any path may be given. Imports go in dependency order (roles, forms, workflows) in one transaction:
a library with one bad file changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from govflow.errors import DefinitionInvalid

KINDS = ("roles", "form", "workflow")


@dataclass
class LibraryFile:
    path: Path
    kind: str = ""
    document: Any = None
    errors: list[dict[str, Any]] = field(default_factory=list)


def default_paths() -> list[Path]:
    dirs = settings.GOVFLOW_LIBRARY_DIRS
    return [Path(dirs[name]) for name in ("roles", "forms", "workflows") if Path(dirs[name]).exists()]


def _files(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.suffix in (".json", ".bpmn") and p.is_file())
        else:
            found.append(path)
    return found


def read_file(path: Path) -> LibraryFile:
    item = LibraryFile(path=path)
    try:
        raw = path.read_bytes()
        if path.suffix == ".bpmn":
            from govflow.workflows.bpmn import bpmn_to_definition

            item.document, item.kind = bpmn_to_definition(raw), "workflow"
            return item
        item.document = json.loads(raw.decode("utf-8"))
    except DefinitionInvalid as exc:
        item.errors = [{**e, "file": str(path)} for e in exc.errors]
        return item
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        item.errors = [{"file": str(path), "path": "", "message": _("无法读取：%(e)s") % {"e": exc}}]
        return item
    doc = item.document
    if isinstance(doc, dict) and "roles" in doc:
        item.kind = "roles"
    elif isinstance(doc, dict) and "schema" in doc:
        item.kind = "form"
    elif isinstance(doc, dict) and "nodes" in doc:
        item.kind = "workflow"
    elif isinstance(doc, dict) and "years" in doc:
        item.kind = "calendar"  # workflows/calendars/*.json: the working-day calendar, not a definition
    else:
        item.errors = [
            {"file": str(path), "path": "", "message": _("无法识别的文件：应为角色目录、表单或流程。")}
        ]
    return item


def read_library(paths: list[Path] | None = None) -> list[LibraryFile]:
    items = [read_file(p) for p in _files(paths or default_paths())]
    order = {"roles": 0, "form": 1, "workflow": 2, "calendar": 3, "": 4}
    return sorted(items, key=lambda i: (order[i.kind], str(i.path)))


def validate_library(
    paths: list[Path] | None = None, *, items: list[LibraryFile] | None = None
) -> list[dict[str, Any]]:
    """Every error in the files, checking workflows against the forms and roles of the same files as well
    as those already in the database."""
    from govflow.forms.definitions import check_form_document
    from govflow.roles.library import check_catalog
    from govflow.workflows.definitions import check_workflow_document, published_form_keys, role_levels

    items = items if items is not None else read_library(paths)
    errors: list[dict[str, Any]] = []
    forms_here: set[str] = set()
    roles_here: dict[str, list[str]] = {}
    for item in items:
        errors += item.errors
        if item.kind == "roles" and not item.errors:
            item.errors = check_catalog(item.document, file=str(item.path))
            if not item.errors:
                roles_here.update({r["key"]: list(r.get("levels", [])) for r in item.document["roles"]})
        elif item.kind == "form" and not item.errors:
            item.errors = check_form_document(item.document, file=str(item.path))
            if not item.errors:
                forms_here.add(item.document["key"])
        elif item.kind == "workflow" and not item.errors:
            item.errors = check_workflow_document(
                item.document,
                file=str(item.path),
                forms=lambda keys: (keys & forms_here) | published_form_keys(keys - forms_here),
                roles=lambda keys: {
                    **role_levels(keys - set(roles_here)),
                    **{k: roles_here[k] for k in keys & set(roles_here)},
                },
            )
        else:
            continue
        errors += item.errors
    return errors


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


@transaction.atomic
def import_library(paths: list[Path] | None = None, *, actor: Any = None) -> ImportResult:
    """Import every file; publishes a new version only where the content changed. Raises DefinitionInvalid
    with every error of every file, and then imports nothing."""
    from govflow.forms.services import form_import
    from govflow.roles.library import load_catalog
    from govflow.workflows.services import workflow_import

    items = read_library(paths)  # read and parsed once, for the check and the import
    errors = validate_library(items=items)
    if errors:
        raise DefinitionInvalid(errors=errors)
    result = ImportResult()
    for item in items:
        name = str(item.path)
        if item.kind == "roles":
            _seen, changed = load_catalog(item.path)
            (result.created if changed else result.unchanged).append(name)
        elif item.kind == "form":
            _version, created = form_import(document=item.document, actor=actor, file=name)
            (result.created if created else result.unchanged).append(name)
        elif item.kind == "workflow":
            _wf, created = workflow_import(document=item.document, actor=actor, file=name)
            (result.created if created else result.unchanged).append(name)
    return result


def export_procedure(key: str, out: Path, *, bpmn: bool = False) -> list[Path]:
    """Write a procedure's workflow (latest published) and every form it uses, as library files."""
    from govflow.forms.selectors import form_version_get
    from govflow.forms.services import form_export
    from govflow.workflows.selectors import workflow_version_get
    from govflow.workflows.services import workflow_export

    version = workflow_version_get(key=key)
    written: list[Path] = []
    (out / "workflows").mkdir(parents=True, exist_ok=True)
    (out / "forms").mkdir(parents=True, exist_ok=True)
    document = workflow_export(version)
    target = out / "workflows" / f"{key}.json"
    target.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    written.append(target)
    if bpmn:
        from govflow.workflows.bpmn import definition_to_bpmn

        target = out / "workflows" / f"{key}.bpmn"
        target.write_text(definition_to_bpmn(document), encoding="utf-8")
        written.append(target)
    for form_key in sorted({n["form"] for n in document["nodes"] if n.get("form")}):
        form = form_version_get(key=form_key)
        target = out / "forms" / f"{form_key}.json"
        target.write_text(
            json.dumps(form_export(form), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        written.append(target)
    return written
