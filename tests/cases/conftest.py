"""Fixtures of the staff workspace tests: the every-kind procedure, started cases, logged-in clients."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from tests.workflows.conftest import every_kind  # noqa: F401 - re-exported fixture
from tests.workflows.test_engine import VILLAGE, open_task, start  # noqa: F401

DEFINITIONS = Path(__file__).resolve().parent / "definitions"
OTHER_VILLAGE = "371727100202"  # 乙村, same township as VILLAGE (甲村)


@pytest.fixture
def stepped(staff):
    """A procedure whose start form has two wizard steps."""
    from govflow.workflows.library import import_library
    from govflow.workflows.selectors import workflow_version_get

    import_library([DEFINITIONS])
    return workflow_version_get(key="test_stepped")


@pytest.fixture
def login():
    """login(user) -> a test client signed in as that user."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def case(every_kind, staff):  # noqa: F811
    """A case of test_every_kind started by clerk_a in 甲村, waiting for the township review."""
    return start(staff)
