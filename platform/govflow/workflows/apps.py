from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _set_lock_timeout(sender: Any, connection: Any, **kwargs: Any) -> None:
    """A bounded wait for row locks on every PostgreSQL connection: a stuck holder turns into a clear
    conflict for the waiting user instead of a hung request (see workflows.nodes.RowLock)."""
    if connection.vendor == "postgresql":
        from govflow.workflows.nodes import LOCK_TIMEOUT_MS

        with connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")


class WorkflowsConfig(AppConfig):
    name = "govflow.workflows"
    label = "workflows"
    verbose_name = _("流程")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        connection_created.connect(_set_lock_timeout, dispatch_uid="govflow.workflows.lock_timeout")
