"""The form builder's model of a form, and its conversion to and from the form file (JSON Schema + UI schema).

The builder edits a list of fields, each with a kind (text, money, citizen ID, repeating group...), labels,
help, validation settings and rules. The file is what the platform stores and validates. Both directions
live here, in plain Python, so the browser only ever edits the model and the server decides what the file
says:

- `model_from_document(document)` reads any form file, including hand-written ones: whatever the builder
  has no control for (a `$defs` section, `allOf`, a `description`, a `pattern` on a choice) is kept in the
  field's `schema_extra` / `ui_extra` and written back unchanged;
- `document_from_model(model)` writes the file; `model_errors(model)` lists what the model itself gets wrong
  (empty or repeated field names...), which the file could not even express, so such a model is never saved.

For every form file `document_from_model(model_from_document(doc))` equals `doc`, except that the UI schema
always carries `order` (PostgreSQL's jsonb does not keep the order of object keys).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from django.utils.translation import gettext as _

Json = dict[str, Any]

# kind -> the widgets the builder offers for it (the first is the default of a new field)
KIND_WIDGETS: dict[str, tuple[str, ...]] = {
    "text": ("text",),
    "textarea": ("textarea",),
    "integer": ("integer",),
    "number": ("number",),
    "money": ("money",),
    "boolean": ("checkbox", "radio"),
    "date": ("date",),
    "datetime": ("datetime",),
    "choice": ("select", "radio"),
    "multichoice": ("checkboxes", "select"),
    "id_card": ("id_card",),
    "mobile": ("mobile",),
    "area": ("area",),
    "file": ("file",),
    "group": ("group",),
    "object": ("group",),
    "raw": (),
}
KINDS = tuple(KIND_WIDGETS)
CONTAINER_KINDS = ("group", "object")
# The JSON type a kind writes when the field does not say otherwise.
KIND_TYPE = {
    "text": "string",
    "textarea": "string",
    "integer": "integer",
    "number": "number",
    "money": "number",
    "boolean": "boolean",
    "date": "string",
    "datetime": "string",
    "id_card": "string",
    "mobile": "string",
    "area": "string",
    "multichoice": "array",
    "group": "array",
    "object": "object",
    "file": "object",
}
KIND_FORMAT = {
    "money": "money",
    "date": "date",
    "datetime": "date-time",
    "id_card": "cn-id-card",
    "mobile": "cn-mobile",
    "area": "area-code",
}
FORMAT_KIND = {v: k for k, v in KIND_FORMAT.items()}
# Validation settings: model name -> JSON Schema keyword, and the kinds that offer it.
SCHEMA_SETTINGS = {
    "min_length": ("minLength", ("text", "textarea")),
    "max_length": ("maxLength", ("text", "textarea")),
    "pattern": ("pattern", ("text", "textarea")),
    "minimum": ("minimum", ("integer", "number", "money")),
    "maximum": ("maximum", ("integer", "number", "money")),
    "min_items": ("minItems", ("multichoice", "group")),
    "max_items": ("maxItems", ("multichoice", "group")),
}
UI_SETTINGS = {
    "not_future": ("not_future", ("date", "datetime")),
    "not_before": ("not_before", ("date", "datetime")),
    "in_user_scope": ("in_user_scope", ("area",)),
    "max_bytes": ("max_bytes", ("file",)),
    "content_types": ("content_types", ("file",)),
}
RULES = ("visible_if", "required_if", "computed")
LABEL_KEYS = ("help", "placeholder")
UI_MANAGED = {"widget", "enum_labels", "id_card", "label", *RULES, *LABEL_KEYS}
UI_MANAGED |= {ui_key for ui_key, _kinds in UI_SETTINGS.values()}
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
STEP_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


# --------------------------------------------------------------------------------------------------------
# document -> model
# --------------------------------------------------------------------------------------------------------


def _types(node: Json) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    return set()


def detect_kind(node: Any, options: Any) -> str:
    """The builder kind of a schema node with its UI options; "raw" for what the builder cannot edit."""
    if not isinstance(node, dict):
        return "raw"
    options = options if isinstance(options, dict) else {}
    widget = options.get("widget")
    types = _types(node)
    if "$ref" in node or any(k in node for k in ("allOf", "anyOf", "oneOf", "if", "const")):
        return "raw"
    if widget == "file":
        return "file"
    if "array" in types or (not types and "items" in node):
        items = node.get("items")
        if not isinstance(items, dict):
            return "raw"
        if "object" in _types(items) or "properties" in items:
            return "group" if isinstance(items.get("properties", {}), dict) else "raw"
        if isinstance(items.get("enum"), list):
            return "multichoice"
        return "raw"
    if isinstance(node.get("enum"), list):
        return "choice"
    if "object" in types or (not types and "properties" in node):
        return "object" if isinstance(node.get("properties", {}), dict) else "raw"
    if "boolean" in types:
        return "boolean"
    by_format = FORMAT_KIND.get(str(node.get("format", "")))
    if by_format:
        return by_format
    if "integer" in types:
        return "integer"
    if "number" in types:
        return "number"
    if "string" in types or not types:
        if widget == "textarea":
            return "textarea"
        max_length = node.get("maxLength")
        if widget != "text" and isinstance(max_length, int) and max_length > 200:
            return "textarea"
        return "text" if "string" in types else "raw"
    return "raw"


def _pair(value: Any) -> dict[str, str]:
    if isinstance(value, str):
        return {"zh": value, "en": ""}
    if isinstance(value, dict):
        return {"zh": str(value.get("zh") or ""), "en": str(value.get("en") or "")}
    return {"zh": "", "en": ""}


def _choice_value_type(values: list[Any]) -> str:
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "integer"
    return "string"


def _field_from(name: str, node: Any, required: bool, ui_fields: Json, key: str) -> Json:
    options = ui_fields.get(key) if isinstance(ui_fields.get(key), dict) else {}
    assert isinstance(options, dict)
    node = node if isinstance(node, dict) else {}
    kind = detect_kind(node, options)
    label: dict[str, Any] = options["label"] if isinstance(options.get("label"), dict) else {}
    title = node.get("title")
    field: Json = {
        "name": name,
        "kind": kind,
        "widget": str(options.get("widget") or ""),
        "label": {
            "zh": title if isinstance(title, str) else str(label.get("zh") or ""),
            "en": str(label.get("en") or ""),
        },
        "required": required,
        "step": "",
        "rules": {rule: str(options.get(rule) or "") for rule in RULES},
        "settings": {},
        "choices": [],
        "value_type": "string",
        "children": [],
    }
    for name_ in LABEL_KEYS:
        field[name_] = _pair(options.get(name_))
    extra = {k: copy.deepcopy(v) for k, v in node.items() if k != "title"}
    if not isinstance(title, str) and title is not None:
        extra["title"] = copy.deepcopy(title)
    ui_extra = {k: copy.deepcopy(v) for k, v in options.items() if k not in UI_MANAGED}
    settings: Json = {}
    if kind != "raw":
        default_type = KIND_TYPE.get(kind)
        if default_type is not None and extra.get("type") == default_type:
            extra.pop("type")
        if kind in KIND_FORMAT and extra.get("format") == KIND_FORMAT[kind]:
            extra.pop("format")
        for setting, (keyword, kinds) in SCHEMA_SETTINGS.items():
            if kind in kinds and keyword in extra:
                settings[setting] = extra.pop(keyword)
        for setting, (ui_key, kinds) in UI_SETTINGS.items():
            if kind in kinds and ui_key in options:
                settings[setting] = copy.deepcopy(options[ui_key])
            elif ui_key in options:
                ui_extra[ui_key] = copy.deepcopy(options[ui_key])
        if kind == "id_card" and isinstance(options.get("id_card"), dict):
            agree = options["id_card"]
            settings["birth_date_field"] = str(agree.get("birth_date_field") or "")
            settings["sex_field"] = str(agree.get("sex_field") or "")
            if set(agree) - {"birth_date_field", "sex_field"}:
                ui_extra["id_card"] = copy.deepcopy(agree)
        elif "id_card" in options:
            ui_extra["id_card"] = copy.deepcopy(options["id_card"])
    else:
        for ui_key, _kinds in UI_SETTINGS.values():
            if ui_key in options:
                ui_extra[ui_key] = copy.deepcopy(options[ui_key])
        if "id_card" in options:
            ui_extra["id_card"] = copy.deepcopy(options["id_card"])
    labels = options.get("enum_labels") if isinstance(options.get("enum_labels"), dict) else {}
    assert isinstance(labels, dict)
    values: list[Any] | None = None
    if kind == "choice":
        values = extra.pop("enum")
    elif kind == "multichoice":
        items = dict(extra.pop("items"))
        values = items.pop("enum")
        settings["unique"] = extra.get("uniqueItems") is True
        if settings["unique"]:
            extra.pop("uniqueItems")
        if items:
            field["items_extra"] = items
    if values is not None:
        field["value_type"] = _choice_value_type(values)
        field["choices"] = [{"value": str(v), **_pair(labels.get(str(v)))} for v in values]
        unused = {k: v for k, v in labels.items() if k not in {str(v) for v in values}}
        if unused:
            ui_extra["enum_labels"] = copy.deepcopy(unused)
    elif "enum_labels" in options:
        ui_extra["enum_labels"] = copy.deepcopy(options["enum_labels"])
    if kind in CONTAINER_KINDS:
        holder = extra
        prefix = f"{key}/"
        if kind == "group":
            holder = dict(extra.pop("items"))
            if holder.get("type") == "object":
                holder.pop("type")
            prefix = f"{key}/*/"
        properties = holder.pop("properties", {})
        required_names = holder.pop("required", [])
        field["children"] = [
            _field_from(child, sub, child in required_names, ui_fields, prefix + child)
            for child, sub in properties.items()
        ]
        missing = [r for r in required_names if r not in properties]
        if missing:
            holder["required"] = missing
        if kind == "group" and holder:
            field["items_extra"] = holder
    field["settings"] = settings
    field["schema_extra"] = extra
    field["ui_extra"] = ui_extra
    return field


def model_from_document(document: Any) -> Json:
    """The builder model of a form file (any shape: what the builder cannot edit is kept as it is)."""
    document = document if isinstance(document, dict) else {}
    schema = document.get("schema") if isinstance(document.get("schema"), dict) else {}
    ui = document.get("ui") if isinstance(document.get("ui"), dict) else {}
    assert isinstance(schema, dict) and isinstance(ui, dict)
    ui_fields = ui.get("fields") if isinstance(ui.get("fields"), dict) else {}
    assert isinstance(ui_fields, dict)
    properties = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
    assert isinstance(properties, dict)
    required = schema.get("required") if isinstance(schema.get("required"), list) else []
    assert isinstance(required, list)
    steps = (
        [s for s in ui.get("steps") or [] if isinstance(s, dict)] if isinstance(ui.get("steps"), list) else []
    )
    names = list(properties)
    order = [n for n in ui.get("order") or [] if n in properties] if isinstance(ui.get("order"), list) else []
    step_of: dict[str, str] = {}
    ordered: list[str] = []
    for step in steps:
        for name in step.get("fields") or []:
            if isinstance(name, str) and name in properties and name not in step_of:
                step_of[name] = str(step.get("key") or "")
                ordered.append(name)
    if not steps:
        ordered = order
    ordered += [n for n in order + names if n not in ordered]
    fields = []
    for name in ordered:
        field = _field_from(name, properties[name], name in required, ui_fields, name)
        field["step"] = step_of.get(name, "")
        fields.append(field)
    schema_extra = {k: copy.deepcopy(v) for k, v in schema.items() if k not in ("properties", "required")}
    if schema_extra.get("type") == "object":
        schema_extra.pop("type")
    missing_required = [r for r in required if r not in properties]
    if missing_required:
        schema_extra["required"] = missing_required
    ui_extra = {k: copy.deepcopy(v) for k, v in ui.items() if k not in ("fields", "steps", "order")}
    known_keys = set(_ui_keys(fields))
    stray = {k: copy.deepcopy(v) for k, v in ui_fields.items() if k not in known_keys}
    if stray:
        ui_extra["fields"] = stray
    return {
        "key": str(document.get("key") or ""),
        "title": _pair(document.get("title")),
        "fields": fields,
        "steps": [{"key": str(s.get("key") or ""), "title": _pair(s.get("title"))} for s in steps],
        "schema_extra": schema_extra,
        "ui_extra": ui_extra,
    }


def _ui_keys(fields: list[Json], prefix: str = "") -> list[str]:
    keys = []
    for field in fields:
        key = prefix + str(field.get("name") or "")
        keys.append(key)
        if field.get("kind") == "group":
            keys += _ui_keys(field.get("children") or [], f"{key}/*/")
        elif field.get("kind") == "object":
            keys += _ui_keys(field.get("children") or [], f"{key}/")
    return keys


# --------------------------------------------------------------------------------------------------------
# model -> document
# --------------------------------------------------------------------------------------------------------


def _clean_pair(value: Any) -> dict[str, str] | None:
    pair = _pair(value)
    result = {k: v.strip() for k, v in pair.items() if isinstance(v, str) and v.strip()}
    return result or None


def _choice_value(text: str, value_type: str) -> Any:
    if value_type == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    return text


def _number(value: Any) -> Any:
    """Numbers typed in the builder arrive as text; JSON Schema wants numbers."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text
    return value


