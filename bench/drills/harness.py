"""What every failure drill needs: private services on 127.0.0.1, the project's processes pointed at
them, and a report of what was provoked and counted.

A drill never touches the machine's own PostgreSQL (5432) or Redis (6379): it starts

- its own Redis (``redis-server --port <free> --save "" --appendonly no``), which it may stop and start;
- its own PostgreSQL cluster in a temporary folder (``initdb``, ``pg_ctl -o "-p <free> -k <folder>"``),
  which it may restart; as root both run as the ``postgres`` user;
- the SMTP sink of the tests (:mod:`tests.support.smtp`), counting what arrives by
  ``X-Portal-Message-Id`` (the outbox row) and ``Message-ID``;
- Celery workers, beat and a gunicorn web server as subprocesses, with ``DATABASE_URL``, ``REDIS_URL``
  and ``EMAIL_URL`` pointed at the above (``config.settings.base``, ``DEBUG`` off).

The drill's own process runs Django on the same settings (:func:`setup_django`), to write the data it
needs and to count what happened. Everything is bounded: :class:`Drill` arms an alarm at the drill's
time limit, and every wait has a timeout. Everything started is stopped at the end, by its own pid.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from tests.support.smtp import SmtpSink  # noqa: E402  (needs the project root on sys.path)

HOST = "127.0.0.1"
BIN = Path(sys.executable).parent


class DrillTimeout(Exception):
    """The drill ran past its time limit."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_until(condition: Callable[[], object], *, timeout: float, interval: float = 0.1, what: str = "") -> object:
    """``condition()``'s first true value, or None when ``timeout`` seconds passed without one."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            if what:
                log(f"  … gave up waiting for {what} after {timeout:.0f} s")
            return None
        time.sleep(interval)


_started = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _started:6.1f}s] {message}", flush=True)


# --- processes --------------------------------------------------------------------------------


class Process:
    """A subprocess in its own session (so it and its children can be signalled together), its
    output in a log file."""

    def __init__(self, name: str, command: list[str], *, env: dict[str, str], log_path: Path,
                 user: str | None = None) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = log_path
        self.user = user
        self.popen: subprocess.Popen | None = None

    def start(self) -> Process:
        command = self.command
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        with self.log_path.open("ab") as out:
            self.popen = subprocess.Popen(command, cwd=PROJECT_ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen else None

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, pattern: str, timeout: float = 30.0) -> None:
        regex = re.compile(pattern)
        if not wait_until(lambda: regex.search(self.log()) or not self.running(), timeout=timeout) \
                or not self.running():
            raise RuntimeError(f"{self.name} did not log /{pattern}/ within {timeout}s:\n{self.log()[-4000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the process and everything it started (its session's process group)."""
        if self.running():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        if not self.running():
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signal.SIGTERM)  # the main process: a worker's warm shutdown
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)
            self.popen.wait(timeout=10)


class Redis:
    """A private redis-server on a free port of 127.0.0.1, without persistence."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: Process | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://{HOST}:{self.port}/{db}"

    def start(self) -> Redis:
        binary = shutil.which("redis-server")
        if not binary:
            raise SystemExit("redis-server is not installed (apt-get install redis-server)")
        self.process = Process("redis", [binary, "--port", str(self.port), "--bind", HOST, "--save", "",
                                         "--appendonly", "no", "--daemonize", "no", "--dir", str(self.workdir)],
                               env=dict(os.environ), log_path=self.workdir / "redis.log").start()
        if not wait_until(self._answers, timeout=10):
            raise RuntimeError(f"redis-server did not start:\n{self.process.log()}")
        return self

    def _answers(self) -> bool:
        try:
            with socket.create_connection((HOST, self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        """Shut the server down (SIGTERM); everything in it is gone, as after a crash without persistence."""
        if self.process:
            self.process.stop()
            wait_until(lambda: not self._answers(), timeout=5)


class Postgres:
    """A throwaway PostgreSQL cluster in ``workdir``, listening on a free port of 127.0.0.1 only."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.datadir = workdir / "pgdata"
        self.logfile = workdir / "postgres.log"
        self.workdir = workdir
        self.bindir = self._bindir()
        self.user = "postgres" if os.geteuid() == 0 else None

    @staticmethod
    def _bindir() -> Path:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
        if candidates:
            return candidates[0].parent
        initdb = shutil.which("initdb")
        if initdb:
            return Path(initdb).parent
        raise SystemExit("PostgreSQL's server binaries (initdb, pg_ctl) are not installed")

    def _run(self, *command: str, timeout: float = 60) -> None:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        result = subprocess.run([*prefix, *command], cwd="/", capture_output=True, text=True, timeout=timeout)
        if result.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}\n"
                               f"{self.logfile.read_text() if self.logfile.exists() else ''}")

    def url(self, name: str = "portal") -> str:
        return f"postgres://postgres@{HOST}:{self.port}/{name}"

    def init(self) -> Postgres:
        self.datadir.mkdir(mode=0o700)
        if self.user:
            shutil.chown(self.workdir, self.user)
            shutil.chown(self.datadir, self.user)
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8", "--locale=C")
        return self

    def _options(self) -> str:
        return (f"-p {self.port} -k {self.workdir} -c listen_addresses={HOST} -c max_connections=60 "
                "-c shared_buffers=64MB")

    def start(self) -> Postgres:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-o",
                  self._options(), "-w", "-t", "60", "start")
        return self

    def restart(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended and their open transactions rolled back, as in a planned restart;
        ``immediate``: a crash and recovery."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile), "-o",
                  self._options(), "-m", mode, "-w", "-t", "60", "restart")

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "-w", "stop")

    def create_database(self, name: str) -> None:
        self._run(str(self.bindir / "psql"), "-h", str(self.workdir), "-p", str(self.port), "-U", "postgres",
                  "-d", "postgres", "-c", f'CREATE DATABASE "{name}"')


