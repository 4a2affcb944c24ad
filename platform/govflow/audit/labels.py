"""Human labels for the JSON paths of a diff ("spouses/0/id_card" -> "配偶 › 第1项 › 身份证号").

The labels come from the form the data was entered on: an event whose `data` carries `form_key` and
`form_version` is looked up through `govflow.forms.selectors.form_version_get`, imported lazily so the
audit log keeps working (with raw paths) where no forms exist, such as role or login events.

The JSON Schema `title` of each property is the label; a UI schema may override it, either with a flat
`labels` map keyed by path or with a per-field `label` / `title` / `ui:title`. A title may be a plain
string or a {"zh": ..., "en": ...} pair.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _


def _text(title: Any) -> str | None:
    if isinstance(title, str):
        return title or None
    if isinstance(title, dict):
        lang = (get_language() or "zh-hans").lower()
        key = "en" if lang.startswith("en") else "zh"
        return title.get(key) or title.get("zh") or title.get("zh-hans") or next(iter(title.values()), None)
    return None


def _attr(obj: Any, *names: str) -> Any:
    for name in names:
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        if hasattr(obj, name):
            return getattr(obj, name)
    return None


def _load_form(form_key: str, form_version: Any) -> tuple[dict, dict] | None:
    try:
        from govflow.forms.selectors import form_version_get  # type: ignore[import-not-found]
    except ImportError:
        return None
    found = None
    for kwargs in (
        {"key": form_key, "version": form_version},
        {"form_key": form_key, "version": form_version},
    ):
        try:
            found = form_version_get(**kwargs)
        except TypeError:
            continue
        except Exception:  # noqa: BLE001 - a missing or unreadable form only costs us the labels
            return None
        break
    if found is None:
        return None
    schema = _attr(found, "schema", "json_schema") or {}
    ui_schema = _attr(found, "ui_schema", "ui") or {}
    return (schema if isinstance(schema, dict) else {}), (ui_schema if isinstance(ui_schema, dict) else {})


def _ui_label(ui_schema: dict, path: str, parts: list[str]) -> str | None:
    labels = ui_schema.get("labels")
    if isinstance(labels, dict) and path in labels:
        return _text(labels[path])
    fields = ui_schema.get("fields") if isinstance(ui_schema.get("fields"), dict) else ui_schema
    node: Any = fields
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    if isinstance(node, dict):
        return _text(node.get("label") or node.get("title") or node.get("ui:title"))
    return None


def _schema_labels(schema: dict, parts: list[str]) -> list[str] | None:
    """One label per path segment, or None when the path leaves the schema."""
    labels: list[str] = []
    node: Any = schema
    for part in parts:
        if not isinstance(node, dict):
            return None
        if part.isdigit() and ("items" in node or node.get("type") == "array"):
            labels.append(_("第%(n)s项") % {"n": int(part) + 1})
            node = node.get("items", {})
            continue
        props = node.get("properties")
        if not isinstance(props, dict) or part not in props:
            return None
        node = props[part]
        labels.append(_text(node.get("title") if isinstance(node, dict) else None) or part)
    return labels


class LabelResolver:
    """Resolves labels for many events, reading each form version once. Make one per page or export."""

    def __init__(self) -> None:
        self._forms: dict[tuple[str, str], tuple[dict, dict] | None] = {}

    def form(self, form_key: str, form_version: Any) -> tuple[dict, dict] | None:
        memo_key = (str(form_key), str(form_version))
        if memo_key not in self._forms:
            self._forms[memo_key] = _load_form(form_key, form_version)
        return self._forms[memo_key]

    def label(self, path: str, *, data: dict | None = None) -> str:
        """The label of `path` for an event with this `data`; the raw path when nothing better is known."""
        data = data or {}
        form_key = data.get("form_key")
        if not form_key or not path:
            return path
        loaded = self.form(form_key, data.get("form_version"))
        if loaded is None:
            return path
        schema, ui_schema = loaded
        parts = [p for p in path.split("/") if p != ""]
        # Task data is merged into the case under the task's key, so the first segment may be that key.
        prefix = data.get("data_key")
        candidates = [parts]
        if prefix and parts and parts[0] == prefix:
            candidates.insert(0, parts[1:])
        elif len(parts) > 1:
            candidates.append(parts[1:])
        for candidate in candidates:
            if not candidate:
                continue
            ui = _ui_label(ui_schema, "/".join(candidate), candidate)
            labels = _schema_labels(schema, candidate)
            if labels is not None:
                if ui:
                    labels[-1] = ui
                return " › ".join(labels)
            if ui:
                return ui
        return path


def field_label(path: str, *, data: dict | None = None) -> str:
    """One-off form of LabelResolver.label (prefer a resolver when labelling many events)."""
    return LabelResolver().label(path, data=data)
