"""One JSON shape for every API error: {"code", "message", "field_errors"?, "errors"?}.

GovflowError already carries that shape (errors.GovflowError.as_dict); this module maps DRF's own
exceptions (authentication, permission, parsing, validation, throttling, 404/405/406/415), Django's
(Http404, PermissionDenied, RequestDataTooBig) and anything unexpected (a logged 500) onto it. The API
views set this handler through APIView.get_exception_handler, so no settings change is needed.

Field errors are keyed by the JSON path of the offending value in the request body, segments joined by
"/" ("data/spouses/0/id_card"); "" holds errors of the whole body.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from govflow.errors import GovflowError, PayloadTooLarge, from_unrepresentable

logger = logging.getLogger(__name__)

# DRF exception class -> our stable code (checked in order: subclasses first).
_DRF_CODES: list[tuple[type[exceptions.APIException], str]] = [
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "authentication_failed"),
    (exceptions.PermissionDenied, "forbidden"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
    (exceptions.ParseError, "parse_error"),
    (exceptions.ValidationError, "invalid"),
]


def join_path(prefix: str, key: Any) -> str:
    key = str(key)
    if not prefix:
        return key
    if not key:
        return prefix
    return f"{prefix}/{key}"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {json path: [messages]}."""
    out: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                sub = "" if key == api_settings.NON_FIELD_ERRORS_KEY else key
                walk(item, join_path(path, sub))
        elif isinstance(value, list | tuple):
            if all(not isinstance(item, dict | list | tuple) for item in value):
                messages = [str(item) for item in value]
                if messages:
                    out.setdefault(path, []).extend(messages)
            else:
                for index, item in enumerate(value):
                    if item:
                        walk(item, join_path(path, index))
        elif value not in (None, ""):
            out.setdefault(path, []).append(str(value))

    walk(detail, prefix)
    return out


def prefixed(exc: GovflowError, prefix: str) -> GovflowError:
    """The same error with its field paths moved under `prefix` (form data sits at "data" in the body)."""
    exc.field_errors = {join_path(prefix, path): messages for path, messages in exc.field_errors.items()}
    return exc


def error_body(code: str, message: Any, field_errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": str(message)}
    if field_errors:
        body["field_errors"] = field_errors
    return body


def _drf_code(exc: exceptions.APIException) -> str:
    for klass, code in _DRF_CODES:
        if isinstance(exc, klass):
            return code
    return str(getattr(exc, "default_code", "error") or "error")


def _drf_response(exc: exceptions.APIException) -> Response:
    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    code = _drf_code(exc)
    if isinstance(exc, exceptions.ValidationError):
        field_errors = flatten_errors(exc.detail)
        body = error_body(code, _("提交的数据有误，请按提示修改。"), field_errors)
    elif isinstance(exc, exceptions.Throttled):
        if wait is not None:
            headers["Retry-After"] = str(int(wait))
            message = _("请求过于频繁，请 %(s)d 秒后再试。") % {"s": int(wait) or 1}
        else:
            message = _("请求过于频繁，请稍后再试。")
        body = error_body(code, message)
    elif isinstance(exc, exceptions.NotAuthenticated):
        body = error_body(code, _("请先登录或提供有效的令牌。"))
    elif isinstance(exc, exceptions.AuthenticationFailed):
        body = error_body(code, exc.detail if isinstance(exc.detail, str) else _("身份验证失败。"))
    elif isinstance(exc, exceptions.PermissionDenied):
        # DRF's CSRF failure is a PermissionDenied whose text says so; keep that text, it helps clients.
        detail = str(exc.detail) if isinstance(exc.detail, str) else ""
        body = error_body(code, detail if detail.startswith("CSRF") else _("您无权访问此内容。"))
    elif isinstance(exc, exceptions.NotFound):
        body = error_body(code, _("未找到。"))
    else:
        body = error_body(code, exc.detail if isinstance(exc.detail, str) else exc.default_detail)
    return Response(body, status=exc.status_code, headers=headers)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """The API's exception handler: every error leaves as the one JSON shape."""
    set_rollback()
    exc = from_unrepresentable(exc) or exc
    if isinstance(exc, GovflowError):
        if exc.status >= 500:
            logger.error("govflow error %s in %s", exc.code, context.get("view").__class__.__name__)
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        return Response(PayloadTooLarge().as_dict(), status=PayloadTooLarge.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        return _drf_response(exc)
    view = context.get("view")
    logger.exception("unhandled error in API view %s", view.__class__.__name__ if view else "?")
    return Response(error_body("server_error", _("服务器内部错误，请稍后再试。")), status=500)
