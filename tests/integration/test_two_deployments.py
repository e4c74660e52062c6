"""Done when of issue 15's federation between deployments: two deployments on this machine (two gunicorn
processes, two PostgreSQL databases, two ports), driven by Chromium.

Deployment A hosts Proseware (members ann, bob, carl; "members require MFA"); deployment B hosts Tailwind
Traders, which registered A as a partner deployment identity provider for proseware.example, trusts
Proseware's MFA (inbound trust) and requires MFA of its guests.

- ann redeems a Tailwind invitation on B by signing in at A (password + authenticator app there): A's
  ID token says ``amr`` "mfa" for Proseware's ``tid``, so B's "guests require MFA" is met without asking;
- with B's trust switched off, bob signs in at A the same way and B asks him for MFA itself;
- Proseware's outbound settings block carl toward Tailwind: A refuses with a page that says why, and B
  shows the same reason (OAuth ``access_denied``).

Runs on PostgreSQL only (DATABASE_URL): the databases are ``<name>_a`` and ``<name>_b``, made from a
migrated template kept between runs (``<name>_tpl_<hash of the migrations>``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Proseware-federation-2026!"
STARTUP_SECONDS = 60


def _database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("two deployments need PostgreSQL: set DATABASE_URL")
    return url


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _admin(url: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def _database_exists(url: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _migrations_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(ROOT.glob("*/migrations/*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _env(database_url: str, site_url: str, name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "EMAIL_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings.base", "DATABASE_URL": database_url, "SITE_URL": site_url,
        "DEBUG": "1", "SECRET_KEY": f"two-deployments-{name}-" + "k" * 40, "OIDC_PRIVATE_KEY": _private_key(),
        "SESSION_COOKIE_NAME": f"session_{name}", "CSRF_COOKIE_NAME": f"csrf_{name}",
        "FEDERATION_HTTP_TIMEOUT": "5", "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
    })
    return env


def _run(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(args[:3])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def _seed(env: dict, step: str, payload: dict) -> dict:
    out = _run(env, "-m", "tests.integration.two_deployments_seed", step, json.dumps(payload))
    return json.loads(out.strip().splitlines()[-1])


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server for {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/.well-known/openid-configuration", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not start within {STARTUP_SECONDS} s")


@pytest.fixture(scope="module")
def deployments(tmp_path_factory):
    base_url = _database_url()
    base_name = urlsplit(base_url).path.lstrip("/") or "portal"
    template = f"{base_name}_tpl_{_migrations_hash()}"
    db_a, db_b = f"{base_name}_a", f"{base_name}_b"
    if not _database_exists(base_url, template):
        _admin(base_url, f'CREATE DATABASE "{template}"')
        try:
            _run(_env(_with_db(base_url, template), "http://127.0.0.1", "tpl"), "manage.py", "migrate", "--noinput")
        except BaseException:
            _admin(base_url, f'DROP DATABASE IF EXISTS "{template}"')
            raise
    _admin(base_url, f'DROP DATABASE IF EXISTS "{db_a}" WITH (FORCE)', f'DROP DATABASE IF EXISTS "{db_b}" WITH (FORCE)',
           f'CREATE DATABASE "{db_a}" TEMPLATE "{template}"', f'CREATE DATABASE "{db_b}" TEMPLATE "{template}"')
    port_a, port_b = _free_port(), _free_port()
    url_a, url_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    env_a, env_b = _env(_with_db(base_url, db_a), url_a, "a"), _env(_with_db(base_url, db_b), url_b, "b")
    tailwind_id = "5b0f3c52-6a0e-4f51-9a57-3b6c2f1d7e10"
    seeded_a = _seed(env_a, "a", {"b_url": url_b, "tailwind_id": tailwind_id})
    seeded_b = _seed(env_b, "b", {"a_url": url_a, "tailwind_id": tailwind_id, "proseware_id": seeded_a["proseware_id"],
                                  "client_id": seeded_a["client_id"], "client_secret": seeded_a["client_secret"]})
    logs = tmp_path_factory.mktemp("deployments")
    processes = []
    try:
        for name, env, port in (("a", env_a, port_a), ("b", env_b, port_b)):
            log = open(logs / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
            processes.append((subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1",
                 "--threads", "4", "--timeout", "60"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))
        _wait_until_up(url_a, processes[0][0])
        _wait_until_up(url_b, processes[1][0])
        yield {"a": url_a, "b": url_b, "env_b": env_b, "totp": seeded_a["totp"],
               "invitations": seeded_b["invitations"], "logs": logs}
    finally:
        for process, log in processes:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def _code(key_hex: str) -> str:
    from django_otp.oath import totp

    return f"{totp(bytes.fromhex(key_hex)):06d}"


def _page(new_context):
    page = new_context().new_page()
    page.set_default_timeout(15_000)
    return page


def _trust_mfa(deployments, accepted: bool) -> None:
    _seed(deployments["env_b"], "b-trust", {"mfa_accepted": accepted})


def _sign_in_at_a(page, deployments, email: str) -> None:
    """From B's invitation to A's sign-in page, where the Proseware member signs in with A's password and
    answers A's MFA (Proseware requires it of its members)."""
    page.goto(deployments["invitations"][email])
    page.get_by_role("button", name="Accept invitation").click()
    expect(page).to_have_url(re.compile(re.escape(deployments["a"]) + r"/accounts/login/"))
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    expect(page.get_by_role("heading", name="Verify your identity")).to_be_visible()
    page.get_by_role("textbox", name="Code").fill(_code(deployments["totp"][email]))
    page.get_by_role("button", name="Verify").click()


def test_a_partner_deployments_member_redeems_and_its_mfa_counts_where_trusted(deployments, new_context):
    _trust_mfa(deployments, True)
    page = _page(new_context)
    _sign_in_at_a(page, deployments, "ann@proseware.example")
    # Back on B, signed in as A's member: consent, then the panel without a second MFA (trusted).
    expect(page.get_by_role("heading", name="Review permissions")).to_be_visible()
    assert page.url.startswith(deployments["b"])
    page.get_by_role("button", name="Accept").click()
    expect(page).to_have_url(deployments["b"] + "/t/tailwind/")
    expect(page.get_by_role("heading", name="My apps")).to_be_visible()


def test_without_inbound_trust_the_resource_deployment_asks_for_mfa_itself(deployments, new_context):
    _trust_mfa(deployments, False)
    page = _page(new_context)
    _sign_in_at_a(page, deployments, "bob@proseware.example")
    expect(page.get_by_role("heading", name="Review permissions")).to_be_visible()
    page.get_by_role("button", name="Accept").click()
    # A's MFA does not count on B: B has bob register its own authenticator app.
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    assert page.url.startswith(deployments["b"] + "/t/tailwind/")


def test_the_home_deployments_outbound_block_refuses_and_the_resource_deployment_shows_why(deployments,
                                                                                           new_context):
    page = _page(new_context)
    _sign_in_at_a(page, deployments, "carl@proseware.example")
    reason = "Your organization does not allow you to collaborate with Tailwind Traders"
    expect(page.get_by_role("heading", name="You cannot sign in there")).to_be_visible()
    expect(page.locator(".federation-reason")).to_contain_text(reason)
    page.get_by_role("link", name="Return to Tailwind Traders").click()
    expect(page.get_by_role("heading", name="Your sign-in was refused")).to_be_visible()
    assert page.url.startswith(deployments["b"] + "/t/tailwind/federation/callback/")
    expect(page.locator(".federation-reason")).to_contain_text(reason)
