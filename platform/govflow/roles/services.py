"""Write-side of areas and roles. The only module that grants or revokes guardian permissions."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils.translation import gettext as _

from govflow.audit.services import audit_record
from govflow.errors import ValidationFailed

from .models import Area, Role, RoleAssignment
from .selectors import PERMISSION_PREFIX, forget_grants

ROLE_FIELDS = (
    "name_zh",
    "name_en",
    "description",
    "levels",
    "can_design",
    "can_supervise",
    "can_act",
    "can_start",
    "sees_personal_data",
)


def _group_name(role: Role, area: Area) -> str:
    return f"{role.key}@{area.code}"


@transaction.atomic
def role_upsert(*, entry: dict[str, Any]) -> tuple[Role, bool]:
    """Create or update one catalog role from its data entry; returns (role, changed).

    The role's guardian Permission (roles.act_as_<key> on Area) is created with it.
    """
    key = entry["key"]
    permission, _created = Permission.objects.get_or_create(
        content_type=ContentType.objects.get_for_model(Area),
        codename=PERMISSION_PREFIX + key,
        defaults={"name": f"Act as {entry.get('name_en') or key}"[:255]},
    )
    values = {name: entry[name] for name in ROLE_FIELDS if name in entry}
    role = Role.objects.filter(key=key).first()
    if role is None:
        return Role.objects.create(key=key, permission=permission, **values), True
    changed = any(getattr(role, name) != value for name, value in values.items())
    if changed:
        for name, value in values.items():
            setattr(role, name, value)
        role.save()
    return role, changed


@transaction.atomic
def role_assign(*, user: Any, role: Role, area: Area, actor: Any = None) -> RoleAssignment:
    """Give `user` the role at `area`. Idempotent. Raises ValidationFailed if the role cannot sit at that level."""
    from guardian.shortcuts import assign_perm

    if area.level not in role.levels:
        raise ValidationFailed(
            _("角色“%(role)s”不能设在%(level)s级。")
            % {"role": role.name_zh, "level": area.get_level_display()},
            code="role_level",
        )
    existing = RoleAssignment.objects.filter(user=user, role=role, area=area).first()
    if existing is not None:
        return existing
    group, created = Group.objects.get_or_create(name=_group_name(role, area))
    if created:
        assign_perm(role.permission, group, area)
    user.groups.add(group)
    assignment = RoleAssignment.objects.create(user=user, role=role, area=area, group=group, granted_by=actor)
    audit_record(
        action="role.assigned",
        actor=actor,
        area_code=area.code,
        data={"user": user.get_username(), "user_id": user.pk, "role": role.key},
    )
    forget_grants(user)
    return assignment


@transaction.atomic
def role_revoke(*, assignment: RoleAssignment, actor: Any = None) -> None:
    """Take the role away. Takes effect on the user's next request (grants are read per request)."""
    user = assignment.user
    group = assignment.group
    user.groups.remove(group)
    audit_record(
        action="role.revoked",
        actor=actor,
        area_code=assignment.area_id,
        data={"user": user.get_username(), "user_id": user.pk, "role": assignment.role.key},
    )
    assignment.delete()
    forget_grants(user)
