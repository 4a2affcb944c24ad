"""Form pages, mounted at the site root: /forms/preview/<key>/<version>/ and the htmx fragment."""

from django.urls import path

from . import views

app_name = "forms"

urlpatterns = [
    path("forms/preview/<slug:key>/<int:version>/", views.preview, name="preview"),
    path("forms/fragment/<slug:key>/<int:version>/", views.fragment, name="fragment"),
]
