from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RolesConfig(AppConfig):
    name = "govflow.roles"
    label = "roles"
    verbose_name = _("区划与角色")
