"""Request rates per user (a token belongs to one user, so this is also per token), by scope.

The rates are class attributes, so nothing in settings is needed; a deployment may still override any of
them with GOVFLOW_API_THROTTLE_RATES = {"read": "1200/min", ...}. Counters live in the default cache
(Redis when REDIS_URL is set, so every gunicorn node shares them). Anonymous requests (only the token
endpoint accepts them) are counted per client address.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class UserScopedThrottle(SimpleRateThrottle):
    scope = "api"
    rate: str | None = "600/min"

    def __init__(self) -> None:
        overrides = getattr(settings, "GOVFLOW_API_THROTTLE_RATES", None) or {}
        self.rate = overrides.get(self.scope, type(self).rate)
        self.num_requests, self.duration = self.parse_rate(self.rate)

    def applies(self, request: Any) -> bool:
        return True

    def allow_request(self, request: Any, view: Any) -> bool:
        if not self.applies(request):
            return True
        return super().allow_request(request, view)

    def get_cache_key(self, request: Any, view: Any) -> str:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"addr:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ReadThrottle(UserScopedThrottle):
    """Reads (GET/HEAD/OPTIONS)."""

    scope = "read"
    rate = "600/min"

    def applies(self, request: Any) -> bool:
        return request.method in SAFE_METHODS


class WriteThrottle(UserScopedThrottle):
    """Writes: start a case, claim, complete, import..."""

    scope = "write"
    rate = "120/min"

    def applies(self, request: Any) -> bool:
        return request.method not in SAFE_METHODS


class TokenThrottle(UserScopedThrottle):
    """Creating a token with a password: slow enough to make guessing passwords pointless."""

    scope = "token"
    rate = "10/min"

    def applies(self, request: Any) -> bool:
        return request.method not in SAFE_METHODS


class ExportThrottle(UserScopedThrottle):
    """CSV exports of the audit log (each one reads many rows)."""

    scope = "export"
    rate = "30/hour"


DEFAULT_THROTTLES = [ReadThrottle, WriteThrottle]
