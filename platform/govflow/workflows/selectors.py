"""Reading workflow definitions and resolving a version's compiled flow class."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from govflow.errors import GovflowError, NotFound

from .models import WorkflowVersion


def workflow_version_get(
    *, key: str, version: int | None = None, published_only: bool = True
) -> WorkflowVersion:
    """The given version, or the latest published one. Raises NotFound."""
    qs = WorkflowVersion.objects.filter(key=key)
    if published_only:
        qs = qs.exclude(status=WorkflowVersion.Status.DRAFT)
    qs = (
        qs.filter(version=version)
        if version is not None
        else qs.filter(status=WorkflowVersion.Status.PUBLISHED)
    )
    found = qs.order_by("-version").first()
    if found is None:
        raise NotFound(_("事项“%(k)s”不存在或未发布。") % {"k": key})
    return found


def workflow_versions(*, key: str) -> QuerySet[WorkflowVersion]:
    return WorkflowVersion.objects.filter(key=key).order_by("-version")


def published_workflows() -> QuerySet[WorkflowVersion]:
    return WorkflowVersion.objects.filter(status=WorkflowVersion.Status.PUBLISHED).order_by("key")


class FlowMissing(GovflowError):
    default_code = "flow_missing"
    default_message = gettext_lazy("此案件的流程定义缺失，无法继续办理。请联系管理员。")
    status = 500


def flow_class_for(version: WorkflowVersion) -> Any:
    from govflow.workflows import flows

    try:
        return getattr(flows, version.flow_class_name)
    except AttributeError as exc:
        raise FlowMissing() from exc


def node_spec(flow_task: Any) -> dict[str, Any]:
    """The definition entry of a compiled node (its user task spec, etc.)."""
    node_id = getattr(flow_task, "node_id", None)
    for spec in flow_task.flow_class.document["nodes"]:
        if spec["id"] == node_id:
            return spec
    return {}
