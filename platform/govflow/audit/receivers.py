"""Signal receivers for the logins Django performs itself. Each only forwards to a service."""

from __future__ import annotations

from typing import Any

from .services import auth_login_failed_record, auth_login_record


def client_address(request: Any) -> str | None:
    """The peer address of the request. Behind a proxy, configure it (or a middleware) to set REMOTE_ADDR;
    X-Forwarded-For is not trusted here because any client can write it."""
    if request is None:
        return None
    meta = getattr(request, "META", None) or {}
    return meta.get("REMOTE_ADDR") or None


def on_login(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None:
        auth_login_record(user=user, client_address=client_address(request))


def on_login_failed(sender: Any, credentials: Any = None, request: Any = None, **kwargs: Any) -> None:
    username = ""
    if isinstance(credentials, dict):
        username = str(credentials.get("username") or "")
    auth_login_failed_record(username=username, client_address=client_address(request))
