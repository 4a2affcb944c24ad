"""Benchmark settings: like production (no debug, no query logging), on the database DATABASE_URL names."""

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "bench-only-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
