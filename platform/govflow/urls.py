"""The site's URL map. Each app owns its own urls module; this file only mounts them."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("govflow.core.urls")),
    path("", include("govflow.roles.urls")),
    path("", include("govflow.forms.urls")),
    path("", include("govflow.cases.urls")),
    path("", include("govflow.audit.urls")),
    path("", include("govflow.workflows.urls")),
    path("designer/", include("govflow.designer.urls")),
    path("api/", include("govflow.api.urls")),
]

# MEDIA_ROOT is never served directly, not even in development: attachments and documents go through the
# scope-checked download views of the cases app.
