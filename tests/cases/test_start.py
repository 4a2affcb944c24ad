"""Starting a case: the procedures a user may start, the start form, drafts, and the multi-step wizard."""

from govflow.audit.models import AuditEvent
from govflow.cases.models import Case, Notification, StartDraft
from tests.workflows.test_engine import VILLAGE


def test_start_page_lists_procedures_the_user_may_start(every_kind, stepped, staff, login):
    page = login(staff["clerk_a"]).get("/start/").content.decode()
    assert "测试：全部节点类型" in page and "测试：分步申请" in page
    none = login(staff["reviewer_x"]).get("/start/").content.decode()
    assert "测试：全部节点类型" not in none and "不能发起" in none
    assert login(staff["reviewer_x"]).get("/start/test_every_kind/").status_code == 403


def test_clerk_starts_a_case_and_reviewers_are_notified(every_kind, staff, login):
    client = login(staff["clerk_a"])
    page = client.get("/start/test_every_kind/").content.decode()
    assert 'name="f-applicant"' in page and "甲村" in page
    response = client.post(
        "/start/test_every_kind/",
        {"area": VILLAGE, "f-applicant": "王五", "f-amount": "88.50", "action": "start"},
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert case.applicant == "王五" and case.area_code == VILLAGE and case.started_by == staff["clerk_a"]
    assert Notification.objects.filter(user=staff["reviewer_x"], case=case, kind="task_routed").exists()
    assert not Notification.objects.filter(user=staff["reviewer_y"]).exists()
    assert "案件已发起" in client.get(response["Location"]).content.decode()


def test_start_with_field_errors_keeps_input_and_starts_nothing(every_kind, staff, login):
    response = login(staff["clerk_a"]).post(
        "/start/test_every_kind/", {"area": VILLAGE, "f-applicant": "王", "f-amount": "-3", "action": "start"}
    )
    assert response.status_code == 400 and not Case.objects.exists()
    page = response.content.decode()
    assert 'value="王"' in page and "表单有误" in page


def test_start_in_an_area_outside_the_users_grants_is_refused(every_kind, staff, login):
    response = login(staff["clerk_a"]).post(
        "/start/test_every_kind/",
        {"area": "371727100202", "f-applicant": "王五", "f-amount": "1", "action": "start"},
    )
    assert response.status_code == 400 and not Case.objects.exists()


def test_draft_is_saved_and_resumed_then_removed_when_the_case_starts(every_kind, staff, login):
    client = login(staff["clerk_a"])
    response = client.post(
        "/start/test_every_kind/", {"area": VILLAGE, "f-applicant": "赵六", "action": "draft"}
    )
    draft = StartDraft.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/start/test_every_kind/?draft={draft.pk}"
    assert (
        draft.user == staff["clerk_a"]
        and draft.area_code == VILLAGE
        and draft.data["f-applicant"] == ["赵六"]
    )
    assert AuditEvent.objects.filter(action="start_draft.saved").exists()
    assert "我的草稿" in client.get("/start/").content.decode()
    resumed = client.get(response["Location"]).content.decode()
    assert 'value="赵六"' in resumed and "草稿" in resumed and "errorlist" not in resumed
    response = client.post(
        "/start/test_every_kind/",
        {"area": VILLAGE, "draft": draft.pk, "f-applicant": "赵六", "f-amount": "5", "action": "start"},
    )
    assert response.status_code == 302 and Case.objects.get().applicant == "赵六"
    assert not StartDraft.objects.exists()


def test_drafts_are_private_to_their_author(every_kind, staff, login, make_user):
    client = login(staff["clerk_a"])
    client.post("/start/test_every_kind/", {"area": VILLAGE, "f-applicant": "赵六", "action": "draft"})
    draft = StartDraft.objects.get()
    other = login(make_user("clerk_a2", ("village_clerk", VILLAGE)))
    assert other.get(f"/start/test_every_kind/?draft={draft.pk}").status_code == 403
    assert other.post(f"/start/drafts/{draft.pk}/delete/").status_code == 403
    assert client.post(f"/start/drafts/{draft.pk}/delete/").status_code == 302
    assert not StartDraft.objects.exists()


def wizard_post(client, data):
    management = {"start_wizard_t_stepped_1-current_step": data.pop("step")}
    return client.post("/start/test_stepped/", {**management, **data})


def test_wizard_walks_the_steps_and_starts_the_case(stepped, staff, login):
    client = login(staff["clerk_a"])
    page = client.get("/start/test_stepped/").content.decode()
    assert 'name="person-name"' in page and 'name="detail-reason"' not in page and "第 1 步，共 2 步" in page
    response = wizard_post(
        client,
        {"step": "person", "area": VILLAGE, "person-name": "钱七", "person-id_card": "11010519491231002X"},
    )
    assert response.status_code == 200 and 'name="detail-reason"' in response.content.decode()
    response = wizard_post(client, {"step": "detail", "area": VILLAGE, "detail-reason": "申请理由"})
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    assert case.process.data["apply"] == {
        "name": "钱七",
        "id_card": "11010519491231002X",
        "reason": "申请理由",
    }
    assert case.id_card == "11010519491231002X"


def test_wizard_shows_step_errors_and_stays_on_the_step(stepped, staff, login):
    client = login(staff["clerk_a"])
    client.get("/start/test_stepped/")
    response = wizard_post(
        client, {"step": "person", "area": VILLAGE, "person-name": "钱七", "person-id_card": "123"}
    )
    page = response.content.decode()
    assert 'name="person-id_card"' in page and 'value="123"' in page and not Case.objects.exists()


def test_wizard_draft_is_saved_on_step_two_and_resumed_there(stepped, staff, login):
    client = login(staff["clerk_a"])
    client.get("/start/test_stepped/")
    wizard_post(
        client,
        {"step": "person", "area": VILLAGE, "person-name": "钱七", "person-id_card": "11010519491231002X"},
    )
    response = wizard_post(
        client, {"step": "detail", "area": VILLAGE, "detail-reason": "写了一半", "action": "draft"}
    )
    draft = StartDraft.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/start/test_stepped/?draft={draft.pk}"
    assert draft.step == "detail" and draft.data["steps"]["person"]["person-name"] == ["钱七"]
    client.get("/start/test_stepped/")  # the wizard starts over meanwhile
    resumed = client.get(response["Location"]).content.decode()
    assert "写了一半" in resumed and 'name="detail-reason"' in resumed and "第 2 步，共 2 步" in resumed
    response = wizard_post(client, {"step": "detail", "area": VILLAGE, "detail-reason": "写完了"})
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.process.data["apply"]["name"] == "钱七" and case.process.data["apply"]["reason"] == "写完了"
    assert not StartDraft.objects.exists()
