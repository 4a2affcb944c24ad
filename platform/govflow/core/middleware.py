"""Request-wide concerns: choosing the language from ?lang=, and turning GovflowError into a page."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.html import escape

from govflow.errors import GovflowError, ServiceUnavailable, from_unrepresentable

logger = logging.getLogger(__name__)


class LanguageQueryMiddleware:
    """`?lang=en` (or zh-hans) switches the language for this request and remembers it in a cookie.

    Runs before LocaleMiddleware, which then reads the cookie. A user's saved preference is applied the same
    way at login (core.views).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.languages = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        lang = request.GET.get("lang")
        if lang == "zh":
            lang = "zh-hans"
        if lang not in self.languages:
            return self.get_response(request)
        request.COOKIES[settings.LANGUAGE_COOKIE_NAME] = lang
        response = self.get_response(request)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, lang, max_age=365 * 24 * 3600, samesite="Lax")
        return response


class GovflowErrorMiddleware:
    """One handler for every GovflowError raised under a web view: a translated page (or JSON for htmx/API)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, GovflowError):
            converted = from_unrepresentable(exception)
            if converted is None:
                return None
            exception = converted
        if exception.status >= 500:
            logger.error("govflow error %s on %s", exception.code, request.path)
        if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
            return JsonResponse(exception.as_dict(), status=exception.status)
        if isinstance(exception, ServiceUnavailable):
            # The database is away: the normal page (user, roles, menus) would need it. A bare page.
            body = f"<!doctype html><meta charset=utf-8><title>503</title><p>{escape(str(exception.message))}</p>"
            return HttpResponse(body, status=503, headers={"Retry-After": "10"})
        return render(request, "core/error.html", {"error": exception}, status=exception.status)
