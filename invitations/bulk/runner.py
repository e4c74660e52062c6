"""Bulk invitation jobs: store an uploaded file as a job, then invite its rows chunk by chunk.

Each chunk is one transaction together with the job's progress and its result lines
(:mod:`.writer` does the inviting), so a worker that dies or runs out of time (see
``invitations.tasks``) loses nothing and invites nobody twice: the job resumes where its last
committed chunk ended. The task is started through :mod:`directory.queue` by name; this module does
not import it.
"""

import contextlib
import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from directory import services as directory_services
from directory.actors import Actor
from directory.audit import Target, audit
from directory.models import Tenant
from directory.queue import publish, publish_on_commit
from policies.selectors import collaboration_settings_for

from ..models import BulkInvitationJob, BulkInvitationResultChunk
from ..services import InvitationDenied, check_inviter, default_redirect_url, own_domains
from .results import ALREADY_INVITED, CREATED, ERROR, RESULT_HEADER, csv_lines
from .source import SourceRow, parse_source
from .writer import BulkDefaults, JobContext, Outcome, invite_chunk

logger = logging.getLogger(__name__)

PROCESS_TASK = "invitations.process_bulk_invitation"
CHUNK_SIZE = 500
#: Without a broker (embedded defaults) no worker runs jobs: the job's page drives it instead, one time
#: slice of small chunks per progress poll, so the progress bar moves while the admin watches.
PAGE_STEP_SECONDS = 1.0
PAGE_CHUNK_SIZE = 50
_ENDED = (BulkInvitationJob.State.FINISHED, BulkInvitationJob.State.FAILED)
_DEFAULTS = BulkDefaults()


@transaction.atomic
def bulk_invitation_job_create(
    *, actor: Actor, tenant: Tenant, file_name: str, source: str, enqueue: bool = True,
) -> BulkInvitationJob:
    """Store an uploaded file as a job and (with ``enqueue``) start a worker on it after commit.

    Raises ValidationError for a file that cannot be used and InvitationDenied when the actor may not
    invite to this tenant; nothing is written then.
    """
    parsed = parse_source(source)
    check_inviter(tenant=tenant, actor=actor)
    job = BulkInvitationJob.objects.create(
        tenant=tenant, created_by=actor.account, run_as_platform=actor.is_platform,
        file_name=(file_name or "upload.csv")[:256], source=source,
        total_rows=len(parsed.rows), results=csv_lines([RESULT_HEADER]),
    )
    audit(tenant=tenant, actor=actor.in_tenant(tenant), activity="Bulk invite external users",
          targets=[Target(tenant)],
          details={"bulkInvitationJobId": job.pk, "fileName": job.file_name, "rows": job.total_rows})
    if enqueue and not driven_by_page():
        publish_on_commit(PROCESS_TASK, str(job.pk))
    return job


def driven_by_page() -> bool:
    """True where no worker runs jobs (``BULK_INVITE_DRIVEN_BY_PAGE``, on with embedded defaults): the
    job's page drives it with :func:`bulk_invitation_job_step`."""
    return bool(getattr(settings, "BULK_INVITE_DRIVEN_BY_PAGE", False))


def bulk_invitation_job_step(*, job_id, time_budget: float | None = None,
                             chunk_size: int | None = None) -> BulkInvitationJob | None:
    """One time slice of a job that its page drives (no broker): the next chunks, until ``time_budget``
    passes. Under the job's lock, so two open pages never run the same rows; None when another holds it."""
    with job_lock(job_id) as mine:
        if not mine:
            return None
        return bulk_invitation_job_process(
            job_id=job_id, time_budget=PAGE_STEP_SECONDS if time_budget is None else time_budget,
            chunk_size=chunk_size or PAGE_CHUNK_SIZE)


def publish_bulk_invitation_job(job_id) -> None:
    """Start (or continue) a stored job on a worker now; if the broker is down, "process again" in the
    admin does."""
    publish(PROCESS_TASK, str(job_id))


