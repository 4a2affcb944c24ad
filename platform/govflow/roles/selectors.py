"""Read-side questions about roles and areas. Every other package asks these; none touches guardian itself.

A grant is "user U holds role R at area A": a guardian object permission `roles.act_as_<R>` on Area A,
given to a group that U belongs to. A user's scope is the union of the subtrees of the areas they hold
any role at; a subtree is a code prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Concat

from .models import CODE_LENGTH, Area, Role

_CACHE_ATTR = "_govflow_grants"
PERMISSION_PREFIX = "act_as_"

AnyUser = AbstractBaseUser | AnonymousUser


@dataclass(frozen=True)
class Grant:
    role_key: str
    area_code: str
    role_name: str
    area_name: str
    area_level: str
    can_design: bool
    can_supervise: bool
    can_act: bool
    can_start: tuple[str, ...]
    sees_personal_data: bool

    def covers(self, area_code: str) -> bool:
        return area_code.startswith(self.area_code)

    def may_start(self, procedure_key: str) -> bool:
        return "*" in self.can_start or procedure_key in self.can_start


def area_content_type() -> ContentType:
    return ContentType.objects.get_for_model(Area)


def user_grants(*, user: Any) -> list[Grant]:
    """Every (role, area) the user holds, read in one query and remembered on the user object.

    The memo lives as long as the request's user object, so a revoked role stops working on the next request.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    from guardian.models import GroupObjectPermission

    rows = (
        GroupObjectPermission.objects.filter(
            group__user=user,
            content_type=area_content_type(),
            permission__codename__startswith=PERMISSION_PREFIX,
        )
        .values_list("permission__codename", "object_pk")
        .distinct()
    )
    pairs = [(codename[len(PERMISSION_PREFIX) :], pk) for codename, pk in rows]
    roles = {r.key: r for r in Role.objects.filter(key__in={k for k, _ in pairs})}
    areas = {a.code: a for a in Area.objects.filter(code__in={c for _, c in pairs})}
    grants = [
        Grant(
            role_key=key,
            area_code=code,
            role_name=roles[key].name_zh,
            area_name=areas[code].name,
            area_level=areas[code].level,
            can_design=roles[key].can_design,
            can_supervise=roles[key].can_supervise,
            can_act=roles[key].can_act,
            can_start=tuple(roles[key].can_start),
            sees_personal_data=roles[key].sees_personal_data,
        )
        for key, code in sorted(pairs, key=lambda p: (p[1], p[0]))
        if key in roles and code in areas
    ]
    setattr(user, _CACHE_ATTR, grants)
    return grants


def forget_grants(user: Any) -> None:
    """Drop the memo after this process changed the user's grants."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def user_assignments(*, user: Any) -> list[Grant]:
    """The grants to show in the page header (same as user_grants; named for templates)."""
    return user_grants(user=user)


def _minimal_prefixes(codes: list[str]) -> list[str]:
    result: list[str] = []
    for code in sorted(set(codes), key=len):
        if not any(code.startswith(p) for p in result):
            result.append(code)
    return sorted(result)


def scope_prefixes(*, user: Any, supervise_only: bool = False) -> list[str]:
    """The area-code prefixes the user may see (the smallest set that covers their grants)."""
    grants = user_grants(user=user)
    if supervise_only:
        grants = [g for g in grants if g.can_supervise]
    return _minimal_prefixes([g.area_code for g in grants])


def scope_q(*, user: Any, field: str = "area", supervise_only: bool = False) -> Q:
    """A filter that keeps rows whose `field` (an area code column) lies in the user's scope.

    With no grants it matches nothing. Each prefix is an indexed range scan on PostgreSQL.
    """
    prefixes = scope_prefixes(user=user, supervise_only=supervise_only)
    if not prefixes:
        return Q(pk__in=[])
    q = Q()
    for prefix in prefixes:
        q |= Q(**{f"{field}__startswith": prefix})
    return q


def user_can_see_area(*, user: Any, area_code: str, supervise_only: bool = False) -> bool:
    return any(area_code.startswith(p) for p in scope_prefixes(user=user, supervise_only=supervise_only))


def user_holds_role(*, user: Any, role_key: str, area_code: str) -> bool:
    """Exactly this role at exactly this area (task routing names the area the role acts at)."""
    return any(g.role_key == role_key and g.area_code == area_code for g in user_grants(user=user))


def role_area_code(*, case_area_code: str, level: str) -> str:
    """The area at which a role of `level` acts for a case in `case_area_code` (walks up the tree)."""
    length = CODE_LENGTH[level]
    if len(case_area_code) < length:
        raise ValueError(f"area {case_area_code} is above level {level}")
    return case_area_code[:length]


def users_for_role(*, role_key: str, area_code: str) -> QuerySet:
    """Active users who hold `role_key` at `area_code`."""
    from guardian.models import GroupObjectPermission

    grants = GroupObjectPermission.objects.filter(
        content_type=area_content_type(),
        permission__codename=PERMISSION_PREFIX + role_key,
        object_pk=area_code,
        group__user=OuterRef("pk"),
    )
    return get_user_model().objects.filter(is_active=True).filter(Exists(grants)).order_by("username")


def user_may_start(*, user: Any, procedure_key: str, area_code: str) -> bool:
    """A role that may start this procedure, held at this area or above it."""
    return any(g.may_start(procedure_key) and g.covers(area_code) for g in user_grants(user=user))


def startable_grants(*, user: Any, procedure_key: str) -> list[Grant]:
    return [g for g in user_grants(user=user) if g.may_start(procedure_key)]


def user_may_design(*, user: Any) -> bool:
    return any(g.can_design for g in user_grants(user=user))


def user_may_supervise(*, user: Any, area_code: str | None = None) -> bool:
    grants = [g for g in user_grants(user=user) if g.can_supervise]
    if area_code is None:
        return bool(grants)
    return any(g.covers(area_code) for g in grants)


def user_sees_personal_data(*, user: Any, area_code: str) -> bool:
    return any(g.sees_personal_data and g.covers(area_code) for g in user_grants(user=user))


def grant_exists(
    *, user: Any, permission_field: str = "owner_permission", object_field: str = "owner_permission_obj_pk"
) -> Exists:
    """An EXISTS expression: the row's (permission string, area pk) is granted to `user` through a group.

    Used by the task queue so the database does the matching with indexes, instead of loading every grant
    into Python (viewflow's user_queue does that and cannot use an index).
    """
    from guardian.models import GroupObjectPermission

    grants = (
        GroupObjectPermission.objects.filter(
            content_type=area_content_type(),
            group__user=user,
            object_pk=OuterRef(object_field),
        )
        .annotate(perm_name=Concat(Value("roles."), "permission__codename"))
        .filter(perm_name=OuterRef(permission_field))
    )
    return Exists(grants)


def areas_in_scope(*, user: Any) -> QuerySet[Area]:
    return Area.objects.filter(scope_q(user=user, field="code"))


def area_children(*, parent_code: str | None) -> QuerySet[Area]:
    if parent_code is None:
        return Area.objects.filter(parent__isnull=True)
    return Area.objects.filter(parent_id=parent_code)


def role_by_key(key: str) -> Role | None:
    return Role.objects.select_related("permission").filter(key=key).first()
