"""The errors users see: one base class with a stable code, a translated message and an HTTP status.

Services raise these; one handler for web views (core.middleware) and one for the API turn them into pages
and JSON. Anything else that escapes a service is a bug and is logged, never shown.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class GovflowError(Exception):
    default_code = "error"
    default_message: Any = _("操作失败。")
    status = 400

    def __init__(
        self,
        message: Any = None,
        *,
        code: str | None = None,
        field_errors: dict[str, list[str]] | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message if message is not None else self.default_message
        self.code = code or self.default_code
        # Field errors keyed by JSON path ("spouses/0/id_card"); "" holds errors of the whole object.
        self.field_errors = field_errors or {}
        # Definition errors: [{"file": ..., "path": ..., "message": ..., "node": ...}, ...]
        self.errors = errors or []
        super().__init__(str(self.message))

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": str(self.message)}
        if self.field_errors:
            body["field_errors"] = {k: [str(m) for m in v] for k, v in self.field_errors.items()}
        if self.errors:
            body["errors"] = [
                {k: (str(v) if k == "message" else v) for k, v in e.items()} for e in self.errors
            ]
        return body


class ValidationFailed(GovflowError):
    default_code = "invalid"
    default_message = _("提交的数据有误，请按提示修改。")
    status = 400


class DefinitionInvalid(ValidationFailed):
    default_code = "definition_invalid"
    default_message = _("定义未通过校验。")


class NotFound(GovflowError):
    default_code = "not_found"
    default_message = _("未找到。")
    status = 404


class OutOfScope(GovflowError):
    """The object is outside the user's areas or roles. Says nothing about whether it exists."""

    default_code = "forbidden"
    default_message = _("您无权访问此内容。")
    status = 403


class Conflict(GovflowError):
    default_code = "conflict"
    default_message = _("该事项已被他人处理，请刷新后重试。")
    status = 409


class PayloadTooLarge(GovflowError):
    default_code = "too_large"
    default_message = _("提交的内容过大。")
    status = 413


class ServiceUnavailable(GovflowError):
    default_code = "unavailable"
    default_message = _("服务暂时不可用，请稍后重试。您填写的内容尚未保存。")
    status = 503


def from_unrepresentable(exc: BaseException) -> GovflowError | None:
    """Database failures that are not bugs, as clear errors instead of a 500: input the database cannot
    represent (an id beyond 64 bits, a NUL character on PostgreSQL) is the client's mistake (400); a lost
    connection (the database restarting) is temporary (503), and the transaction was rolled back."""
    from django.db import DataError, InterfaceError, OperationalError

    if isinstance(exc, OverflowError | DataError):
        return ValidationFailed(_("请求中的数据超出范围或含有无法保存的字符。"), code="unrepresentable")
    if isinstance(exc, OperationalError | InterfaceError):
        return ServiceUnavailable()
    return None
