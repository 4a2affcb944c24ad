"""Reading form definitions."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from govflow.errors import NotFound

from .models import FormVersion


def form_version_get(*, key: str, version: int | None = None, published_only: bool = True) -> FormVersion:
    """The given version, or the latest published one. Raises NotFound."""
    qs = FormVersion.objects.filter(key=key)
    if published_only:
        qs = qs.exclude(status=FormVersion.Status.DRAFT)
    qs = qs.filter(version=version) if version is not None else qs.filter(status=FormVersion.Status.PUBLISHED)
    found = qs.order_by("-version").first()
    if found is None:
        raise NotFound(_("表单“%(k)s”不存在或未发布。") % {"k": key})
    return found


def form_versions(*, key: str) -> QuerySet[FormVersion]:
    return FormVersion.objects.filter(key=key).order_by("-version")
