"""The event search form (GET parameters of /audit/events/ and of its exports)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from govflow.roles.models import Area
from govflow.roles.selectors import scope_q

from .actions import ACTION_LABELS


class DateInput(forms.DateInput):
    input_type = "date"


class EventSearchForm(forms.Form):
    actor = forms.CharField(label=_("操作人"), required=False, max_length=150)
    area = forms.ChoiceField(label=_("区划"), required=False)
    procedure = forms.CharField(label=_("事项"), required=False, max_length=64)
    action = forms.ChoiceField(label=_("动作"), required=False)
    date_from = forms.DateField(label=_("起始日期"), required=False, widget=DateInput)
    date_to = forms.DateField(label=_("截止日期"), required=False, widget=DateInput)
    case_id = forms.IntegerField(label=_("案件编号"), required=False, min_value=1)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        areas = Area.objects.filter(scope_q(user=user, field="code", supervise_only=True)).order_by("code")
        self.fields["area"].choices = [("", _("全部"))] + [(a.code, f"{a.name}（{a.code}）") for a in areas]
        self.fields["action"].choices = [("", _("全部"))] + [(k, str(v)) for k, v in ACTION_LABELS.items()]

    def filters(self) -> dict[str, Any]:
        """The cleaned filters, or none at all when the form is invalid (the page then shows the errors)."""
        if not self.is_valid():
            return {"case_id": -1}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
