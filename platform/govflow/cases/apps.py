from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CasesConfig(AppConfig):
    name = "govflow.cases"
    label = "cases"
    verbose_name = _("案件")

    def ready(self) -> None:
        from viewflow.workflow.signals import flow_finished

        from .services import on_flow_finished

        flow_finished.connect(on_flow_finished, dispatch_uid="govflow.cases.close_case")
