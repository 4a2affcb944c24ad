"""Form versions as Django forms, read-only pages and previews.

- `build_form(form_version, data=..., initial=..., user=..., step=..., prefix=...)` returns a `SchemaForm`
  (a `django.forms.Form`). Its fields turn posted text into JSON values; `is_valid()` assembles the JSON
  document and hands it to `govflow.forms.services.submission_validate` — the one validator path — and puts
  each `FormInvalid.field_errors` entry ("children/0/grade") on its field or repeating-group row.
  `form.cleaned_document` is what the validator returned (hidden fields stripped, computed fields
  computed); `form.cleaned_files` maps JSON paths to the uploaded files, which the caller stores.
- `render_readonly(form_version, document)` is the labelled, escaped view of a stored document.
- `render_fragment(...)` re-renders a form for htmx after a change (visibility and computed values);
  `preview_context(...)` drives the designer's preview page.

Rules (visible_if, computed, required_if) are evaluated here only to decide what to show; what is stored is
always what `submission_validate` decides.
"""

from __future__ import annotations

import copy
import json
import logging
import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core import signing
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.forms.formsets import INITIAL_FORM_COUNT, MAX_NUM_FORM_COUNT, MIN_NUM_FORM_COUNT, TOTAL_FORM_COUNT
from django.forms.utils import ErrorDict
from django.http import QueryDict
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from govflow.errors import NotFound, ValidationFailed
from govflow.expressions import ExpressionError, compile_expression

from . import widgets
from .models import FormVersion
from .services import FormInvalid, submission_validate

logger = logging.getLogger(__name__)

__all__ = [
    "FieldSpec",
    "SchemaForm",
    "apply_rules",
    "build_form",
    "document_to_data",
    "field_specs",
    "form_version_for_user",
    "localized",
    "preview_context",
    "render_fragment",
    "render_readonly",
    "step_of_path",
    "validation_result",
    "wizard_document",
    "wizard_progress",
    "wizard_steps",
]

EXTRA_ROWS = 2  # empty rows offered under a repeating group (without JavaScript there is no "add" button)
DEFAULT_MAX_ROWS = 200  # rows of a group without maxItems; the validator still enforces maxItems itself
MAX_NESTING = (
    6  # groups and objects nested deeper than this are not rendered (the definition check allows 12)
)
CONTEXT_SALT = "govflow.forms.fragment"
CONTEXT_MAX_AGE = 24 * 3600

_FORMAT_KINDS = {
    "date": "date",
    "date-time": "datetime",
    "cn-id-card": "id_card",
    "cn-mobile": "mobile",
    "area-code": "area",
    "money": "money",
}
_SCALAR_WIDGETS = {
    "text",
    "textarea",
    "integer",
    "number",
    "money",
    "checkbox",
    "date",
    "datetime",
    "id_card",
    "mobile",
    "area",
}
MULTI_KINDS = {"radio", "checkboxes", "yesno"}  # rendered as a fieldset with a legend


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


# --------------------------------------------------------------------------------------------------------
# Labels and the field tree
# --------------------------------------------------------------------------------------------------------


def localized(value: Any) -> str:
    """The text of a `{"zh", "en"}` pair (or a plain string) in the active language, Chinese as fallback."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        lang = (get_language() or settings.LANGUAGE_CODE).lower()
        order = ("en", "zh") if lang.startswith("en") else ("zh", "en")
        for key in order:
            text = value.get(key)
            if isinstance(text, str) and text:
                return text
    return ""


def _resolve(root: Mapping[str, Any], node: Any, depth: int = 0) -> dict[str, Any]:
    """A schema node with a local `$ref` ("#/$defs/person") merged in; anything else is left alone."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#") and depth < 8:
        target: Any = root
        for part in ref[1:].split("/"):
            if part:
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return {**_resolve(root, target, depth + 1), **rest}
    return node


def _types(node: Mapping[str, Any]) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if isinstance(t, str)}
    enum = node.get("enum")
    if isinstance(enum, list):
        found = set()
        for value in enum:
            if isinstance(value, bool):
                found.add("boolean")
            elif isinstance(value, int):
                found.add("integer")
            elif isinstance(value, float):
                found.add("number")
            elif isinstance(value, str):
                found.add("string")
        return found
    if "properties" in node:
        return {"object"}
    if "items" in node:
        return {"array"}
    return set()


def _kind(root: Mapping[str, Any], node: Mapping[str, Any], options: Mapping[str, Any]) -> str:
    """The field kind: a UI widget name, or one inferred from the schema; "group" is a repeating group."""
    widget = options.get("widget")
    types = _types(node)
    if widget == "file":
        return "file"
    if "array" in types:
        items = _resolve(root, node.get("items", {}))
        if "object" in _types(items):
            return "group"
        if items.get("enum") is not None:
            return "multiselect" if widget == "select" else "checkboxes"
        return "lines"
    if "object" in types or widget == "group":
        return "object"
    if "boolean" in types and widget in ("radio", "select"):
        return "yesno"
    if widget in ("select", "radio") and node.get("enum") is not None:
        return str(widget)
    if widget in _SCALAR_WIDGETS:
        return str(widget)
    if node.get("enum") is not None:
        return "select"
    if "boolean" in types:
        return "checkbox"
    by_format = _FORMAT_KINDS.get(str(node.get("format", "")))
    if by_format:
        return by_format
    if "integer" in types:
        return "integer"
    if "number" in types:
        return "number"
    if node.get("contentMediaType") or node.get("contentEncoding"):
        return "file"
    max_length = node.get("maxLength")
    if isinstance(max_length, int) and max_length > 200:
        return "textarea"
    return "text"


@dataclass(eq=False)
class FieldSpec:
    """One property of the form: its schema, its UI options (keyed "children/*/grade") and its kind."""

    name: str
    key: str
    node: dict[str, Any]
    options: dict[str, Any]
    kind: str
    required: bool
    children: list[FieldSpec] = field(default_factory=list)
    item_node: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return (
            localized(self.options.get("label"))
            or localized(self.node.get("title"))
            or localized(self.options.get("title"))
            or self.name
        )

    @property
    def help(self) -> str:
        text = localized(self.options.get("help"))
        if not text and isinstance(self.node.get("description"), str):
            text = self.node["description"]
        return text

    @property
    def placeholder(self) -> str:
        return localized(self.options.get("placeholder"))

    @property
    def computed(self) -> str:
        return str(self.options.get("computed") or "")

    @property
    def visible_if(self) -> str:
        return str(self.options.get("visible_if") or "")

    @property
    def required_if(self) -> str:
        return str(self.options.get("required_if") or "")

    @property
    def types(self) -> set[str]:
        return _types(self.node)

    @property
    def enum(self) -> list[Any]:
        values = self.node.get("enum")
        if values is None:
            values = self.item_node.get("enum")
        return list(values) if isinstance(values, list) else []

    def choices(self) -> list[tuple[str, str]]:
        labels = self.options.get("enum_labels") or {}
        return [(str(v), localized(labels.get(str(v))) or str(v)) for v in self.enum]

    def enum_value(self, text: Any) -> Any:
        for value in self.enum:
            if str(value) == str(text):
                return value
        return text

    def enum_label(self, value: Any) -> str:
        labels = self.options.get("enum_labels") or {}
        return localized(labels.get(str(value))) or str(value)