def _field_node(field: Json, ui_fields: Json, key: str) -> Json:
    kind = str(field.get("kind")) if field.get("kind") in KINDS else "raw"
    extra = copy.deepcopy(field.get("schema_extra") or {})
    node: Json = {}
    if KIND_TYPE.get(kind) and kind not in ("file",):
        node["type"] = KIND_TYPE[kind]
    elif kind == "file" and "type" not in extra:
        node["type"] = "object"
    if kind in KIND_FORMAT:
        node["format"] = KIND_FORMAT[kind]
    label = _pair(field.get("label"))
    if label["zh"].strip():
        node["title"] = label["zh"].strip()
    node.update(extra)
    settings = field.get("settings") if isinstance(field.get("settings"), dict) else {}
    assert isinstance(settings, dict)
    options: Json = copy.deepcopy(field.get("ui_extra") or {})
    en = label["en"].strip()
    if en:  # the schema's title is the Chinese label; the UI label carries both languages
        options["label"] = {"zh": label["zh"].strip(), "en": en} if label["zh"].strip() else {"en": en}
    for setting, (keyword, kinds) in SCHEMA_SETTINGS.items():
        value = settings.get(setting)
        if kind in kinds and value not in (None, ""):
            node[keyword] = value if setting == "pattern" else _number(value)
    for setting, (ui_key, kinds) in UI_SETTINGS.items():
        value = settings.get(setting)
        if kind not in kinds or value in (None, "", []):
            continue
        if setting == "max_bytes":
            value = _number(value)
        if setting in ("not_future", "in_user_scope") and not isinstance(value, bool):
            continue
        if setting in ("not_future",) and value is False:
            continue
        options[ui_key] = value
    if kind == "id_card":
        agree = {k: settings.get(k) for k in ("birth_date_field", "sex_field") if settings.get(k)}
        if agree:
            options["id_card"] = {**(options.get("id_card") or {}), **agree}
    choices = [c for c in field.get("choices") or [] if isinstance(c, dict)]
    if kind in ("choice", "multichoice"):
        value_type = str(field.get("value_type") or "string")
        values = [_choice_value(str(c.get("value", "")), value_type) for c in choices]
        labels = {str(v): lbl for v, c in zip(values, choices, strict=True) if (lbl := _clean_pair(c))}
        if kind == "choice":
            node["enum"] = values
        else:
            node["items"] = {**copy.deepcopy(field.get("items_extra") or {}), "enum": values}
            if settings.get("unique") is True:
                node["uniqueItems"] = True
        merged = {**(options.get("enum_labels") or {}), **labels}
        if merged:
            options["enum_labels"] = merged
    if kind in CONTAINER_KINDS:
        children = [c for c in field.get("children") or [] if isinstance(c, dict)]
        prefix = f"{key}/*/" if kind == "group" else f"{key}/"
        properties = {}
        required = []
        for child in children:
            name = str(child.get("name") or "")
            properties[name] = _field_node(child, ui_fields, prefix + name)
            if child.get("required"):
                required.append(name)
        holder: Json
        if kind == "group":
            holder = {"type": "object", **copy.deepcopy(field.get("items_extra") or {})}
            node["items"] = holder
        else:
            holder = node
        holder["properties"] = properties
        extra_required = [r for r in holder.get("required", []) if r not in properties]
        if required or extra_required:
            holder["required"] = required + extra_required
        else:
            holder.pop("required", None)
    for rule in RULES:
        source = str((field.get("rules") or {}).get(rule) or "").strip()
        if source:
            options[rule] = source
    for name in LABEL_KEYS:
        pair = _clean_pair(field.get(name))
        if pair:
            options[name] = pair
    widget = str(field.get("widget") or "")
    if widget:
        options["widget"] = widget
    elif KIND_WIDGETS.get(kind) and detect_kind(node, options) != kind:
        options["widget"] = KIND_WIDGETS[kind][0]
    if options:
        ui_fields[key] = options
    return node


