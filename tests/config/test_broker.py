"""The workers' Redis transport (config/broker.py): Redis going away while a worker runs an acks_late task
(unacknowledged) leaves the worker reconnecting when Redis is back, instead of stopped for good."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.waiting import wait_until

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis(binary: str, port: int, workdir: Path) -> subprocess.Popen:
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                               "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: _answers(port), 10, "redis-server to answer")
    return server


def _answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_a_worker_survives_redis_going_away_under_an_unacknowledged_task(tmp_path):
    """Prefork with two processes, as the drills and production run. Celery 5.7 / kombu 5.7 with kombu's
    own transport: "Unrecoverable error: AttributeError('NoneType' … 'hostname')" and the worker exits
    (bench/drills/redis_down.py then counts every later e-mail lost)."""
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("needs redis-server")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    env = {**os.environ, "BROKER_TEST_URL": url, "BROKER_TEST_TRANSPORT": "config.broker:Transport",
           "PYTHONPATH": str(ROOT)}
    server = _redis(binary, port, tmp_path)
    log_path = tmp_path / "worker.log"
    worker = None
    try:
        with log_path.open("wb") as log:
            worker = subprocess.Popen(
                [str(Path(sys.executable).parent / "celery"), "-A", "tests.config.broker_app", "worker",
                 "--pool=prefork", "--concurrency=2", "--loglevel=INFO", "--without-gossip", "--without-mingle"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: " ready." in log_path.read_text(errors="replace"), 60, "the worker to start")
        subprocess.run([sys.executable, "-c", "from tests.config.broker_app import slow; slow.delay(3)"],
                       cwd=ROOT, env=env, check=True, timeout=30)
        wait_until(lambda: "received" in log_path.read_text(errors="replace"), 15, "the task to be received")

        server.terminate()  # Redis goes away while the task runs, unacknowledged
        server.wait(timeout=10)
        time.sleep(2)
        server = _redis(binary, port, tmp_path)  # back, empty

        wait_until(lambda: log_path.read_text(errors="replace").count("Connected to") >= 2 or worker.poll() is not None,
              30, "the worker to reconnect")
        output = log_path.read_text(errors="replace")
        assert worker.poll() is None, output[-3000:]
        assert "Unrecoverable error" not in output
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
                worker.wait(timeout=10)
        server.kill()
        server.wait(timeout=10)
