"""Bulk invitation jobs on a worker, and the sweep that continues the ones a worker left unfinished.

A job is processed one committed chunk at a time (:mod:`invitations.bulk`), so whatever stops a worker
(kill -9, a lost host, PostgreSQL restarting) loses at most the chunk in flight, which PostgreSQL rolls
back. What brings the job back:

- a database error (PostgreSQL restarting) retries the task after a short backoff;
- a killed worker leaves its task unacknowledged; the broker hands it out again only after the
  visibility timeout (an hour), so beat's ``invitations.bulk_sweep`` publishes the job again once no
  worker holds it (bench/drills/bulk_kill.py).

Only one worker processes a job at a time (an advisory lock, :mod:`invitations.bulk.runner`); duplicates
of the task (the sweep, a redelivery, "process again") find it taken and stop. The rules live in the
runner; these tasks only call it and publish.
"""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from directory.queue import publish

from . import bulk
from .bulk.runner import bulk_invitation_job_run_on_worker, bulk_invitation_jobs_to_resume
from .models import BulkInvitationJob

logger = logging.getLogger(__name__)

# Below CELERY_TASK_SOFT_TIME_LIMIT: a long job continues in a fresh task instead of being killed.
BULK_TIME_BUDGET_SECONDS = 600


@shared_task(name=bulk.PROCESS_TASK, acks_late=True, ignore_result=True,
             autoretry_for=(OperationalError, InterfaceError), retry_backoff=2, retry_backoff_max=30,
             retry_jitter=False, max_retries=20)
def process_bulk_invitation_task(job_id: str) -> str:
    state = bulk_invitation_job_run_on_worker(job_id=job_id, time_budget=BULK_TIME_BUDGET_SECONDS)
    if state == BulkInvitationJob.State.RUNNING:  # out of time, not done: continue after the last chunk
        publish(bulk.PROCESS_TASK, job_id)
    return state


@shared_task(name="invitations.bulk_sweep", acks_late=True, ignore_result=True)
def bulk_invitation_sweep_task() -> int:
    """Publish again every unfinished job that no worker is processing. Returns how many were published."""
    due = bulk_invitation_jobs_to_resume()
    for job_id in due:
        publish(bulk.PROCESS_TASK, job_id)
        logger.info("Bulk invitation job %s resumed by the sweep", job_id)
    return len(due)
