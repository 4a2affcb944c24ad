from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "govflow.audit"
    label = "audit"
    verbose_name = _("审计")

    def ready(self) -> None:
        # Django announces logins only through these signals; the receivers just call the audit services.
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from .receivers import on_login, on_login_failed

        user_logged_in.connect(on_login, dispatch_uid="govflow.audit.login")
        user_login_failed.connect(on_login_failed, dispatch_uid="govflow.audit.login_failed")