def document_from_model(model: Any) -> Json:
    """The form file the model describes. Never raises: a broken model gives a file whose errors the
    definition check (and `model_errors`) report."""
    model = model if isinstance(model, dict) else {}
    fields = [f for f in model.get("fields") or [] if isinstance(f, dict)]
    ui_extra = copy.deepcopy(model.get("ui_extra") or {})
    ui_fields: Json = dict(ui_extra.pop("fields", {}) or {})
    ui_extra.pop("order", None)
    properties: Json = {}
    required: list[str] = []
    for field in fields:
        name = str(field.get("name") or "")
        properties[name] = _field_node(field, ui_fields, name)
        if field.get("required"):
            required.append(name)
    schema: Json = {"type": "object", **copy.deepcopy(model.get("schema_extra") or {})}
    schema["properties"] = properties
    extra_required = [r for r in schema.get("required", []) if r not in properties]
    if required or extra_required:
        schema["required"] = required + extra_required
    else:
        schema.pop("required", None)
    ui: Json = {**ui_extra}
    ui["order"] = list(properties)
    steps = [s for s in model.get("steps") or [] if isinstance(s, dict)]
    if steps:
        ui["steps"] = []
        for step in steps:
            key = str(step.get("key") or "")
            entry: Json = {"key": key, "title": _clean_pair(step.get("title")) or {}}
            entry["fields"] = [str(f.get("name") or "") for f in fields if f.get("step") == key]
            ui["steps"].append(entry)
    if ui_fields:
        ui["fields"] = ui_fields
    document: Json = {"key": str(model.get("key") or ""), "title": _clean_pair(model.get("title")) or {}}
    document["schema"] = schema
    document["ui"] = ui
    return document


