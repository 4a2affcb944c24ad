from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("audit/events/", views.event_list, name="events"),
    path("audit/events/export.csv", views.event_export_csv, name="events_csv"),
    path("audit/events/export.xlsx", views.event_export_xlsx, name="events_xlsx"),
    path("audit/cases/<int:case_id>/timeline/", views.case_timeline_page, name="case_timeline"),
    path("audit/verify/", views.verify, name="verify"),
    path("reports/", views.report_dashboard, name="reports"),
    path("reports/export.xlsx", views.report_export_xlsx, name="reports_xlsx"),
    path("reports/cases/", views.report_cases, name="report_cases"),
]
