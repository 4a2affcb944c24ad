"""Supervisor pages: event search and exports, case timeline, chain verification, reports.

Views only check who is asking and call selectors / services; scoping lives in audit.selectors.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from govflow.errors import NotFound, OutOfScope

from . import reports
from .exports import csv_stream, event_headers, event_rows, xlsx_file
from .filtering import EventSearchForm
from .models import AuditChainHead
from .receivers import client_address
from .selectors import (
    EventPresenter,
    case_area_from_events,
    case_timeline,
    ensure_supervisor,
    events_for_user,
    user_is_county_supervisor,
)
from .services import audit_record, audit_verify

PAGE_SIZE = 50


def _search(request: HttpRequest) -> tuple[EventSearchForm, Any]:
    form = EventSearchForm(request.GET or None, user=request.user)
    filters = form.filters() if request.GET else {}
    return form, events_for_user(user=request.user, filters=filters)


def _record_export(request: HttpRequest, kind: str, filters: dict[str, Any]) -> None:
    audit_record(
        action="audit.exported",
        actor=request.user,
        data={"kind": kind, "filters": {k: str(v) for k, v in filters.items()}},
        client_address=client_address(request),
    )


@login_required
def event_list(request: HttpRequest) -> HttpResponse:
    ensure_supervisor(user=request.user)
    form, events = _search(request)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    presenter = EventPresenter(user=request.user)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "audit/event_list.html",
        {
            "form": form,
            "page": page,
            "rows": list(presenter.present_all(page.object_list)),
            "query": query.urlencode(),
        },
    )


@login_required
def event_export_csv(request: HttpRequest) -> StreamingHttpResponse:
    ensure_supervisor(user=request.user)
    form, events = _search(request)
    _record_export(request, "csv", form.cleaned_data if form.is_bound and form.is_valid() else {})
    rows = event_rows(events.iterator(chunk_size=2000), user=request.user)
    response = StreamingHttpResponse(
        csv_stream(event_headers(), rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-events-{stamp}.csv"'
    return response


@login_required
def event_export_xlsx(request: HttpRequest) -> FileResponse:
    ensure_supervisor(user=request.user)
    form, events = _search(request)
    _record_export(request, "xlsx", form.cleaned_data if form.is_bound and form.is_valid() else {})
    rows = event_rows(events.iterator(chunk_size=2000), user=request.user)
    handle = xlsx_file([("events", event_headers(), rows)])
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"audit-events-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


def timeline_context(*, user: Any, case_id: int, area_code: str) -> dict[str, Any]:
    """What audit/_timeline.html needs; the case page of the workspace calls this with its case."""
    events = case_timeline(user=user, case_id=case_id, area_code=area_code)
    return {"case_id": case_id, "timeline": list(EventPresenter(user=user).present_all(events))}


@login_required
def case_timeline_page(request: HttpRequest, case_id: int) -> HttpResponse:
    """Anyone whose roles cover the case's area (staff or supervisor); an htmx request gets the partial."""
    area_code = reports.case_area(case_id=case_id) or case_area_from_events(case_id=case_id)
    if area_code is None:
        raise NotFound()
    context = timeline_context(user=request.user, case_id=case_id, area_code=area_code)
    template = "audit/_timeline.html" if request.headers.get("HX-Request") else "audit/case_timeline.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if not user_is_county_supervisor(user=request.user):
        raise OutOfScope()
    result = audit_verify() if request.method == "POST" else None
    return render(
        request,
        "audit/verify.html",
        {"head": AuditChainHead.objects.filter(pk=1).first(), "result": result, "now": timezone.now()},
    )


@login_required
def report_dashboard(request: HttpRequest) -> HttpResponse:
    ensure_supervisor(user=request.user)
    area = request.GET.get("area") or None
    dashboard = reports.dashboard(user=request.user, area_code=area)
    return render(request, "audit/reports.html", {"dashboard": dashboard})


@login_required
def report_export_xlsx(request: HttpRequest) -> FileResponse:
    ensure_supervisor(user=request.user)
    dashboard = reports.dashboard(user=request.user, area_code=request.GET.get("area") or None)
    handle = xlsx_file(reports.dashboard_sheets(dashboard))
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"reports-{stamp}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@login_required
def report_cases(request: HttpRequest) -> HttpResponse:
    """The cases behind one figure of the dashboard (the drill-down)."""
    ensure_supervisor(user=request.user)
    listing = reports.cases_behind(user=request.user, params=request.GET)
    page = Paginator(listing.rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "audit/report_cases.html", {"listing": listing, "page": page, "query": query.urlencode()}
    )
