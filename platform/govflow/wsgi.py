"""WSGI entry point: `gunicorn govflow.wsgi` (with platform/ on the path or the package installed)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "govflow.settings.prod")
application = get_wsgi_application()
