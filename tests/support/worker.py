"""A real Celery worker for integration tests, as a subprocess on Redis and the test database.

``celery_worker_process`` starts ``celery -A config worker --pool=solo`` on a queue of its own, with
``DATABASE_URL`` pointing at pytest-django's test database and ``EMAIL_URL`` at the ``smtp_sink``.
While it runs, the test process publishes to that queue too (not eagerly), so a task published by the
code under test (for example on commit) reaches this worker and no other.

Tests need committed data: the fixture requests ``transactional_db`` (mark the tests
``@pytest.mark.django_db(transaction=True)`` as well, to say so). It skips unless ``REDIS_URL`` is set
and the database is PostgreSQL. Override the ``celery_worker_env`` fixture to add settings for the
worker (for example ``{"OUTBOX_RETRY_BASE_SECONDS": "0"}``).

``worker.wait_for_task(task.delay())`` waits until the worker has run a task (read from its log) and
returns the logged return value; when a test fails, the worker's log is shown with the failure.
"""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
_WORKER_KEY = pytest.StashKey["CeleryWorkerProcess"]()


def _database_url(settings_dict: dict) -> str:
    """A ``DATABASE_URL`` (as dj-database-url reads it) for a PostgreSQL settings dict."""
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(str(settings_dict.get("PASSWORD") or ""), safe="")
    host = quote(settings_dict.get("HOST") or "", safe="")
    port = settings_dict.get("PORT") or ""
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    netloc = f"{credentials}{host}" + (f":{port}" if port else "")
    query = {k: v for k, v in (settings_dict.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
    url = f"postgres://{netloc}/{quote(settings_dict['NAME'], safe='')}"
    return f"{url}?{urlencode(query)}" if query else url


def _celery_command() -> list[str]:
    script = Path(sys.executable).parent / "celery"
    return [str(script)] if script.exists() else [sys.executable, "-m", "celery"]


class CeleryWorkerProcess:
    """A running ``celery worker`` subprocess; its log is kept in a file."""

    def __init__(self, *, queue: str, env: dict[str, str], log_path: Path) -> None:
        self.queue = queue
        self.hostname = f"{queue}@%h"
        self.env = env
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [
            *_celery_command(), "-A", "config", "worker", "--pool=solo", "-Q", self.queue, "-n", self.hostname,
            "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Celery worker exited with {self.process.returncode}:\n{self.log()}")
            if re.search(rf"{re.escape(self.queue)}@\S+ ready\.", self.log()):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the Celery worker was not ready within {READY_TIMEOUT}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)  # warm shutdown: finishes the current task
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_task(self, task, timeout: float = 15.0) -> str:
        """Wait until the worker logged that the task (an AsyncResult or an id) finished.

        Returns the logged return value; fails the test when the task raised or did not finish.
        """
        task_id = getattr(task, "id", task)
        done = re.compile(rf"\[{re.escape(str(task_id))}\] succeeded in [0-9.e-]+s: (.*)")
        failed = re.compile(rf"\[{re.escape(str(task_id))}\] (raised|retry|INTERNAL ERROR)")
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if match := done.search(log):
                return match.group(1).strip()
            if failed.search(log):
                raise AssertionError(f"task {task_id} failed in the worker:\n{log}")
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the worker exited before task {task_id} finished:\n{log}")
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} did not finish within {timeout}s:\n{log}")
            time.sleep(0.05)


class _PublishTo:
    """Points the test process's Celery app at the worker's broker and queue; restores it after."""

    KEYS = ("task_always_eager", "broker_url", "task_default_queue")

    def __init__(self, app, *, broker_url: str, queue: str) -> None:
        self.app = app
        self.saved = {key: app.conf[key] for key in self.KEYS}
        self.new = {"task_always_eager": False, "broker_url": broker_url, "task_default_queue": queue}

    @staticmethod
    def _forget_connections(app) -> None:
        # The app caches its broker pool and its queue declarations (built from the settings).
        app.__dict__.pop("amqp", None)
        app._pool = None

    def __enter__(self):
        self.app.conf.update(self.new)
        self._forget_connections(self.app)
        return self

    def __exit__(self, *exc_info) -> None:
        self._delete_queue()
        self.app.conf.update(self.saved)
        self._forget_connections(self.app)

    def _delete_queue(self) -> None:
        from kombu import Exchange, Queue

        name = self.new["task_default_queue"]
        try:
            with self.app.connection_for_write() as connection:
                # Declared here so that this channel knows the binding, then deleted with it.
                queue = Queue(name, Exchange(name, "direct"), routing_key=name)(connection.default_channel)
                queue.declare()
                queue.delete()
        except Exception:  # best effort: the queue name is never used again
            pass


@pytest.fixture
def celery_worker_env() -> dict[str, str]:
    """Extra environment for the worker; override in a test module to change its settings."""
    return {}


@pytest.fixture
def celery_worker_process(request, transactional_db, smtp_sink, celery_worker_env, tmp_path, settings):
    """A real Celery worker (solo pool) on Redis and the test database, mailing to ``smtp_sink``."""
    from django.db import connections

    redis_url = os.environ.get("REDIS_URL") or getattr(settings, "REDIS_URL", "")
    if not redis_url:
        pytest.skip("needs a Redis server: set REDIS_URL (for example redis://127.0.0.1:6379/5)")
    database = connections["default"].settings_dict
    if database["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("needs PostgreSQL (a worker process cannot share the SQLite test database): "
                    "set DATABASE_URL=postgres://…")

    from config import celery_app

    queue = f"test-{uuid.uuid4().hex[:12]}"
    # The cache of this test process (Redis, the database after the broker's, as in a deployment), under a prefix
    # of its own, shared with the worker: the outbox's wake mark (directory/queue.py) lives there.
    cache_url = getattr(settings, "CACHE_URL", "") or redis_url
    settings.CACHES = {"default": {"BACKEND": "directory.unavailable.FailClosedRedisCache", "LOCATION": cache_url,
                                   "KEY_PREFIX": queue, "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "DATABASE_URL": _database_url(database),
        "REDIS_URL": redis_url,
        "EMAIL_URL": smtp_sink.url,
        "CELERY_QUEUE": queue,
        "CACHE_URL": cache_url,  # shared with this process, as a deployment's web and Celery workers share one
        "CACHE_KEY_PREFIX": queue,
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "INFO",
        **celery_worker_env,
    }
    worker = CeleryWorkerProcess(queue=queue, env=env, log_path=tmp_path / "celery-worker.log")
    request.node.stash[_WORKER_KEY] = worker
    try:
        worker.start()
        with _PublishTo(celery_app, broker_url=redis_url, queue=queue):
            yield worker
    finally:
        worker.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    worker = item.stash.get(_WORKER_KEY, None)
    if worker is not None and report.failed:
        report.sections.append(("celery worker log", worker.log() or "(empty)"))
    return report
