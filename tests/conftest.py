"""Shared fixtures: areas, roles and users of a small test county, built through the real services."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_sessionstart(session):
    """Compile the translation catalogs if they are missing or stale (make does this too)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (REPO / "platform" / "govflow" / "locale").glob("*/LC_MESSAGES/django.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with open(po, "rb") as src:
                catalog = read_po(src)
            with open(mo, "wb") as dst:
                write_mo(dst, catalog, use_fuzzy=True)


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    """Each test starts without the in-process caches of published definitions: tests roll their
    transactions back, so primary keys are reused (SQLite) with different content."""
    from govflow.cases.services import forget_cached_forms

    forget_cached_forms()
    yield
    forget_cached_forms()


@pytest.fixture
def county(db):
    """A county with two townships and two villages each, plus the shipped role catalog.

    Codes follow the real pattern (6/9/12 digits) and belong to 定陶县 (371727).
    """
    from govflow.roles.importers import areas_import
    from govflow.roles.library import load_catalog

    load_catalog(REPO / "roles" / "catalog.json")
    rows = [
        {"code": "371727", "name": "定陶县", "level": "county", "parent_code": ""},
        {"code": "371727100", "name": "定陶镇", "level": "township", "parent_code": "371727"},
        {"code": "371727101", "name": "南王店镇", "level": "township", "parent_code": "371727"},
        {"code": "371727100201", "name": "甲村", "level": "village", "parent_code": "371727100"},
        {"code": "371727100202", "name": "乙村", "level": "village", "parent_code": "371727100"},
        {"code": "371727101201", "name": "丙村", "level": "village", "parent_code": "371727101"},
        {"code": "371727101202", "name": "丁村", "level": "village", "parent_code": "371727101"},
    ]
    areas_import(rows=rows)
    from govflow.roles.models import Area

    return {a.code: a for a in Area.objects.all()}


@pytest.fixture
def make_user(db):
    from django.contrib.auth import get_user_model

    from govflow.roles.models import Area, Role
    from govflow.roles.services import role_assign

    def make(username: str, *grants: tuple[str, str], **extra):
        user = get_user_model().objects.create_user(username=username, password="pw-" + username, **extra)
        for role_key, area_code in grants:
            role_assign(user=user, role=Role.objects.get(key=role_key), area=Area.objects.get(code=area_code))
        return user

    return make


@pytest.fixture
def staff(county, make_user):
    """One user per role at sensible areas of the test county."""
    return {
        "clerk_a": make_user("clerk_a", ("village_clerk", "371727100201")),
        "clerk_b": make_user("clerk_b", ("village_clerk", "371727100202")),
        "clerk_c": make_user("clerk_c", ("village_clerk", "371727101201")),
        "reviewer_x": make_user("reviewer_x", ("township_reviewer", "371727100")),
        "reviewer_y": make_user("reviewer_y", ("township_reviewer", "371727101")),
        "leader_x": make_user("leader_x", ("township_leader", "371727100")),
        "approver": make_user("approver", ("county_approver", "371727")),
        "cashier": make_user("cashier", ("county_cashier", "371727")),
        "supervisor": make_user("supervisor", ("supervisor", "371727")),
        "supervisor_x": make_user("supervisor_x", ("supervisor", "371727100")),
        "designer": make_user("designer", ("designer", "371727")),
    }
