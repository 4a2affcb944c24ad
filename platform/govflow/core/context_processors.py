"""Template context every page needs: who is logged in, as which roles, where."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def govflow(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from govflow.roles.selectors import user_assignments

    return {"my_assignments": user_assignments(user=user)}
