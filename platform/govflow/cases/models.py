"""Cases: the platform's record of one running procedure, one row per viewflow process.

The case's business data (form data under each task's key, values set by service tasks, and the reserved
`case` object) lives in the process's JSON `data`, where the engine's conditions read it without a query.
This row holds what inboxes, reports and scoping filter on.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from viewflow.workflow.models import Process

from govflow.workflows.models import WorkflowVersion


class Case(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("办理中")
        CLOSED = "closed", _("已办结")
        FAILED = "failed", _("出错")

    process = models.OneToOneField(
        Process, on_delete=models.CASCADE, primary_key=True, related_name="case", verbose_name=_("流程实例")
    )
    workflow = models.ForeignKey(
        WorkflowVersion, on_delete=models.PROTECT, related_name="cases", verbose_name=_("流程版本")
    )
    procedure_key = models.SlugField(_("事项"), max_length=64)
    reference = models.CharField(_("案件编号"), max_length=40, unique=True)
    area_code = models.CharField(_("区划代码"), max_length=12)
    title = models.CharField(_("标题"), max_length=200, blank=True)
    # Filled from the workflow's `summary` expressions after every step, for search and lists.
    applicant = models.CharField(_("当事人"), max_length=100, blank=True, db_index=True)
    id_card = models.CharField(_("公民身份号码"), max_length=18, blank=True, db_index=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("结果"), max_length=40, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("发起人"),
    )
    created = models.DateTimeField(_("发起时间"))
    finished = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("案件")
        verbose_name_plural = _("案件")
        ordering = ["-created"]
        indexes = [
            # Scoping is a prefix match on the area code (LIKE '371727102%').
            models.Index(fields=["area_code"], name="case_area_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["status", "area_code"], name="case_status_area"),
            models.Index(fields=["procedure_key", "created"], name="case_procedure_created"),
        ]

    def __str__(self) -> str:
        return self.reference
