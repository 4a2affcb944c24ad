"""Me, areas, procedures and forms: the reference data a client needs before it starts cases."""

from __future__ import annotations


def test_me_lists_roles_and_areas(staff, api):
    me = api("supervisor_x").get("/api/v1/me/").json()
    assert me["username"] == "supervisor_x" and me["may_supervise"] is True and me["may_design"] is False
    assert me["grants"] == [
        {
            "role": "supervisor",
            "role_name": "监督员",
            "area_code": "371727100",
            "area_name": "定陶镇",
            "area_level": "township",
            "can_act": False,
            "can_supervise": True,
            "can_design": False,
            "can_start": [],
            "sees_personal_data": False,
        }
    ]
    assert api("designer").get("/api/v1/me/").json()["may_design"] is True


def test_area_tree_is_the_users_subtree(staff, api):
    tree = api("reviewer_x").get("/api/v1/areas/tree/").json()
    assert [(n["code"], [c["code"] for c in n["children"]]) for n in tree] == [
        ("371727100", ["371727100201", "371727100202"])
    ]
    county = api("approver").get("/api/v1/areas/tree/").json()
    assert len(county) == 1 and county[0]["code"] == "371727" and len(county[0]["children"]) == 2
    assert api("clerk_a").get("/api/v1/areas/tree/").json() == [
        {"code": "371727100201", "name": "甲村", "level": "village", "children": []}
    ]


def test_area_search_and_detail(staff, api):
    client = api("approver")
    assert client.get("/api/v1/areas/").json()["count"] == 7
    assert [a["code"] for a in client.get("/api/v1/areas/?q=丙").json()["results"]] == ["371727101201"]
    assert client.get("/api/v1/areas/?q=371727101").json()["count"] == 3
    assert client.get("/api/v1/areas/?level=township").json()["count"] == 2
    assert client.get("/api/v1/areas/?parent=371727100").json()["count"] == 2
    detail = client.get("/api/v1/areas/371727100201/").json()
    assert [a["code"] for a in detail["path"]] == ["371727", "371727100"] and detail["children"] == []
    # A reviewer of township X neither finds nor opens township Y's areas.
    x = api("reviewer_x")
    assert x.get("/api/v1/areas/?q=丙").json()["count"] == 0
    assert x.get("/api/v1/areas/371727101201/").status_code == 403
    assert [a["code"] for a in x.get("/api/v1/areas/371727100201/").json()["path"]] == ["371727100"]


def test_procedures_and_who_may_start_them(every_kind, api):
    clerk = api("clerk_a").get("/api/v1/procedures/").json()
    assert clerk["count"] == 1
    row = clerk["results"][0]
    assert row["key"] == "test_every_kind" and row["may_start"] is True and row["start"]["level"] == "village"
    assert api("supervisor").get("/api/v1/procedures/?startable=true").json()["count"] == 0
    assert api("supervisor").get("/api/v1/procedures/").json()["results"][0]["may_start"] is False
    detail = api("clerk_a").get("/api/v1/procedures/test_every_kind/").json()
    assert [a["code"] for a in detail["start_areas"]] == ["371727100201"]
    assert (
        detail["start_form"]["key"] == "t_apply"
        and "applicant" in detail["start_form"]["schema"]["properties"]
    )
    assert [n["id"] for n in detail["nodes"]][:2] == ["apply", "review"]
    assert api("supervisor").get("/api/v1/procedures/test_every_kind/").json()["start_areas"] == []
    definition = api("clerk_a").get("/api/v1/procedures/test_every_kind/definition/").json()
    assert definition["key"] == "test_every_kind" and definition["nodes"] and definition["edges"]
    assert api("clerk_a").get("/api/v1/procedures/test_every_kind/?version=1").status_code == 200
    bad = api("clerk_a").get("/api/v1/procedures/test_every_kind/?version=x")
    assert bad.status_code == 400 and list(bad.json()["field_errors"]) == ["version"]
    assert api("clerk_a").get("/api/v1/procedures/test_every_kind/?version=7").status_code == 404


def test_english_titles_on_request(every_kind, api):
    detail = api("clerk_a").get("/api/v1/procedures/test_every_kind/?lang=en").json()
    assert detail["title"] == "Test: every node kind" and detail["nodes"][1]["title"] == "Township review"
    assert detail["start_form"]["title"] == "Test application"
