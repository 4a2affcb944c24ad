"""The one validator path for submitted form data (web form, API, imports, workflow engine).

`validate_submission(schema, ui, data, context=...)` applies the UI rules (hidden fields dropped, computed
fields filled, conditional required), then the JSON Schema (Draft 2020-12, custom formats), then the
cross-field rules, and either returns the cleaned data or raises FormInvalid with every error keyed by
JSON path ("spouses/1/id_card"). Compiled validators are cached per schema checksum.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.exceptions import NoSuchResource

from govflow.errors import ValidationFailed
from govflow.expressions import ExpressionError, compile_expression

from .formats import FORMAT_MESSAGES, format_checker, id_card_parts

MAX_SUBMISSION_BYTES = 1024 * 1024
MAX_DEPTH = 10


class FormInvalid(ValidationFailed):
    default_code = "form_invalid"


def _refuse_remote(uri: str) -> Any:
    # No network access is ever made for $ref: only references inside the schema resolve.
    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]


REGISTRY: Registry = Registry(retrieve=_refuse_remote)  # type: ignore[call-arg]


_VALIDATORS: dict[str, Draft202012Validator] = {}
_VALIDATOR_CACHE_SIZE = 512


def compiled_validator(schema: Mapping[str, Any], *, cache_key: str | None = None) -> Draft202012Validator:
    """The compiled validator for a schema, built once per process per published version.

    Callers that know the version pass `cache_key` (its pk and checksum), so the hot path does not
    serialise and hash the schema on every submission.
    """
    key = (
        cache_key
        or hashlib.sha256(json.dumps(schema, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    )
    validator = _VALIDATORS.get(key)
    if validator is None:
        if len(_VALIDATORS) >= _VALIDATOR_CACHE_SIZE:
            _VALIDATORS.clear()
        validator = Draft202012Validator(schema, format_checker=format_checker(), registry=REGISTRY)
        _VALIDATORS[key] = validator
    return validator


def _add(errors: dict[str, list[str]], path: str, message: str) -> None:
    """One message once per path (jsonschema reports `required` once per missing property)."""
    messages = errors.setdefault(path, [])
    if message not in messages:
        messages.append(message)


def _depth(value: Any, limit: int = MAX_DEPTH) -> int:
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


_TYPE_NAMES = {
    "string": gettext_lazy("文本"),
    "integer": gettext_lazy("整数"),
    "number": gettext_lazy("数字"),
    "boolean": gettext_lazy("是/否"),
    "array": gettext_lazy("列表"),
    "object": gettext_lazy("对象"),
    "null": gettext_lazy("空"),
}
# Messages by JSON-Schema keyword; %(v)s is the keyword's value.
_KEYWORD_MESSAGES = {
    "required": gettext_lazy("此项必填。"),
    "minimum": gettext_lazy("不能小于%(v)s。"),
    "maximum": gettext_lazy("不能大于%(v)s。"),
    "exclusiveMinimum": gettext_lazy("应大于%(v)s。"),
    "exclusiveMaximum": gettext_lazy("应小于%(v)s。"),
    "minLength": gettext_lazy("至少%(v)s个字。"),
    "maxLength": gettext_lazy("最多%(v)s个字。"),
    "pattern": gettext_lazy("格式不正确。"),
    "enum": gettext_lazy("不是允许的选项。"),
    "const": gettext_lazy("不是允许的选项。"),
    "minItems": gettext_lazy("至少填写%(v)s项。"),
    "maxItems": gettext_lazy("最多填写%(v)s项。"),
    "additionalProperties": gettext_lazy("含有未定义的字段。"),
}


def _message(error: Any) -> str:
    kind, value = error.validator, error.validator_value
    if kind == "format":
        return str(FORMAT_MESSAGES.get(value, _("格式不正确。")))
    if kind == "type":
        wanted = value if isinstance(value, list) else [value]
        return _("应为%(t)s。") % {"t": "/".join(str(_TYPE_NAMES.get(w, w)) for w in wanted)}
    template = _KEYWORD_MESSAGES.get(kind)
    if template is None:
        return _("数据不符合要求。")
    return str(template) % {"v": value} if "%(v)s" in str(template) else str(template)


def _path(parts: Any) -> str:
    return "/".join(str(p) for p in parts)


def _rule_targets(data: dict[str, Any], field: str) -> list[tuple[list[Any], dict[str, Any]]]:
    """(path to the container, container) pairs for a UI field key; "children/*/grade" applies per row."""
    parts = field.split("/")
    containers: list[tuple[list[Any], Any]] = [([], data)]
    for part in parts[:-1]:
        nxt: list[tuple[list[Any], Any]] = []
        for path, container in containers:
            value = container.get(part) if isinstance(container, dict) else None
            if part == "*" and isinstance(container, list):
                nxt.extend((path + [i], item) for i, item in enumerate(container))
            elif isinstance(value, list | dict):
                nxt.append((path + [part], value))
        containers = nxt
    return [(p, c) for p, c in containers if isinstance(c, dict)]


def _eval(source: str, ctx: Mapping[str, Any], errors: dict[str, list[str]], path: str) -> Any:
    try:
        return compile_expression(source).evaluate(ctx)
    except ExpressionError as exc:
        if exc.code == "unknown_variable":
            return None
        errors.setdefault(path, []).append(_("规则无法计算：%(m)s") % {"m": exc.message})
        return None


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def validate_submission(
    schema: Mapping[str, Any],
    ui: Mapping[str, Any] | None,
    data: Any,
    *,
    context: Mapping[str, Any] | None = None,
    only_fields: set[str] | None = None,
    cache_key: str | None = None,
) -> dict[str, Any]:
    """Validate and clean one submission; raises FormInvalid with field errors by JSON path.

    `context` carries other case variables for rules and `__today__` for date rules. `only_fields`
    restricts required checks to one wizard step's top-level fields.
    """
    ui = ui or {}
    if not isinstance(data, dict):
        raise FormInvalid(field_errors={"": [_("提交的数据应为对象。")]})
    # Depth first (iterative): serialising very deep data to measure its size would itself recurse.
    if _depth(data) > MAX_DEPTH:
        raise FormInvalid(field_errors={"": [_("数据嵌套层次过深。")]})
    if len(json.dumps(data, ensure_ascii=False, default=str)) > MAX_SUBMISSION_BYTES:
        raise FormInvalid(_("提交的内容过大。"), code="too_large", field_errors={"": [_("提交的内容过大。")]})
    errors: dict[str, list[str]] = {}
    properties = schema.get("properties", {})
    cleaned = {k: copy.deepcopy(v) for k, v in data.items() if k in properties}
    base_ctx = dict(context or {})
    fields: Mapping[str, Any] = ui.get("fields", {})
    hidden: set[str] = set()
    # Rules in UI order: visibility first (hidden values are neither validated nor stored), then computed.
    for key, options in fields.items():
        name = key.split("/")[-1]
        for path, container in _rule_targets(cleaned, key):
            ctx = {**base_ctx, **cleaned, **container, "row": container}
            field_path = _path(path + [name])
            if options.get("visible_if") and not _eval(options["visible_if"], ctx, errors, field_path):
                container.pop(name, None)
                hidden.add(field_path)
                continue
            if options.get("computed"):
                # A computed value that cannot be computed from bad input stays empty; the input's own
                # error is what the user must fix.
                value = _eval(options["computed"], ctx, {}, field_path)
                if value is None:
                    container.pop(name, None)
                else:
                    container[name] = json.loads(json.dumps(value, default=_jsonable))
    for key, options in fields.items():
        name = key.split("/")[-1]
        if only_fields is not None and key.split("/")[0] not in only_fields:
            continue
        for path, container in _rule_targets(cleaned, key):
            field_path = _path(path + [name])
            if field_path in hidden:
                continue
            ctx = {**base_ctx, **cleaned, **container, "row": container}
            required = options.get("required_if") and _eval(options["required_if"], ctx, errors, field_path)
            if required and _empty(container.get(name)):
                errors.setdefault(field_path, []).append(_("此项必填。"))
            _cross_field_checks(options, container, name, field_path, base_ctx, errors)
    for error in compiled_validator(schema, cache_key=cache_key).iter_errors(cleaned):
        path = list(error.absolute_path)
        if error.validator == "required":
            missing = [m for m in error.validator_value if m not in (error.instance or {})]
            for m in missing:
                field_path = _path(path + [m])
                if field_path in hidden:
                    continue
                if only_fields is not None and not path and m not in only_fields:
                    continue
                _add(errors, field_path, _message(error))
            continue
        if only_fields is not None and path and path[0] not in only_fields:
            continue
        _add(errors, _path(path), _message(error))
    if errors:
        raise FormInvalid(field_errors=errors)
    return cleaned


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def _today(ctx: Mapping[str, Any]) -> date:
    value = ctx.get("__today__")
    if value:
        return date.fromisoformat(str(value)[:10])
    from django.utils import timezone

    return timezone.localdate()


def _cross_field_checks(
    options: Mapping[str, Any],
    container: dict[str, Any],
    name: str,
    field_path: str,
    ctx: Mapping[str, Any],
    errors: dict[str, list[str]],
) -> None:
    value = container.get(name)
    if _empty(value):
        return
    agree = options.get("id_card")
    if agree and isinstance(value, str):
        parts = id_card_parts(value)
        if parts is not None:
            birth, sex = parts
            birth_field = agree.get("birth_date_field")
            if (
                birth_field
                and container.get(birth_field)
                and str(container[birth_field])[:10] != birth.isoformat()
            ):
                errors.setdefault(field_path, []).append(
                    _("公民身份号码中的出生日期与填写的出生日期不一致。")
                )
            sex_field = agree.get("sex_field")
            if sex_field and container.get(sex_field) and container[sex_field] != sex:
                errors.setdefault(field_path, []).append(_("公民身份号码中的性别与填写的性别不一致。"))
    try:
        if options.get("not_future") and date.fromisoformat(str(value)[:10]) > _today(ctx):
            errors.setdefault(field_path, []).append(_("日期不能晚于今天。"))
        other = options.get("not_before")
        if other and container.get(other) and str(value)[:10] < str(container[other])[:10]:
            errors.setdefault(field_path, []).append(_("日期不能早于“%(f)s”。") % {"f": other})
    except ValueError:
        return
