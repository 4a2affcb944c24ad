"""The designer's pages and the JSON/htmx endpoints behind the form builder and the workflow modeler.

Every view asks `user_may_design` first (403 otherwise) and then calls the designer's selectors and
services, which call the forms and workflows services: drafts are saved with form_draft_save /
workflow_draft_save and published with form_publish / workflow_publish, which check, diff and audit.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from govflow.errors import DefinitionInvalid, GovflowError, NotFound, OutOfScope, ValidationFailed
from govflow.expressions import ExpressionError, compile_expression
from govflow.forms.definitions import check_form_document
from govflow.forms.models import FormVersion
from govflow.forms.services import FormInvalid, submission_validate
from govflow.roles.selectors import user_may_design
from govflow.workflows.bpmn import bpmn_to_definition, definition_to_bpmn
from govflow.workflows.models import WorkflowVersion

from . import formmodel, selectors, services
from .forms import (
    FormCreateForm,
    ImportForm,
    ProcedureCreateForm,
    ProcedureDuplicateForm,
    PublishForm,
    TestRunForm,
)
from .sandbox import sandbox_run

logger = logging.getLogger(__name__)

MAX_JSON_BODY = 2 * 1024 * 1024

View = Callable[..., HttpResponse]


def designer_required(view: View) -> View:
    """Signed-in users for whom user_may_design holds; others get 403 (anonymous users the login page)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user_may_design(user=request.user):
            raise OutOfScope(_("只有流程设计员可以使用设计器。"))
        return view(request, *args, **kwargs)

    return wrapped


def _json_body(request: HttpRequest) -> dict[str, Any]:
    if len(request.body) > MAX_JSON_BODY:
        raise ValidationFailed(_("提交的内容过大。"), code="too_large")
    try:
        body = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed(_("请求内容不是有效的 JSON。"), code="bad_json") from exc
    if not isinstance(body, dict):
        raise ValidationFailed(_("请求内容应为 JSON 对象。"), code="bad_json")
    return body


def _error_json(exc: GovflowError) -> JsonResponse:
    return JsonResponse({"ok": False, **exc.as_dict()}, status=exc.status)


def _title(zh: str, en: str) -> dict[str, str]:
    return {k: v for k, v in (("zh", zh.strip()), ("en", en.strip())) if v}


# --------------------------------------------------------------------------------------------------------
# Procedures
# --------------------------------------------------------------------------------------------------------


@designer_required
def procedure_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "designer/procedure_list.html",
        {"rows": selectors.procedure_rows(), "import_form": ImportForm()},
    )


