"""The REST API (/api/v1/). Views check who is asking, then call the same selectors and services as the web
pages: reads through cases/roles/audit/workflows/forms selectors, writes through cases.services (the door
to the engine) and the definition services. Nothing here decides scope on its own.

Cases and tasks outside the user's areas answer 403 whether or not they exist (no probing by id).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.http import JsonResponse, StreamingHttpResponse
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from viewflow.workflow.models import Task

from govflow.audit.exports import csv_stream, event_headers, event_rows
from govflow.audit.masking import mask_value
from govflow.audit.selectors import EventPresenter, case_timeline, events_for_user
from govflow.audit.services import audit_record, auth_login_record, personal_data_reveal
from govflow.cases.models import Case
from govflow.cases.selectors import (
    WorkFilters,
    case_get_for_user,
    case_tasks,
    cases_filtered,
    cases_for_user,
    form_version_for_node,
    reassign_candidates,
    start_options,
    task_done,
    task_get_for_viewer,
    task_inbox,
    task_queue,
    tasks_filtered,
    user_may_act_on,
)
from govflow.cases.services import (
    case_start_and_notify,
    task_claim,
    task_complete_and_notify,
    task_reassign_and_notify,
    task_unclaim,
)
from govflow.errors import DefinitionInvalid, NotFound, OutOfScope, ValidationFailed
from govflow.forms.selectors import form_version_get, form_versions
from govflow.forms.services import FormInvalid, form_diff, form_draft_save, form_publish
from govflow.roles.models import CODE_LENGTH, Area
from govflow.roles.selectors import (
    areas_in_scope,
    user_grants,
    user_may_design,
    user_may_supervise,
    user_sees_personal_data,
)
from govflow.workflows.library import export_procedure, import_library, validate_library
from govflow.workflows.models import WorkflowVersion
from govflow.workflows.selectors import published_workflows, workflow_version_get, workflow_versions
from govflow.workflows.services import (
    workflow_diff,
    workflow_draft_save,
    workflow_export,
    workflow_publish,
)

from . import presenters as p
from . import serializers as s
from . import webhooks
from .base import ApiListView, ApiMixin, ApiView, JsonErrorsNegotiation, errors
from .exceptions import error_body, prefixed
from .models import WEBHOOK_EVENTS, WebhookDelivery, WebhookSubscription
from .permissions import IsDesigner, IsSupervisor
from .throttling import ExportThrottle, ReadThrottle, TokenThrottle

OPEN = ("NEW", "ASSIGNED", "STARTED")


def _flag(request: Request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in {"1", "true", "yes", "on"}


def _query(request: Request, serializer_class: type[s.serializers.Serializer]) -> dict[str, Any]:
    """Query parameters validated by a serializer (400 with field errors when they are wrong)."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return {k: v for k, v in serializer.validated_data.items() if v not in (None, "")}


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- me and tokens --------------------------------------------------------------------------------------


class MeView(ApiView):
    @extend_schema(
        tags=["me"], summary="The user, their roles and areas", responses={200: s.MeSerializer, **errors()}
    )
    def get(self, request: Request) -> Response:
        user = request.user
        body = {
            "id": user.pk,
            "username": user.get_username(),
            "name": user.get_full_name() or user.get_username(),
            "may_design": user_may_design(user=user),
            "may_supervise": user_may_supervise(user=user),
            "grants": [p.grant_dict(g) for g in user_grants(user=user)],
        }
        return Response(s.MeSerializer(body).data)


