"""The OpenAPI schema and its Swagger UI / Redoc pages, with the UI assets served from this server.

The assets come from the drf-spectacular-sidecar package (no CDN). When the app "drf_spectacular_sidecar"
is in INSTALLED_APPS they are ordinary static files (collectstatic, whitenoise); otherwise the small view
below serves the few files the pages need straight from the installed package.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from django.apps import apps
from django.http import FileResponse, Http404, HttpRequest
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.http import require_GET
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from .base import ApiMixin

# The only files the pages load (anything else under the package is not served).
ASSETS = {
    "swagger-ui-dist/swagger-ui.css",
    "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui-dist/swagger-ui-standalone-preset.js",
    "swagger-ui-dist/favicon-32x32.png",
    "redoc/bundles/redoc.standalone.js",
}


def _sidecar_dir() -> Path:
    import drf_spectacular_sidecar

    return Path(drf_spectacular_sidecar.__file__).resolve().parent / "static" / "drf_spectacular_sidecar"


def asset_url(name: str) -> str:
    if apps.is_installed("drf_spectacular_sidecar"):
        return static(f"drf_spectacular_sidecar/{name}")
    return reverse("api:docs-asset", kwargs={"name": name})


@require_GET
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in ASSETS:
        raise Http404
    path = _sidecar_dir() / name
    if not path.is_file():
        raise Http404
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response


class SchemaView(ApiMixin, SpectacularAPIView):
    """GET /api/schema/ (YAML by default, ?format=json for JSON). Public: it describes, it holds no data."""

    renderer_classes = SpectacularAPIView.renderer_classes
    authentication_classes: Any = []
    permission_classes: Any = []


class SwaggerView(ApiMixin, SpectacularSwaggerView):
    renderer_classes = SpectacularSwaggerView.renderer_classes
    permission_classes: Any = []
    url_name = "api:schema"
    title = "govflow API"

    @extend_schema(exclude=True)
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().get(request, *args, **kwargs)
        configured = spectacular_settings.SWAGGER_UI_SETTINGS
        if isinstance(configured, dict):
            # Swagger UI would otherwise send the schema's address to validator.swagger.io for a badge.
            response.data["settings"] = self._dump({"validatorUrl": None, **configured})
        return response

    @staticmethod
    def _swagger_ui_resource(filename: str) -> str:
        return asset_url(f"swagger-ui-dist/{filename}")

    @staticmethod
    def _swagger_ui_favicon() -> str:
        return asset_url("swagger-ui-dist/favicon-32x32.png")


class RedocView(ApiMixin, SpectacularRedocView):
    renderer_classes = SpectacularRedocView.renderer_classes
    permission_classes: Any = []
    url_name = "api:schema"
    title = "govflow API"
    template_name = "api/redoc.html"  # without the upstream page's Google Fonts links

    @staticmethod
    def _redoc_standalone() -> str:
        return asset_url("redoc/bundles/redoc.standalone.js")
