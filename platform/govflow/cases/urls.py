"""The staff workspace, mounted at the site root."""

from django.urls import path

from . import views

app_name = "cases"

urlpatterns = [
    path("work/", views.work_list, {"tab": "inbox"}, name="inbox"),
    path("work/queue/", views.work_list, {"tab": "queue"}, name="queue"),
    path("work/done/", views.work_list, {"tab": "done"}, name="done"),
    path("tasks/<int:task_id>/", views.task_page, name="task"),
    path("tasks/<int:task_id>/claim/", views.task_claim_view, name="claim"),
    path("tasks/<int:task_id>/unclaim/", views.task_unclaim_view, name="unclaim"),
    path("tasks/<int:task_id>/reassign/", views.task_reassign_view, name="reassign"),
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:case_id>/", views.case_page, name="case"),
    path(
        "cases/<int:case_id>/documents/<int:document_id>/",
        views.case_document_download,
        name="document",
    ),
    path("cases/<int:case_id>/attachments/", views.attachment_upload, name="attachment_upload"),
    path("cases/<int:case_id>/comments/", views.comment_post, name="comment"),
    path("attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path("start/", views.start_index, name="start_index"),
    path("start/drafts/<int:draft_id>/delete/", views.start_draft_delete_view, name="draft_delete"),
    path("start/<slug:key>/", views.start_page, name="start"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("notifications/<int:notification_id>/", views.notification_open, name="notification"),
]
