"""What every API view shares: authentication, permissions, parsing, throttles, paging, the error handler,
and the schema fragments that describe errors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.generics import ListAPIView
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from govflow.audit.receivers import client_address

from .exceptions import api_exception_handler
from .serializers import ErrorSerializer
from .throttling import DEFAULT_THROTTLES


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class JsonErrorsNegotiation(DefaultContentNegotiation):
    """For views that answer with a file (CSV, PDF, attachments) themselves: their errors are JSON whatever
    the Accept header asks for, and no Accept header makes them 406."""

    def select_renderer(self, request: Any, renderers: Any, format_suffix: Any = None) -> Any:
        return (JSONRenderer(), JSONRenderer.media_type)


class ApiMixin:
    # Token first: an anonymous request then gets 401 with "WWW-Authenticate: Token" (not a bare 403).
    authentication_classes: Any = [TokenAuthentication, SessionAuthentication]
    permission_classes: Any = [IsAuthenticated]
    parser_classes: Any = [JSONParser]
    renderer_classes: Any = [JSONRenderer]
    throttle_classes: Any = DEFAULT_THROTTLES

    def get_exception_handler(self) -> Any:
        return api_exception_handler

    @staticmethod
    def address(request: Request) -> str | None:
        return client_address(request._request)


class ApiView(ApiMixin, APIView):
    pass


class ApiListView(ApiMixin, ListAPIView):
    """A paginated list: get_queryset() asks a selector, present() turns a page of rows into dicts."""

    pagination_class = Pagination

    def present(self, rows: Iterable[Any]) -> list[dict[str, Any]]:
        return list(rows)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        rows = self.present(page if page is not None else [])
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @property
    def schema_only(self) -> bool:
        """True while drf-spectacular builds the schema (there is no real user or URL kwargs then)."""
        return bool(getattr(self, "swagger_fake_view", False))


_DESCRIPTIONS = {
    400: "Invalid request: `field_errors` by JSON path in the body, or `errors` of definition files.",
    401: "Not authenticated: log in (session) or send `Authorization: Token <token>`.",
    403: "Forbidden: outside the user's areas or roles. Says nothing about whether the object exists.",
    404: "Not found (procedures, forms and definitions; cases and tasks answer 403 instead).",
    409: "Conflict: the task was claimed or finished by someone else, or is being worked on right now.",
    413: "The request body is too large.",
    422: "The step could not run on this case's data; nothing was saved and the task stays open.",
    429: "Too many requests: wait for the number of seconds in the Retry-After header.",
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error responses for extend_schema: the given statuses plus 401 and 429, all in the one shape."""
    wanted = sorted({*statuses, 401, 429})
    return {s: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[s]) for s in wanted}