# --- the drill --------------------------------------------------------------------------------


class Drill:
    """One drill run: a temporary folder, the services, the processes; all stopped at the end.

    ``with Drill("worker-kill", limit=180) as drill:`` arms an alarm that raises :class:`DrillTimeout`
    after ``limit`` seconds, so a drill never runs on unbounded.
    """

    def __init__(self, name: str, *, limit: float, keep: bool = False) -> None:
        self.name = name
        self.limit = limit
        self.keep = keep
        self.workdir = Path(tempfile.mkdtemp(prefix=f"drill-{name}-"))
        self.processes: list[Process] = []
        self.redis: Redis | None = None
        self.postgres: Postgres | None = None
        self.sink: SmtpSink | None = None
        self.queue = f"drill-{name}"
        self.extra_env: dict[str, str] = {}
        self.figures: dict[str, object] = {}

    def remaining(self, margin: float = 20.0) -> float:
        """Seconds left before the limit, less ``margin`` for counting and stopping."""
        return max(0.0, self.limit - (time.monotonic() - self.started) - margin)

    # -- lifecycle
    def __enter__(self) -> Drill:
        def on_alarm(signum, frame):
            raise DrillTimeout(f"the drill ran past its limit of {self.limit:.0f} s")

        signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(int(self.limit))
        self.started = time.monotonic()
        log(f"drill {self.name}: working in {self.workdir} (limit {self.limit:.0f} s)")
        return self

    def __exit__(self, *exc_info) -> None:
        signal.alarm(0)
        for process in reversed(self.processes):
            with contextlib.suppress(Exception):
                process.stop(timeout=10)
        if self.sink:
            with contextlib.suppress(Exception):
                self.sink.stop()
        if self.redis:
            with contextlib.suppress(Exception):
                self.redis.stop()
        if self.postgres:
            with contextlib.suppress(Exception):
                self.postgres.stop()
        if exc_info[0] is not None:
            log(f"logs kept in {self.workdir}")
        elif not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def start_services(self, *, smtp: bool = True) -> None:
        self.redis = Redis(self.workdir).start()
        log(f"private Redis on {HOST}:{self.redis.port}")
        self.postgres = Postgres(self.workdir).init().start()
        self.postgres.create_database("portal")
        log(f"private PostgreSQL cluster on {HOST}:{self.postgres.port} ({self.postgres.datadir})")
        if smtp:
            self.sink = SmtpSink().start()
            log(f"SMTP sink on {HOST}:{self.sink.port}")

    # -- the project's processes
    @property
    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items()
               if key not in {"CACHE_URL", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "CELERY_QUEUE"}}
        env.update({
            "DJANGO_SETTINGS_MODULE": "config.settings.base",
            "DEBUG": "0",
            "DATABASE_URL": self.postgres.url(),
            "REDIS_URL": self.redis.url(0),
            "CELERY_QUEUE": self.queue,
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO",
            "SITE_URL": "http://127.0.0.1",
        })
        if self.sink:
            env["EMAIL_URL"] = self.sink.url
        env.update(self.extra_env)
        return env

    def _process(self, name: str, command: list[str]) -> Process:
        process = Process(name, command, env=self.env, log_path=self.workdir / f"{name}.log")
        self.processes.append(process)
        return process

    def worker(self, name: str, *, concurrency: int = 2, pool: str = "prefork") -> Process:
        """A Celery worker like production's (prefork), on the drill's queue; waits until it is ready."""
        process = self._process(name, [
            str(BIN / "celery"), "-A", "config", "worker", f"--pool={pool}", f"--concurrency={concurrency}",
            "-Q", self.queue, "-n", f"{name}@%h", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        ]).start()
        process.wait_for_log(rf"{re.escape(name)}@\S+ ready\.", timeout=60)
        log(f"worker {name} ready (pid {process.pid}, {pool} pool, concurrency {concurrency})")
        return process

    def beat(self, name: str = "beat") -> Process:
        process = self._process(name, [
            str(BIN / "celery"), "-A", "config", "beat", "--loglevel=INFO",
            "-s", str(self.workdir / f"{name}-schedule"), "--pidfile=",
        ]).start()
        process.wait_for_log(r"beat: Starting", timeout=60)
        log(f"{name} started (pid {process.pid})")
        return process

    def web(self, name: str = "web", *, workers: int = 2, threads: int = 4) -> tuple[Process, str]:
        port = free_port()
        process = self._process(name, [
            str(BIN / "gunicorn"), "config.wsgi:application", "-b", f"{HOST}:{port}", "--workers", str(workers),
            "--threads", str(threads), "--timeout", "60", "--graceful-timeout", "5",
        ]).start()
        process.wait_for_log(r"Booting worker", timeout=60)
        base = f"http://{HOST}:{port}"
        import httpx

        if not wait_until(lambda: _answers_http(httpx, base), timeout=60):
            raise RuntimeError(f"the web server did not answer:\n{process.log()[-4000:]}")
        log(f"web server on {base} (gunicorn, {workers} workers × {threads} threads)")
        return process, base

    # -- reporting
    def report(self, **figures) -> None:
        self.figures.update(figures)


