"""The designer, mounted at /designer/ by govflow.urls."""

from django.urls import path

from . import views

app_name = "designer"

urlpatterns = [
    path("", views.procedure_list, name="procedures"),
    path("procedures/new/", views.procedure_create, name="procedure_create"),
    path("procedures/<slug:key>/", views.procedure_detail, name="procedure"),
    path("procedures/<slug:key>/duplicate/", views.procedure_duplicate, name="procedure_duplicate"),
    path("procedures/<slug:key>/retire/", views.procedure_retire, name="procedure_retire"),
    path("procedures/<slug:key>/export.zip", views.procedure_export, name="procedure_export"),
    path("procedures/<slug:key>/workflow/", views.workflow_designer, name="workflow"),
    path("procedures/<slug:key>/workflow/bpmn/", views.workflow_bpmn, name="workflow_bpmn"),
    path("procedures/<slug:key>/publish/", views.procedure_publish, name="procedure_publish"),
    path("procedures/<slug:key>/test/", views.procedure_test_run, name="procedure_test"),
    path("import/", views.bundle_import, name="import"),
    path("forms/", views.form_list, name="forms"),
    path("forms/new/", views.form_create, name="form_create"),
    path("forms/<slug:key>/", views.form_builder, name="form_builder"),
    path("forms/<slug:key>/compose/", views.form_compose, name="form_compose"),
    path("forms/<slug:key>/save/", views.form_save, name="form_save"),
    path("forms/<slug:key>/from-json/", views.form_from_json, name="form_from_json"),
    path("forms/<slug:key>/publish/", views.form_publish, name="form_publish"),
    path("expressions/check/", views.expression_check, name="expression_check"),
]