def _specs(
    root: Mapping[str, Any],
    node: Mapping[str, Any],
    prefix: str,
    ui_fields: Mapping[str, Any],
    names: Iterable[str] | None = None,
    depth: int = 0,
) -> list[FieldSpec]:
    properties = node.get("properties") if isinstance(node.get("properties"), dict) else {}
    assert isinstance(properties, dict)
    required = set(node.get("required") or [])
    result = []
    for name in list(names) if names is not None else list(properties):
        if name not in properties:
            continue
        child = _resolve(root, properties[name])
        key = f"{prefix}{name}"
        options = ui_fields.get(key) if isinstance(ui_fields.get(key), dict) else {}
        assert isinstance(options, dict)
        spec = FieldSpec(name, key, child, options, _kind(root, child, options), name in required)
        if spec.kind == "group":
            spec.item_node = _resolve(root, child.get("items", {}))
            if depth < MAX_NESTING:
                spec.children = _specs(root, spec.item_node, f"{key}/*/", ui_fields, depth=depth + 1)
        elif spec.kind == "object":
            if depth < MAX_NESTING:
                spec.children = _specs(root, child, f"{key}/", ui_fields, depth=depth + 1)
        elif "array" in spec.types:
            spec.item_node = _resolve(root, child.get("items", {}))
        result.append(spec)
    return result


def _ui_fields(version: FormVersion) -> dict[str, Any]:
    fields = (version.ui_schema or {}).get("fields")
    return fields if isinstance(fields, dict) else {}


def _steps(version: FormVersion) -> list[dict[str, Any]]:
    steps = (version.ui_schema or {}).get("steps")
    return [s for s in steps if isinstance(s, dict) and s.get("key")] if isinstance(steps, list) else []


def _top_names(version: FormVersion, step: str | None) -> list[str]:
    properties = list((version.schema or {}).get("properties", {}))
    if step is not None:
        steps = {s["key"]: s for s in _steps(version)}
        if step not in steps:
            raise ValidationFailed(_("步骤“%(s)s”不存在。") % {"s": step}, code="unknown_step")
        return [n for n in steps[step].get("fields", []) if n in properties]
    order = [n for n in (version.ui_schema or {}).get("order", []) if n in properties]
    return order + [n for n in properties if n not in order]


def field_specs(version: FormVersion, step: str | None = None) -> list[FieldSpec]:
    """The top-level fields of a version (of one step), in UI order, with their nested fields."""
    schema = version.schema or {}
    return _specs(schema, schema, "", _ui_fields(version), names=_top_names(version, step))


# --------------------------------------------------------------------------------------------------------
# Rules, evaluated for display (the validator evaluates them again for real)
# --------------------------------------------------------------------------------------------------------


def _safe_eval(source: str, ctx: Mapping[str, Any]) -> Any:
    try:
        return compile_expression(source).evaluate(ctx)
    except ExpressionError:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _targets(data: dict[str, Any], key: str) -> list[tuple[list[Any], dict[str, Any]]]:
    containers: list[tuple[list[Any], Any]] = [([], data)]
    for part in key.split("/")[:-1]:
        found: list[tuple[list[Any], Any]] = []
        for path, container in containers:
            if part == "*" and isinstance(container, list):
                found.extend((path + [i], item) for i, item in enumerate(container))
            elif isinstance(container, dict) and isinstance(container.get(part), list | dict):
                found.append((path + [part], container[part]))
        containers = found
    return [(p, c) for p, c in containers if isinstance(c, dict)]


def apply_rules(
    ui_fields: Mapping[str, Any], document: Mapping[str, Any], context: Mapping[str, Any] | None = None
) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
    """(document with hidden fields dropped and computed fields filled, hidden paths, computed values).

    The same order and scoping as the validator: rules in UI order, per row for "group/*/field" keys, a row's
    own fields (and `row`) beside the whole form's fields and the context.
    """
    doc = copy.deepcopy(dict(document))
    base = dict(context or {})
    hidden: set[str] = set()
    computed: dict[str, Any] = {}
    for key, options in ui_fields.items():
        if not isinstance(options, dict) or not (options.get("visible_if") or options.get("computed")):
            continue
        name = key.split("/")[-1]
        for path, container in _targets(doc, key):
            ctx = {**base, **doc, **container, "row": container}
            where = "/".join(str(p) for p in [*path, name])
            if options.get("visible_if") and not _safe_eval(options["visible_if"], ctx):
                container.pop(name, None)
                hidden.add(where)
                continue
            if options.get("computed"):
                value = _safe_eval(options["computed"], ctx)
                if value is None:
                    container.pop(name, None)
                else:
                    container[name] = json.loads(json.dumps(value, default=_jsonable))
                    computed[where] = container[name]
    return doc, hidden, computed


def _rule_names(version: FormVersion) -> frozenset[str]:
    """Every name a visibility, computed or required rule reads: changing such a field re-renders the form."""
    names: set[str] = set()
    for options in _ui_fields(version).values():
        if not isinstance(options, dict):
            continue
        for rule in ("visible_if", "computed", "required_if"):
            source = options.get(rule)
            if source:
                try:
                    names |= set(compile_expression(source).variables)
                except ExpressionError:
                    continue
    return frozenset(names)


# --------------------------------------------------------------------------------------------------------
# Values: JSON <-> Django field values
# --------------------------------------------------------------------------------------------------------


def _number_json(value: Decimal | int, types: set[str]) -> Any:
    if types and not types & {"number", "integer"} and "string" in types:
        return format(value, "f") if isinstance(value, Decimal) else str(value)
    if isinstance(value, int):
        return value
    return int(value) if value == value.to_integral_value() else float(value)


def _file_json(spec: FieldSpec, upload: Any) -> Any:
    meta = {
        "name": str(getattr(upload, "name", "")),
        "size": int(getattr(upload, "size", 0) or 0),
        "content_type": str(getattr(upload, "content_type", "") or ""),
    }
    types = spec.types
    item_types = _types(spec.item_node)
    if "array" in types:
        return [meta if "object" in item_types else meta["name"]]
    return meta if "object" in types else meta["name"]


def _to_json(spec: FieldSpec, value: Any) -> Any:
    """The JSON value of a cleaned Django value; MISSING for nothing (so `required` can speak)."""
    kind = spec.kind
    if kind == "checkbox":
        return bool(value)
    if value is None or value == "" or value == []:
        return MISSING
    if kind == "yesno":
        return bool(value)
    if kind == "integer":
        return _number_json(int(value), spec.types)
    if kind in ("number", "money"):
        return _number_json(value, spec.types)
    if kind == "datetime" and isinstance(value, datetime):
        return (timezone.localtime(value) if timezone.is_aware(value) else value).isoformat()
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    if kind in ("select", "radio"):
        return spec.enum_value(value)
    if kind in ("checkboxes", "multiselect"):
        return [spec.enum_value(v) for v in value]
    if kind == "lines":
        return [_item_json(spec, line.strip()) for line in str(value).splitlines() if line.strip()] or MISSING
    if kind == "id_card":
        return str(value).strip().upper()
    if kind == "mobile":
        return str(value).strip().replace(" ", "")
    if kind == "file":
        return _file_json(spec, value)
    return str(value)


