"""Django forms of the designer's plain pages (create, copy, import, publish, test run)."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from govflow.roles.models import Level, Role

KEY_HELP = _("小写字母、数字和下划线，以字母开头，例如 social_assistance。发布后不能修改。")


def _role_choices() -> list[tuple[str, str]]:
    return [(r.key, f"{r.name_zh}（{r.key}）") for r in Role.objects.filter(can_act=True).order_by("key")]


class ProcedureCreateForm(forms.Form):
    key = forms.RegexField(label=_("标识"), regex=r"^[a-z][a-z0-9_]{1,63}$", help_text=KEY_HELP)
    title_zh = forms.CharField(label=_("名称（中文）"), max_length=200)
    title_en = forms.CharField(label=_("名称（英文）"), max_length=200, required=False)
    code = forms.RegexField(
        label=_("编号代码"),
        regex=r"^[A-Z][A-Z0-9]{1,5}$",
        help_text=_("2 到 6 位大写字母或数字，用于案件编号，例如 SF。"),
    )
    level = forms.ChoiceField(label=_("发起层级"), choices=Level.choices, initial=Level.VILLAGE)
    roles = forms.MultipleChoiceField(label=_("可发起的角色"), widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["roles"]).choices = _role_choices()


class ProcedureDuplicateForm(forms.Form):
    key = forms.RegexField(label=_("新标识"), regex=r"^[a-z][a-z0-9_]{1,63}$", help_text=KEY_HELP)
    title_zh = forms.CharField(label=_("名称（中文）"), max_length=200)
    title_en = forms.CharField(label=_("名称（英文）"), max_length=200, required=False)
    copy_forms = forms.BooleanField(
        label=_("同时复制表单"),
        required=False,
        help_text=_("表单以新标识另存为草稿，两个事项的表单可以分别修改；不勾选则共用原表单。"),
    )


class FormCreateForm(forms.Form):
    key = forms.RegexField(label=_("标识"), regex=r"^[a-z][a-z0-9_]{1,63}$", help_text=KEY_HELP)
    title_zh = forms.CharField(label=_("名称（中文）"), max_length=200)
    title_en = forms.CharField(label=_("名称（英文）"), max_length=200, required=False)


class ImportForm(forms.Form):
    bundle = forms.FileField(
        label=_("事项库压缩包（zip）"),
        help_text=_("包含 roles/、forms/、workflows/ 目录下的 JSON 或 BPMN 文件，例如从其他县导出的事项。"),
    )


class PublishForm(forms.Form):
    change_note = forms.CharField(
        label=_("变更说明"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=_("写明改了什么、为什么改；记入审计记录。"),
    )


class TestRunForm(forms.Form):
    area = forms.ChoiceField(label=_("案件所在区划"))
    sample = forms.CharField(
        label=_("各步骤的表单数据（JSON）"),
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "gd-code"}),
        help_text=_('以节点标识为键，例如 {"apply": {"name": "张三"}, "review": {"decision": "approve"}}。'),
    )
    validate_forms = forms.BooleanField(label=_("用表单校验各步骤的数据"), required=False, initial=True)

    def __init__(self, *args: Any, areas: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["area"]).choices = [
            (code, f"{name}（{code}）") for code, name in areas
        ]

    def clean_sample(self) -> dict[str, Any]:
        text = self.cleaned_data["sample"]
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(_("不是有效的 JSON：%(e)s") % {"e": exc}) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("应为 JSON 对象。"))
        return value
