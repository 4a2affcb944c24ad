"""Form validation: median time to validate a 40-field submission with 2 repeating groups."""

from __future__ import annotations

import statistics
import time


def build() -> tuple[dict, dict, dict]:
    props: dict = {}
    data: dict = {}
    ui: dict = {"fields": {}}
    for i in range(30):
        kind = i % 5
        name = f"f{i}"
        if kind == 0:
            props[name], data[name] = {"type": "string", "minLength": 1, "maxLength": 50}, f"文本{i}"
        elif kind == 1:
            props[name], data[name] = {"type": "integer", "minimum": 0}, i
        elif kind == 2:
            props[name], data[name] = {"type": "number", "format": "money"}, 1234.5
        elif kind == 3:
            props[name], data[name] = {"type": "string", "format": "date"}, "2013-03-04"
        else:
            props[name], data[name] = {"enum": ["a", "b", "c"]}, "b"
    props["id_card"], data["id_card"] = {"type": "string", "format": "cn-id-card"}, "11010519491231002X"
    props["mobile"], data["mobile"] = {"type": "string", "format": "cn-mobile"}, "13800138000"
    props["income"], data["income"] = {"type": "number", "format": "money"}, 9000
    props["size"], data["size"] = {"type": "integer", "minimum": 1}, 4
    props["per_capita"] = {"type": "number"}
    ui["fields"]["per_capita"] = {"computed": "round(income / size, 2)"}
    child = {
        "type": "object",
        "required": ["name", "disabled"],
        "properties": {
            "name": {"type": "string", "minLength": 1},
            "id_card": {"type": "string", "format": "cn-id-card"},
            "disabled": {"type": "boolean"},
            "grade": {"type": "integer", "minimum": 1, "maximum": 4},
        },
    }
    props["children"] = {"type": "array", "items": child}
    props["spouses"] = {"type": "array", "items": child}
    ui["fields"]["children/*/grade"] = {"visible_if": "disabled", "required_if": "disabled"}
    rows = [{"name": "甲", "id_card": "440524188001010014", "disabled": True, "grade": 2}] * 3
    data["children"], data["spouses"] = rows, rows[:2]
    # 30 + 5 scalar fields + 4-field rows in 2 groups = 40+ fields
    return {"type": "object", "properties": props, "required": list(data)}, ui, data


def run(ctx: dict) -> dict[str, float]:
    from govflow.forms.validation import validate_submission

    schema, ui, data = build()
    # As submission_validate does: the version supplies the cache key, so the schema is not re-hashed.
    validate_submission(schema, ui, data, cache_key="bench")
    samples = []
    for _ in range(300):
        started = time.perf_counter()
        validate_submission(schema, ui, data, cache_key="bench")
        samples.append((time.perf_counter() - started) * 1000)
    return {"validate_40_fields_median_ms": statistics.median(samples)}