def _item_json(spec: FieldSpec, text: str) -> Any:
    item_types = _types(spec.item_node)
    try:
        if "integer" in item_types:
            return int(text)
        if "number" in item_types:
            return _number_json(Decimal(text), {"number"})
    except (ValueError, InvalidOperation):
        return text
    return text


def _to_initial(spec: FieldSpec, value: Any) -> Any:
    """A JSON value as the initial value of the Django field."""
    kind = spec.kind
    try:
        if kind == "date" and isinstance(value, str):
            return date.fromisoformat(value[:10])
        if kind == "datetime" and isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        if (
            kind in ("number", "money")
            and isinstance(value, int | float | str)
            and not isinstance(value, bool)
        ):
            return Decimal(str(value))
    except (ValueError, InvalidOperation):
        return value
    if kind == "yesno":
        return None if value is None else ("true" if value else "false")
    if kind in ("select", "radio"):
        return str(value)
    if kind in ("checkboxes", "multiselect"):
        return [str(v) for v in value] if isinstance(value, list) else []
    if kind == "lines":
        return "\n".join(str(v) for v in value) if isinstance(value, list) else value
    if kind == "file":
        return None
    return value


# --------------------------------------------------------------------------------------------------------
# Django fields
# --------------------------------------------------------------------------------------------------------


def _type_allowed(content_type: str, name: str, allowed: list[str]) -> bool:
    def match(kind: str | None, filename: str) -> bool:
        for pattern in allowed:
            if pattern.startswith("."):
                if filename.lower().endswith(pattern.lower()):
                    return True
            elif kind and (pattern == kind or (pattern.endswith("/*") and kind.startswith(pattern[:-1]))):
                return True
        return False

    guessed = mimetypes.guess_type(name)[0]
    return match(content_type or None, name) and (guessed is None or match(guessed, name))


class LimitedFileField(forms.FileField):
    """A file field with the UI schema's `max_bytes` and `content_types`; it stores nothing."""

    def __init__(self, *, max_bytes: int, content_types: list[str], **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        self.content_types = content_types
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        value = super().clean(data, initial)
        if value is None or value is False:
            return None
        size = getattr(value, "size", 0) or 0
        if size > self.max_bytes:
            raise ValidationError(
                _("文件不能超过%(size)s。") % {"size": filesizeformat(self.max_bytes)}, code="too_large"
            )
        kind = str(getattr(value, "content_type", "") or "")
        if self.content_types and not _type_allowed(kind, str(value.name), self.content_types):
            raise ValidationError(
                _("不接受这种文件（允许：%(types)s）。") % {"types": "、".join(self.content_types)},
                code="content_type",
            )
        return value


def _max_upload(spec: FieldSpec) -> int:
    ceiling = int(getattr(settings, "GOVFLOW_MAX_UPLOAD_BYTES", 20 * 1024 * 1024))
    wanted = spec.options.get("max_bytes")
    return min(ceiling, wanted) if isinstance(wanted, int) and wanted > 0 else ceiling


@dataclass(eq=False)
class _Env:
    """What every form of one build shares: the version, the user, rules, and the htmx refresh target."""

    version: FormVersion
    user: Any
    step: str | None
    context: dict[str, Any]
    fragment_id: str
    refresh_url: str = ""
    dependencies: frozenset[str] = frozenset()
    quiet: bool = False
    root: SchemaForm | None = None
    _areas: dict[bool, list[tuple[str, str, str, str | None]]] = field(default_factory=dict)

    def refresh_attrs(self) -> dict[str, str]:
        if not self.refresh_url:
            return {}
        return {
            "hx-post": self.refresh_url,
            # Only while the input sits in its form (htmx parks preserved inputs outside it during a swap),
            # and one request at a time: a second swap must not target the fragment the first one replaced.
            "hx-trigger": "change[target.form != null]",
            "hx-sync": "closest form:queue last",
            "hx-target": f"#{self.fragment_id}",
            "hx-swap": "outerHTML",
        }

    def preserve_attrs(self) -> dict[str, str]:
        # When htmx swaps in the re-rendered form it keeps the inputs already on the page (hx-preserve needs an
        # id; Django gives every input one), so nothing typed while the request ran is lost and focus stays.
        # Only the markup around them (visibility, computed values, required marks) comes from the server.
        return {"hx-preserve": "true"} if self.refresh_url else {}

    def areas(self, in_scope: bool) -> list[tuple[str, str, str, str | None]]:
        if in_scope not in self._areas:
            from govflow.roles.models import Area
            from govflow.roles.selectors import areas_in_scope

            user = self.user
            if in_scope and user is not None and getattr(user, "is_authenticated", False):
                qs = areas_in_scope(user=user)
            else:
                qs = Area.objects.all()
            self._areas[in_scope] = list(
                qs.order_by("code").values_list("code", "name", "level", "parent_id")
            )
        return self._areas[in_scope]


_LEVEL_DEPTH = {"county": 0, "township": 1, "village": 2}


def _area_field(
    spec: FieldSpec, env: _Env, attrs: dict[str, Any], common: dict[str, Any], current: Any
) -> forms.Field:
    areas = env.areas(spec.options.get("in_user_scope", True) is not False)
    choices = [("", _("请选择区划"))] + [
        (code, "\u3000" * _LEVEL_DEPTH.get(level, 0) + name) for code, name, level, _parent in areas
    ]
    if isinstance(current, str) and current and current not in {a[0] for a in areas}:
        # A stored value outside the user's areas still shows (a reviewer sees what the clerk entered).
        choices.append((current, _area_name(current)))
    widget = widgets.AreaSelect(attrs=attrs, areas=areas, blank_label=_("请选择"))
    return forms.ChoiceField(choices=choices, widget=widget, **common)


def _make_field(spec: FieldSpec, env: _Env, current: Any = None) -> forms.Field:
    kind = spec.kind
    attrs: dict[str, Any] = {}
    if spec.placeholder:
        attrs["placeholder"] = spec.placeholder
    if not spec.computed:
        attrs.update(env.preserve_attrs())
        if spec.name in env.dependencies:
            attrs.update(env.refresh_attrs())
    common: dict[str, Any] = {"required": False, "label": spec.label, "help_text": spec.help}
    max_length = spec.node.get("maxLength")
    if isinstance(max_length, int) and kind in ("text", "textarea"):
        attrs["maxlength"] = str(max_length)
    if kind in ("textarea", "lines"):
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3, **attrs}), **common)
    if kind == "integer":
        return forms.IntegerField(widget=forms.NumberInput(attrs=attrs), **common)
    if kind == "number":
        return forms.DecimalField(widget=forms.NumberInput(attrs=attrs), **common)
    if kind == "money":
        return forms.DecimalField(
            decimal_places=2, min_value=Decimal(0), widget=widgets.MoneyInput(attrs=attrs), **common
        )
    if kind == "checkbox":
        return forms.BooleanField(widget=forms.CheckboxInput(attrs=attrs), **common)
    if kind == "yesno":
        return forms.TypedChoiceField(
            choices=[("true", _("是")), ("false", _("否"))],
            coerce=lambda v: v == "true",
            empty_value=None,
            widget=forms.RadioSelect(attrs=attrs),
            **common,
        )
    if kind == "date":
        return forms.DateField(widget=widgets.DateInput(attrs=attrs), input_formats=["%Y-%m-%d"], **common)
    if kind == "datetime":
        return forms.DateTimeField(
            widget=widgets.DateTimeInput(attrs=attrs),
            input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"],
            **common,
        )
    if kind == "select":
        return forms.ChoiceField(
            choices=[("", _("请选择"))] + spec.choices(), widget=forms.Select(attrs=attrs), **common
        )
    if kind == "radio":
        return forms.ChoiceField(choices=spec.choices(), widget=forms.RadioSelect(attrs=attrs), **common)
    if kind == "checkboxes":
        return forms.MultipleChoiceField(
            choices=spec.choices(), widget=forms.CheckboxSelectMultiple(attrs=attrs), **common
        )
    if kind == "multiselect":
        return forms.MultipleChoiceField(
            choices=spec.choices(), widget=forms.SelectMultiple(attrs=attrs), **common
        )
    if kind == "id_card":
        return forms.CharField(widget=widgets.IdCardInput(attrs=attrs), **common)
    if kind == "mobile":
        return forms.CharField(widget=widgets.MobileInput(attrs=attrs), **common)
    if kind == "area":
        return _area_field(spec, env, attrs, common, current)
    if kind == "file":
        types = [str(t) for t in spec.options.get("content_types") or []]
        if types:
            attrs["accept"] = ",".join(types)
        return LimitedFileField(
            max_bytes=_max_upload(spec), content_types=types, widget=widgets.FileInput(attrs=attrs), **common
        )
    return forms.CharField(widget=forms.TextInput(attrs=attrs), **common)