def _answers_http(httpx, base: str) -> bool:
    try:
        return httpx.get(f"{base}/home/", timeout=5, follow_redirects=False).status_code < 500
    except httpx.HTTPError:
        return False


def setup_django(drill: Drill, *, migrate: bool = True) -> None:
    """Run Django in this process on the drill's services, and create the schema."""
    os.environ.update(drill.env)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        started = time.monotonic()
        call_command("migrate", verbosity=0, interactive=False)
        log(f"schema migrated in {time.monotonic() - started:.1f} s")


def arguments(description: str, **defaults) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON on the last line")
    parser.add_argument("--keep", action="store_true", help="keep the drill's folder (logs, database) afterwards")
    parser.add_argument("--limit", type=float, default=defaults.pop("limit", 180.0),
                        help="stop the drill after this many seconds")
    return parser


def print_figures(drill: Drill, *, as_json: bool, ok: bool) -> None:
    print()
    print(f"== drill {drill.name}: {'PASSED' if ok else 'FAILED'}")
    for key, value in drill.figures.items():
        print(f"   {key}: {value}")
    if as_json:
        print(json.dumps({"drill": drill.name, "ok": ok, **drill.figures}, default=str))


# --- counting mail ----------------------------------------------------------------------------


def copies_by_outbox_id(sink: SmtpSink, received=None) -> collections.Counter:
    """How many copies of each outbox message the sink received (by ``X-Portal-Message-Id``)."""
    received = sink.received if received is None else received
    return collections.Counter(str(mail.message["X-Portal-Message-Id"]) for mail in received)


def mail_figures(sink: SmtpSink, expected_ids: set[str]) -> dict[str, int]:
    """sent (distinct messages received), duplicated (extra copies), lost (expected, never received),
    unexpected (received, not expected), and distinct Message-ID headers."""
    received = sink.received  # one snapshot: mail may still be arriving
    copies = copies_by_outbox_id(sink, received)
    return {
        "expected": len(expected_ids),
        "received_copies": len(received),
        "sent": len(set(copies) & expected_ids),
        "duplicated": sum(count - 1 for count in copies.values() if count > 1),
        "lost": len(expected_ids - set(copies)),
        "unexpected": len(set(copies) - expected_ids),
        "distinct_message_id_headers": len({str(mail.message["Message-ID"]) for mail in received}),
    }


# --- data -------------------------------------------------------------------------------------


def tenant_with_admin(slug: str = "drill", *, password: str | None = None):
    """A tenant, a platform-staff account that is its global administrator, and that account's actor."""
    from allauth.account.models import EmailAddress

    from directory.actors import Actor
    from directory.models import Account, Role, RoleAssignment, Tenant, User

    tenant = Tenant.objects.create(name=f"{slug.title()} Traders", slug=slug, initial_domain=f"{slug}.example")
    account = Account.objects.create_user(f"admin@{tenant.initial_domain}", password, is_staff=True)
    EmailAddress.objects.create(user=account, email=account.email, verified=True, primary=True)
    admin = User.objects.create(tenant=tenant, account=account, display_name="Drill Admin",
                                user_principal_name=account.email, mail=account.email)
    RoleAssignment.objects.create(tenant=tenant, user=admin, role=Role.GLOBAL_ADMINISTRATOR)
    return tenant, account, Actor.for_account(account, tenant)


def bulk_csv(rows: int, *, prefix: str = "guest", domain: str = "partner.example", mail_every: int = 1) -> str:
    """A bulk invitation file; every ``mail_every``-th row asks for the invitation e-mail."""
    lines = ["email,display name,send message"]
    lines += [f"{prefix}{i}@{domain},Guest {i},{'true' if i % mail_every == 0 else 'false'}" for i in range(rows)]
    return "\r\n".join(lines) + "\r\n"
