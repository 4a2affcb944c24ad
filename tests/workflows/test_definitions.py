"""The definition check: every error at once, with its JSON path and node id."""

import copy

from govflow.workflows.definitions import check_workflow_document
from tests.workflows.conftest import load

FORMS = {"t_apply", "t_review", "t_check", "t_pay"}
ROLES = {
    "village_clerk": ["village"],
    "township_reviewer": ["township"],
    "township_leader": ["township"],
    "county_approver": ["county"],
    "county_cashier": ["county"],
}


def check(document):
    return check_workflow_document(
        document,
        file="workflows/x.json",
        forms=lambda keys: keys & FORMS,
        roles=lambda keys: {k: v for k, v in ROLES.items() if k in keys},
    )


def errors_by(document):
    return {(e["path"], e.get("node")) for e in check(document)}


def good():
    return copy.deepcopy(load("every_kind.json"))


def node(doc, node_id):
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def test_every_kind_example_is_valid():
    assert check(good()) == []


def test_file_shape_errors_carry_json_paths():
    doc = good()
    doc["nodes"][1]["kind"] = "user_tsk"
    del doc["code"]
    paths = [e["path"] for e in check(doc)]
    assert "" in paths and "/nodes/1/kind" in paths
    assert all(e["file"] == "workflows/x.json" for e in check(doc))


def test_graph_errors_are_all_reported_with_node_ids():
    doc = good()
    doc["nodes"].append({"id": "apply2", "kind": "start", "roles": ["village_clerk"], "level": "village"})
    doc["nodes"].append({"id": "orphan", "kind": "service_task", "set": []})
    doc["edges"].append({"from": "orphan", "to": "ghost"})
    found = check(doc)
    messages = " ".join(e["message"] for e in found)
    assert "开始节点" in messages
    assert ("/edges/13/to", "ghost") in {(e["path"], e.get("node")) for e in found}


def test_unreachable_and_dead_end_nodes_are_named():
    doc = good()
    doc["nodes"].append({"id": "island", "kind": "service_task", "set": []})
    doc["nodes"].append({"id": "island_end", "kind": "end", "outcome": "x"})
    doc["edges"].append({"from": "island", "to": "island_end"})
    found = errors_by(doc)
    assert ("/nodes/15", "island") in found and ("/nodes/16", "island_end") in found


def test_exclusive_gateway_needs_conditions_and_exactly_one_default():
    doc = good()
    for edge in doc["edges"]:
        if edge["from"] == "decide":
            edge.pop("default", None)
            edge.pop("condition", None)
    found = check(doc)
    assert any(e["node"] == "decide" and "默认" in e["message"] for e in found)
    assert any(e["path"] == "/edges/2" and "条件" in e["message"] for e in found)


def test_join_without_matching_split_is_refused():
    doc = good()
    doc["edges"] = [e for e in doc["edges"] if not (e["from"] == "split" and e["to"] == "check_b")]
    doc["edges"].append({"from": "split", "to": "check_b"})
    doc["nodes"].append(
        {
            "id": "check_c",
            "kind": "user_task",
            "title": {"zh": "丙"},
            "form": "t_check",
            "role": "township_leader",
            "level": "township",
        }
    )
    doc["edges"].append({"from": "split", "to": "check_c"})
    doc["edges"].append({"from": "check_c", "to": "paid"})
    found = check(doc)
    assert any(e.get("node") == "join" and "一直等待" in e["message"] for e in found)


def test_unknown_form_and_role_and_wrong_level_are_refused():
    doc = good()
    node(doc, "review")["form"] = "missing_form"
    node(doc, "check_a")["role"] = "county_approver"
    node(doc, "apply")["roles"] = ["nobody"]
    found = errors_by(doc)
    assert ("/nodes/1/form", "review") in found
    assert ("/nodes/6/role", "check_a") in found
    assert ("/nodes/0/roles/0", "apply") in found


def test_escalation_from_county_level_has_nowhere_to_go():
    doc = good()
    node(doc, "check_b")["boundary"].append(
        {"id": "esc", "after": {"days": 2}, "action": "escalate", "role": "county_approver"}
    )
    assert any(e.get("node") == "esc" for e in check(doc))


def test_expressions_must_compile_and_use_defined_variables():
    doc = good()
    node(doc, "calc")["set"][0]["expr"] = "apply.amount * "
    node(doc, "calc")["set"][1]["expr"] = "pay.paid_on"
    doc["edges"][2]["condition"] = "calc_result > 1"
    found = check(doc)
    paths = {e["path"]: e["message"] for e in found}
    assert "/nodes/4/set/0/expr" in paths
    assert "pay" in paths["/nodes/4/set/1/expr"]
    assert "calc_result" in paths["/edges/2/condition"]


def test_service_variable_may_not_shadow_a_form_node():
    doc = good()
    node(doc, "calc")["set"].append({"var": "review", "expr": "1"})
    assert any(e["path"] == "/nodes/4/set/2/var" for e in check(doc))


def test_file_shape_errors_are_translated_and_name_the_key():
    from django.utils import translation

    doc = good()
    del doc["code"]
    doc["nodes"][0]["kind"] = "begin"
    with translation.override("zh-hans"):
        messages = {e["path"]: e["message"] for e in check(doc)}
    assert messages[""] == "缺少必填项“code”。"
    assert messages["/nodes/0/kind"].startswith("应为以下之一：start、user_task")
    with translation.override("en"):
        assert check(doc)[0]["message"] == "Required “code” is missing."
