from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DesignerConfig(AppConfig):
    name = "govflow.designer"
    label = "designer"
    verbose_name = _("设计器")