# --------------------------------------------------------------------------------------------------------
# What the model itself gets wrong
# --------------------------------------------------------------------------------------------------------


def _field_errors(fields: list[Any], path: str, prefix: str, errors: list[Json]) -> None:
    seen: set[str] = set()
    for index, field in enumerate(fields):
        here = f"{path}/{index}"
        if not isinstance(field, dict):
            errors.append({"path": here, "field": "", "message": _("字段应为对象。")})
            continue
        name = str(field.get("name") or "")
        key = prefix + name
        if not NAME_RE.match(name):
            errors.append(
                {
                    "path": f"{here}/name",
                    "field": key,
                    "message": _("字段标识“%(n)s”无效：只能用小写字母、数字和下划线，并以字母开头。")
                    % {"n": name},
                }
            )
        elif name in seen:
            errors.append(
                {"path": f"{here}/name", "field": key, "message": _("字段标识“%(n)s”重复。") % {"n": name}}
            )
        seen.add(name)
        kind = field.get("kind")
        if kind not in KINDS:
            errors.append({"path": f"{here}/kind", "field": key, "message": _("未知的字段类型。")})
        if kind in ("choice", "multichoice"):
            values = [str((c or {}).get("value", "")).strip() for c in field.get("choices") or []]
            if not values:
                errors.append({"path": f"{here}/choices", "field": key, "message": _("请至少添加一个选项。")})
            if any(not v for v in values):
                errors.append({"path": f"{here}/choices", "field": key, "message": _("选项的值不能为空。")})
            if len(set(values)) != len(values):
                errors.append({"path": f"{here}/choices", "field": key, "message": _("选项的值重复。")})
            if field.get("value_type") == "integer" and any(
                v and not re.fullmatch(r"-?\d+", v) for v in values
            ):
                errors.append(
                    {"path": f"{here}/choices", "field": key, "message": _("整数选项的值必须是整数。")}
                )
        if kind in CONTAINER_KINDS:
            sub = f"{key}/*/" if kind == "group" else f"{key}/"
            _field_errors(list(field.get("children") or []), f"{here}/children", sub, errors)


