"""Areas (county > township > village, keyed by their statistical code) and the role catalog.

The area code is the primary key, so every table that points at an area stores the code itself and
"everything in this township" is one prefix (range) scan on that column.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import models
from django.utils.translation import gettext_lazy as _

CODE_LENGTH = {"county": 6, "township": 9, "village": 12}
LEVEL_BY_LENGTH = {length: level for level, length in CODE_LENGTH.items()}
PARENT_LEVEL = {"township": "county", "village": "township"}


class Level(models.TextChoices):
    COUNTY = "county", _("县")
    TOWNSHIP = "township", _("乡镇")
    VILLAGE = "village", _("村")


class Area(models.Model):
    code = models.CharField(_("区划代码"), max_length=12, primary_key=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = _("区划")
        verbose_name_plural = _("区划")
        ordering = ["code"]
        indexes = [
            # LIKE 'prefix%' can only use a b-tree index with a pattern operator class on PostgreSQL.
            models.Index(fields=["code"], name="area_code_prefix_idx", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"

    def ancestor_code(self, level: str) -> str:
        """The code of this area's ancestor (or itself) at `level`."""
        return self.code[: CODE_LENGTH[level]]


class Role(models.Model):
    """One entry of the role catalog (data in roles/*.json, loaded by import_procedures / load_demo)."""

    key = models.SlugField(_("标识"), max_length=64, unique=True)
    name_zh = models.CharField(_("中文名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    description = models.TextField(_("说明"), blank=True)
    # The levels at which the role may be held (a supervisor may sit at the county or a township).
    levels = models.JSONField(_("适用层级"), default=list)
    can_design = models.BooleanField(_("可设计流程"), default=False)
    can_supervise = models.BooleanField(_("可监督审计"), default=False)
    can_act = models.BooleanField(_("可办理任务"), default=True)
    # Procedure keys this role may start cases of; ["*"] means every procedure.
    can_start = models.JSONField(_("可发起的事项"), default=list, blank=True)
    # Whether lists show citizen IDs and phone numbers in full (otherwise masked).
    sees_personal_data = models.BooleanField(_("可查看完整个人信息"), default=False)
    permission = models.OneToOneField(Permission, on_delete=models.PROTECT, related_name="govflow_role")

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name_zh

    @property
    def permission_name(self) -> str:
        """The "app_label.codename" string viewflow stores in Task.owner_permission."""
        return f"roles.{self.permission.codename}"

    def may_start(self, procedure_key: str) -> bool:
        return "*" in self.can_start or procedure_key in self.can_start


class RoleAssignment(models.Model):
    """Who holds which role at which area, and who granted it.

    The grant itself is a guardian object permission of `group` on `area`; the user is a member of that
    group. This row is the register that the admin pages list; only roles.services writes either.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments")
    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="assignments")
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(_("授予时间"), auto_now_add=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("角色分配")
        verbose_name_plural = _("角色分配")
        constraints = [
            models.UniqueConstraint(fields=["user", "role", "area"], name="unique_role_assignment")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.role} · {self.area}"


class UserProfile(models.Model):
    """Per-user preferences that are not authorisation: display language, phone for notifications."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="govflow_profile"
    )
    language = models.CharField(_("界面语言"), max_length=10, blank=True)
    phone = models.CharField(_("手机号码"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("用户设置")
        verbose_name_plural = _("用户设置")

    def __str__(self) -> str:
        return str(self.user)
