"""Small Django forms of the staff workspace: list filters, comments, attachments, reassign, start area.

They only parse and check input; the services decide (scope, roles, limits)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from govflow.roles.selectors import areas_in_scope
from govflow.workflows.selectors import published_workflows

from .models import Case
from .selectors import CASE_SORTS, TASK_SORTS, WorkFilters

_LEVEL_INDENT = {"county": 0, "township": 1, "village": 2}

DUE_CHOICES = [("", _("全部期限")), ("overdue", _("已超期")), ("soon", _("3天内到期"))]
TASK_SORT_LABELS = {
    "due": _("期限（最早在前）"),
    "-due": _("期限（最晚在前）"),
    "created": _("到达时间（最早在前）"),
    "-created": _("到达时间（最新在前）"),
    "reference": _("案件编号（升序）"),
    "-reference": _("案件编号（降序）"),
    "-finished": _("办结时间（最新在前）"),
    "finished": _("办结时间（最早在前）"),
}
CASE_SORT_LABELS = {
    "-created": _("发起时间（最新在前）"),
    "created": _("发起时间（最早在前）"),
    "reference": _("案件编号（升序）"),
    "-reference": _("案件编号（降序）"),
}


class WorkFilterForm(forms.Form):
    """Filters, search and sort of the inbox, queue, done list and case list (GET, all optional)."""

    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("案件编号、当事人或公民身份号码"), "type": "search"}),
    )
    procedure = forms.ChoiceField(label=_("事项"), required=False)
    area = forms.ChoiceField(label=_("区划"), required=False)
    status = forms.ChoiceField(label=_("案件状态"), required=False)
    due = forms.ChoiceField(label=_("期限"), required=False, choices=DUE_CHOICES)
    sort = forms.ChoiceField(label=_("排序"), required=False)

    def __init__(self, *args: Any, user: Any, kind: str = "tasks", **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        procedures = {
            v.key: v.title for v in published_workflows().defer("document", "errors", "form_versions")
        }
        self.fields["procedure"].choices = [("", _("全部事项")), *sorted(procedures.items())]
        areas = areas_in_scope(user=user).order_by("code").values_list("code", "name", "level")
        self.fields["area"].choices = [("", _("全部区划"))] + [
            (code, "\u3000" * _LEVEL_INDENT.get(level, 0) + name) for code, name, level in areas
        ]
        self.fields["status"].choices = [("", _("全部状态")), *Case.Status.choices]
        labels = TASK_SORT_LABELS if kind == "tasks" else CASE_SORT_LABELS
        keys = TASK_SORTS if kind == "tasks" else CASE_SORTS
        self.fields["sort"].choices = [(k, labels[k]) for k in labels if k in keys]
        if kind != "tasks":
            del self.fields["due"]

    def filters(self) -> WorkFilters:
        """The valid filters; an invalid value (a stale link) is ignored rather than refused."""
        if not self.is_bound:
            return WorkFilters()
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return WorkFilters(**{name: str(data.get(name) or "") for name in WorkFilters.__dataclass_fields__})


class CommentForm(forms.Form):
    text = forms.CharField(
        label=_("意见"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": _("输入 @用户名 可通知同事")}),
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("选择文件"))


class ReassignForm(forms.Form):
    to_user = forms.ModelChoiceField(label=_("改派给"), queryset=None, empty_label=_("请选择办理人"))

    def __init__(self, *args: Any, candidates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["to_user"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = candidates
        field.label_from_instance = lambda u: f"{u.get_full_name() or u.get_username()}（{u.get_username()}）"


class StartAreaForm(forms.Form):
    area = forms.ChoiceField(label=_("办理区划"))

    def __init__(self, *args: Any, areas: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = [(code, f"{name}（{code}）") for code, name in areas]
        if len(areas) == 1:
            self.fields["area"].initial = areas[0][0]