class TokenView(ApiView):
    """The user's own API token: create (or replace), look up, revoke."""

    permission_classes = [AllowAny]
    throttle_classes = [ReadThrottle, TokenThrottle]

    def _require_user(self, request: Request) -> Any:
        if not request.user.is_authenticated:
            raise exceptions.NotAuthenticated()
        return request.user

    @extend_schema(
        tags=["auth"],
        summary="Whether the user has a token",
        responses={200: s.TokenStatusSerializer, **errors()},
    )
    def get(self, request: Request) -> Response:
        token = Token.objects.filter(user=self._require_user(request)).first()
        return Response(
            s.TokenStatusSerializer({"exists": token is not None, "created": token and token.created}).data
        )

    @extend_schema(
        tags=["auth"],
        summary="Create (or replace) the user's token",
        description="With `username` and `password` (no session needed), or as the logged-in user with an "
        "empty body. Any earlier token of the user stops working. The token is shown only in this answer.",
        request=s.TokenRequestSerializer,
        responses={201: s.TokenSerializer, **errors(400)},
    )
    def post(self, request: Request) -> Response:
        serializer = s.TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data.get("username")
        method = "password" if username else "session"
        if username:
            user = authenticate(
                request._request, username=username, password=serializer.validated_data["password"]
            )
            if user is None:  # the failed attempt is audited by the user_login_failed receiver
                raise exceptions.AuthenticationFailed(_("用户名或密码错误。"))
            auth_login_record(user=user, client_address=self.address(request))
        else:
            user = self._require_user(request)
        Token.objects.filter(user=user).delete()
        token = Token.objects.create(user=user)
        audit_record(
            action="auth.token_created",
            actor=user,
            data={"method": method},
            client_address=self.address(request),
        )
        return Response(
            s.TokenSerializer({"token": token.key, "created": token.created}).data,
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(tags=["auth"], summary="Revoke the user's token", responses={204: None, **errors()})
    def delete(self, request: Request) -> Response:
        user = self._require_user(request)
        deleted, _rows = Token.objects.filter(user=user).delete()
        if deleted:
            audit_record(action="auth.token_revoked", actor=user, client_address=self.address(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- areas ----------------------------------------------------------------------------------------------


class AreaListView(ApiListView):
    serializer_class = s.AreaSerializer

    def get_queryset(self) -> QuerySet[Area]:
        if self.schema_only:
            return Area.objects.none()
        qs = areas_in_scope(user=self.request.user).order_by("code")
        q = str(self.request.query_params.get("q", "")).strip()
        if q:
            qs = qs.filter(code__startswith=q) if q.isdigit() else qs.filter(name__icontains=q)
        level = self.request.query_params.get("level")
        if level:
            qs = qs.filter(level=level)
        parent = self.request.query_params.get("parent")
        if parent:
            qs = qs.filter(parent_id=parent)
        return qs

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [p.area_dict(a) for a in rows]

    @extend_schema(
        tags=["areas"],
        summary="Search the areas in the user's scope",
        parameters=[
            OpenApiParameter("q", str, description="Code prefix (digits) or part of the name."),
            OpenApiParameter("level", str, enum=["county", "township", "village"]),
            OpenApiParameter("parent", str, description="Only the children of this area code."),
        ],
        responses={200: s.AreaSerializer(many=True), **errors()},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AreaTreeView(ApiView):
    @extend_schema(
        tags=["areas"],
        summary="The user's areas as a tree",
        description="One root per area the user holds a role at (the smallest set covering them), with "
        "every area below it.",
        responses={200: s.AreaNodeSerializer(many=True), **errors()},
    )
    def get(self, request: Request) -> Response:
        nodes: dict[str, dict[str, Any]] = {}
        roots: list[dict[str, Any]] = []
        for area in areas_in_scope(user=request.user).order_by("code"):
            node = {"code": area.code, "name": area.name, "level": area.level, "children": []}
            nodes[area.code] = node
            parent = nodes.get(area.parent_id or "")
            (parent["children"] if parent else roots).append(node)
        return Response(s.AreaNodeSerializer(roots, many=True).data)


class AreaDetailView(ApiView):
    @extend_schema(
        tags=["areas"],
        summary="One area with its children",
        responses={200: s.AreaDetailSerializer, **errors(403)},
    )
    def get(self, request: Request, code: str) -> Response:
        scope = areas_in_scope(user=request.user)
        area = scope.filter(code=code).first()
        if area is None:
            raise OutOfScope()
        ancestors = [code[:n] for n in sorted(set(CODE_LENGTH.values())) if n < len(code)]
        body = {
            **p.area_dict(area),
            "path": [p.area_dict(a) for a in scope.filter(code__in=ancestors).order_by("code")],
            "children": [p.area_dict(a) for a in scope.filter(parent_id=code).order_by("code")],
        }
        return Response(s.AreaDetailSerializer(body).data)


# --- procedures and forms -------------------------------------------------------------------------------


def _start_option(user: Any, key: str) -> Any:
    """The user's start option for a procedure (cases.selectors.start_options), or None."""
    return next((o for o in start_options(user=user) if o.key == key), None)


class ProcedureListView(ApiListView):
    serializer_class = s.ProcedureSerializer

    def get_queryset(self) -> QuerySet[WorkflowVersion]:
        return published_workflows()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        startable = {o.key for o in start_options(user=request.user)}
        rows = [p.procedure_dict(v, may_start=v.key in startable) for v in self.get_queryset()]
        if _flag(request, "startable"):
            rows = [r for r in rows if r["may_start"]]
        page = self.paginate_queryset(rows)  # type: ignore[arg-type]
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        tags=["procedures"],
        summary="Published procedures",
        parameters=[
            OpenApiParameter("startable", bool, description="Only those the user may start somewhere."),
        ],
        responses={200: s.ProcedureSerializer(many=True), **errors()},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


_VERSION_PARAM = OpenApiParameter(
    "version", int, description="A version number (default: the published one)."
)


def _version_param(request: Request) -> int | None:
    raw = request.query_params.get("version")
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise exceptions.ValidationError({"version": [_("应为整数。")]})


class ProcedureDetailView(ApiView):
    @extend_schema(
        tags=["procedures"],
        summary="A procedure: start form, steps, and where the user may start it",
        parameters=[_VERSION_PARAM],
        responses={200: s.ProcedureDetailSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, key: str) -> Response:
        version = workflow_version_get(key=key, version=_version_param(request))
        start = p.start_spec(version)
        option = _start_option(request.user, key)
        # Cases always start on the published version: an older version lists no start areas.
        if option is not None and option.version.pk != version.pk:
            option = None
        form = (
            form_version_for_node(case_or_version=version, form_key=start["form"])
            if start.get("form")
            else None
        )
        body = {
            **p.procedure_dict(version, may_start=option is not None),
            "status": version.status,
            "start_form": p.form_dict(form) if form is not None else None,
            "start_areas": [
                p.start_area_dict(code, name, option.level) for code, name in (option.areas if option else [])
            ],
            "nodes": [p.node_summary(n) for n in version.document.get("nodes", [])],
        }
        return Response(s.ProcedureDetailSerializer(body).data)


class ProcedureDefinitionView(ApiView):
    @extend_schema(
        tags=["procedures"],
        summary="A procedure's workflow definition document",
        description="The same document as the library file (docs/workflows-format.md).",
        parameters=[_VERSION_PARAM],
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), **errors(400, 404)},
    )
    def get(self, request: Request, key: str) -> Response:
        version = workflow_version_get(key=key, version=_version_param(request))
        return Response(workflow_export(version))


class FormDetailView(ApiView):
    @extend_schema(
        tags=["procedures"],
        summary="A published form: JSON Schema and UI schema",
        parameters=[_VERSION_PARAM],
        responses={200: s.FormSerializer, **errors(400, 404)},
    )
    def get(self, request: Request, key: str) -> Response:
        return Response(
            s.FormSerializer(p.form_dict(form_version_get(key=key, version=_version_param(request)))).data
        )


# --- cases ----------------------------------------------------------------------------------------------


def _case_detail(case: Case, user: Any) -> dict[str, Any]:
    open_tasks = (
        case_tasks(case=case)
        .filter(flow_task_type="HUMAN", status__in=OPEN)
        .select_related("owner", "process__case")
    )
    return {
        **p.case_dict(case, user),
        "procedure_title": case.workflow.title,
        "open_tasks": [p.task_dict(t, user) for t in open_tasks],
    }


def _work_filters(f: dict[str, Any]) -> WorkFilters:
    return WorkFilters(**{k: f[k] for k in ("procedure", "area", "status", "due", "q", "sort") if k in f})


class CaseListView(ApiListView):
    serializer_class = s.CaseSerializer

    def get_queryset(self) -> QuerySet[Case]:
        if self.schema_only:
            return Case.objects.none()
        f = _query(self.request, s.CaseFilterSerializer)
        qs = cases_filtered(cases_for_user(user=self.request.user), _work_filters(f)).select_related(
            "started_by"
        )
        if "reference" in f:
            qs = qs.filter(reference=f["reference"])
        if "created_from" in f:
            qs = qs.filter(created__gte=_day_start(f["created_from"]))
        if "created_to" in f:
            qs = qs.filter(created__lt=_day_start(f["created_to"] + dt.timedelta(days=1)))
        if f.get("mine"):
            qs = qs.filter(started_by=self.request.user)
        return qs

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [p.case_dict(c, self.request.user) for c in rows]

    @extend_schema(
        tags=["cases"],
        summary="Cases in the user's areas",
        parameters=[s.CaseFilterSerializer],
        responses={200: s.CaseSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["cases"],
        summary="Start a case",
        description="Starts the latest published version of the procedure in the area, with the start "
        "form's data. Form errors come back as `field_errors` under `data/...`.",
        request=s.CaseStartSerializer,
        responses={201: s.CaseDetailSerializer, **errors(400, 403, 404, 413, 422)},
    )
    def post(self, request: Request) -> Response:
        serializer = s.CaseStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        try:
            case = case_start_and_notify(
                user=request.user,
                procedure_key=v["procedure"],
                area_code=v["area"],
                data=v["data"],
                client_address=self.address(request),
            )
        except FormInvalid as exc:
            raise prefixed(exc, "data")
        case = case_get_for_user(user=request.user, case_id=case.pk)
        return Response(
            s.CaseDetailSerializer(_case_detail(case, request.user)).data, status=status.HTTP_201_CREATED
        )


class CaseDetailView(ApiView):
    @extend_schema(
        tags=["cases"],
        summary="A case and its open tasks",
        responses={200: s.CaseDetailSerializer, **errors(403)},
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = case_get_for_user(user=request.user, case_id=case_id)
        return Response(s.CaseDetailSerializer(_case_detail(case, request.user)).data)


class CaseDataView(ApiView):
    @extend_schema(
        tags=["cases"],
        summary="A case's data",
        description="ID-card and mobile numbers are masked. `?reveal=true` shows them to roles allowed to "
        "see personal data, and records one `personal_data.viewed` audit event per revealed value.",
        parameters=[OpenApiParameter("reveal", bool)],
        responses={200: s.CaseDataSerializer, **errors(403)},
    )
    def get(self, request: Request, case_id: int) -> Response:
        case = case_get_for_user(user=request.user, case_id=case_id)
        data = case.process.data or {}
        if _flag(request, "reveal"):
            if not user_sees_personal_data(user=request.user, area_code=case.area_code):
                raise OutOfScope(_("您的角色不能查看完整个人信息。"))
            for path in p.masked_paths(data):
                personal_data_reveal(
                    user=request.user,
                    case_id=case.pk,
                    field_path=path,
                    area_code=case.area_code,
                    client_address=self.address(request),
                )
            body = {"case": case.pk, "masked": False, "data": data}
        else:
            body = {"case": case.pk, "masked": True, "data": mask_value(data)}
        return Response(s.CaseDataSerializer(body).data)


class CaseHistoryView(ApiListView):
    serializer_class = s.EventSerializer

    def get_queryset(self) -> Any:
        if self.schema_only:
            return Case.objects.none()
        case = case_get_for_user(user=self.request.user, case_id=self.kwargs["case_id"])
        return case_timeline(
            user=self.request.user, case_id=case.pk, area_code=case.area_code
        ).select_related("actor")

    def present(self, rows: Any) -> list[dict[str, Any]]:
        presenter = EventPresenter(user=self.request.user)
        return [p.event_dict(v) for v in presenter.present_all(rows)]

    @extend_schema(
        tags=["cases"],
        summary="A case's history (audit timeline), oldest first",
        responses={200: s.EventSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CaseTasksView(ApiListView):
    serializer_class = s.TaskSerializer

    def get_queryset(self) -> QuerySet[Task]:
        if self.schema_only:
            return Task.objects.none()
        case = case_get_for_user(user=self.request.user, case_id=self.kwargs["case_id"])
        return case_tasks(case=case).filter(flow_task_type="HUMAN").select_related("owner", "process__case")

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [p.task_dict(t, self.request.user) for t in rows]

    @extend_schema(
        tags=["cases"],
        summary="A case's human tasks, open and finished, oldest first",
        responses={200: s.TaskSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- tasks ----------------------------------------------------------------------------------------------


class _TaskListView(ApiListView):
    serializer_class = s.TaskSerializer
    default_sort = "due"

    def selector(self, user: Any) -> QuerySet[Task]:  # pragma: no cover - overridden
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Task]:
        if self.schema_only:
            return Task.objects.none()
        filters = _work_filters(_query(self.request, s.TaskFilterSerializer))
        return tasks_filtered(self.selector(self.request.user), filters, default_sort=self.default_sort)

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [p.task_dict(t, self.request.user) for t in rows]


class InboxView(_TaskListView):
    def selector(self, user: Any) -> QuerySet[Task]:
        return task_inbox(user=user)

    @extend_schema(
        tags=["tasks"],
        summary="Tasks the user has claimed",
        parameters=[s.TaskFilterSerializer],
        responses={200: s.TaskSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class QueueView(_TaskListView):
    def selector(self, user: Any) -> QuerySet[Task]:
        return task_queue(user=user)

    @extend_schema(
        tags=["tasks"],
        summary="Unclaimed tasks routed to a role the user holds at that area",
        parameters=[s.TaskFilterSerializer],
        responses={200: s.TaskSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class DoneView(_TaskListView):
    default_sort = "-finished"

    def selector(self, user: Any) -> QuerySet[Task]:
        return task_done(user=user)

    @extend_schema(
        tags=["tasks"],
        summary="Tasks the user completed, newest first",
        parameters=[s.TaskFilterSerializer],
        responses={200: s.TaskSerializer(many=True), **errors(400)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _task_in_scope(user: Any, task_id: int) -> None:
    """403 unless the task belongs to a case in the user's areas, before any service sees the request: an
    id from another township gets the same answer whether or not it exists, and never a 404 or 409."""
    if not cases_for_user(user=user).filter(process__task__pk=task_id).exists():
        raise OutOfScope()


def _task_body(task: Task, user: Any) -> dict[str, Any]:
    task.refresh_from_db()
    return p.task_dict(task, user)


class TaskDetailView(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="A task with its form",
        description="For anyone who sees the case (its area is in their scope); `may_act` tells whether "
        "the user may claim or complete it.",
        responses={200: s.TaskDetailSerializer, **errors(403)},
    )
    def get(self, request: Request, task_id: int) -> Response:
        task = task_get_for_viewer(user=request.user, task_id=task_id)
        spec = p.task_spec(task)
        case = task.process.case
        form = (
            form_version_for_node(case_or_version=case, form_key=spec["form"]) if spec.get("form") else None
        )
        data = (task.process.data or {}).get(spec.get("id", ""), {})
        body = {
            **p.task_dict(task, request.user),
            "form_definition": p.form_dict(form) if form is not None else None,
            "data": mask_value(data),
            "may_act": user_may_act_on(user=request.user, task=task) and task.status in ("NEW", "ASSIGNED"),
        }
        return Response(s.TaskDetailSerializer(body).data)


class TaskClaimView(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Claim a task from the queue",
        request=None,
        responses={200: s.TaskSerializer, **errors(403, 409)},
    )
    def post(self, request: Request, task_id: int) -> Response:
        _task_in_scope(request.user, task_id)
        task = task_claim(user=request.user, task_id=task_id, client_address=self.address(request))
        return Response(s.TaskSerializer(_task_body(task, request.user)).data)


class TaskUnclaimView(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Put a claimed task back into its queue",
        request=None,
        responses={200: s.TaskSerializer, **errors(403, 409)},
    )
    def post(self, request: Request, task_id: int) -> Response:
        _task_in_scope(request.user, task_id)
        task = task_unclaim(user=request.user, task_id=task_id, client_address=self.address(request))
        return Response(s.TaskSerializer(_task_body(task, request.user)).data)


class TaskReassignView(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Give an open task to someone else (supervisors of the case's area)",
        request=s.TaskReassignSerializer,
        responses={200: s.TaskSerializer, **errors(400, 403, 409)},
    )
    def post(self, request: Request, task_id: int) -> Response:
        _task_in_scope(request.user, task_id)
        if not user_may_supervise(user=request.user):
            raise OutOfScope()
        serializer = s.TaskReassignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        to_user = (
            get_user_model()
            .objects.filter(username=serializer.validated_data["to_user"], is_active=True)
            .first()
        )
        if to_user is None:
            raise ValidationFailed(field_errors={"to_user": [_("没有这个用户。")]})
        task = task_reassign_and_notify(
            actor=request.user, task_id=task_id, to_user=to_user, client_address=self.address(request)
        )
        return Response(s.TaskSerializer(_task_body(task, request.user)).data)


class TaskCandidatesView(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Who could take this task instead of its owner (supervisors of the case's area)",
        responses={200: s.CandidateSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request, task_id: int) -> Response:
        task = task_get_for_viewer(user=request.user, task_id=task_id)
        if not user_may_supervise(user=request.user, area_code=task.process.case.area_code):
            raise OutOfScope()
        rows = [
            {"id": u.pk, "username": u.get_username(), "name": u.get_full_name() or u.get_username()}
            for u in reassign_candidates(task=task)
        ]
        return Response(s.CandidateSerializer(rows, many=True).data)


class TaskCompleteView(ApiView):
    @extend_schema(
        tags=["tasks"],
        summary="Complete a task with its form data",
        description="An unclaimed task is claimed and completed in one step. Form errors come back as "
        "`field_errors` under `data/...`; a task someone else finished first gives 409.",
        request=s.TaskCompleteSerializer,
        responses={200: s.TaskSerializer, **errors(400, 403, 409, 413, 422)},
    )
    def post(self, request: Request, task_id: int) -> Response:
        _task_in_scope(request.user, task_id)
        serializer = s.TaskCompleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            task = task_complete_and_notify(
                user=request.user,
                task_id=task_id,
                data=serializer.validated_data["data"],
                client_address=self.address(request),
            )
        except FormInvalid as exc:
            raise prefixed(exc, "data")
        return Response(s.TaskSerializer(_task_body(task, request.user)).data)


# --- audit ----------------------------------------------------------------------------------------------


class AuditEventListView(ApiListView):
    permission_classes = [IsAuthenticated, IsSupervisor]
    serializer_class = s.AuditEventSerializer

    def get_queryset(self) -> Any:
        if self.schema_only:
            return Case.objects.none()
        filters = _query(self.request, s.EventFilterSerializer)
        return events_for_user(user=self.request.user, filters=filters).select_related("actor")

    def present(self, rows: Any) -> list[dict[str, Any]]:
        presenter = EventPresenter(user=self.request.user)
        return [p.event_dict(v, full=True) for v in presenter.present_all(rows)]

    @extend_schema(
        tags=["audit"],
        summary="Search the audit log of the supervisor's areas, newest first",
        parameters=[s.EventFilterSerializer],
        responses={200: s.AuditEventSerializer(many=True), **errors(400, 403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AuditEventExportView(ApiView):
    permission_classes = [IsAuthenticated, IsSupervisor]
    throttle_classes = [ExportThrottle]
    content_negotiation_class = JsonErrorsNegotiation

    @extend_schema(
        tags=["audit"],
        summary="Export the audit search as CSV (UTF-8 with BOM, opens in Excel)",
        operation_id="v1_audit_events_export_csv",
        parameters=[s.EventFilterSerializer],
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR), **errors(400, 403)},
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        filters = _query(request, s.EventFilterSerializer)
        events = events_for_user(user=request.user, filters=filters)
        audit_record(
            action="audit.exported",
            actor=request.user,
            data={"kind": "csv", "via": "api", "filters": {k: str(v) for k, v in filters.items()}},
            client_address=self.address(request),
        )
        rows = event_rows(events.iterator(chunk_size=2000), user=request.user)
        response = StreamingHttpResponse(
            csv_stream(event_headers(), rows), content_type="text/csv; charset=utf-8"
        )
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
        return response


# --- definitions (designers) ----------------------------------------------------------------------------


class _Library:
    """Files of a request body written to a temporary library folder, so the very code that serves
    validate_procedures / import_procedures reads them; error and result paths are mapped back to the names
    the client sent."""

    def __init__(self, files: list[dict[str, Any]]) -> None:
        self.files = files
        self.names: dict[str, str] = {}

    def __enter__(self) -> Path:
        self._tmp = tempfile.TemporaryDirectory(prefix="govflow-api-")
        root = Path(self._tmp.name)
        for index, item in enumerate(self.files):
            target = root / f"{index:04d}-{Path(item['name']).name}"
            if item["name"].endswith(".bpmn"):
                target.write_text(item["content"], encoding="utf-8")
            else:
                target.write_text(json.dumps(item["document"], ensure_ascii=False), encoding="utf-8")
            self.names[str(target)] = item["name"]
        return root

    def __exit__(self, *exc: Any) -> None:
        self._tmp.cleanup()

    def name(self, path: Any) -> str:
        return self.names.get(str(path), str(path))

    def errors(self, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{**e, "file": self.name(e.get("file", ""))} for e in errors]


class DefinitionValidateView(ApiView):
    permission_classes = [IsAuthenticated, IsDesigner]

    @extend_schema(
        tags=["definitions"],
        summary="Validate library files (roles, forms, workflows) without importing them",
        description="Workflows are checked against the forms and roles sent with them and those already "
        "imported, exactly as `manage.py validate_procedures`.",
        request=s.LibraryFilesSerializer,
        responses={200: s.ValidateResultSerializer, **errors(400, 403, 413)},
    )
    def post(self, request: Request) -> Response:
        serializer = s.LibraryFilesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        library = _Library(serializer.validated_data["files"])
        with library as root:
            found = library.errors(validate_library([root]))
        return Response(s.ValidateResultSerializer({"valid": not found, "errors": found}).data)


class DefinitionImportView(ApiView):
    permission_classes = [IsAuthenticated, IsDesigner]

    @extend_schema(
        tags=["definitions"],
        summary="Import library files; publishes a new version only where the content changed",
        description="All or nothing, as `manage.py import_procedures`: one bad file imports nothing and "
        "answers 400 with every error in `errors`.",
        request=s.LibraryFilesSerializer,
        responses={200: s.ImportResultSerializer, **errors(400, 403, 413)},
    )
    def post(self, request: Request) -> Response:
        serializer = s.LibraryFilesSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        library = _Library(serializer.validated_data["files"])
        with library as root:
            try:
                result = import_library([root], actor=request.user)
            except DefinitionInvalid as exc:
                exc.errors = library.errors(exc.errors)
                raise
            body = {
                "created": [library.name(n) for n in result.created],
                "unchanged": [library.name(n) for n in result.unchanged],
            }
        return Response(s.ImportResultSerializer(body).data)


class DefinitionExportView(ApiView):
    permission_classes = [IsAuthenticated, IsDesigner]

    @extend_schema(
        tags=["definitions"],
        summary="Export a published procedure as library files (workflow and its forms)",
        description="Same files as `manage.py export_procedure KEY`; `?bpmn=true` adds the BPMN 2.0 file.",
        parameters=[OpenApiParameter("bpmn", bool)],
        responses={200: s.ExportSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, key: str) -> Response:
        version = workflow_version_get(key=key)
        with tempfile.TemporaryDirectory(prefix="govflow-api-") as tmp:
            root = Path(tmp)
            files = []
            for path in export_procedure(key, root, bpmn=_flag(request, "bpmn")):
                name = path.relative_to(root).as_posix()
                text = path.read_text(encoding="utf-8")
                files.append(
                    {"name": name, "content": text}
                    if name.endswith(".bpmn")
                    else {"name": name, "document": json.loads(text)}
                )
        return Response(s.ExportSerializer({"key": key, "version": version.version, "files": files}).data)


_KINDS: dict[str, dict[str, Any]] = {
    "workflows": {
        "get": workflow_version_get,
        "versions": workflow_versions,
        "draft": workflow_draft_save,
        "publish": workflow_publish,
        "diff": workflow_diff,
    },
    "forms": {
        "get": form_version_get,
        "versions": form_versions,
        "draft": form_draft_save,
        "publish": form_publish,
        "diff": form_diff,
    },
}


def _version_dict(kind: str, version: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": version.key,
        "version": version.version,
        "status": version.status,
        "title": version.title_zh,
        "checksum": version.checksum,
        "errors": version.errors or [],
        "created": version.created,
        "published_at": version.published_at,
        "change_note": version.change_note,
    }


class DefinitionVersionsView(ApiView):
    permission_classes = [IsAuthenticated, IsDesigner]

    @extend_schema(
        tags=["definitions"],
        summary="Every version of a workflow or form (drafts with their errors), newest first",
        responses={200: s.VersionSerializer(many=True), **errors(403, 404)},
    )
    def get(self, request: Request, key: str, kind: str) -> Response:
        rows = [_version_dict(kind, v) for v in _KINDS[kind]["versions"](key=key)]
        if not rows:
            raise NotFound()
        return Response(s.VersionSerializer(rows, many=True).data)


class DefinitionDraftView(ApiView):
    permission_classes = [IsAuthenticated, IsDesigner]

    @extend_schema(
        tags=["definitions"],
        summary="Save the draft of a workflow or form (it may have errors; they are stored with it)",
        request=s.DraftSerializer,
        responses={200: s.VersionSerializer, **errors(400, 403, 413)},
    )
    def put(self, request: Request, key: str, kind: str) -> Response:
        serializer = s.DraftSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = _KINDS[kind]["draft"](
            key=key, document=serializer.validated_data["document"], actor=request.user
        )
        return Response(s.VersionSerializer(_version_dict(kind, draft)).data)


class DefinitionPublishView(ApiView):
    permission_classes = [IsAuthenticated, IsDesigner]

    @extend_schema(
        tags=["definitions"],
        summary="Publish a draft version (answers with what changed against the published one)",
        request=s.PublishSerializer,
        responses={200: s.PublishResultSerializer, **errors(400, 403, 404)},
    )
    def post(self, request: Request, key: str, kind: str, version: int) -> Response:
        ops = _KINDS[kind]
        serializer = s.PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        draft = ops["get"](key=key, version=version, published_only=False)
        try:
            previous = ops["get"](key=key)
        except NotFound:
            previous = None
        changes = ops["diff"](previous if previous is not None and previous.pk != draft.pk else None, draft)
        published = ops["publish"](
            version=draft, actor=request.user, change_note=serializer.validated_data["change_note"]
        )
        body = {"version": _version_dict(kind, published), "changes": changes}
        return Response(s.PublishResultSerializer(body).data)


# --- not found ------------------------------------------------------------------------------------------


def not_found(request: Any, rest: str = "") -> JsonResponse:
    """Unknown /api/v1/ URLs get the JSON error shape too (with a hint when only the slash is missing)."""
    message = _("未找到。")
    if not request.path.endswith("/"):
        try:
            match = resolve(request.path + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            message = _("未找到。地址应以“/”结尾：%(p)s") % {"p": request.path + "/"}
    return JsonResponse(error_body("not_found", message), status=404)


# --- webhooks -------------------------------------------------------------------------------------------


class IsWebhookAdmin(IsDesigner):
    """Administrators: superusers, and designers whose role sits at county level (others: 403)."""

    def check(self, user: Any) -> bool:
        return webhooks.user_may_manage_webhooks(user=user)


def _webhook_dict(sub: WebhookSubscription, secret: str | None = None) -> dict[str, Any]:
    body = {
        "id": sub.pk,
        "url": sub.url,
        "procedures": list(sub.procedures or []),
        "events": list(sub.events or []),
        "description": sub.description,
        "active": sub.active,
        "created": sub.created,
        "updated": sub.updated,
        "created_by": sub.created_by.get_username() if sub.created_by is not None else None,
    }
    if secret is not None:
        body["secret"] = secret
    return body


def _delivery_dict(d: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": d.pk,
        "event": d.event,
        "seq": d.event_seq,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created": d.created,
        "delivered_at": d.delivered_at,
        "payload": d.payload,
        "attempts_log": d.attempts_log,
    }


def _webhook_get(webhook_id: int) -> WebhookSubscription:
    sub = WebhookSubscription.objects.select_related("created_by").filter(pk=webhook_id).first()
    if sub is None:
        raise NotFound()
    return sub


def _webhook_audit(action: str, request: Request, sub: WebhookSubscription, **extra: Any) -> None:
    data = {"webhook": sub.pk, "url": sub.url, "events": sub.events, "procedures": sub.procedures, **extra}
    audit_record(action=action, actor=request.user, data=data, client_address=ApiMixin.address(request))


class WebhookListView(ApiListView):
    serializer_class = s.WebhookSerializer
    permission_classes = [IsAuthenticated, IsWebhookAdmin]

    def get_queryset(self) -> QuerySet[WebhookSubscription]:
        return WebhookSubscription.objects.select_related("created_by").order_by("pk")

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [_webhook_dict(sub) for sub in rows]

    @extend_schema(
        tags=["webhooks"],
        summary="Webhook subscriptions (administrators)",
        responses={200: s.WebhookSerializer(many=True), **errors(403)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["webhooks"],
        summary="Register a webhook (administrators)",
        description="The answer carries the generated `secret`, shown only this once: the receiver checks "
        "`X-Govflow-Signature: sha256=<HMAC-SHA256 hex of the body>` with it.",
        request=s.WebhookWriteSerializer,
        responses={201: s.WebhookWithSecretSerializer, **errors(400, 403)},
    )
    def post(self, request: Request) -> Response:
        serializer = s.WebhookWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        secret = webhooks.new_secret()
        with transaction.atomic():
            sub = WebhookSubscription.objects.create(
                url=v["url"],
                secret=secret,
                procedures=v.get("procedures", []),
                events=v.get("events", list(WEBHOOK_EVENTS)),
                description=v.get("description", ""),
                active=v.get("active", True),
                created_by=request.user,
            )
            _webhook_audit("webhook.created", request, sub)
        return Response(
            s.WebhookWithSecretSerializer(_webhook_dict(sub, secret)).data, status=status.HTTP_201_CREATED
        )


class WebhookDetailView(ApiView):
    permission_classes = [IsAuthenticated, IsWebhookAdmin]

    @extend_schema(
        tags=["webhooks"],
        summary="A webhook subscription (administrators)",
        responses={200: s.WebhookSerializer, **errors(403, 404)},
    )
    def get(self, request: Request, webhook_id: int) -> Response:
        return Response(s.WebhookSerializer(_webhook_dict(_webhook_get(webhook_id))).data)

    @extend_schema(
        tags=["webhooks"],
        summary="Change a webhook (administrators)",
        description="Send only the fields to change. `rotate_secret: true` replaces the secret and answers "
        "with the new one (shown once).",
        request=s.WebhookWriteSerializer,
        responses={200: s.WebhookWithSecretSerializer, **errors(400, 403, 404)},
    )
    def patch(self, request: Request, webhook_id: int) -> Response:
        serializer = s.WebhookWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        v = serializer.validated_data
        with transaction.atomic():
            sub = _webhook_get(webhook_id)
            changed = [f for f in ("url", "procedures", "events", "description", "active") if f in v]
            for field in changed:
                setattr(sub, field, v[field])
            secret = None
            if v.get("rotate_secret"):
                secret = webhooks.new_secret()
                sub.secret = secret
                changed.append("secret")
            sub.save()
            _webhook_audit("webhook.updated", request, sub, changed=changed)
        return Response(s.WebhookWithSecretSerializer(_webhook_dict(sub, secret)).data)

    @extend_schema(
        tags=["webhooks"],
        summary="Delete a webhook and its delivery log (administrators)",
        responses={204: None, **errors(403, 404)},
    )
    def delete(self, request: Request, webhook_id: int) -> Response:
        with transaction.atomic():
            sub = _webhook_get(webhook_id)
            _webhook_audit("webhook.deleted", request, sub)
            sub.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(ApiListView):
    serializer_class = s.WebhookDeliverySerializer
    permission_classes = [IsAuthenticated, IsWebhookAdmin]

    def get_queryset(self) -> QuerySet[WebhookDelivery]:
        if self.schema_only:
            return WebhookDelivery.objects.none()
        sub = _webhook_get(self.kwargs["webhook_id"])
        f = _query(self.request, s.WebhookDeliveryFilterSerializer)
        qs = sub.deliveries.order_by("-pk")
        if "status" in f:
            qs = qs.filter(status=f["status"])
        return qs

    def present(self, rows: Any) -> list[dict[str, Any]]:
        return [_delivery_dict(d) for d in rows]

    @extend_schema(
        tags=["webhooks"],
        summary="A webhook's deliveries, newest first, with every attempt (administrators)",
        parameters=[s.WebhookDeliveryFilterSerializer],
        responses={200: s.WebhookDeliverySerializer(many=True), **errors(400, 403, 404)},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
