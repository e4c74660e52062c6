"""The failure drills of bench/drills/ at reduced sizes (marked ``drill``; skipped unless DRILLS=1).

Each runs the drill's script in a subprocess: it starts its own Redis and PostgreSQL cluster on free
ports of 127.0.0.1, the SMTP sink, workers and beat, provokes the failure and prints its figures as
JSON on its last line; the test asserts on them. A few minutes each on a busy two-core machine:

    DRILLS=1 .venv/bin/python -m pytest tests/drills -m drill -v
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.drill

DRILLS = Path(__file__).resolve().parents[2] / "bench" / "drills"


def run_drill(script: str, *arguments: str, timeout: float = 420) -> dict:
    completed = subprocess.run([sys.executable, str(DRILLS / script), "--json", *arguments], capture_output=True,
                               text=True, timeout=timeout, cwd=DRILLS.parents[1])
    lines = completed.stdout.strip().splitlines()
    try:
        figures = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"{script} printed no figures:\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}")
    print(completed.stdout)
    return figures


def test_a_worker_killed_mid_delivery_loses_and_duplicates_no_email():
    figures = run_drill("worker_kill.py", "--bulk", "400", "--single", "50", "--kill-after", "120")

    assert figures["sent"] == figures["queued"] == 450
    assert figures["duplicated"] == 0 and figures["lost"] == 0
    assert figures["ok"], figures


def test_two_schedulers_send_nothing_twice_and_purge_each_user_once():
    figures = run_drill("beat_twice.py", "--seconds", "25", "--unpublished", "80", "--invitations", "20",
                        "--deleted", "40", "--bulk-rows", "700")

    assert figures["duplicated"] == 0 and figures["lost"] == 0
    assert figures["purged"] == 40 and figures["users_audited_twice"] == 0 and figures["users_purged_unaudited"] == 0
    assert figures["bulk_rows_twice"] == 0 and figures["addresses_invited_twice"] == 0
    assert figures["ok"], figures


def test_a_bulk_worker_killed_mid_chunk_resumes_and_invites_each_row_once():
    figures = run_drill("bulk_kill.py", "--rows", "1500")

    assert figures["job_state"] == "finished"
    assert figures["result_rows"] == 1500 and figures["rows_missing"] == 0 and figures["rows_twice"] == 0
    assert figures["addresses_invited_twice"] == 0 and figures["addresses_with_two_users"] == 0
    assert figures["duplicated"] == 0 and figures["lost"] == 0
    assert figures["ok"], figures
