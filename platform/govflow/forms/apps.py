from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FormsConfig(AppConfig):
    name = "govflow.forms"
    label = "formdefs"
    verbose_name = _("表单")
