"""The landing page: everyone goes to where their work is (staff: the inbox; supervisors: the reports;
designers: the procedure list). Users with no role see the empty "my work" page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from govflow.roles.selectors import user_grants


@login_required
def home(request: HttpRequest) -> HttpResponse:
    grants = user_grants(user=request.user)
    if any(g.can_act for g in grants):
        return redirect("cases:inbox")
    if any(g.can_supervise for g in grants):
        return redirect("audit:reports")
    if any(g.can_design for g in grants):
        return redirect("designer:procedures")
    return render(request, "core/home.html", {})
