"""Guards for the repository layout that in-process tests cannot see."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_platform_dir_has_no_init_when_checked():
    # platform/__init__.py would shadow the standard library module `platform`.
    assert not (REPO / "platform" / "__init__.py").exists()


def test_manage_check_passes_when_run_in_subprocess():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # The stdlib module must still be the real one inside Django's process.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'platform'); import platform; print(platform.system())",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.returncode == 0 and probe.stdout.strip(), probe.stderr


def test_prod_settings_pass_deploy_check_when_secret_set():
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "govflow.settings.prod",
        "DJANGO_SECRET_KEY": "x" * 60 + "-a-long-random-secret-for-the-deploy-check",
        "DATABASE_URL": "sqlite:////tmp/govflow-deploy-check.sqlite3",
        "DJANGO_ALLOWED_HOSTS": "govflow.example.gov.cn",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
