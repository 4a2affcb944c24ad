"""Case attachments, comments, generated documents and the user's notifications (the staff workspace).

Reads go through cases.selectors, writes through cases.services (attachment_add, comment_add,
notifications_mark_read); both check the case's area and the user's roles themselves.
"""

from __future__ import annotations

import io
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from govflow.cases.models import Attachment, Comment, Notification
from govflow.cases.selectors import (
    attachment_get_for_user,
    case_attachments,
    case_comments,
    case_document_get_for_user,
    case_documents,
    case_get_for_user,
    notifications_for_user,
)
from govflow.cases.services import attachment_add, attachment_max_bytes, comment_add, notifications_mark_read
from govflow.errors import PayloadTooLarge
from govflow.roles.selectors import user_sees_personal_data
from govflow.workflows.models import CaseDocument

from . import presenters as p
from . import serializers as s
from .base import ApiListView, ApiView, JsonErrorsNegotiation, errors

# Room for the multipart envelope around the largest accepted file.
MULTIPART_SLACK = 64 * 1024


def _download(handle: Any, *, filename: str, content_type: str) -> FileResponse:
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


class CaseAttachmentsView(ApiListView):
    serializer_class = s.AttachmentSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> Any:
        if self.schema_only:
            return Attachment.objects.none()
        case = case_get_for_user(user=self.request.user, case_id=self.kwargs["case_id"])
        return case_attachments(case=case)

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [p.attachment_dict(a) for a in rows]

    @extend_schema(
        tags=["cases"],
        summary="A case's attachments",
        responses={200: s.AttachmentSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["cases"],
        summary="Attach a file to a case (multipart/form-data)",
        description="Staff who act in the case's area only (not supervisors). The type is taken from the "
        "extension and the first bytes must match it.",
        request={"multipart/form-data": s.AttachmentUploadSerializer},
        responses={201: s.AttachmentSerializer, **errors(400, 403, 413)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        if length > attachment_max_bytes() + MULTIPART_SLACK:
            raise PayloadTooLarge()
        serializer = s.AttachmentUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = attachment_add(
            user=request.user,
            case_id=case_id,
            upload=serializer.validated_data["file"],
            task_id=serializer.validated_data.get("task_id"),
            client_address=self.address(request),
        )
        return Response(
            s.AttachmentSerializer(p.attachment_dict(attachment)).data, status=status.HTTP_201_CREATED
        )


class AttachmentView(ApiView):
    content_negotiation_class = JsonErrorsNegotiation

    @extend_schema(
        tags=["cases"],
        summary="Download an attachment",
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY), **errors(403)},
    )
    def get(self, request: Request, attachment_id: int) -> FileResponse:
        attachment = attachment_get_for_user(user=request.user, attachment_id=attachment_id)
        return _download(
            attachment.file.open("rb"), filename=attachment.filename, content_type=attachment.content_type
        )


class CaseCommentsView(ApiListView):
    serializer_class = s.CommentSerializer

    def get_queryset(self) -> Any:
        if self.schema_only:
            return Comment.objects.none()
        case = case_get_for_user(user=self.request.user, case_id=self.kwargs["case_id"])
        self.masked = not user_sees_personal_data(user=self.request.user, area_code=case.area_code)
        return case_comments(case=case)

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [p.comment_dict(c, masked=self.masked) for c in rows]

    @extend_schema(
        tags=["cases"],
        summary="A case's comments, oldest first",
        responses={200: s.CommentSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["cases"],
        summary="Comment on a case; @username notifies a colleague who sees the case",
        request=s.CommentCreateSerializer,
        responses={201: s.CommentResultSerializer, **errors(400, 403)},
    )
    def post(self, request: Request, case_id: int) -> Response:
        serializer = s.CommentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment, skipped = comment_add(
            user=request.user,
            case_id=case_id,
            text=serializer.validated_data["text"],
            task_id=serializer.validated_data.get("task_id"),
            client_address=self.address(request),
        )
        body = {**p.comment_dict(comment, masked=False), "not_notified": skipped}
        return Response(s.CommentResultSerializer(body).data, status=status.HTTP_201_CREATED)


class CaseDocumentsView(ApiListView):
    serializer_class = s.DocumentSerializer

    def get_queryset(self) -> Any:
        if self.schema_only:
            return CaseDocument.objects.none()
        case = case_get_for_user(user=self.request.user, case_id=self.kwargs["case_id"])
        return case_documents(case=case)

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [p.document_dict(d) for d in rows]

    @extend_schema(
        tags=["cases"],
        summary="Documents the case's steps generated (notices, decisions), oldest first",
        responses={200: s.DocumentSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CaseDocumentView(ApiView):
    content_negotiation_class = JsonErrorsNegotiation

    @extend_schema(
        tags=["cases"],
        summary="Download a generated document (PDF)",
        responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY), **errors(403)},
    )
    def get(self, request: Request, case_id: int, document_id: int) -> FileResponse:
        document = case_document_get_for_user(user=request.user, case_id=case_id, document_id=document_id)
        return _download(
            io.BytesIO(bytes(document.pdf)), filename=document.filename, content_type="application/pdf"
        )


class NotificationsView(ApiListView):
    serializer_class = s.NotificationSerializer

    def get_queryset(self) -> Any:
        if self.schema_only:
            return Notification.objects.none()
        qs = notifications_for_user(user=self.request.user)
        if str(self.request.query_params.get("unread", "")).lower() in {"1", "true", "yes", "on"}:
            qs = qs.filter(read_at__isnull=True)
        return qs

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [p.notification_dict(n) for n in rows]

    @extend_schema(
        tags=["me"],
        summary="The user's notifications, newest first",
        parameters=[s.NotificationFilterSerializer],
        responses={200: s.NotificationSerializer(many=True), **errors()},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class NotificationsReadView(ApiView):
    @extend_schema(
        tags=["me"],
        summary="Mark notifications read (all unread ones without `ids`)",
        request=s.NotificationReadSerializer,
        responses={200: s.NotificationReadResultSerializer, **errors(400)},
    )
    def post(self, request: Request) -> Response:
        serializer = s.NotificationReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = notifications_mark_read(
            user=request.user, notification_ids=serializer.validated_data.get("ids")
        )
        return Response(s.NotificationReadResultSerializer({"marked": marked}).data)