@designer_required
@require_http_methods(["GET", "POST"])
def procedure_create(request: HttpRequest) -> HttpResponse:
    form = ProcedureCreateForm(request.POST or None, initial={"roles": ["village_clerk"]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.procedure_create(
                key=data["key"],
                title=_title(data["title_zh"], data["title_en"]),
                code=data["code"],
                level=data["level"],
                roles=list(data["roles"]),
                actor=request.user,
            )
        except ValidationFailed as exc:
            form.add_error("key", str(exc.message))
        else:
            messages.success(request, _("已创建事项草稿。"))
            return redirect("designer:workflow", key=data["key"])
    return render(request, "designer/procedure_form.html", {"form": form, "heading": _("新建事项")})


@designer_required
def procedure_detail(request: HttpRequest, key: str) -> HttpResponse:
    row = selectors.procedure_get(key=key)
    working = selectors.workflow_working_version(key=key)
    forms = []
    for form_key in sorted(selectors.document_form_keys(working.document)):
        versions = list(FormVersion.objects.filter(key=form_key).order_by("-version"))
        forms.append({"key": form_key, "versions": versions, "latest": versions[0] if versions else None})
    errors = selectors.workflow_designer_errors(working.document) if working.status == "draft" else []
    return render(
        request,
        "designer/procedure_detail.html",
        {"row": row, "working": working, "forms": forms, "errors": errors},
    )


@designer_required
@require_http_methods(["GET", "POST"])
def procedure_duplicate(request: HttpRequest, key: str) -> HttpResponse:
    source = selectors.workflow_working_version(key=key)
    initial = {"key": f"{key}_copy"[:64], "title_zh": _("%(t)s（副本）") % {"t": source.title_zh}}
    form = ProcedureDuplicateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.procedure_duplicate(
                source_key=key,
                new_key=data["key"],
                title=_title(data["title_zh"], data["title_en"]),
                actor=request.user,
                copy_forms=data["copy_forms"],
            )
        except ValidationFailed as exc:
            form.add_error("key", str(exc.message))
        else:
            messages.success(request, _("已复制为新事项“%(k)s”（草稿）。") % {"k": data["key"]})
            return redirect("designer:procedure", key=data["key"])
    heading = _("复制事项：%(t)s") % {"t": source.title_zh}
    return render(
        request, "designer/procedure_form.html", {"form": form, "heading": heading, "source": source}
    )


@designer_required
@require_POST
def procedure_retire(request: HttpRequest, key: str) -> HttpResponse:
    version = services.procedure_retire(key=key, actor=request.user)
    messages.success(
        request, _("已停用第 %(v)d 版：不能再发起新案件，办理中的案件照常办完。") % {"v": version.version}
    )
    return redirect("designer:procedure", key=key)


@designer_required
def procedure_export(request: HttpRequest, key: str) -> HttpResponse:
    data = services.bundle_export(key=key)
    stamp = timezone.localdate().strftime("%Y%m%d")
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{key}-{stamp}.zip"'
    return response


@designer_required
@require_http_methods(["GET", "POST"])
def bundle_import(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {"form": form, "errors": [], "result": None}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["bundle"]
        if upload.size > services.MAX_BUNDLE_BYTES:
            form.add_error("bundle", _("文件过大。"))
        else:
            try:
                context["result"] = services.bundle_import(data=upload.read(), actor=request.user)
            except DefinitionInvalid as exc:
                context["errors"] = exc.errors
    status = 400 if context["errors"] else 200
    return render(request, "designer/import.html", context, status=status)


# --------------------------------------------------------------------------------------------------------
# Workflow designer (bpmn-js)
# --------------------------------------------------------------------------------------------------------


@designer_required
def workflow_designer(request: HttpRequest, key: str) -> HttpResponse:
    working = selectors.workflow_working_version(key=key)
    config = {
        "key": key,
        "bpmnUrl": reverse("designer:workflow_bpmn", kwargs={"key": key}),
        "checkUrl": reverse("designer:expression_check"),
        "newFormUrl": reverse("designer:form_create"),
        "formUrl": reverse("designer:form_builder", kwargs={"key": "__key__"}),
        "forms": selectors.form_choices(),
        "roles": selectors.role_choices(),
        "levels": [
            {"key": "county", "name": _("县")},
            {"key": "township", "name": _("乡镇")},
            {"key": "village", "name": _("村")},
        ],
    }
    return render(
        request,
        "designer/workflow_designer.html",
        {"working": working, "config": config, "key": key, "strings": _designer_strings()},
    )


def _designer_strings() -> dict[str, str]:
    """The workflow designer's interface text, translated here so that makemessages sees it."""
    return {
        "unsaved": _("有未保存的修改"),
        "saving": _("正在保存……"),
        "checking": _("正在检查……"),
        "saved": _("已保存为第 %(v)s 版草稿"),
        "saved_with_errors": _("已保存为第 %(v)s 版草稿，有 %(n)s 处错误，修改后才能发布"),
        "checked": _("检查通过（尚未保存）"),
        "checked_with_errors": _("有 %(n)s 处错误（尚未保存）"),
        "save_failed": _("保存失败："),
        "import_failed": _("无法显示流程图："),
        "no_errors": _("✔ 没有错误，可以发布。"),
        "errors_count": _("有 %(n)s 处错误（草稿可以保存，但不能发布）："),
        "locate": _("定位"),
        "none": _("（无）"),
        "draft": _("草稿"),
        "not_at_level": _("不在此层级办理"),
        "unsupported": _("govflow 不支持此元素（%(type)s），保存时会报错，请删除或更换类型。"),
        "process_properties": _("事项属性（整个流程）"),
        "process_key": _("事项标识"),
        "procedure_zh": _("事项名称（中文）"),
        "procedure_en": _("事项名称（英文）"),
        "code": _("编号代码"),
        "code_help": _("2 到 6 位大写字母或数字，用于案件编号。"),
        "description": _("说明"),
        "summary_applicant": _("案件摘要：当事人"),
        "summary_id_card": _("案件摘要：身份证号"),
        "summary_help": _("每步之后计算，用于搜索，例如 apply.name"),
        "settings": _("事项设置（JSON）"),
        "settings_help": _('规则中以 settings.名称 读取，例如 {"rate": 0.5}'),
        "json_object": _("应为 JSON 对象。"),
        "bad_json": _("JSON 有误："),
        "id": _("标识"),
        "id_help": _("小写字母、数字和下划线，以字母开头；表单数据以它为键保存。"),
        "id_invalid": _("标识只能用小写字母、数字和下划线，并以字母开头（最多 40 个字符）。"),
        "id_taken": _("此标识已被使用。"),
        "title_zh": _("名称（中文）"),
        "title_en": _("名称（英文）"),
        "kind": _("节点类型"),
        "kind_start": _("开始"),
        "kind_user_task": _("人工办理"),
        "kind_service_task": _("自动计算"),
        "kind_exclusive": _("条件分支"),
        "kind_parallel_split": _("并行分支"),
        "kind_parallel_join": _("并行汇聚"),
        "kind_timer": _("等待"),
        "kind_end": _("结束"),
        "kind_edge": _("连线"),
        "kind_boundary": _("超时"),
        "kind_process": _("流程"),
        "kind_unsupported": _("不支持"),
        "start_level": _("发起层级"),
        "start_roles": _("可发起的角色"),
        "level": _("办理层级"),
        "level_help": _("任务交给案件所在区划在此层级的上级区划中担任该角色的人。"),
        "role": _("办理角色"),
        "due": _("办理期限"),
        "form": _("表单"),
        "open_form": _("打开表单设计"),
        "new_form": _("新建表单"),
        "split_help": _("所有出线同时进行。"),
        "join_help": _("等待所有分支到达后继续。"),
        "wait": _("等待时长"),
        "outcome": _("办理结果"),
        "outcome_help": _(
            "有结果时案件在此办结（其他未完成的工作取消），例如 approved；没有结果时只结束这一路径。"
        ),
        "assignments": _("赋值（按顺序计算）"),
        "variable": _("变量"),
        "expression": _("表达式"),
        "remove": _("删除"),
        "add_assignment": _("添加赋值"),
        "number": _("编号"),
        "number_var": _("编号变量"),
        "number_sequence": _("序列名称"),
        "number_format": _("格式"),
        "number_format_help": _("占位符：{county} {year} {sequence} {seq} {seq:04}"),
        "documents": _("生成文书"),
        "documents_help": _("文书模板标识，逗号分隔。"),
        "default_flow": _("默认出线"),
        "default_help": _("其他条件都不成立时走默认出线；必须有且只有一条。"),
        "conditions": _("各出线的条件（按顺序判断，第一个成立的生效）"),
        "is_default": _("（默认）"),
        "no_outgoing": _("还没有出线。"),
        "label_zh": _("连线名称（中文）"),
        "label_en": _("连线名称（英文）"),
        "default_flow_check": _("默认出线"),
        "condition": _("条件"),
        "condition_help": _("例如 apply.amount > 1000"),
        "edge_plain": _("只有条件分支的出线可以设置条件。"),
        "timeouts": _("超时处理"),
        "add_timeout": _("添加超时"),
        "boundary_of": _("“%(task)s”的超时"),
        "boundary_not_timer": _("超时事件必须是定时器。"),
        "make_timer": _("改为定时器"),
        "action": _("超时后"),
        "action_remind": _("催办"),
        "action_escalate": _("升级到上一级"),
        "action_path": _("转入其他路径"),
        "action_help": _("转入其他路径时，从此超时事件连线到目标节点。"),
        "after": _("超时时长"),
        "escalate_role": _("升级后由此角色办理"),
        "escalate_help": _("上一级区划中担任此角色的人。"),
        "interrupting": _("是否中断原任务"),
        "interrupting_default": _("（默认：中断）"),
        "interrupting_yes": _("中断"),
        "interrupting_no": _("不中断（同时进行）"),
        "path_help": _("中断时原任务取消。"),
        "duration_kind": _("单位"),
        "duration_amount": _("数值"),
        "duration_none": _("（无）"),
        "duration_days": _("自然日"),
        "duration_working": _("工作日"),
        "duration_hours": _("小时"),
        "duration_date": _("日期表达式"),
        "duration_help": _("工作日按含调休的法定日历计算；日期表达式例如 add_days(case.started, 30)"),
    }


def _workflow_payload(version: WorkflowVersion) -> dict[str, Any]:
    document = version.document
    try:
        xml = definition_to_bpmn(document)
    except DefinitionInvalid as exc:
        return {"ok": False, "xml": "", "errors": exc.as_dict().get("errors", []), "version": version.version}
    return {
        "ok": True,
        "xml": xml,
        "version": version.version,
        "status": version.status,
        "errors": selectors.workflow_designer_errors(document),
    }


@designer_required
@require_http_methods(["GET", "POST"])
def workflow_bpmn(request: HttpRequest, key: str) -> JsonResponse:
    """GET: the working version as BPMN with its errors. POST {"xml", "dry_run"?}: read the modeler's BPMN;
    a dry run only checks it, otherwise it is saved as the draft and returned as the server now writes it
    (ids normalised, so the errors' element ids match the diagram)."""
    if request.method == "GET":
        return JsonResponse(_workflow_payload(selectors.workflow_working_version(key=key)))
    try:
        body = _json_body(request)
        xml = body.get("xml")
        if not isinstance(xml, str):
            raise ValidationFailed(_("缺少 BPMN 内容。"), code="bad_json")
        if body.get("dry_run"):
            document = bpmn_to_definition(xml)
            document["key"] = key
            return JsonResponse(
                {"ok": True, "saved": False, "errors": selectors.workflow_designer_errors(document)}
            )
        version = services.workflow_bpmn_save(key=key, xml=xml, actor=request.user)
    except GovflowError as exc:
        return _error_json(exc)
    return JsonResponse({**_workflow_payload(version), "saved": True})


# --------------------------------------------------------------------------------------------------------
# Publishing and test runs
# --------------------------------------------------------------------------------------------------------


def _plan_context(plan: selectors.PublishPlan) -> dict[str, Any]:
    return {
        "plan": plan,
        "workflow_lines": selectors.workflow_change_lines(plan.changes),
        "form_items": [
            {"plan": item, "lines": selectors.form_change_lines(item.changes)} for item in plan.forms
        ],
    }


@designer_required
@require_http_methods(["GET", "POST"])
def procedure_publish(request: HttpRequest, key: str) -> HttpResponse:
    form = PublishForm(request.POST or None)
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            result = services.procedure_publish(
                key=key, actor=request.user, change_note=form.cleaned_data["change_note"]
            )
        except DefinitionInvalid as exc:
            errors = exc.errors
        except ValidationFailed as exc:
            form.add_error(None, str(exc.message))
        else:
            assert result.workflow is not None
            messages.success(
                request,
                _("已发布第 %(v)d 版，新案件将使用此版本。") % {"v": result.workflow.version},
            )
            return redirect("designer:procedure", key=key)
    plan = selectors.publish_plan(key=key)
    context = {"key": key, "form": form, "publish_errors": errors, **_plan_context(plan)}
    return render(request, "designer/publish.html", context, status=400 if errors else 200)


def _check_form(form_key: str, data: dict[str, Any], context: dict[str, Any]) -> Any:
    try:
        version = selectors.form_working_version(key=form_key)
    except NotFound:
        return None
    try:
        return {}, submission_validate(form=version, data=data, context=context)
    except FormInvalid as exc:
        return {k: [str(m) for m in v] for k, v in exc.field_errors.items()}, None
    except Exception as exc:  # a broken draft form: the test run reports it on the step
        logger.warning("test run could not validate with form %s", form_key, exc_info=True)
        return {"": [str(exc)]}, None


def _sample_data(document: dict[str, Any]) -> str:
    sample: dict[str, Any] = {}
    for node in document.get("nodes", []):
        if isinstance(node, dict) and node.get("kind") in ("start", "user_task") and node.get("form"):
            sample[node["id"]] = dict.fromkeys(selectors.form_field_names(str(node["form"])))
    return json.dumps(sample, ensure_ascii=False, indent=2)


@designer_required
@require_http_methods(["GET", "POST"])
def procedure_test_run(request: HttpRequest, key: str) -> HttpResponse:
    version = selectors.workflow_working_version(key=key)
    document = version.document
    start: dict[str, Any] = next((n for n in document.get("nodes", []) if n.get("kind") == "start"), {})
    areas = selectors.start_areas(level=str(start.get("level") or "village"))
    initial = {"sample": _sample_data(document), "validate_forms": True}
    form = TestRunForm(request.POST or None, areas=areas, initial=initial)
    result = None
    if request.method == "POST" and form.is_valid():
        result = sandbox_run(
            document=document,
            data=form.cleaned_data["sample"],
            area_code=form.cleaned_data["area"],
            today=timezone.localdate(),
            check_form=_check_form if form.cleaned_data["validate_forms"] else None,
        )
    return render(
        request,
        "designer/test_run.html",
        {"key": key, "version": version, "form": form, "result": result},
    )


# --------------------------------------------------------------------------------------------------------
# Forms and the form builder
# --------------------------------------------------------------------------------------------------------


@designer_required
def form_list(request: HttpRequest) -> HttpResponse:
    return render(request, "designer/form_list.html", {"rows": selectors.form_rows()})


@designer_required
@require_http_methods(["GET", "POST"])
def form_create(request: HttpRequest) -> HttpResponse:
    form = FormCreateForm(request.POST or None, initial={"key": request.GET.get("key", "")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.form_create(
                key=data["key"], title=_title(data["title_zh"], data["title_en"]), actor=request.user
            )
        except ValidationFailed as exc:
            form.add_error("key", str(exc.message))
        else:
            messages.success(request, _("已创建表单草稿。"))
            return redirect("designer:form_builder", key=data["key"])
    return render(request, "designer/procedure_form.html", {"form": form, "heading": _("新建表单")})


def _with_fields(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **e,
            "message": str(e.get("message", "")),
            "field": e.get("field", formmodel.error_field(str(e.get("path", "")))),
        }
        for e in errors
    ]


def _kind_labels() -> list[dict[str, Any]]:
    labels = {
        "text": _("单行文本"),
        "textarea": _("多行文本"),
        "integer": _("整数"),
        "money": _("金额（元）"),
        "number": _("数字"),
        "boolean": _("是/否"),
        "date": _("日期"),
        "datetime": _("日期时间"),
        "choice": _("单选"),
        "multichoice": _("多选"),
        "id_card": _("公民身份号码"),
        "mobile": _("手机号码"),
        "area": _("行政区划"),
        "file": _("文件"),
        "group": _("重复组（表格）"),
        "object": _("分组"),
        "raw": _("其他（JSON）"),
    }
    return [
        {"kind": k, "label": labels[k], "widgets": list(formmodel.KIND_WIDGETS[k])} for k in formmodel.KINDS
    ]


def _builder_strings() -> dict[str, str]:
    """The form builder's interface text, translated here so that makemessages sees it."""
    return {
        "unsaved": _("有未保存的修改"),
        "saving": _("正在保存……"),
        "saved": _("已保存为第 %(v)s 版草稿"),
        "saved_with_errors": _("已保存为第 %(v)s 版草稿，有 %(n)s 处错误，修改后才能发布"),
        "save_failed": _("保存失败，请按提示修改"),
        "no_fields": _("还没有字段。"),
        "new_field_kind": _("新字段的类型"),
        "add_field": _("添加字段"),
        "add_child": _("添加子字段"),
        "move_up": _("上移 %(name)s"),
        "move_down": _("下移 %(name)s"),
        "untitled": _("（未命名）"),
        "required_mark": _("必填"),
        "conditional": _("有条件显示"),
        "computed_tag": _("自动计算"),
        "error_count": _("%(n)s 处错误"),
        "edit": _("编辑"),
        "collapse": _("收起"),
        "remove": _("删除"),
        "confirm_remove": _("确定删除字段“%(name)s”吗？"),
        "name": _("字段标识"),
        "name_help": _("小写字母、数字和下划线，以字母开头；保存的数据和规则用它引用此字段。"),
        "kind": _("类型"),
        "widget": _("显示为"),
        "widget_checkbox": _("勾选框"),
        "widget_radio": _("单选按钮"),
        "widget_select": _("下拉列表"),
        "widget_checkboxes": _("多个勾选框"),
        "label_zh": _("标签（中文）"),
        "label_en": _("标签（英文）"),
        "help_zh": _("说明（中文）"),
        "help_en": _("说明（英文）"),
        "placeholder_zh": _("占位提示（中文）"),
        "placeholder_en": _("占位提示（英文）"),
        "required": _("必填"),
        "step": _("所在步骤"),
        "no_step": _("（未放入步骤）"),
        "group_fields": _("每一行的字段"),
        "object_fields": _("分组中的字段"),
        "rules": _("规则"),
        "visible_if": _("显示条件（visible_if）"),
        "required_if": _("必填条件（required_if）"),
        "computed": _("计算公式（computed）"),
        "visible_if_help": _("为假时隐藏此字段，其值不保存。例如 disabled == true"),
        "required_if_help": _("为真时此字段必填。"),
        "computed_help": _("由服务器计算，填写的值被忽略。例如 round(income / size, 2)"),
        "validation": _("校验设置"),
        "min_length": _("最少字数"),
        "max_length": _("最多字数"),
        "pattern": _("正则表达式"),
        "minimum": _("最小值"),
        "maximum": _("最大值"),
        "min_items": _("最少项数"),
        "max_items": _("最多项数"),
        "unique": _("不能重复选择"),
        "not_future": _("不能晚于今天"),
        "not_before": _("不能早于字段"),
        "birth_date_field": _("出生日期字段（须一致）"),
        "sex_field": _("性别字段（须一致）"),
        "in_user_scope": _("只能选本人辖区内的区划"),
        "max_bytes": _("文件大小上限（字节）"),
        "content_types": _("允许的文件类型（逗号分隔，如 application/pdf, image/*）"),
        "choices": _("选项"),
        "value_type": _("选项值的类型"),
        "value_string": _("文本"),
        "value_integer": _("整数"),
        "choice_value": _("值"),
        "choice_zh": _("显示名称（中文）"),
        "choice_en": _("显示名称（英文）"),
        "add_choice": _("添加选项"),
        "advanced": _("高级：其他 JSON Schema 属性"),
        "advanced_label": _("JSON 对象"),
        "advanced_help": _("设计器没有专门控件的属性（如 description、$comment）；修改后离开输入框生效。"),
        "raw_help": _("设计器无法识别此字段的结构，请直接编辑它的 JSON Schema。"),
        "json_object": _("应为 JSON 对象。"),
        "bad_json": _("JSON 有误："),
        "step_key": _("步骤标识"),
        "step_zh": _("步骤名称（中文）"),
        "step_en": _("步骤名称（英文）"),
        "step_default": _("第 %(n)s 步"),
        "no_errors": _("✔ 没有错误，可以发布。"),
        "errors_count": _("有 %(n)s 处错误（草稿可以保存，但不能发布）："),
        "locate": _("定位"),
        "preview_unavailable": _("修正字段标识的错误后显示预览。"),
        "preview_ok": _("校验通过，保存的数据为："),
        "preview_errors": _("校验未通过："),
        "json_edited": _("JSON 已修改，尚未应用"),
        "json_applied": _("已应用到设计器"),
    }


@designer_required
def form_builder(request: HttpRequest, key: str) -> HttpResponse:
    version = selectors.form_working_version(key=key)
    model = formmodel.model_from_document(
        {
            "key": version.key,
            "title": {"zh": version.title_zh, "en": version.title_en},
            "schema": version.schema,
            "ui": version.ui_schema,
        }
    )
    config = {
        "key": key,
        "model": model,
        "kinds": _kind_labels(),
        "composeUrl": reverse("designer:form_compose", kwargs={"key": key}),
        "saveUrl": reverse("designer:form_save", kwargs={"key": key}),
        "fromJsonUrl": reverse("designer:form_from_json", kwargs={"key": key}),
        "checkUrl": reverse("designer:expression_check"),
        "errors": _with_fields(version.errors or []),
    }
    return render(
        request,
        "designer/form_builder.html",
        {
            "version": version,
            "config": config,
            "key": key,
            "used_by": selectors.procedures_using_form(form_key=key),
            "strings": _builder_strings(),
        },
    )


def _preview_version(key: str, document: dict[str, Any]) -> FormVersion:
    """An unsaved version for the live preview. The renderer gives an unsaved version no htmx refresh of its
    own (the builder re-renders the preview itself, with the model as it is now); version 0 never exists,
    so no refresh could load a stored version in its place either."""
    content = json.dumps(document, sort_keys=True, ensure_ascii=False).encode()
    title = document.get("title") if isinstance(document.get("title"), dict) else {}
    assert isinstance(title, dict)
    return FormVersion(
        key=key,
        version=0,
        status=FormVersion.Status.DRAFT,
        title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")),
        schema=document.get("schema", {}),
        ui_schema=document.get("ui", {}),
        checksum="preview-" + hashlib.sha256(content).hexdigest(),
    )


def _preview(
    request: HttpRequest, key: str, document: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """The form rendered by govflow.forms.rendering from the unsaved document, with the preview's own input
    (rules applied), and the validator's answer when asked."""
    from govflow.forms.rendering import build_form, render_readonly

    version = _preview_version(key, document)
    posted = body.get("preview")
    data = QueryDict(posted) if isinstance(posted, str) else None
    result: dict[str, Any] | None = None
    try:
        form = build_form(version, data=data, user=request.user, prefix="gd")
        if data is not None and body.get("validate"):
            if form.is_valid():
                result = {"ok": True, "document": form.cleaned_document}
                result["readonly"] = str(render_readonly(version, form.cleaned_document))
            else:
                result = {
                    "ok": False,
                    "errors": {k: [str(m) for m in v] for k, v in form.field_errors.items()},
                }
        else:
            form.env.quiet = True
        return {"html": str(form.render()), "result": result}
    except Exception as exc:  # a draft can be broken in ways the definition check reports; say so
        logger.info("designer preview of %s failed: %s", key, exc)
        return {"html": "", "broken": _("此草稿暂时无法预览：%(e)s") % {"e": exc}, "result": None}


@designer_required
@require_POST
def form_compose(request: HttpRequest, key: str) -> JsonResponse:
    """The builder's model as the form file, its errors (each with its path and field) and a live preview."""
    try:
        body = _json_body(request)
    except ValidationFailed as exc:
        return _error_json(exc)
    model = body.get("model")
    model = {**model, "key": key} if isinstance(model, dict) else {"key": key}
    document = formmodel.document_from_model(model)
    broken = formmodel.model_errors(model)
    errors = _with_fields(broken) + _with_fields(check_form_document(document))
    # a model with broken names has no faithful file to preview (fields would collapse into one)
    preview = {"html": ""} if broken else _preview(request, key, document, body)
    return JsonResponse({"ok": True, "document": document, "errors": errors, "preview": preview})


@designer_required
@require_POST
def form_save(request: HttpRequest, key: str) -> JsonResponse:
    """Save the builder's model as the draft (it may be invalid; its errors come back with paths)."""
    try:
        body = _json_body(request)
        version = services.form_model_save(key=key, model=body.get("model"), actor=request.user)
    except GovflowError as exc:
        return _error_json(exc)
    return JsonResponse(
        {
            "ok": True,
            "saved": True,
            "version": version.version,
            "status": version.status,
            "errors": _with_fields(version.errors or []),
        }
    )


@designer_required
@require_POST
def form_from_json(request: HttpRequest, key: str) -> JsonResponse:
    """The JSON editor's text read back into the builder's model."""
    try:
        body = _json_body(request)
        text = body.get("document")
        document = json.loads(text) if isinstance(text, str) else text
    except ValueError as exc:
        return JsonResponse({"ok": False, "message": _("不是有效的 JSON：%(e)s") % {"e": exc}}, status=400)
    except ValidationFailed as exc:
        return _error_json(exc)
    if not isinstance(document, dict):
        return JsonResponse({"ok": False, "message": _("表单定义应为 JSON 对象。")}, status=400)
    document = {**document, "key": key}
    model = formmodel.model_from_document(document)
    return JsonResponse({"ok": True, "model": model, "errors": _with_fields(check_form_document(document))})


@designer_required
@require_http_methods(["GET", "POST"])
def form_publish(request: HttpRequest, key: str) -> HttpResponse:
    form = PublishForm(request.POST or None)
    errors: list[dict[str, Any]] = []
    if request.method == "POST" and form.is_valid():
        try:
            version = services.form_publish_draft(
                key=key, actor=request.user, change_note=form.cleaned_data["change_note"]
            )
        except DefinitionInvalid as exc:
            errors = exc.errors
        else:
            messages.success(request, _("表单已发布第 %(v)d 版。") % {"v": version.version})
            return redirect("designer:form_builder", key=key)
    plan = selectors.form_plan(key=key)
    context = {
        "key": key,
        "form": form,
        "item": plan,
        "lines": selectors.form_change_lines(plan.changes) if plan else [],
        "publish_errors": errors,
        "used_by": selectors.procedures_using_form(form_key=key),
    }
    return render(request, "designer/form_publish.html", context, status=400 if errors else 200)


# --------------------------------------------------------------------------------------------------------
# Expression check (htmx)
# --------------------------------------------------------------------------------------------------------


def _diagram_document(xml: str, key: str) -> dict[str, Any]:
    if xml.strip():
        try:
            return bpmn_to_definition(xml)
        except DefinitionInvalid:
            pass
    try:
        return selectors.workflow_working_version(key=key).document
    except NotFound:
        return {}


@designer_required
@require_POST
def expression_check(request: HttpRequest) -> HttpResponse:
    """htmx: compile an expression as it is typed and list the variables it may use.

    POST `expression` and either `scope=form` with `names` (comma-separated: the fields in scope) or
    `scope=workflow` with `key`, `node` and `xml` (the diagram as it is now in the modeler, unsaved; the
    saved draft when it is missing or unreadable): the variables nodes upstream of that node define."""
    source = request.POST.get("expression", "")
    scope = request.POST.get("scope", "form")
    groups: list[dict[str, Any]]
    if scope == "workflow":
        document = _diagram_document(request.POST.get("xml", ""), request.POST.get("key", ""))
        node = selectors.node_id_in(document, request.POST.get("node", ""))
        groups = selectors.workflow_variables(document, node)
        allowed = {g["name"] for g in groups}
    else:
        names = [n.strip() for n in request.POST.get("names", "").split(",") if n.strip()]
        groups = [{"name": n, "fields": [], "source": ""} for n in names]
        allowed = set(names)
    context: dict[str, Any] = {"source": source, "groups": groups, "empty": not source.strip()}
    if source.strip():
        try:
            compiled = compile_expression(source)
        except ExpressionError as exc:
            position = exc.position if isinstance(exc.position, int) else None
            context.update(
                ok=False,
                message=str(exc.message),
                position=position,
                before=source[:position] if position is not None else "",
                at=source[position : position + 1] if position is not None else "",
                after=source[position + 1 :] if position is not None else "",
            )
        else:
            unknown = sorted(compiled.variables - allowed)
            context.update(ok=not unknown, used=sorted(compiled.variables), unknown=unknown)
    return render(request, "designer/_expression_check.html", context)