# --------------------------------------------------------------------------------------------------------
# The form
# --------------------------------------------------------------------------------------------------------


def _path_text(path: list[Any]) -> str:
    return "/".join(str(p) for p in path)


@dataclass(eq=False)
class Item:
    """One entry of a rendered form (a field, a computed value, a repeating group or a nested object)."""

    kind: str
    spec: FieldSpec
    label: str
    help: str = ""
    required: bool = False
    errors: list[str] = field(default_factory=list)
    bound: Any = None
    display: str = ""
    input_id: str = ""
    multi: bool = False
    formset: Any = None
    rows: list[Row] = field(default_factory=list)
    empty_row: Row | None = None
    children: list[Item] = field(default_factory=list)


@dataclass(eq=False)
class Row:
    form: SchemaForm
    items: list[Item]
    number: int | None
    delete: Any = None
    errors: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Section:
    title: str
    items: list[Item]


@dataclass(eq=False)
class _Display:
    document: dict[str, Any]
    hidden: set[str]
    computed: dict[str, Any]


class GroupFormSet(forms.BaseFormSet):
    """The rows of a repeating group. Untouched extra rows and rows marked for deletion are not data."""

    spec: FieldSpec
    env: _Env

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.group_errors: list[str] = []
        self.live: list[SchemaForm] | None = None

    def add_fields(self, form: forms.Form, index: int | None) -> None:
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            delete = form.fields["DELETE"]
            delete.label = _("删除此项")
            delete.widget.attrs.update(self.env.preserve_attrs())
            if self.spec.name in self.env.dependencies:
                delete.widget.attrs.update(self.env.refresh_attrs())

    def row_deleted(self, form: forms.Form) -> bool:
        if not self.is_bound or "DELETE" not in form.fields:
            return False
        widget = form.fields["DELETE"].widget
        return bool(widget.value_from_datadict(form.data, form.files, form.add_prefix("DELETE")))

    def live_rows(self) -> list[SchemaForm]:
        rows: list[SchemaForm] = []
        initial = self.initial_form_count()
        for index, form in enumerate(self.forms):
            if not isinstance(form, SchemaForm):
                continue
            if self.is_bound:
                if self.row_deleted(form) or (index >= initial and not form.has_changed()):
                    continue
            elif index >= initial:
                continue
            rows.append(form)
        return rows


def _formset_class(spec: FieldSpec, env: _Env, initial_rows: int) -> type[GroupFormSet]:
    max_items = spec.node.get("maxItems")
    max_num = max_items if isinstance(max_items, int) and max_items >= 0 else DEFAULT_MAX_ROWS
    extra = max(0, min(EXTRA_ROWS, max_num - initial_rows))
    base = type("RowsFormSet", (GroupFormSet,), {"spec": spec, "env": env})
    made = forms.formset_factory(
        SchemaForm, formset=base, extra=extra, can_delete=True, max_num=max_num, absolute_max=max_num + 50
    )
    return cast(type[GroupFormSet], made)


