"""The multi-step wizard: steps from the UI schema, per-step validation, data kept between steps, final check."""

from __future__ import annotations

import json

import pytest
from django.http import JsonResponse
from django.urls import include, path

from govflow.forms.services import form_import
from govflow.forms.views import FormWizard

DONE: list[dict] = []


class ApplyWizard(FormWizard):
    """What a case-start page does: fill the form, then hand the document on."""

    def get_form_context(self):
        return {"__today__": "2024-06-01"}

    def done_document(self, document):
        DONE.append({"document": document, "files": dict(self.cleaned_files)})
        return JsonResponse({"saved": document})


urlpatterns = [
    path("apply/<slug:key>/", ApplyWizard.as_view(), name="apply"),
    path("", include("govflow.urls")),
]
pytestmark = pytest.mark.urls(__name__)

FORM = {
    "key": "marriage",
    "title": {"zh": "婚育情况登记", "en": "Marriage registration"},
    "schema": {
        "type": "object",
        "required": ["name", "household_size", "agree"],
        "properties": {
            "name": {"type": "string", "title": "姓名", "minLength": 1},
            "married": {"type": "boolean", "title": "已婚"},
            "married_on": {"type": "string", "format": "date", "title": "结婚日期"},
            "spouse_name": {"type": "string", "title": "配偶姓名"},
            "household_size": {"type": "integer", "title": "家庭人口", "minimum": 1},
            "income": {"type": "number", "format": "money", "title": "年收入"},
            "per_capita": {"type": "number", "title": "人均收入"},
            "applied_on": {"type": "string", "format": "date", "title": "申请日期"},
            "agree": {"type": "boolean", "title": "承诺属实", "const": True},
        },
    },
    "ui": {
        "steps": [
            {
                "key": "person",
                "title": {"zh": "本人", "en": "You"},
                "fields": ["name", "married", "married_on"],
            },
            {
                "key": "family",
                "title": {"zh": "家庭", "en": "Family"},
                "fields": ["spouse_name", "household_size", "income", "per_capita"],
            },
            {"key": "confirm", "title": {"zh": "确认", "en": "Confirm"}, "fields": ["applied_on", "agree"]},
        ],
        "fields": {
            "spouse_name": {"visible_if": "married", "required_if": "married"},
            "per_capita": {"computed": "round(income / household_size, 2)"},
            "applied_on": {"not_future": True, "not_before": "married_on"},
        },
    },
}
URL = "/apply/marriage/"
MGMT = "apply_wizard_marriage_1-current_step"


@pytest.fixture
def wizard(client, staff):
    DONE.clear()
    form_import(document=FORM)
    client.force_login(staff["clerk_a"])
    return client


def post(client, step, data):
    body = {MGMT: step, **{f"{step}-{k}": v for k, v in data.items()}}
    return client.post(URL, body)


def test_first_get_shows_step_one_with_progress(wizard):
    html = wizard.get(URL).content.decode()
    assert "婚育情况登记" in html
    assert 'aria-current="step"' in html and "本人" in html and "家庭" in html and "确认" in html
    assert 'name="person-name"' in html and 'name="family-household_size"' not in html
    assert "第 1 步，共 3 步" in html and "下一步" in html and "上一步" not in html


def test_anonymous_user_is_sent_to_login(client, db):
    form_import(document=FORM)
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response["Location"]


def test_step_one_error_stays_on_step_one(wizard):
    wizard.get(URL)
    html = post(wizard, "person", {"name": ""}).content.decode()
    assert 'name="person-name"' in html and "此项必填。" in html


def test_error_on_step_two_keeps_step_one_data_and_back_shows_it(wizard):
    wizard.get(URL)
    html = post(wizard, "person", {"name": "王芳", "married": "on"}).content.decode()
    assert 'name="family-household_size"' in html
    assert 'name="family-spouse_name"' in html  # visible because step 1 said married
    assert "上一步" in html and 'aria-current="step"' in html

    html = post(
        wizard, "family", {"spouse_name": "", "household_size": "0", "income": "9000"}
    ).content.decode()
    assert 'name="family-household_size"' in html
    assert "不能小于1。" in html and "此项必填。" in html  # spouse_name required because married on step 1

    back = {MGMT: "family", "wizard_goto_step": "person", "family-household_size": "3"}
    html = wizard.post(URL, back).content.decode()
    assert 'name="person-name" value="王芳"' in html
    assert 'name="person-married"' in html and "checked" in html

    html = post(wizard, "person", {"name": "王芳", "married": "on"}).content.decode()
    assert 'name="family-household_size" value="3"' in html  # what was typed before "back" is kept

    html = post(
        wizard, "family", {"spouse_name": "李强", "household_size": "4", "income": "9000.5"}
    ).content.decode()
    assert 'name="confirm-agree"' in html and "提交" in html

    response = post(wizard, "confirm", {"applied_on": "2024-05-30", "agree": "on"})
    assert response.status_code == 200, response.content.decode()
    saved = json.loads(response.content)["saved"]
    assert saved == {
        "name": "王芳",
        "married": True,
        "spouse_name": "李强",
        "household_size": 4,
        "income": 9000.5,
        "per_capita": 2250.13,
        "applied_on": "2024-05-30",
        "agree": True,
    }
    assert DONE[0]["document"] == saved


