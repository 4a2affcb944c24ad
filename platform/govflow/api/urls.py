"""The API's URLs, mounted at /api/ by govflow.urls: /api/v1/..., /api/schema/, /api/docs/, /api/redoc/."""

from django.urls import include, path, re_path

from . import docs, views, workspace

app_name = "api"

definition_kinds = []
for kind in ("workflows", "forms"):
    definition_kinds += [
        path(
            f"definitions/{kind}/<slug:key>/versions/",
            views.DefinitionVersionsView.as_view(),
            {"kind": kind},
            name=f"{kind}-versions",
        ),
        path(
            f"definitions/{kind}/<slug:key>/draft/",
            views.DefinitionDraftView.as_view(),
            {"kind": kind},
            name=f"{kind}-draft",
        ),
        path(
            f"definitions/{kind}/<slug:key>/versions/<int:version>/publish/",
            views.DefinitionPublishView.as_view(),
            {"kind": kind},
            name=f"{kind}-publish",
        ),
    ]

v1 = [
    path("me/", views.MeView.as_view(), name="me"),
    path("me/notifications/", workspace.NotificationsView.as_view(), name="notifications"),
    path("me/notifications/read/", workspace.NotificationsReadView.as_view(), name="notifications-read"),
    path("auth/token/", views.TokenView.as_view(), name="token"),
    path("areas/", views.AreaListView.as_view(), name="areas"),
    path("areas/tree/", views.AreaTreeView.as_view(), name="area-tree"),
    path("areas/<str:code>/", views.AreaDetailView.as_view(), name="area"),
    path("procedures/", views.ProcedureListView.as_view(), name="procedures"),
    path("procedures/<slug:key>/", views.ProcedureDetailView.as_view(), name="procedure"),
    path(
        "procedures/<slug:key>/definition/",
        views.ProcedureDefinitionView.as_view(),
        name="procedure-definition",
    ),
    path("forms/<slug:key>/", views.FormDetailView.as_view(), name="form"),
    path("cases/", views.CaseListView.as_view(), name="cases"),
    path("cases/<int:case_id>/", views.CaseDetailView.as_view(), name="case"),
    path("cases/<int:case_id>/data/", views.CaseDataView.as_view(), name="case-data"),
    path("cases/<int:case_id>/history/", views.CaseHistoryView.as_view(), name="case-history"),
    path("cases/<int:case_id>/tasks/", views.CaseTasksView.as_view(), name="case-tasks"),
    path(
        "cases/<int:case_id>/attachments/", workspace.CaseAttachmentsView.as_view(), name="case-attachments"
    ),
    path("cases/<int:case_id>/comments/", workspace.CaseCommentsView.as_view(), name="case-comments"),
    path("cases/<int:case_id>/documents/", workspace.CaseDocumentsView.as_view(), name="case-documents"),
    path(
        "cases/<int:case_id>/documents/<int:document_id>/",
        workspace.CaseDocumentView.as_view(),
        name="case-document",
    ),
    path("attachments/<int:attachment_id>/", workspace.AttachmentView.as_view(), name="attachment"),
    path("tasks/inbox/", views.InboxView.as_view(), name="inbox"),
    path("tasks/queue/", views.QueueView.as_view(), name="queue"),
    path("tasks/done/", views.DoneView.as_view(), name="done"),
    path("tasks/<int:task_id>/", views.TaskDetailView.as_view(), name="task"),
    path("tasks/<int:task_id>/claim/", views.TaskClaimView.as_view(), name="task-claim"),
    path("tasks/<int:task_id>/unclaim/", views.TaskUnclaimView.as_view(), name="task-unclaim"),
    path("tasks/<int:task_id>/reassign/", views.TaskReassignView.as_view(), name="task-reassign"),
    path("tasks/<int:task_id>/candidates/", views.TaskCandidatesView.as_view(), name="task-candidates"),
    path("tasks/<int:task_id>/complete/", views.TaskCompleteView.as_view(), name="task-complete"),
    path("audit/events/", views.AuditEventListView.as_view(), name="events"),
    path("audit/events/export.csv", views.AuditEventExportView.as_view(), name="events-csv"),
    path("definitions/validate/", views.DefinitionValidateView.as_view(), name="definitions-validate"),
    path("definitions/import/", views.DefinitionImportView.as_view(), name="definitions-import"),
    path(
        "definitions/workflows/<slug:key>/export/",
        views.DefinitionExportView.as_view(),
        name="definitions-export",
    ),
    *definition_kinds,
    path("webhooks/", views.WebhookListView.as_view(), name="webhooks"),
    path("webhooks/<int:webhook_id>/", views.WebhookDetailView.as_view(), name="webhook"),
    path(
        "webhooks/<int:webhook_id>/deliveries/",
        views.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.SwaggerView.as_view(), name="docs"),
    path("docs/assets/<path:name>", docs.docs_asset, name="docs-asset"),
    path("redoc/", docs.RedocView.as_view(), name="redoc"),
]
