"""Benchmark settings: like production (no debug), on its own database so figures never touch demo data.

BENCH_DATABASE_URL (or DATABASE_URL) names it; by default a SQLite file var/bench.sqlite3. The benchmark
runner migrates it and builds its own data.
"""

import os

import dj_database_url

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = "bench-only-not-secret"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL")
if _url:
    # Persistent connections as in production (base settings): a page must not pay for a new connection.
    DATABASES = {"default": dj_database_url.parse(_url, conn_max_age=60)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # noqa: F405
    DATABASES = {"default": dj_database_url.parse(f"sqlite:///{VAR_DIR / 'bench.sqlite3'}")}  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "bench"]  # noqa: F405  (bench.flows holds the hand-written baseline flow)
