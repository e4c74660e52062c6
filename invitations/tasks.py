"""Bulk invitation jobs on a worker, and the sweep that continues the ones a worker left unfinished.

A job is processed one committed chunk at a time (:mod:`invitations.bulk`), so whatever stops a worker
(kill -9, a lost host, PostgreSQL restarting) loses at most the chunk in flight, which PostgreSQL rolls
back. What brings the job back:

- a database error (PostgreSQL restarting) retries the task after a short backoff;
- a killed worker leaves its task unacknowledged; the broker hands it out again only after the
  visibility timeout (an hour), so beat's ``invitations.bulk_sweep`` publishes the job again once no
  worker holds it (bench/drills/bulk_kill.py).

Only one worker processes a job at a time: the task holds a PostgreSQL advisory lock on the job,
which PostgreSQL releases by itself when the worker's connection ends, however the worker ended.
Duplicates of the task (the sweep, a redelivery, "process again") find it taken and stop.
"""

import contextlib
import logging
import uuid
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.utils import timezone

from directory.queue import publish

from . import bulk
from .models import BulkInvitationJob

logger = logging.getLogger(__name__)

# Below CELERY_TASK_SOFT_TIME_LIMIT: a long job continues in a fresh task instead of being killed.
BULK_TIME_BUDGET_SECONDS = 600
# A queued job whose first task has not started this long after the upload lost its task (the broker
# was down): the sweep publishes it again.
QUEUED_GRACE = timedelta(minutes=2)
_ON_WORKER = "bulk-job-on-worker:{}"
_ON_WORKER_SECONDS = 7 * 24 * 3600


def _lock_key(job_id) -> int:
    return int.from_bytes(uuid.UUID(str(job_id)).bytes[:8], "big", signed=True)


@contextlib.contextmanager
def job_lock(job_id):
    """Yields True when this process now holds the job (until the block ends), False when another does.

    A session-level advisory lock: PostgreSQL drops it when the holder's connection ends, so a killed
    worker never leaves a job locked. (SQLite, single process: always True.)
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = _lock_key(job_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
            except DatabaseError:  # the connection is gone, and the lock with it
                pass


def _mark_on_worker(job_id) -> None:
    # Jobs that `manage.py invite` runs in its own process (with its own options) are never taken over
    # by the sweep; only jobs a worker started are. Without the cache the mark is skipped: the sweep
    # then leaves the job to "process again" in the console.
    try:
        cache.set(_ON_WORKER.format(job_id), 1, _ON_WORKER_SECONDS)
    except Exception:
        logger.warning("Could not mark bulk job %s as a worker's", job_id)


def _on_worker(job_id) -> bool:
    try:
        return bool(cache.get(_ON_WORKER.format(job_id)))
    except Exception:
        return False


@shared_task(name=bulk.PROCESS_TASK, acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, retry_backoff_max=30,
             retry_jitter=False, max_retries=20)
def process_bulk_invitation_task(job_id: str) -> str:
    _mark_on_worker(job_id)
    with job_lock(job_id) as mine:
        if not mine:
            return "taken by another worker"
        job = bulk.bulk_invitation_job_process(job_id=job_id, time_budget=BULK_TIME_BUDGET_SECONDS)
    if job.state == job.State.RUNNING:  # out of time, not done: continue where the last chunk ended
        publish(bulk.PROCESS_TASK, job_id)
    return job.state


@shared_task(name="invitations.bulk_sweep", acks_late=True, ignore_result=True)
def bulk_invitation_sweep_task() -> int:
    """Publish again every unfinished job that no worker is processing: a worker's job whose worker
    died, and a job whose first task was lost. Returns how many were published."""
    resumed = 0
    now = timezone.now()
    unfinished = BulkInvitationJob.objects.filter(
        state__in=[BulkInvitationJob.State.QUEUED, BulkInvitationJob.State.RUNNING]).values_list("pk", "state",
                                                                                                 "created_at")
    for job_id, state, created_at in unfinished:
        if state == BulkInvitationJob.State.QUEUED and created_at > now - QUEUED_GRACE:
            continue  # its first task may still be on its way
        if state == BulkInvitationJob.State.RUNNING and not _on_worker(job_id):
            continue  # run by `manage.py invite` in its own process
        with job_lock(job_id) as free:
            if not free:
                continue  # a worker is on it
        publish(bulk.PROCESS_TASK, str(job_id))
        logger.info("Bulk invitation job %s resumed by the sweep", job_id)
        resumed += 1
    return resumed
