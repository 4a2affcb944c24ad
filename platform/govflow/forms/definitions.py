"""Checking a form definition file in layers, all errors at once, each with file and JSON path.

1. the file's own shape (forms/schemas/form.schema.json: key, titles, schema, UI schema),
2. the JSON Schema is a valid Draft 2020-12 schema, with no reference outside itself,
3. semantics: UI keys name fields that exist, rule expressions compile and use known names, every enum
   has labels, steps cover every top-level field exactly once, regexes are short and free of nested
   quantifiers (catastrophic backtracking), nesting is bounded.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from govflow.expressions import ExpressionError, compile_expression

MAX_SCHEMA_DEPTH = 12
MAX_PATTERN = 200
_NESTED_QUANTIFIER = re.compile(r"\([^()]*[+*][^()]*\)\s*[+*{]")
RULE_KEYS = ("visible_if", "required_if", "computed")


@lru_cache(maxsize=1)
def _file_validator() -> Draft202012Validator:
    path = Path(__file__).resolve().parent / "schemas" / "form.schema.json"
    return Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))


def file_error_message(error: Any) -> str:
    """A definition file's shape error in the reader's language (jsonschema's own messages are English)."""
    kind, value = error.validator, error.validator_value
    if kind == "required":
        missing = [
            name for name in value if not isinstance(error.instance, dict) or name not in error.instance
        ]
        return _("缺少必填项“%(k)s”。") % {"k": "、".join(missing)}
    if kind == "additionalProperties":
        known = set((error.schema or {}).get("properties", {}))
        extra = (
            sorted(k for k in (error.instance or {}) if k not in known)
            if isinstance(error.instance, dict)
            else []
        )
        return _("不认识的属性“%(k)s”。") % {"k": "、".join(extra)}
    if kind in ("enum", "const"):
        choices = value if isinstance(value, list) else [value]
        return _("应为以下之一：%(v)s。") % {"v": "、".join(str(c) for c in choices)}
    if kind == "type":
        return _("类型不对，应为 %(t)s。") % {"t": value if isinstance(value, str) else "/".join(value)}
    if kind == "pattern":
        return _("格式不对（应符合 %(p)s）。") % {"p": value}
    if kind in ("minItems", "minLength"):
        return _("至少要有 %(n)s 项（或字符）。") % {"n": value}
    if kind in ("maxItems", "maxLength"):
        return _("最多 %(n)s 项（或字符）。") % {"n": value}
    if kind in ("minimum", "maximum"):
        return _("数值超出范围（%(k)s %(v)s）。") % {"k": kind, "v": value}
    if kind in ("oneOf", "anyOf"):
        return _("不符合允许的任何一种写法。")
    if kind == "uniqueItems":
        return _("列表中有重复项。")
    return str(error.message)


def _pointer(parts: Any) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else ""


def _walk_schema(node: Any, path: list[Any], depth: int, errors: list[dict[str, Any]], file: str) -> None:
    if depth > MAX_SCHEMA_DEPTH:
        errors.append({"file": file, "path": _pointer(path), "message": _("表单结构嵌套过深。")})
        return
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            errors.append(
                {
                    "file": file,
                    "path": _pointer([*path, "$ref"]),
                    "message": _("只能引用表单内部的定义，不能引用外部地址。"),
                }
            )
        pattern = node.get("pattern")
        if isinstance(pattern, str):
            if len(pattern) > MAX_PATTERN or _NESTED_QUANTIFIER.search(pattern):
                errors.append(
                    {
                        "file": file,
                        "path": _pointer([*path, "pattern"]),
                        "message": _("正则表达式过长或含嵌套重复，可能导致长时间计算。"),
                    }
                )
            else:
                try:
                    re.compile(pattern)
                except re.error:
                    errors.append(
                        {"file": file, "path": _pointer([*path, "pattern"]), "message": _("正则表达式无效。")}
                    )
        for key, value in node.items():
            _walk_schema(value, [*path, key], depth + 1, errors, file)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk_schema(value, [*path, index], depth + 1, errors, file)


def _field_schema(schema: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The schema of a UI field key ("children/*/grade")."""
    node: Any = schema
    for part in key.split("/"):
        if part == "*":
            node = node.get("items") if isinstance(node, dict) else None
        else:
            properties = node.get("properties") if isinstance(node, dict) else None
            node = properties.get(part) if isinstance(properties, dict) else None
        if not isinstance(node, dict):
            return None
    return node


def _properties(node: Any) -> dict[str, Any]:
    properties = node.get("properties") if isinstance(node, dict) else None
    return properties if isinstance(properties, dict) else {}


def _names_in_scope(schema: dict[str, Any], key: str) -> set[str]:
    names = set(_properties(schema))
    parts = key.split("/")
    node: Any = schema
    for part in parts[:-1]:
        if not isinstance(node, dict):
            break
        node = node.get("items") if part == "*" else _properties(node).get(part)
        names |= set(_properties(node))
    return names | {"row", "settings"}


def check_form_document(
    document: Any, *, file: str = "", known_names: set[str] | None = None
) -> list[dict[str, Any]]:
    """Every problem in one form file, as [{"file", "path", "message"}]. Empty when it may be published.

    `known_names` are variables the form may use besides its own fields (earlier steps' data, case data).
    """
    errors: list[dict[str, Any]] = []
    for error in sorted(
        _file_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))
    ):
        errors.append(
            {"file": file, "path": _pointer(error.absolute_path), "message": file_error_message(error)}
        )
    if errors or not isinstance(document, dict):
        return errors
    schema = document["schema"]
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        errors.append(
            {"file": file, "path": _pointer(["schema", *exc.absolute_path]), "message": exc.message}
        )
    _walk_schema(schema, ["schema"], 0, errors, file)
    if schema.get("type") != "object":
        errors.append({"file": file, "path": "/schema/type", "message": _("表单的根应为 object。")})
    ui = document.get("ui", {})
    extra = known_names or set()
    for key, options in ui.get("fields", {}).items():
        field_schema = _field_schema(schema, key)
        base = ["ui", "fields", key]
        if field_schema is None:
            errors.append(
                {
                    "file": file,
                    "path": _pointer(base),
                    "message": _("字段“%(k)s”在表单结构中不存在。") % {"k": key},
                }
            )
            continue
        names = _names_in_scope(schema, key) | extra
        for rule in RULE_KEYS:
            source = options.get(rule)
            if not source:
                continue
            try:
                unknown = sorted(compile_expression(source).variables - names)
            except ExpressionError as exc:
                errors.append({"file": file, "path": _pointer([*base, rule]), "message": str(exc.message)})
                continue
            if unknown:
                errors.append(
                    {
                        "file": file,
                        "path": _pointer([*base, rule]),
                        "message": _("规则引用了不存在的字段：%(n)s") % {"n": ", ".join(unknown)},
                    }
                )
        enum = field_schema.get("enum")
        if enum is not None:
            labels = options.get("enum_labels", {})
            missing = [str(v) for v in enum if str(v) not in labels]
            if missing:
                errors.append(
                    {
                        "file": file,
                        "path": _pointer([*base, "enum_labels"]),
                        "message": _("选项缺少显示名称：%(v)s") % {"v": ", ".join(missing)},
                    }
                )
        for ref_key in ("not_before",):
            other = options.get(ref_key)
            if other and other not in names:
                errors.append(
                    {
                        "file": file,
                        "path": _pointer([*base, ref_key]),
                        "message": _("字段“%(k)s”不存在。") % {"k": other},
                    }
                )
        agree = options.get("id_card", {})
        for sub in ("birth_date_field", "sex_field"):
            other = agree.get(sub)
            if other and other not in names:
                errors.append(
                    {
                        "file": file,
                        "path": _pointer([*base, "id_card", sub]),
                        "message": _("字段“%(k)s”不存在。") % {"k": other},
                    }
                )
    for index, key in enumerate(ui.get("order", [])):
        if key not in _properties(schema):
            errors.append(
                {
                    "file": file,
                    "path": _pointer(["ui", "order", index]),
                    "message": _("字段“%(k)s”在表单结构中不存在。") % {"k": key},
                }
            )
    steps = ui.get("steps")
    if steps:
        seen: dict[str, int] = {}
        for s_index, step in enumerate(steps):
            for f_index, key in enumerate(step["fields"]):
                path = _pointer(["ui", "steps", s_index, "fields", f_index])
                if key not in _properties(schema):
                    errors.append(
                        {
                            "file": file,
                            "path": path,
                            "message": _("字段“%(k)s”在表单结构中不存在。") % {"k": key},
                        }
                    )
                elif key in seen:
                    errors.append(
                        {
                            "file": file,
                            "path": path,
                            "message": _("字段“%(k)s”出现在多个步骤中。") % {"k": key},
                        }
                    )
                seen.setdefault(key, s_index)
        for key in _properties(schema):
            if key not in seen:
                errors.append(
                    {
                        "file": file,
                        "path": "/ui/steps",
                        "message": _("字段“%(k)s”不在任何步骤中。") % {"k": key},
                    }
                )
    return errors
