"""The catalogue of audit actions, with the Chinese name shown to supervisors.

Writers may use actions that are not listed here (the log accepts any string); they are shown raw until
they are added. docs/audit.md lists the same actions with who writes them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

ACTION_LABELS = {
    "case.started": _("发起案件"),
    "case.data_changed": _("修改案件数据"),
    "case.ended": _("案件办结"),
    "case.withdrawn": _("撤回案件"),
    "task.created": _("生成任务"),
    "task.claimed": _("认领任务"),
    "task.unclaimed": _("退回任务池"),
    "task.reassigned": _("改派任务"),
    "task.completed": _("办理完成"),
    "task.escalated": _("超期升级"),
    "task.reminded": _("超期催办"),
    "task.failed": _("办理失败"),
    "service.executed": _("自动计算"),
    "timer.fired": _("定时器触发"),
    "attachment.added": _("上传附件"),
    "attachment.removed": _("删除附件"),
    "comment.added": _("添加意见"),
    "document.generated": _("生成文书"),
    "definition.published": _("发布定义"),
    "definition.retired": _("停用定义"),
    "start_draft.saved": _("保存发起草稿"),
    "start_draft.deleted": _("删除发起草稿"),
    "demo.loaded": _("载入演示案件"),
    "webhook.created": _("创建推送订阅"),
    "webhook.updated": _("修改推送订阅"),
    "webhook.deleted": _("删除推送订阅"),
    "auth.token_created": _("创建接口令牌"),
    "auth.token_revoked": _("撤销接口令牌"),
    "role.assigned": _("授予角色"),
    "role.revoked": _("撤销角色"),
    "areas.imported": _("导入区划"),
    "auth.login": _("登录"),
    "auth.login_failed": _("登录失败"),
    "personal_data.viewed": _("查看完整个人信息"),
    "audit.exported": _("导出审计记录"),
}

LOGIN = "auth.login"
LOGIN_FAILED = "auth.login_failed"
PERSONAL_DATA_VIEWED = "personal_data.viewed"


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
