"""Building the demo county's users and sample cases from fixtures/ (used by load_demo and browser tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from govflow.roles.models import Area, Role
from govflow.roles.services import role_assign

DEMO_PASSWORD = "govflow-demo"


@transaction.atomic
def load_demo_users(document: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Create (or keep) every demo user with their grants; returns (username, name, roles text) rows."""
    User = get_user_model()
    rows = []
    for entry in document["users"]:
        user, created = User.objects.get_or_create(
            username=entry["username"],
            defaults={"first_name": entry.get("name", ""), "email": entry.get("email", "")},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = bool(entry.get("superuser"))
            user.is_superuser = bool(entry.get("superuser"))
            user.save()
        labels = []
        for grant in entry.get("roles", []):
            role = Role.objects.get(key=grant["role"])
            area = Area.objects.get(code=grant["area"])
            role_assign(user=user, role=role, area=area)
            labels.append(f"{role.name_zh}@{area.name}")
        rows.append((user.username, entry.get("name", ""), "，".join(labels) or "系统管理员"))
    return rows


def load_demo_cases(fixtures: Path) -> int:
    """Start the sample cases in fixtures/demo_cases.json through the real runtime (once)."""
    path = fixtures / "demo_cases.json"
    if not path.exists():
        return 0
    try:
        from govflow.cases.demo import demo_cases_load  # the engine's loader walks cases to their states
    except ImportError:
        return 0
    return demo_cases_load(json.loads(path.read_text(encoding="utf-8")))
