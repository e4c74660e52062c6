"""What the benchmarks share: Django set up on a chosen code tree, a live server, timing and ratios.

Every figure is reported beside a baseline measured on the same server in the same run
(GET /v1.0/organization, the cheapest authenticated Graph call), so that the ratios, not the
milliseconds, are what compares between machines.
"""

import http.client
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django(code: Path) -> None:
    """Import Django from ``code`` (this checkout by default; another tree to measure older code)."""
    code = Path(code).resolve()
    sys.path.insert(0, str(code))
    # Celery puts the working directory first on sys.path when it loads: run from the measured tree, or
    # the modules imported after that would come from wherever the script was started.
    os.chdir(code)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("API_RATE_LIMIT", "1000000/10s")  # the benchmark is not throttled
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("The benchmarks run on PostgreSQL: set DATABASE_URL=postgres://…")


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn (sync workers) on 127.0.0.1 serving ``code`` with this process's environment."""

    def __init__(self, code: Path, workers: int = 2, extra_env: dict | None = None, log: Path | None = None):
        self.code = code
        self.workers = workers
        self.port = free_port()
        self.env = {**os.environ, **(extra_env or {}), "DB_CONN_MAX_AGE": "600"}
        self.log = log or Path(f"/tmp/bench-server-{self.port}.log")
        self.process: subprocess.Popen | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> "Server":
        gunicorn = Path(sys.executable).parent / "gunicorn"
        command = [str(gunicorn), "config.wsgi", "--bind", self.host, "--workers", str(self.workers),
                   "--worker-class", "sync", "--log-level", "warning", "--timeout", "120"]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=self.code, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.log.read_text()}")
            try:
                status, _ = request(self.host, "GET", "/.well-known/openid-configuration")
                if status < 500:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within 60 s:\n{self.log.read_text()}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        """gunicorn's worker processes (the master's children)."""
        children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        return [int(pid) for pid in children]


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU time the processes have used so far (Linux /proc; a gone process counts 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / _TICKS


def database_backend_pids() -> list[int]:
    """PostgreSQL's server processes for the other connections to this database (the server's
    workers keep theirs open: DB_CONN_MAX_AGE). Readable in /proc when PostgreSQL runs on this machine."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return [pid for pid in pids if Path(f"/proc/{pid}/stat").exists()]


def request(host: str, method: str, path: str, *, headers: dict | None = None, body: bytes | None = None,
            timeout: float = 60) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(host, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def client_credentials_token(host: str, client_id: str, secret: str) -> str:
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                   "client_secret": secret, "scope": ".default"}).encode()
    status, data = request(host, "POST", "/identity/o/api/token", body=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise RuntimeError(f"token endpoint answered {status}: {data[:300]!r}")
    return json.loads(data)["access_token"]


def app_credentials(tenant, permissions: list[str], name: str) -> tuple[str, str]:
    """A new app registration of ``tenant`` with these application permissions: (client_id, secret)."""
    from directory import services
    from directory.actors import Actor

    _registration, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name=name, application_permissions=permissions)
    return client_id, secret


def bench_tenant(slug: str, name: str):
    from directory import services
    from directory.actors import Actor
    from directory.models import Tenant

    tenant = Tenant.objects.filter(slug=slug).first()
    if tenant is None:
        tenant = services.tenant_create(actor=Actor.operator(), name=name, slug=slug,
                                        initial_domain=f"{slug}.bench.example")
    return tenant


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def time_calls(host: str, method: str, path_for, *, count: int, warmup: int = 10, headers: dict | None = None,
               body_for=None, expect=(200,)) -> dict:
    """``count`` sequential requests (after ``warmup``); ``path_for(i)`` gives the i-th path. Returns
    p50/p95 in milliseconds, or the status that was not expected."""
    samples = []
    for i in range(warmup + count):
        body = body_for(i) if body_for else None
        start = time.perf_counter()
        status, data = request(host, method, path_for(i), headers=headers, body=body)
        elapsed = (time.perf_counter() - start) * 1000
        if status not in expect:
            return {"status": status, "error": data[:300].decode(errors="replace")}
        if i >= warmup:
            samples.append(elapsed)
    return {"p50": statistics.median(samples), "p95": percentile(samples, 95), "n": len(samples)}


def time_against_baseline(host: str, path_for, baseline_path: str, *, count: int, warmup: int = 5,
                          headers: dict | None = None, expect=(200,)) -> tuple[dict, dict]:
    """The call and the baseline alternately, request by request, so that both see the same load on a
    shared machine: (call, baseline) timings as ``time_calls`` gives them."""
    call, base = [], []
    for i in range(warmup + count):
        for path, samples in ((path_for(i), call), (baseline_path, base)):
            start = time.perf_counter()
            status, data = request(host, "GET", path, headers=headers)
            elapsed = (time.perf_counter() - start) * 1000
            if status not in expect:
                failed = {"status": status, "error": data[:300].decode(errors="replace")}
                return failed, failed
            if i >= warmup:
                samples.append(elapsed)

    def summary(samples):
        return {"p50": statistics.median(samples), "p95": percentile(samples, 95), "n": len(samples)}

    return summary(call), summary(base)


def ratio_line(label: str, result: dict, baseline: dict, goal: float | None = None) -> str:
    if "p50" not in result:
        return f"{label:<44} n/a (HTTP {result['status']}: {result['error'][:80]})"
    ratio = result["p50"] / baseline["p50"]
    verdict = "" if goal is None else (f"  goal ≤ {goal}× {'met' if ratio <= goal else 'MISSED'}")
    return (f"{label:<44} p50 {result['p50']:8.1f} ms  p95 {result['p95']:8.1f} ms  "
            f"{ratio:6.2f}× baseline{verdict}")


def _serve_sink(port: int, count, ready) -> None:
    """The SMTP sink's process: tests/support/smtp.py's server, counting what it receives."""
    sys.path.insert(0, str(ROOT))
    from tests.support.smtp import SmtpSink

    sink = SmtpSink(port=port)

    def record(_mail) -> None:
        with count.get_lock():
            count.value += 1

    sink._record = record
    sink.start()
    ready.set()
    while True:
        time.sleep(3600)


class SinkProcess:
    """The SMTP sink (a real aiosmtpd server receiving every message) in a process of its own, so that its
    work shares the cores as the server's and the worker's do, but not the clients' interpreter lock: in
    this process it slowed the clients' requests during the invitation runs only, never the baseline's."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.port = free_port()
        self.count = context.Value("i", 0)
        ready = context.Event()
        self.process = context.Process(target=_serve_sink, args=(self.port, self.count, ready), daemon=True)
        self.process.start()
        if not ready.wait(30):
            sys.exit("the SMTP sink did not start")

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    @property
    def received(self) -> int:
        return self.count.value

    def clear(self) -> None:
        with self.count.get_lock():
            self.count.value = 0

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count.value < count and time.monotonic() < deadline:
            time.sleep(0.002)

    def stop(self) -> None:
        self.process.kill()
        self.process.join(5)


def seed_users(tenant, n: int, with_each_batch, batch: int = 5000) -> None:
    """``n`` users of ``tenant`` (u0@…, a third with German as their language), made ``batch`` at a time in one
    transaction; ``with_each_batch(users, start)`` adds what each batch needs. ANALYZE afterwards."""
    from django.db import connection, transaction

    from directory.models import User

    with transaction.atomic():
        for start in range(0, n, batch):
            users = User.objects.bulk_create(
                User(tenant=tenant, user_principal_name=f"u{i}@{tenant.initial_domain}",
                     mail=f"u{i}@{tenant.initial_domain}", display_name=f"User {i}",
                     preferred_language="de" if i % 3 == 0 else "")
                for i in range(start, min(n, start + batch)))
            with_each_batch(users, start)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