def test_hidden_step_field_is_not_required_when_rule_false(wizard):
    wizard.get(URL)
    html = post(wizard, "person", {"name": "王芳"}).content.decode()
    assert 'name="family-spouse_name"' not in html
    post(wizard, "family", {"household_size": "1", "spouse_name": "不该保存"})
    response = post(wizard, "confirm", {"applied_on": "2024-05-30", "agree": "on"})
    saved = json.loads(response.content)["saved"]
    assert "spouse_name" not in saved and saved["married"] is False


def test_last_step_rules_use_the_wizard_context(wizard):
    wizard.get(URL)
    post(wizard, "person", {"name": "王芳"})
    post(wizard, "family", {"household_size": "1"})
    html = post(wizard, "confirm", {"applied_on": "2024-06-02", "agree": "on"}).content.decode()
    assert "日期不能晚于今天。" in html  # __today__ from get_form_context
    assert not DONE


def test_final_validation_sends_back_to_the_failing_step(wizard, client):
    wizard.get(URL)
    post(wizard, "person", {"name": "王芳", "married": "on"})
    post(wizard, "family", {"spouse_name": "李强", "household_size": "2"})
    # Tamper with step 1 behind the wizard's back: its stored data no longer validates.
    session = wizard.session
    data = session["wizard_apply_wizard_marriage_1"]
    data["step_data"]["person"]["person-name"] = [""]
    session["wizard_apply_wizard_marriage_1"] = data
    session.save()
    html = post(wizard, "confirm", {"applied_on": "2024-05-30", "agree": "on"}).content.decode()
    assert 'name="person-name"' in html and "此项必填。" in html
    assert not DONE


def test_wizard_in_english_shows_english_step_titles(wizard):
    html = wizard.get(URL + "?lang=en").content.decode()
    assert "Marriage registration" in html and "You" in html and "Family" in html


def test_whole_document_check_at_the_end_returns_to_the_step_with_the_error(wizard):
    wizard.get(URL)
    post(wizard, "person", {"name": "王芳", "married": "on", "married_on": "2024-05-01"})
    post(wizard, "family", {"spouse_name": "李强", "household_size": "2"})
    # Each step alone is fine; only the whole document shows the application predates the marriage.
    html = post(wizard, "confirm", {"applied_on": "2024-04-01", "agree": "on"}).content.decode()
    assert 'name="confirm-applied_on"' in html and "日期不能早于" in html
    assert not DONE
    response = post(wizard, "confirm", {"applied_on": "2024-05-02", "agree": "on"})
    assert json.loads(response.content)["saved"]["married_on"] == "2024-05-01"


def test_step_fragment_refresh_knows_the_other_steps(wizard):
    import re

    wizard.get(URL)
    html = post(wizard, "person", {"name": "王芳", "married": "on"}).content.decode()
    assert 'hx-post="/forms/fragment/marriage/1/?step=family&amp;prefix=family"' in html
    token = re.search(r'name="gf-family__context" value="([^"]+)"', html).group(1)
    fragment = wizard.post(
        "/forms/fragment/marriage/1/?step=family&prefix=family",
        {"gf-family__context": token, "family-household_size": "2", "family-income": "100"},
    ).content.decode()
    assert 'name="family-spouse_name"' in fragment  # step 1 said married
    assert 'value="50"' in fragment  # per_capita recomputed


class UploadWizard(ApplyWizard):
    pass


urlpatterns.insert(0, path("upload/<slug:key>/", UploadWizard.as_view()))


def test_uploaded_file_survives_steps_and_reaches_done(wizard):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from govflow.forms.services import form_import as load

    load(
        document={
            "key": "with_file",
            "title": {"zh": "附件"},
            "schema": {
                "type": "object",
                "required": ["proof"],
                "properties": {"proof": {"type": "string", "title": "证明"}, "note": {"type": "string"}},
            },
            "ui": {
                "fields": {"proof": {"widget": "file", "content_types": [".pdf"]}},
                "steps": [
                    {"key": "upload", "title": {"zh": "上传"}, "fields": ["proof"]},
                    {"key": "note", "title": {"zh": "备注"}, "fields": ["note"]},
                ],
            },
        }
    )
    url = "/upload/with_file/"
    mgmt = "upload_wizard_with_file_1-current_step"
    wizard.get(url)
    upload = SimpleUploadedFile("证明.pdf", b"%PDF-1.4", content_type="application/pdf")
    html = wizard.post(url, {mgmt: "upload", "upload-proof": upload}).content.decode()
    assert 'name="note-note"' in html
    response = wizard.post(url, {mgmt: "note", "note-note": "好"})
    assert json.loads(response.content)["saved"] == {"proof": "证明.pdf", "note": "好"}
    assert list(DONE[0]["files"]) == ["proof"] and DONE[0]["files"]["proof"].name.endswith(".pdf")