class SchemaForm(forms.Form):
    """A Django form built from a form version (see build_form). Rows and nested objects are SchemaForms too."""

    template_name = "forms/_form.html"
    _errors: ErrorDict | None  # set by Django's BaseForm (not in the stubs)

    def __init__(
        self,
        data: Any = None,
        files: Any = None,
        *,
        specs: list[FieldSpec],
        env: _Env,
        initial: Mapping[str, Any] | None = None,
        prefix: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.specs = specs
        self.env = env
        self.spec_map = {s.name: s for s in specs}
        self.initial_document: dict[str, Any] = dict(initial) if isinstance(initial, Mapping) else {}
        field_initial = {
            s.name: _to_initial(s, self.initial_document[s.name])
            for s in specs
            if s.kind not in ("group", "object") and s.name in self.initial_document
        }
        kwargs.setdefault("use_required_attribute", False)
        super().__init__(data, files, prefix=prefix, initial=field_initial, **kwargs)
        self.groups: dict[str, GroupFormSet] = {}
        self.objects: dict[str, SchemaForm] = {}
        self.cleaned_document: dict[str, Any] | None = None
        self.cleaned_files: dict[str, Any] = {}
        self.field_errors: dict[str, list[str]] = {}
        self._gf_path: list[Any] | None = None
        self._gf_doc: dict[str, Any] = {}
        bound_data = self.data if self.is_bound else None
        bound_files = self.files if self.is_bound else None
        for spec in specs:
            if spec.kind == "group":
                rows = self.initial_document.get(spec.name)
                rows = [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []
                formset_class = _formset_class(spec, env, len(rows))
                self.groups[spec.name] = formset_class(
                    data=bound_data,
                    files=bound_files,
                    prefix=self.add_prefix(spec.name),
                    initial=rows or None,
                    form_kwargs={"specs": spec.children, "env": env},
                )
            elif spec.kind == "object":
                sub = self.initial_document.get(spec.name)
                self.objects[spec.name] = SchemaForm(
                    bound_data,
                    bound_files,
                    specs=spec.children,
                    env=env,
                    initial=sub if isinstance(sub, dict) else {},
                    prefix=self.add_prefix(spec.name),
                    auto_id=self.auto_id,
                )
            else:
                made = _make_field(spec, env, self.initial_document.get(spec.name))
                if spec.computed:
                    made.disabled = True
                self.fields[spec.name] = made

    # -- state -------------------------------------------------------------------------------------------

    @property
    def is_root(self) -> bool:
        return self.env.root is self

    @property
    def form_version(self) -> FormVersion:
        return self.env.version

    @property
    def errors(self) -> ErrorDict:
        if self._errors is None and self.env.quiet:
            return ErrorDict()
        return super().errors

    def has_changed(self) -> bool:
        return (
            super().has_changed()
            or any(fs.has_changed() for fs in self.groups.values())
            or any(sub.has_changed() for sub in self.objects.values())
        )

    def full_clean(self) -> None:
        super().full_clean()
        if not self.is_bound:
            return
        for formset in self.groups.values():
            formset.full_clean()
        for sub in self.objects.values():
            sub.errors  # noqa: B018 - cleans the nested object
        if self.is_root:
            self._validate_document()

    def is_valid(self) -> bool:
        if not self.is_root:
            return super().is_valid()
        if not self.is_bound:
            return False
        self.errors  # noqa: B018 - runs full_clean once
        return self.cleaned_document is not None

    # -- the document ------------------------------------------------------------------------------------

    def _gather(
        self, path: list[Any] | None, *, strict: bool, bad: dict[str, list[str]], files: dict
    ) -> dict:
        """This form's part of the JSON document. `strict` reads cleaned data (after full_clean) and records
        conversion errors in `bad`; otherwise values that do not convert are simply left out (display)."""
        self._gf_path = path
        doc: dict[str, Any] = {}
        for spec in self.specs:
            here = None if path is None else [*path, spec.name]
            if spec.kind == "group":
                formset = self.groups[spec.name]
                formset.live = formset.live_rows()
                live = {id(f) for f in formset.live}
                rows: list[dict[str, Any]] = []
                for form in formset.forms:
                    if not isinstance(form, SchemaForm):
                        continue
                    if id(form) in live:
                        row_path = None if here is None else [*here, len(rows)]
                        rows.append(form._gather(row_path, strict=strict, bad=bad, files=files))
                    else:
                        form._gather(None, strict=False, bad={}, files={})
                if self.is_bound or rows:
                    doc[spec.name] = rows
            elif spec.kind == "object":
                value = self.objects[spec.name]._gather(here, strict=strict, bad=bad, files=files)
                if self.is_bound or spec.name in self.initial_document:
                    doc[spec.name] = value
            elif not spec.computed:
                value = self._field_json(spec, strict, bad, here)
                if value is not MISSING:
                    doc[spec.name] = value
                    if spec.kind == "file" and strict and here is not None:
                        files[_path_text(here)] = self.cleaned_data.get(spec.name)
        self._gf_doc = doc
        return doc

    def _field_json(self, spec: FieldSpec, strict: bool, bad: dict[str, list[str]], here: list | None) -> Any:
        if not self.is_bound:
            return self.initial_document.get(spec.name, MISSING)
        if strict:
            if self._errors and spec.name in self._errors:
                if here is not None:
                    bad[_path_text(here)] = [str(m) for m in self._errors[spec.name]]
                return MISSING
            return _to_json(spec, getattr(self, "cleaned_data", {}).get(spec.name))
        bound = self[spec.name]
        try:
            if spec.kind == "file":
                value = cast(forms.FileField, bound.field).clean(bound.data, bound.initial)
            else:
                value = bound.field.clean(bound.data)
        except ValidationError:
            return MISSING
        return _to_json(spec, value)

    def _validate_document(self) -> None:
        env = self.env
        bad: dict[str, list[str]] = {}
        files: dict[str, Any] = {}
        document = self._gather([], strict=True, bad=bad, files=files)
        _doc, hidden, _computed = apply_rules(_ui_fields(env.version), document, env.context)
        for path in [p for p in bad if p in hidden]:
            # A value that does not convert in a field the rules now hide is dropped, not reported.
            self._drop_error(path.split("/"))
            del bad[path]
        self.field_errors = dict(bad)
        try:
            cleaned = submission_validate(
                form=env.version, data=document, user=env.user, context=env.context, partial_step=env.step
            )
        except FormInvalid as exc:
            self.attach_errors(exc.field_errors, skip=set(bad))
            return
        if bad or self._tree_has_errors():
            return
        if env.step is not None:
            cleaned = {k: v for k, v in cleaned.items() if k in self.spec_map}
        self.cleaned_document = cleaned
        self.cleaned_files = {p: f for p, f in files.items() if f is not None and _has_path(cleaned, p)}

    def _tree_has_errors(self) -> bool:
        if self._errors:
            return True
        for formset in self.groups.values():
            if formset.group_errors or formset.non_form_errors():
                return True
            if any(row._tree_has_errors() for row in formset.live or []):
                return True
        return any(sub._tree_has_errors() for sub in self.objects.values())

    # -- errors by JSON path -----------------------------------------------------------------------------

    def attach_errors(self, field_errors: Mapping[str, Iterable[Any]], skip: Iterable[str] = ()) -> None:
        """Put validator errors ({"children/0/grade": [...]}) on the fields and rows they name."""
        skipped = set(skip)
        if self._errors is None:
            if self.is_bound:
                self.errors  # noqa: B018
            else:
                self._errors = ErrorDict()
                self.cleaned_data = {}
        for path, messages in field_errors.items():
            if path in skipped:
                continue
            texts = [str(m) for m in messages]
            self.field_errors.setdefault(path, []).extend(texts)
            self._attach(path.split("/") if path else [], texts)
        self.cleaned_document = None

    def _add(self, name: str | None, messages: list[str]) -> None:
        if self._errors is None:
            self._errors = ErrorDict()
            self.cleaned_data = {}
        if not hasattr(self, "cleaned_data"):
            self.cleaned_data = {}
        self.add_error(name, ValidationError(messages))

    def _attach(self, parts: list[str], messages: list[str]) -> None:
        if not parts:
            self._add(None, messages)
            return
        head, rest = parts[0], parts[1:]
        spec = self.spec_map.get(head)
        if spec is None:
            self._add(None, [_("%(field)s：%(message)s") % {"field": head, "message": m} for m in messages])
            return
        if spec.kind == "group":
            formset = self.groups[head]
            live = formset.live if formset.live is not None else formset.live_rows()
            if rest and rest[0].isdigit() and int(rest[0]) < len(live):
                live[int(rest[0])]._attach(rest[1:], messages)
            elif rest and rest[0].isdigit():
                number = int(rest[0]) + 1
                formset.group_errors.extend(
                    _("第%(n)s项：%(message)s") % {"n": number, "message": m} for m in messages
                )
            else:
                formset.group_errors.extend(messages)
            return
        if spec.kind == "object":
            self.objects[head]._attach(rest, messages)
            return
        self._add(head, messages)

    def _drop_error(self, parts: list[str]) -> None:
        head, rest = parts[0], parts[1:]
        spec = self.spec_map.get(head)
        if spec is None:
            return
        if spec.kind == "group" and rest and rest[0].isdigit():
            live = self.groups[head].live or []
            if int(rest[0]) < len(live):
                live[int(rest[0])]._drop_error(rest[1:])
        elif spec.kind == "object" and rest:
            self.objects[head]._drop_error(rest)
        elif self._errors is not None:
            self._errors.pop(head, None)

    # -- display -----------------------------------------------------------------------------------------

    def layout(self) -> dict[str, Any]:
        """What the template shows: sections of items with values, visibility and errors."""
        root = self.env.root or self
        if root.is_bound and not self.env.quiet:
            root.errors  # noqa: B018 - a bound form shows its errors, as any Django form
        document = root._gather([], strict=False, bad={}, files={})
        _doc, hidden, computed = apply_rules(_ui_fields(self.env.version), document, self.env.context)
        state = _Display(document, hidden, computed)
        items = root._items(state)
        sections = _sections(self.env, items)
        errors = root._non_field_texts() if not self.env.quiet else []
        token = ""
        if self.env.refresh_url and self.env.context:
            # Signed, not encrypted: the user's own earlier answers and case variables travel with the page.
            plain = json.loads(json.dumps(self.env.context, default=_jsonable))
            token = signing.dumps(plain, salt=CONTEXT_SALT, compress=True)
        return {
            "id": self.env.fragment_id,
            "sections": sections,
            "errors": errors,
            "context_token": token,
            "refresh_url": self.env.refresh_url,
        }

    def _non_field_texts(self) -> list[str]:
        errors: ErrorDict | None = self._errors
        return [str(e) for e in errors.get(NON_FIELD_ERRORS, [])] if errors else []

    def _show_errors(self) -> bool:
        return self._errors is not None and not self.env.quiet and self._gf_path is not None

    def _rule_ctx(self, state: _Display) -> dict[str, Any]:
        return {**self.env.context, **state.document, **self._gf_doc, "row": self._gf_doc}

    def _items(self, state: _Display) -> list[Item]:
        items: list[Item] = []
        show = self._show_errors()
        for spec in self.specs:
            here = None if self._gf_path is None else _path_text([*self._gf_path, spec.name])
            if spec.visible_if:
                if here is not None and here in state.hidden:
                    continue
                if here is None and not _safe_eval(spec.visible_if, self._rule_ctx(state)):
                    continue
            required = spec.required or bool(
                spec.required_if and _safe_eval(spec.required_if, self._rule_ctx(state))
            )
            if spec.kind == "group":
                items.append(self._group_item(spec, state, required))
                continue
            if spec.kind == "object":
                sub = self.objects[spec.name]
                errors = sub._non_field_texts() if show else []
                items.append(
                    Item("object", spec, spec.label, spec.help, required, errors, children=sub._items(state))
                )
                continue
            bound = self[spec.name]
            own: ErrorDict | None = self._errors
            errors = [str(e) for e in own.get(spec.name, [])] if show and own else []
            help_text = spec.help
            if spec.kind == "file":
                help_text = " ".join(t for t in (help_text, _file_hint(spec)) if t)
            if spec.computed:
                if here is not None:
                    value = state.computed.get(here)
                else:
                    value = _safe_eval(spec.computed, self._rule_ctx(state))
                    value = None if value is None else json.loads(json.dumps(value, default=_jsonable))
                display = _display(spec, value) if value is not None else ""
                items.append(
                    Item(
                        "computed", spec, spec.label, help_text, False, errors, bound, display, bound.auto_id
                    )
                )
                continue
            items.append(
                Item(
                    "checkbox" if spec.kind == "checkbox" else "field",
                    spec,
                    spec.label,
                    help_text,
                    required,
                    errors,
                    bound,
                    input_id=bound.auto_id,
                    multi=spec.kind in MULTI_KINDS,
                )
            )
        return items

    def _group_item(self, spec: FieldSpec, state: _Display, required: bool) -> Item:
        formset = self.groups[spec.name]
        live = {id(f) for f in formset.live or []}
        rows: list[Row] = []
        for index, form in enumerate(formset.forms):
            if not isinstance(form, SchemaForm):
                continue
            show = form._show_errors() and id(form) in live
            row_errors = form._non_field_texts() if show else []
            delete = form["DELETE"] if "DELETE" in form.fields else None
            rows.append(Row(form, form._items(state), index + 1, delete, row_errors))
        empty = formset.empty_form
        assert isinstance(empty, SchemaForm)
        empty._gather(None, strict=False, bad={}, files={})
        empty_row = Row(
            empty, empty._items(state), None, empty["DELETE"] if "DELETE" in empty.fields else None
        )
        errors: list[str] = []
        if self._show_errors():
            management = getattr(formset, "_non_form_errors", None) or []
            errors = [str(e) for e in management] + list(formset.group_errors)
        return Item(
            "group",
            spec,
            spec.label,
            spec.help,
            required,
            errors,
            formset=formset,
            rows=rows,
            empty_row=empty_row,
        )

    def render(
        self, template_name: str | None = None, context: Any = None, renderer: Any = None
    ) -> SafeString:
        return mark_safe(  # noqa: S308 - the template escapes every admin-authored text
            render_to_string(template_name or self.template_name, {"layout": self.layout(), "form": self})
        )

    __str__ = render  # type: ignore[assignment]
    __html__ = render


def _has_path(document: Any, path: str) -> bool:
    node = document
    for part in path.split("/"):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def _file_hint(spec: FieldSpec) -> str:
    types = [str(t) for t in spec.options.get("content_types") or []]
    hint = _("不超过%(size)s") % {"size": filesizeformat(_max_upload(spec))}
    if types:
        hint += _("，格式：%(types)s") % {"types": "、".join(types)}
    return hint


def _sections(env: _Env, items: list[Item]) -> list[Section]:
    steps = _steps(env.version)
    if env.step is not None or not steps:
        return [Section("", items)]
    by_name = {item.spec.name: item for item in items}
    sections = []
    placed: set[str] = set()
    for step in steps:
        names = [n for n in step.get("fields", []) if n in by_name]
        placed.update(names)
        if names:
            sections.append(
                Section(localized(step.get("title")) or str(step["key"]), [by_name[n] for n in names])
            )
    rest = [item for item in items if item.spec.name not in placed]
    if rest:
        sections.append(Section("", rest))
    return sections


def _fragment_id(prefix: str | None) -> str:
    return f"gf-{prefix}" if prefix else "gf-form"


def _refresh_url(version: FormVersion, step: str | None, prefix: str | None) -> str:
    try:
        url = reverse("forms:fragment", kwargs={"key": version.key, "version": version.version})
    except NoReverseMatch:
        return ""
    query = {k: v for k, v in (("step", step), ("prefix", prefix)) if v}
    return f"{url}?{urlencode(query)}" if query else url


def build_form(
    form_version: FormVersion,
    *,
    data: Any = None,
    initial: Mapping[str, Any] | None = None,
    user: Any = None,
    step: str | None = None,
    prefix: str | None = None,
    files: Any = None,
    context: Mapping[str, Any] | None = None,
) -> SchemaForm:
    """A Django form for `form_version` (one step of it when `step` is given).

    `data`/`files` are the posted request data; `initial` a JSON document to start from; `user` limits the
    area picker to the user's areas; `context` holds the variables rules may read besides the form's own
    fields (case variables, other wizard steps, `__today__`). `form.is_valid()` runs submission_validate.
    """
    env = _Env(
        version=form_version,
        user=user,
        step=step,
        context=dict(context or {}),
        fragment_id=_fragment_id(prefix),
    )
    env.dependencies = _rule_names(form_version)
    if env.dependencies and form_version.pk is not None:  # an unsaved version has no fragment URL
        env.refresh_url = _refresh_url(form_version, step, prefix)
    form = SchemaForm(
        data, files, specs=field_specs(form_version, step), env=env, initial=initial or {}, prefix=prefix
    )
    env.root = form
    return form


def document_to_data(
    form_version: FormVersion,
    document: Mapping[str, Any],
    *,
    step: str | None = None,
    prefix: str | None = None,
    user: Any = None,
) -> QueryDict:
    """The POST data a browser would send for `document` (files excepted): for previews, tests and imports."""
    form = build_form(form_version, initial=document, step=step, prefix=prefix, user=user)
    data = QueryDict("", mutable=True)
    _form_data(form, data)
    return data


def _form_data(form: SchemaForm, data: QueryDict) -> None:
    for spec in form.specs:
        if spec.kind == "group":
            formset = form.groups[spec.name]
            rows = [f for f in formset.forms[: formset.initial_form_count()] if isinstance(f, SchemaForm)]
            data[formset.add_prefix(TOTAL_FORM_COUNT)] = str(len(rows))
            data[formset.add_prefix(INITIAL_FORM_COUNT)] = str(len(rows))
            data[formset.add_prefix(MIN_NUM_FORM_COUNT)] = "0"
            data[formset.add_prefix(MAX_NUM_FORM_COUNT)] = str(formset.max_num)
            for row in rows:
                _form_data(row, data)
            continue
        if spec.kind == "object":
            _form_data(form.objects[spec.name], data)
            continue
        if spec.computed or spec.kind == "file" or spec.name not in form.initial_document:
            continue
        bound = form[spec.name]
        value = bound.value()
        name = bound.html_name
        if spec.kind == "checkbox":
            if value:
                data[name] = "on"
        elif spec.kind in ("checkboxes", "multiselect"):
            data.setlist(name, [str(v) for v in value or []])
        elif spec.kind in ("date", "datetime"):
            data[name] = bound.field.widget.format_value(value) or ""
        else:
            data[name] = "" if value is None else str(value)


# --------------------------------------------------------------------------------------------------------
# Read-only view
# --------------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class ReadonlyItem:
    kind: str
    label: str
    name: str = ""
    display: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[ReadonlyItem]] = field(default_factory=list)
    children: list[ReadonlyItem] = field(default_factory=list)

    @property
    def nested(self) -> bool:
        return self.kind in ("group", "object")

    @property
    def as_list(self) -> list[ReadonlyItem]:
        return [self]


def _money(value: Any) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return _("%(amount)s 元") % {"amount": f"{amount:,.2f}"}


def _number(value: Any) -> str:
    amount = Decimal(str(value))
    text = format(amount, "f")
    return text


def _area_name(code: str) -> str:
    from govflow.roles.models import Area

    name = Area.objects.filter(code=code).values_list("name", flat=True).first()
    return f"{name}（{code}）" if name else code


def _display(spec: FieldSpec, value: Any, *, mask: bool = False) -> str:
    """A stored JSON value as text for people: option labels, 是/否, yuan, dates in the active language."""
    if value is None or value == "" or value == []:
        return ""
    kind = spec.kind
    try:
        if isinstance(value, bool):
            return _("是") if value else _("否")
        if kind in ("select", "radio"):
            return spec.enum_label(value)
        if kind in ("checkboxes", "multiselect") and isinstance(value, list):
            return "、".join(spec.enum_label(v) for v in value)
        if kind == "money":
            return _money(value)
        if kind in ("number", "integer") and isinstance(value, int | float | str):
            return _number(value)
        if kind == "date" and isinstance(value, str):
            return formats.date_format(date.fromisoformat(value[:10]), "DATE_FORMAT")
        if kind == "datetime" and isinstance(value, str):
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return formats.date_format(moment, "DATETIME_FORMAT")
        if kind == "area" and isinstance(value, str):
            return _area_name(value)
        if kind == "file":
            files = value if isinstance(value, list) else [value]
            return "、".join(str(f.get("name", "")) if isinstance(f, dict) else str(f) for f in files)
        if kind == "id_card" and mask:
            from govflow.audit.masking import mask_id_card

            return mask_id_card(str(value))
        if kind == "mobile" and mask:
            from govflow.audit.masking import mask_mobile

            return mask_mobile(str(value))
    except (ValueError, InvalidOperation, TypeError):
        pass
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _readonly_items(
    specs: list[FieldSpec], container: Mapping[str, Any], path: list[Any], hidden: set[str], mask: bool
) -> list[ReadonlyItem]:
    items = []
    for spec in specs:
        here = [*path, spec.name]
        value = container.get(spec.name)
        if value is None and _path_text(here) in hidden:
            continue  # hidden by its rule; a stored value is always shown
        if spec.kind == "group":
            columns = [c.label for c in spec.children]
            rows = []
            for index, row in enumerate(value if isinstance(value, list) else []):
                row = row if isinstance(row, dict) else {}
                cells = []
                for child in spec.children:
                    cell = _readonly_items([child], row, [*here, index], hidden, mask)
                    cells.append(cell[0] if cell else ReadonlyItem("field", child.label, child.name))
                rows.append(cells)
            items.append(ReadonlyItem("group", spec.label, spec.name, columns=columns, rows=rows))
        elif spec.kind == "object":
            sub = value if isinstance(value, dict) else {}
            items.append(
                ReadonlyItem(
                    "object",
                    spec.label,
                    spec.name,
                    children=_readonly_items(spec.children, sub, here, hidden, mask),
                )
            )
        else:
            items.append(ReadonlyItem("field", spec.label, spec.name, _display(spec, value, mask=mask)))
    return items


def render_readonly(
    form_version: FormVersion, document: Mapping[str, Any] | None, *, mask_personal: bool = False
) -> SafeString:
    """Labels and values of a stored document (enum labels, yuan, dates, groups as tables), all escaped.

    `mask_personal` masks citizen IDs and mobile numbers (for users who may not see them in full).
    """
    doc = dict(document) if isinstance(document, Mapping) else {}
    _doc, hidden, _computed = apply_rules(_ui_fields(form_version), doc, {})
    specs = field_specs(form_version)
    items = _readonly_items(specs, doc, [], hidden, mask_personal)
    by_name = {item.name: item for item in items}
    sections: list[dict[str, Any]] = []
    steps = _steps(form_version)
    if steps:
        placed: set[str] = set()
        for step in steps:
            names = [n for n in step.get("fields", []) if n in by_name]
            placed.update(names)
            if names:
                title = localized(step.get("title")) or str(step["key"])
                sections.append({"title": title, "items": [by_name[n] for n in names]})
        rest = [by_name[s.name] for s in specs if s.name in by_name and s.name not in placed]
        if rest:
            sections.append({"title": "", "items": rest})
    else:
        sections.append({"title": "", "items": items})
    return mark_safe(  # noqa: S308 - the template escapes every value and label
        render_to_string("forms/readonly.html", {"sections": sections, "form_version": form_version})
    )


# --------------------------------------------------------------------------------------------------------
# htmx fragment, wizard helpers, designer preview
# --------------------------------------------------------------------------------------------------------


def form_version_for_user(*, key: str, version: int, user: Any) -> FormVersion:
    """A published (or retired) version for anyone signed in; a draft only for designers."""
    from govflow.roles.selectors import user_may_design

    found = FormVersion.objects.filter(key=key, version=version).first()
    if found is None or (found.status == FormVersion.Status.DRAFT and not user_may_design(user=user)):
        raise NotFound(_("表单“%(k)s”不存在或未发布。") % {"k": key})
    return found


def render_fragment(
    form_version: FormVersion, *, data: Any, user: Any, step: str | None = None, prefix: str | None = None
) -> SafeString:
    """The form re-rendered from posted (not yet submitted) data: visibility and computed values updated,
    no errors shown. Rule context from a wizard or a case travels signed in the fragment."""
    context: dict[str, Any] = {}
    token = data.get(f"{_fragment_id(prefix)}__context") if hasattr(data, "get") else None
    if token:
        try:
            loaded = signing.loads(token, salt=CONTEXT_SALT, max_age=CONTEXT_MAX_AGE)
        except signing.BadSignature:
            loaded = {}
        context = loaded if isinstance(loaded, dict) else {}
    form = build_form(form_version, data=data, user=user, step=step, prefix=prefix, context=context)
    form.env.quiet = True
    return form.render()


def wizard_steps(form_version: FormVersion) -> list[tuple[str, str]]:
    """(key, title) of each step; a form without steps is one step called "form"."""
    steps = _steps(form_version)
    if not steps:
        return [("form", localized({"zh": form_version.title_zh, "en": form_version.title_en}))]
    return [(str(s["key"]), localized(s.get("title")) or str(s["key"])) for s in steps]


def wizard_progress(form_version: FormVersion, current: str) -> list[dict[str, Any]]:
    keys = wizard_steps(form_version)
    index = next((i for i, (k, _t) in enumerate(keys) if k == current), 0)
    return [
        {
            "key": key,
            "title": title,
            "number": i + 1,
            "state": "done" if i < index else ("current" if i == index else "todo"),
        }
        for i, (key, title) in enumerate(keys)
    ]


def step_of_path(form_version: FormVersion, path: str) -> str | None:
    head = path.split("/")[0]
    for step in _steps(form_version):
        if head in step.get("fields", []):
            return str(step["key"])
    return None


def wizard_document(
    form_version: FormVersion,
    step_forms: Mapping[str, SchemaForm],
    *,
    user: Any = None,
    context: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The whole document from validated steps, validated once more as a whole. Raises FormInvalid."""
    merged: dict[str, Any] = {}
    files: dict[str, Any] = {}
    for form in step_forms.values():
        merged.update(form.cleaned_document or {})
        files.update(form.cleaned_files)
    document = submission_validate(form=form_version, data=merged, user=user, context=dict(context or {}))
    return document, {p: f for p, f in files.items() if _has_path(document, p)}


def validation_result(form_version: FormVersion, document: Any, *, user: Any = None) -> dict[str, Any]:
    try:
        cleaned = submission_validate(form=form_version, data=document, user=user)
    except FormInvalid as exc:
        return {"ok": False, "errors": {k: [str(m) for m in v] for k, v in exc.field_errors.items()}}
    return {"ok": True, "document": cleaned}


def preview_context(
    form_version: FormVersion, *, user: Any, post: Any = None, files: Any = None
) -> dict[str, Any]:
    """The designer's preview: the form (all steps on one page), sample data, and the validator's answer."""
    ctx: dict[str, Any] = {
        "form_version": form_version,
        "title": localized({"zh": form_version.title_zh, "en": form_version.title_en}) or form_version.key,
        "definition_errors": form_version.errors or [],
        "sample": "",
        "sample_error": "",
        "result": None,
        "broken": "",
    }
    mode = post.get("mode") if post is not None else None
    try:
        form: SchemaForm
        if mode == "sample":
            text = str(post.get("sample", ""))
            ctx["sample"] = text
            sample = _parse_sample(text, ctx)
            if sample is None:
                form = build_form(form_version, user=user)
            else:
                ctx["result"] = validation_result(form_version, sample, user=user)
                form = build_form(
                    form_version, data=document_to_data(form_version, sample, user=user), user=user
                )
                form.is_valid()
        elif mode == "form":
            form = build_form(form_version, data=post, files=files, user=user)
            if form.is_valid():
                ctx["result"] = {"ok": True, "document": form.cleaned_document}
            else:
                ctx["result"] = {"ok": False, "errors": form.field_errors}
        else:
            form = build_form(form_version, user=user)
        ctx["form"] = form
        ctx["form_html"] = form.render()
        result = ctx["result"]
        if result and result["ok"]:
            ctx["document_json"] = json.dumps(result["document"], ensure_ascii=False, indent=2)
            ctx["readonly"] = render_readonly(form_version, result["document"])
    except Exception as exc:
        # A draft may be broken in ways the definition check reports; the preview says so instead of failing.
        logger.warning("preview of %s failed", form_version, exc_info=True)
        ctx["broken"] = _("此版本无法预览：%(e)s") % {"e": exc}
    return ctx


def _parse_sample(text: str, ctx: dict[str, Any]) -> dict[str, Any] | None:
    if not text.strip():
        return {}
    try:
        sample = json.loads(text)
    except ValueError as exc:
        ctx["sample_error"] = _("示例数据不是有效的 JSON：%(e)s") % {"e": exc}
        return None
    if not isinstance(sample, dict):
        ctx["sample_error"] = _("示例数据应为 JSON 对象。")
        return None
    return sample
