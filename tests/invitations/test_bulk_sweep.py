"""A bulk job a worker left unfinished (killed mid-chunk, PostgreSQL restarted) is continued by beat's
bulk sweep, and nobody is invited twice (bench/drills/bulk_kill.py)."""

import collections
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from directory.actors import Actor
from invitations import bulk
from invitations.models import BulkInvitationJob, Invitation
from invitations.tasks import bulk_invitation_sweep_task, process_bulk_invitation_task
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db

SOURCE = "email,display name\r\n" + "".join(f"guest{i}@partner.example,Guest {i}\r\n" for i in range(7))


@pytest.fixture
def tenant():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


def _job(tenant) -> BulkInvitationJob:
    actor = Actor.for_account(admin_of(tenant).account, tenant)
    return bulk.bulk_invitation_job_create(actor=actor, tenant=tenant, file_name="guests.csv", source=SOURCE,
                                           enqueue=False)


def _abandoned_by_a_worker(tenant) -> BulkInvitationJob:
    """A job a worker started and processed one chunk of (3 rows), then died."""
    job = _job(tenant)
    cache.set(f"bulk-job-on-worker:{job.pk}", 1, 60)  # as process_bulk_invitation_task marks it
    bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=3, time_budget=0)
    job.refresh_from_db()
    assert (job.state, job.processed_rows) == (BulkInvitationJob.State.RUNNING, 3)
    return job


def test_the_sweep_continues_a_job_whose_worker_died_and_invites_nobody_twice(tenant):
    job = _abandoned_by_a_worker(tenant)

    assert bulk_invitation_sweep_task.apply().get() == 1  # tasks run in-process in the tests

    job.refresh_from_db()
    assert job.state == BulkInvitationJob.State.FINISHED and job.created_count == 7
    rows = collections.Counter(row["row"] for row in bulk.results_rows(job.pk))
    assert sorted(rows) == [str(n) for n in range(2, 9)] and set(rows.values()) == {1}
    invited = collections.Counter(Invitation.objects.values_list("invited_email", flat=True))
    assert len(invited) == 7 and set(invited.values()) == {1}


def test_the_sweep_leaves_alone_a_job_the_command_line_runs_in_its_own_process(tenant):
    job = _job(tenant)
    bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=3, time_budget=0)  # `manage.py invite`: unmarked

    assert bulk_invitation_sweep_task.apply().get() == 0

    job.refresh_from_db()
    assert job.state == BulkInvitationJob.State.RUNNING and job.processed_rows == 3


def test_the_sweep_starts_a_queued_job_whose_task_was_lost_but_not_a_fresh_one(tenant):
    lost, fresh = _job(tenant), _job(tenant)
    BulkInvitationJob.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=5))

    assert bulk_invitation_sweep_task.apply().get() == 1

    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert lost.state == BulkInvitationJob.State.FINISHED
    assert fresh.state == BulkInvitationJob.State.QUEUED


def test_a_finished_job_processed_again_by_a_duplicate_task_changes_nothing(tenant):
    job = _abandoned_by_a_worker(tenant)
    assert process_bulk_invitation_task.apply(args=[str(job.pk)]).get() == "finished"
    results = bulk.results_csv(job.pk)

    assert process_bulk_invitation_task.apply(args=[str(job.pk)]).get() == "finished"

    assert bulk.results_csv(job.pk) == results
    assert Invitation.objects.count() == 7
