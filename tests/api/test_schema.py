"""The OpenAPI schema generates without warnings and describes bodies and the error shape; docs are local."""

from __future__ import annotations

import re

import yaml
from django.core.management import call_command
from rest_framework.test import APIClient


def test_schema_generates_and_validates_without_warnings(db, tmp_path):
    target = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    schema = yaml.safe_load(target.read_text(encoding="utf-8"))
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    assert all(p.startswith("/api/v1/") for p in paths)
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"code", "message", "field_errors", "errors"}
    assert error["required"] == ["code", "message"]
    complete = paths["/api/v1/tasks/{task_id}/complete/"]["post"]
    assert complete["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("TaskComplete")
    for status in ("400", "401", "403", "409", "422", "429"):
        ref = complete["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error"
    start = paths["/api/v1/cases/"]["post"]
    assert start["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith("CaseDetail")
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])


def test_schema_and_docs_are_served_without_a_cdn(db):
    client = APIClient()
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200 and "/api/v1/cases/" in schema.json()["paths"]
    for url in ("/api/docs/", "/api/redoc/"):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        sources = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert sources and all(src.startswith("/") and not src.startswith("//") for src in sources), sources
        assert "cdn" not in html.lower()
    html = client.get("/api/docs/").content.decode()
    assert '"validatorUrl": null' in html  # no call to validator.swagger.io either
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/api/docs/assets/swagger-ui-dist/{asset}" in html
        response = client.get(f"/api/docs/assets/swagger-ui-dist/{asset}")
        assert response.status_code == 200 and b"".join(response.streaming_content)
    assert "/api/docs/assets/redoc/bundles/redoc.standalone.js" in client.get("/api/redoc/").content.decode()
    assert client.get("/api/docs/assets/swagger-ui-dist/swagger-ui-bundle.js.map").status_code == 404
    assert client.get("/api/docs/assets/../../settings.py").status_code == 404
