"""Developer and `make demo` settings: SQLite by default, debug on, a fixed local secret."""

from .base import *  # noqa: F403
from .base import env_bool

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = SECRET_KEY or "dev-only-not-secret-govflow"  # noqa: F405
