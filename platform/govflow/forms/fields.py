"""A JSON field that keeps the document exactly as written, key order included.

Definitions (form schemas, UI schemas, workflow documents) are authored documents: the order of fields in
a repeating group, of properties in the designer and in exports is meaningful to the people who wrote
them. PostgreSQL's jsonb reorders object keys (shortest first), so on PostgreSQL these columns use the
`json` type, which stores the text as given. Nothing queries inside these documents, so jsonb's operators
are not needed. Other databases store JSON as text already.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class OrderedJSONField(models.JSONField):
    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        if connection.vendor == "postgresql" and value is not None:
            import json

            from psycopg.types.json import Json

            # Sent as json, not jsonb: a jsonb parameter would be reordered before the cast to json.
            return Json(value, dumps=lambda obj: json.dumps(obj, cls=self.encoder, ensure_ascii=False))
        return super().get_db_prep_value(value, connection, prepared)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # psycopg decodes a json column itself (to a dict, in document order); jsonb arrives the same way.
        if isinstance(value, dict | list):
            return value
        return super().from_db_value(value, expression, connection)