def model_errors(model: Any) -> list[Json]:
    """Problems the file could not express (so a model with any is not saved), each with the model path
    and the field key ("children/*/name")."""
    if not isinstance(model, dict):
        return [{"path": "", "field": "", "message": _("表单模型应为对象。")}]
    errors: list[Json] = []
    _field_errors(list(model.get("fields") or []), "/fields", "", errors)
    keys: set[str] = set()
    for index, step in enumerate(model.get("steps") or []):
        key = str((step or {}).get("key") or "")
        if not STEP_RE.match(key):
            errors.append(
                {
                    "path": f"/steps/{index}/key",
                    "field": "",
                    "message": _("步骤标识“%(k)s”无效：只能用小写字母、数字和下划线，并以字母开头。")
                    % {"k": key},
                }
            )
        elif key in keys:
            errors.append(
                {
                    "path": f"/steps/{index}/key",
                    "field": "",
                    "message": _("步骤标识“%(k)s”重复。") % {"k": key},
                }
            )
        keys.add(key)
    return errors


def _unescape(part: str) -> str:
    return part.replace("~1", "/").replace("~0", "~")


def error_field(path: str) -> str:
    """The builder field key a definition error belongs to ("/ui/fields/a~1*~1b/visible_if" -> "a/*/b")."""
    parts = [_unescape(p) for p in path.split("/")[1:]] if path.startswith("/") else []
    if len(parts) >= 3 and parts[:2] == ["ui", "fields"]:
        return parts[2]
    if len(parts) >= 3 and parts[:2] == ["ui", "order"]:
        return ""
    if len(parts) < 3 or parts[:2] != ["schema", "properties"]:
        return ""
    key: list[str] = []
    rest = parts[1:]
    while len(rest) >= 2 and rest[0] == "properties":
        key.append(rest[1])
        rest = rest[2:]
        if len(rest) >= 3 and rest[0] == "items" and rest[1] == "properties":
            key.append("*")
            rest = rest[1:]
    return "/".join(key)


