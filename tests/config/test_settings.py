"""Defaults of the settings, read the way a fresh process reads them (settings are read at import)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings.base import _conn_max_age

ROOT = Path(__file__).resolve().parents[2]


def settings_in_fresh_process(expression: str, **environ: str):
    env = {k: v for k, v in os.environ.items() if k not in {"DB_CONN_MAX_AGE", "DATABASE_URL", "TRUSTED_PROXIES",
                                                               "DB_PREPARED_STATEMENTS", "DB_PREPARE_THRESHOLD"}}
    env.update(environ, DJANGO_SETTINGS_MODULE="config.settings.base")
    code = f"import json, django; from django.conf import settings; django.setup(); print(json.dumps({expression}))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_postgresql_connections_close_after_each_request_by_default():
    conn_max_age = settings_in_fresh_process('settings.DATABASES["default"]["CONN_MAX_AGE"]',
                                             DATABASE_URL="postgres://portal@127.0.0.1:5432/portal")
    assert conn_max_age == 0


def test_the_development_server_never_keeps_connections_even_when_asked_to():
    assert _conn_max_age("60", ["manage.py", "runserver"]) == 0
    assert _conn_max_age("60", ["gunicorn", "config.wsgi"]) == 60
    assert _conn_max_age("", ["manage.py", "migrate"]) == 0


def test_trusted_proxies_are_empty_by_default():
    assert settings_in_fresh_process("settings.TRUSTED_PROXIES") == []


def test_a_malformed_trusted_proxy_stops_the_start():
    with pytest.raises(subprocess.CalledProcessError) as failed:
        settings_in_fresh_process("settings.TRUSTED_PROXIES", TRUSTED_PROXIES="10.0.0.0/8,proxy.example")
    assert "TRUSTED_PROXIES" in failed.value.stderr


def test_postgresql_statements_are_bound_on_the_server_and_prepared_after_five_runs_by_default():
    options = settings_in_fresh_process('settings.DATABASES["default"].get("OPTIONS", {})',
                                        DATABASE_URL="postgres://portal@127.0.0.1:5432/portal")
    assert options == {"server_side_binding": True, "prepare_threshold": 5}


def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler():
    options = settings_in_fresh_process('settings.DATABASES["default"].get("OPTIONS", {})',
                                        DATABASE_URL="postgres://portal@127.0.0.1:5432/portal",
                                        DB_PREPARED_STATEMENTS="false")
    assert options == {}


def test_sqlite_gets_no_postgresql_options():
    options = settings_in_fresh_process('settings.DATABASES["default"].get("OPTIONS", {})',
                                        DATABASE_URL="sqlite:///:memory:")
    assert "server_side_binding" not in options and "prepare_threshold" not in options