def bulk_invitation_job_process(
    *, job_id, defaults: BulkDefaults = _DEFAULTS, chunk_size: int = CHUNK_SIZE, time_budget: float | None = None,
) -> BulkInvitationJob:
    """Invite the job's rows that are not processed yet, one committed chunk at a time.

    Idempotent: a finished job is left alone and a half-done one continues after its last committed
    chunk. With ``time_budget`` (seconds) it stops after the chunk that exceeds it and leaves the job
    ``running``; calling it again continues.
    """
    started = time.monotonic()
    job = BulkInvitationJob.objects.defer("results").select_related("tenant", "created_by").get(pk=job_id)
    if job.state in _ENDED:
        return _reload(job)
    BulkInvitationJob.objects.filter(pk=job.pk, state=BulkInvitationJob.State.QUEUED).update(
        state=BulkInvitationJob.State.RUNNING, started_at=timezone.now())
    try:
        rows = parse_source(job.source).rows
    except ValidationError as exc:  # checked at upload; only a file stored some other way gets here
        _finish(job.pk, BulkInvitationJob.State.FAILED, " ".join(exc.messages))
        return _reload(job)
    try:
        context = _load_job(job, defaults)
    except InvitationDenied as exc:
        _fail_remaining(job, rows, exc.message)
        return _reload(job)
    while not _process_next_chunk(context, rows, chunk_size):
        if time_budget is not None and time.monotonic() - started > time_budget:
            return _reload(job)
    _finish(job.pk, BulkInvitationJob.State.FINISHED)
    return _reload(job)


def _reload(job: BulkInvitationJob) -> BulkInvitationJob:
    return BulkInvitationJob.objects.defer("source", "results").get(pk=job.pk)


def _load_job(job: BulkInvitationJob, defaults: BulkDefaults) -> JobContext:
    tenant = Tenant.objects.prefetch_related("brandings").get(pk=job.tenant_id)
    if job.created_by is None and not job.run_as_platform:
        raise InvitationDenied("uploader_gone", "The account that uploaded this file no longer exists.")
    actor = (Actor.for_account(job.created_by, tenant) if job.created_by is not None
             else Actor.operator(tenant=tenant))
    check_inviter(tenant=tenant, actor=actor)  # once per job (and per resumption)
    actor = actor.in_tenant(tenant)
    return JobContext(
        job_id=job.pk, tenant=tenant, actor=actor, inviter=actor.user, settings=collaboration_settings_for(tenant),
        own_domains=own_domains(tenant), initiated_by=actor.initiated_by(),
        defaults=defaults, default_redirect=defaults.redirect_url or default_redirect_url(tenant),
    )


def _fail_remaining(job: BulkInvitationJob, rows: list[SourceRow], reason: str) -> None:
    with transaction.atomic():
        locked = BulkInvitationJob.objects.select_for_update().only("id", "processed_rows").get(pk=job.pk)
        outcome = Outcome()
        for row in rows[locked.processed_rows:]:
            outcome.add(row, ERROR, reason)
        _save_progress(job.pk, locked.processed_rows, outcome)
        _finish(job.pk, BulkInvitationJob.State.FAILED, reason)


@transaction.atomic
def _finish(job_id, state: str, failure: str = "") -> None:
    """End the job: its result chunks become the one results CSV, written once."""
    job = BulkInvitationJob.objects.select_for_update().only("id", "state", "results").get(pk=job_id)
    if job.state in _ENDED:
        return
    chunks = BulkInvitationResultChunk.objects.filter(job_id=job_id)
    results = job.results + "".join(chunks.order_by("first_row").values_list("lines", flat=True))
    BulkInvitationJob.objects.filter(pk=job_id).update(state=state, failure=failure, results=results,
                                                       finished_at=timezone.now())
    chunks.delete()