def variables_in_scope(model: Any, field_key: str) -> list[str]:
    """The names a rule of the field `field_key` may use: the form's top-level fields, the fields of the
    row or object it is in (and `row`), and `settings` (as the definition check allows)."""
    model = model if isinstance(model, dict) else {}
    fields = [f for f in model.get("fields") or [] if isinstance(f, dict)]
    names = [str(f.get("name") or "") for f in fields]
    parts = field_key.split("/")
    level = fields
    for part in parts[:-1]:
        if part == "*":
            continue
        parent = next((f for f in level if f.get("name") == part), None)
        if parent is None:
            break
        level = [c for c in parent.get("children") or [] if isinstance(c, dict)]
        names += [str(c.get("name") or "") for c in level]
    result = [n for n in dict.fromkeys(names) if n]
    if len(parts) > 1:
        result.append("row")
    result.append("settings")
    return result


def new_field(kind: str, name: str) -> Json:
    """A field as the builder adds it."""
    kind = kind if kind in KINDS else "text"
    field: Json = {
        "name": name,
        "kind": kind,
        "widget": KIND_WIDGETS[kind][0] if KIND_WIDGETS[kind] else "",
        "label": {"zh": "", "en": ""},
        "help": {"zh": "", "en": ""},
        "placeholder": {"zh": "", "en": ""},
        "required": False,
        "step": "",
        "rules": dict.fromkeys(RULES, ""),
        "settings": {},
        "choices": [],
        "value_type": "string",
        "children": [],
        "schema_extra": {},
        "ui_extra": {},
    }
    return field


def empty_model(key: str, title: dict[str, str]) -> Json:
    return {
        "key": key,
        "title": _pair(title),
        "fields": [],
        "steps": [],
        "schema_extra": {},
        "ui_extra": {},
    }
