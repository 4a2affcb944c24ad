"""HTML widgets of the form renderer: native date inputs, money, citizen ID, mobile, the area picker.

Every widget works without JavaScript. `forms/static/forms/forms.js` only enhances: the area select becomes
cascading county > township > village selects, and repeating groups get an "add a row" button.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class MoneyInput(forms.NumberInput):
    """Yuan with two decimals; the field adds step="0.01" and min="0"."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"inputmode": "decimal", **(attrs or {})})


class IdCardInput(forms.TextInput):
    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"maxlength": "18", "autocomplete": "off", "spellcheck": "false", "class": "gf-id-card"}
        super().__init__(attrs={**base, **(attrs or {})})


class MobileInput(forms.TextInput):
    input_type = "tel"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {"maxlength": "11", "inputmode": "numeric", "autocomplete": "tel-national"}
        super().__init__(attrs={**base, **(attrs or {})})


class AreaSelect(forms.Select):
    """A plain select of areas (indented by level); each option carries its level and parent code.

    With forms.js the select is hidden and replaced by cascading selects built from these options, so the
    cascade offers exactly the areas the server put in the list (the user's scope) and needs no requests.
    """

    def __init__(
        self,
        attrs: dict[str, Any] | None = None,
        areas: Iterable[tuple[str, str, str, str | None]] = (),
        blank_label: str = "",
    ) -> None:
        self.area_attrs: dict[str, dict[str, str]] = {
            code: {"data-level": level, "data-parent": parent or "", "data-name": name}
            for code, name, level, parent in areas
        }
        super().__init__(attrs={"data-gf-area": "1", "data-gf-blank": blank_label, **(attrs or {})})

    def create_option(
        self,
        name: str,
        value: Any,
        label: Any,
        selected: Any,
        index: int,
        subindex: int | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        option = super().create_option(name, value, label, selected, index, subindex=subindex, attrs=attrs)
        option["attrs"].update(self.area_attrs.get(str(value), {}))
        return option


class FileInput(forms.FileInput):
    """A file input that htmx keeps across fragment re-renders (a browser cannot refill a file input)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs={"hx-preserve": "true", **(attrs or {})})