def _process_next_chunk(context: JobContext, rows: list[SourceRow], chunk_size: int) -> bool:
    """Invite the next chunk and record it, in one transaction. True when no rows are left."""
    with transaction.atomic():
        job = BulkInvitationJob.objects.select_for_update().only("id", "processed_rows").get(pk=context.job_id)
        start = job.processed_rows
        chunk = rows[start:start + chunk_size]
        if not chunk:
            return True
        try:
            with transaction.atomic():
                outcome = invite_chunk(context, chunk)
        except Exception:
            # A conflict with a concurrent write (or a bug) in the set-based path: nothing of it was
            # written. Row by row, each in its own savepoint, isolates the row that cannot be invited.
            logger.warning("Bulk invitation job %s: chunk at row %s retried row by row", context.job_id,
                           chunk[0].number, exc_info=True)
            outcome = _invite_one_by_one(context, chunk)
        _save_progress(context.job_id, start, outcome)
        directory_services.outbox_publish(outcome.outbox_ids)
    context.seen.update(outcome.seen)
    return start + len(chunk) >= len(rows)


def _invite_one_by_one(context: JobContext, chunk: list[SourceRow]) -> Outcome:
    outcome = Outcome()
    for row in chunk:
        try:
            with transaction.atomic():
                single = invite_chunk(context, [row], seen_before=outcome.seen)
        except Exception:
            logger.exception("Bulk invitation job %s: row %s could not be invited", context.job_id, row.number)
            outcome.add(row, ERROR, _("This row could not be invited because of a conflict with a change made at "
                                      "the same time, or an internal error; nothing was written for it. Try it "
                                      "again."))
            continue
        outcome.extend(single)
    return outcome


def _save_progress(job_id, start: int, outcome: Outcome) -> None:
    # The unique (job, first_row) also refuses a chunk recorded twice, should two workers ever race.
    if outcome.lines:
        BulkInvitationResultChunk.objects.create(job_id=job_id, first_row=start, lines=csv_lines(outcome.lines))
    BulkInvitationJob.objects.filter(pk=job_id).update(
        processed_rows=start + len(outcome.lines),
        created_count=F("created_count") + outcome.counts[CREATED],
        existing_count=F("existing_count") + outcome.counts[ALREADY_INVITED],
        error_count=F("error_count") + outcome.counts[ERROR],
    )


# --- on a worker: one at a time, and resumed when a worker is lost ----------------------------------
# A job is processed one committed chunk at a time, so whatever stops a worker (kill -9, a lost host,
# PostgreSQL restarting) loses at most the chunk in flight. Only one worker processes a job at a time: it
# holds a PostgreSQL advisory lock on the job, which PostgreSQL releases by itself when the worker's
# connection ends; duplicates of the task (the sweep, a redelivery, "process again") find it taken.

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


def bulk_invitation_job_run_on_worker(*, job_id, time_budget: float | None = None) -> str:
    """Process a job on a worker, unless another worker holds it. Returns the job's state afterwards
    ("taken by another worker" when it was not ours)."""
    _mark_on_worker(job_id)
    with job_lock(job_id) as mine:
        if not mine:
            return "taken by another worker"
        return bulk_invitation_job_process(job_id=job_id, time_budget=time_budget).state


def bulk_invitation_jobs_to_resume(*, now=None) -> list[str]:
    """Unfinished jobs no worker is processing: a worker's job whose worker died, and a job whose first
    task was lost (the broker was down). Jobs ``manage.py invite`` runs in its own process are left alone."""
    now = now or timezone.now()
    due = []
    unfinished = BulkInvitationJob.objects.filter(
        state__in=[BulkInvitationJob.State.QUEUED, BulkInvitationJob.State.RUNNING]).values_list(
        "pk", "state", "created_at")
    for job_id, state, created_at in unfinished:
        if state == BulkInvitationJob.State.QUEUED and created_at > now - QUEUED_GRACE:
            continue  # its first task may still be on its way
        if state == BulkInvitationJob.State.RUNNING and not _on_worker(job_id):
            continue  # run by `manage.py invite` in its own process
        with job_lock(job_id) as free:
            if not free:
                continue  # a worker is on it
        due.append(str(job_id))
    return due
