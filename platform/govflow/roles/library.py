"""The role catalog as data (roles/*.json): reading and loading it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from govflow.errors import DefinitionInvalid

from .models import CODE_LENGTH
from .services import role_upsert

ROLE_KEYS = {
    "key",
    "name_zh",
    "name_en",
    "description",
    "levels",
    "can_design",
    "can_supervise",
    "can_act",
    "can_start",
    "sees_personal_data",
}


def check_catalog(data: Any, *, file: str = "") -> list[dict[str, Any]]:
    """Problems in one catalog document, each with file and JSON path."""
    errors: list[dict[str, Any]] = []
    if not isinstance(data, dict) or not isinstance(data.get("roles"), list):
        return [{"file": file, "path": "/roles", "message": _('角色目录应为 {"roles": [...]}。')}]
    seen: set[str] = set()
    for i, entry in enumerate(data["roles"]):
        path = f"/roles/{i}"
        if not isinstance(entry, dict):
            errors.append({"file": file, "path": path, "message": _("每个角色应为一个对象。")})
            continue
        key = entry.get("key")
        if not isinstance(key, str) or not key.replace("_", "").isalnum() or not key.isascii():
            errors.append(
                {"file": file, "path": f"{path}/key", "message": _("角色标识只能由字母、数字和下划线组成。")}
            )
        elif key in seen:
            errors.append(
                {"file": file, "path": f"{path}/key", "message": _("角色标识“%(k)s”重复。") % {"k": key}}
            )
        else:
            seen.add(key)
        if not entry.get("name_zh"):
            errors.append({"file": file, "path": f"{path}/name_zh", "message": _("缺少中文名称。")})
        levels = entry.get("levels")
        if not isinstance(levels, list) or not levels or any(lv not in CODE_LENGTH for lv in levels):
            errors.append(
                {
                    "file": file,
                    "path": f"{path}/levels",
                    "message": _("层级应为 county、township、village 中的一个或多个。"),
                }
            )
        for unknown in sorted(set(entry) - ROLE_KEYS):
            errors.append(
                {
                    "file": file,
                    "path": f"{path}/{unknown}",
                    "message": _("未知属性“%(k)s”。") % {"k": unknown},
                }
            )
        if "can_start" in entry and not (
            isinstance(entry["can_start"], list) and all(isinstance(x, str) for x in entry["can_start"])
        ):
            errors.append(
                {"file": file, "path": f"{path}/can_start", "message": _("can_start 应为事项标识的列表。")}
            )
    return errors


def read_catalog(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DefinitionInvalid(
            errors=[{"file": str(path), "path": "", "message": _("无法读取：%(e)s") % {"e": exc}}]
        )


@transaction.atomic
def load_catalog(path: Path) -> tuple[int, int]:
    """Load one catalog file; returns (roles seen, roles created or changed). All or nothing."""
    data = read_catalog(path)
    errors = check_catalog(data, file=str(path))
    if errors:
        raise DefinitionInvalid(errors=errors)
    changed = 0
    for entry in data["roles"]:
        _role, did_change = role_upsert(entry=entry)
        changed += int(did_change)
    return len(data["roles"]), changed
