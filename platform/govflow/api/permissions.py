"""Coarse API permissions: "is a designer somewhere", "is a supervisor somewhere".

They only decide whether the endpoint is open to the user at all. Which rows the user reaches is decided
by the selectors and services each view calls (areas, roles), exactly as for the web pages.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from govflow.errors import OutOfScope
from govflow.roles.selectors import user_may_design, user_may_supervise


class _GrantPermission(BasePermission):
    def check(self, user: Any) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers NotAuthenticated (401)
        if not self.check(user):
            raise OutOfScope()
        return True


class IsDesigner(_GrantPermission):
    """Holds a role that may design procedures (validate, import, publish, export definitions)."""

    def check(self, user: Any) -> bool:
        return user_may_design(user=user)


class IsSupervisor(_GrantPermission):
    """Holds a supervisor role somewhere (the audit selectors then keep to that role's areas)."""

    def check(self, user: Any) -> bool:
        return user_may_supervise(user=user)
