"""Without a worker (embedded defaults), a bulk job is moved on by its page's progress polls, so the
progress bar moves while the admin watches (invitations/bulk/runner.py ``bulk_invitation_job_step``)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from invitations import bulk
from invitations.models import BulkInvitationJob, Invitation
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_driven(settings, monkeypatch):
    settings.BULK_INVITE_DRIVEN_BY_PAGE = True
    monkeypatch.setattr("invitations.bulk.runner.PAGE_CHUNK_SIZE", 10)
    monkeypatch.setattr("invitations.bulk.runner.PAGE_STEP_SECONDS", 0.0)  # one chunk per poll


@pytest.fixture
def home():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


def _upload(client, tenant, rows: int) -> BulkInvitationJob:
    text = "email,send message\r\n" + "".join(f"guest{n}@partner.example,false\r\n" for n in range(rows))
    response = client.post(reverse("admin:invitations_bulkinvitationjob_add"), {
        "tenant": str(tenant.pk), "csv_file": SimpleUploadedFile("g.csv", text.encode(), content_type="text/csv")})
    assert response.status_code == 302
    return BulkInvitationJob.objects.get(tenant=tenant)


def test_the_upload_leaves_the_job_to_its_page_and_each_poll_moves_it_on(client, home, page_driven):
    client.force_login(admin_of(home).account)
    job = _upload(client, home, 25)
    assert job.state == BulkInvitationJob.State.QUEUED and job.processed_rows == 0  # nothing ran in the upload
    progress = reverse("admin:invitations_bulkinvitationjob_progress", args=[job.pk])
    seen = [client.get(progress).json() for _ in range(4)]
    processed = [payload["processed"] for payload in seen]
    assert processed[:3] == sorted(processed[:3]) and len(set(processed[:3])) == 3  # it moves, poll by poll
    assert seen[-1]["finished"] is True
    assert Invitation.objects.filter(tenant=home).count() == 25  # every row once, however many polls


def test_with_a_worker_the_upload_publishes_the_job_as_before(client, home, settings,
                                                            django_capture_on_commit_callbacks):
    settings.BULK_INVITE_DRIVEN_BY_PAGE = False
    client.force_login(admin_of(home).account)
    with django_capture_on_commit_callbacks(execute=True):  # the tests' eager Celery runs what is published
        job = _upload(client, home, 3)
    job.refresh_from_db()
    assert job.state == BulkInvitationJob.State.FINISHED
    assert not bulk.driven_by_page()
