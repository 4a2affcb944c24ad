"""Developer and `make demo` settings: SQLite by default, debug on, a fixed local secret."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = SECRET_KEY or "dev-only-not-secret-govflow"  # noqa: F405

# The demo keeps its database, uploads and static files in var/; make sure it exists.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
MEDIA_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = True
