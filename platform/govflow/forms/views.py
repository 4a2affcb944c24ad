"""Form pages: the reusable multi-step wizard, the htmx fragment and the designer's preview.

Views check who is asking and call govflow.forms.rendering; the logic lives there.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.files.storage import FileSystemStorage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_POST
from formtools.wizard.forms import ManagementForm
from formtools.wizard.views import SessionWizardView, normalize_name

from govflow.errors import OutOfScope
from govflow.roles.selectors import user_may_design

from . import rendering
from .models import FormVersion
from .selectors import form_version_get
from .services import FormInvalid

# Files uploaded on an earlier step wait here until the wizard finishes (formtools deletes them on reset).
# Outside MEDIA_ROOT, so they are never served.
WIZARD_FILE_STORAGE = FileSystemStorage(
    location=str(
        getattr(settings, "GOVFLOW_WIZARD_UPLOAD_DIR", None)
        or Path(getattr(settings, "VAR_DIR", "var")) / "wizard-uploads"
    )
)


class FormWizard(LoginRequiredMixin, SessionWizardView):
    """A multi-step form driven by the UI schema's `steps` (one step when it has none).

    Subclass it and override the hooks:
    - `get_form_version()`: the FormVersion to fill (default: URL kwargs `key` and optional `version`,
      published versions only);
    - `done_document(document)`: called once with the whole validated document; return the response.
      Uploaded files are in `self.cleaned_files` ({JSON path: UploadedFile}); storing them is yours;
    - `get_form_context()`: variables rules may read besides the form's fields (case variables, `__today__`);
    - `get_initial_document()`: a document to start from (e.g. the data of an earlier task).

    Each step is validated with submission_validate(partial_step=...) and its cleaned document kept in the
    session; the other steps' documents are the rules' context, so a rule on step 2 may read step 1.
    "Back" keeps what was typed on the current step. The end validates the whole document once more and
    returns to the step of the first error if that fails.
    """

    template_name = "forms/wizard.html"
    form_list: Any = [
        ("form", rendering.SchemaForm)
    ]  # placeholder: the real steps come from the form version
    file_storage = WIZARD_FILE_STORAGE
    form_version: FormVersion
    cleaned_files: dict[str, Any]

    # -- hooks -------------------------------------------------------------------------------------------

    def get_form_version(self) -> FormVersion:
        version = self.kwargs.get("version")
        return form_version_get(key=self.kwargs["key"], version=int(version) if version else None)

    def get_form_context(self) -> dict[str, Any]:
        return {}

    def get_initial_document(self) -> dict[str, Any]:
        return {}

    def done_document(self, document: dict[str, Any]) -> HttpResponse:
        raise NotImplementedError("FormWizard subclasses implement done_document(document)")

    # -- formtools plumbing ------------------------------------------------------------------------------

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.form_version = self.get_form_version()
        self.cleaned_files = {}
        # The steps of this version replace the placeholder form_list (formtools caches it per instance).
        self.form_list = OrderedDict(
            (key, rendering.SchemaForm) for key, _title in rendering.wizard_steps(self.form_version)
        )
        return super().dispatch(request, *args, **kwargs)

    def get_prefix(self, request: HttpRequest, *args: Any, **kwargs: Any) -> str:
        version = self.form_version
        return f"{normalize_name(self.__class__.__name__)}_{version.key}_{version.version}"

    def _has_steps(self) -> bool:
        return bool((self.form_version.ui_schema or {}).get("steps"))

    def _documents(self) -> dict[str, dict[str, Any]]:
        documents = self.storage.extra_data.get("documents")
        return documents if isinstance(documents, dict) else {}

    def _step_context(self, step: str) -> dict[str, Any]:
        context = dict(self.get_form_context())
        for key, document in self._documents().items():
            if key != step and isinstance(document, dict):
                context.update(document)
        return context

    def get_form(self, step: str | None = None, data: Any = None, files: Any = None) -> rendering.SchemaForm:
        if step is None:
            step = self.steps.current
        return rendering.build_form(
            self.form_version,
            data=data,
            files=files,
            initial=self.get_initial_document(),
            user=self.request.user,
            step=step if self._has_steps() else None,
            prefix=self.get_form_prefix(step),
            context=self._step_context(step),
        )

    def process_step(self, form: Any) -> Any:
        extra = dict(self.storage.extra_data)
        documents = dict(self._documents())
        documents[self.steps.current] = form.cleaned_document
        extra["documents"] = documents
        self.storage.extra_data = extra
        return super().process_step(form)

    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        goto = self.request.POST.get("wizard_goto_step")
        steps = self.get_form_list()
        if goto and goto in steps:
            management = ManagementForm(self.request.POST, prefix=self.prefix)
            current = management.cleaned_data["current_step"] if management.is_valid() else None
            if current in steps:
                # "Back" keeps what was typed on this step (validated again when the wizard finishes).
                self.storage.set_step_data(current, self.request.POST)
        return super().post(*args, **kwargs)

    def render_done(self, form: Any, **kwargs: Any) -> HttpResponse:
        step_forms: OrderedDict[str, rendering.SchemaForm] = OrderedDict()
        for step in self.get_form_list():
            step_form = self.get_form(
                step=step, data=self.storage.get_step_data(step), files=self.storage.get_step_files(step)
            )
            if not step_form.is_valid():
                return self.render_revalidation_failure(step, step_form, **kwargs)
            step_forms[step] = step_form
        try:
            document, files = rendering.wizard_document(
                self.form_version, step_forms, user=self.request.user, context=self.get_form_context()
            )
        except FormInvalid as exc:
            paths = list(exc.field_errors)
            steps_with_errors = [rendering.step_of_path(self.form_version, p) for p in paths]
            failing = next(
                (s for s in steps_with_errors if s is not None and s in step_forms), next(iter(step_forms))
            )
            step_form = step_forms[failing]
            mine = {
                p: m
                for p, m in exc.field_errors.items()
                if rendering.step_of_path(self.form_version, p) in (failing, None)
            }
            step_form.attach_errors(mine)
            return self.render_revalidation_failure(failing, step_form, **kwargs)
        self.cleaned_files = files
        response = self.done_document(document)
        self.storage.reset()
        return response

    def done(self, form_list: Any, **kwargs: Any) -> HttpResponse:
        # render_done above validates the whole document and calls done_document instead.
        document: dict[str, Any] = {}
        for form in form_list:
            document.update(form.cleaned_document or {})
        return self.done_document(document)

    def get_context_data(self, form: Any, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(form=form, **kwargs)
        version = self.form_version
        context["form_version"] = version
        context["form_title"] = rendering.localized({"zh": version.title_zh, "en": version.title_en})
        context["progress"] = rendering.wizard_progress(version, self.steps.current)
        return context


@login_required
@require_POST
def fragment(request: HttpRequest, key: str, version: int) -> HttpResponse:
    """htmx: the form re-rendered after a change, so visibility and computed values follow the input."""
    found = rendering.form_version_for_user(key=key, version=version, user=request.user)
    html = rendering.render_fragment(
        found,
        data=request.POST,
        user=request.user,
        step=request.GET.get("step") or None,
        prefix=request.GET.get("prefix") or None,
    )
    return HttpResponse(html)


@login_required
def preview(request: HttpRequest, key: str, version: int) -> HttpResponse:
    """Designers only: a draft or published version rendered, with sample data and the validator's answer."""
    if not user_may_design(user=request.user):
        raise OutOfScope()
    found = form_version_get(key=key, version=version, published_only=False)
    post = request.POST if request.method == "POST" else None
    context = rendering.preview_context(found, user=request.user, post=post, files=request.FILES or None)
    return render(request, "forms/preview.html", context)
