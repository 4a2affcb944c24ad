"""Template context every page needs: who is logged in, as which roles, where."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def govflow(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from govflow.roles.selectors import user_assignments, user_grants

    grants = user_grants(user=user)
    return {
        "my_assignments": user_assignments(user=user),
        "may_design": any(g.can_design for g in grants),
        "may_supervise": any(g.can_supervise for g in grants),
    }
