"""Bulk invite files name only columns the format knows: an unknown or misspelt header is refused before
any row runs, in the admin console and the CLI alike (both read through ``parse_source``); the console
offers a template to start from and lists the rows that failed on the job's page."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from directory.actors import Actor
from directory.models import OutboxMessage, User
from invitations import bulk
from invitations.models import BulkInvitationJob, Invitation
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db

ENTRA_WITHOUT_CODE = ("Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] Required,"
                      "Send invitation message (true or false),Customized invitation message [customizedMessageBody]")


@pytest.fixture
def home():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


@pytest.fixture
def admin_client(client, home):
    client.force_login(admin_of(home).account)
    return client


def upload(client, tenant, content: bytes):
    return client.post(reverse("admin:invitations_bulkinvitationjob_add"), {
        "tenant": str(tenant.pk), "csv_file": SimpleUploadedFile("guests.csv", content, content_type="text/csv")})


def test_entras_send_column_without_its_code_is_refused_naming_it_and_the_expected_headers():
    with pytest.raises(ValidationError) as exc:
        bulk.parse_source(f"{ENTRA_WITHOUT_CODE}\r\nann@partner.example,https://x.example/,false,\r\n")
    message = " ".join(exc.value.messages)
    assert "“Send invitation message (true or false)” is not one this file can have" in message
    assert "email, display name, redirect URL, send message, custom message, language" in message
    assert exc.value.code == "unknown_column"


def test_a_misspelt_column_is_refused_with_the_column_it_probably_means():
    with pytest.raises(ValidationError) as exc:
        bulk.parse_source("email,send mesage\r\nann@partner.example,false\r\n")
    assert "“send mesage”" in exc.value.messages[0]
    assert "Did you mean “send message”?" in exc.value.messages[0]


def test_trailing_empty_header_cells_from_spreadsheets_are_not_columns():
    parsed = bulk.parse_source("email,display name,,\r\nann@partner.example,Ann,,\r\n")
    assert parsed.rows[0].values == {"email": "ann@partner.example", "display_name": "Ann"}


def test_upload_with_an_unknown_column_invites_nobody_and_sends_nothing(admin_client, home):
    content = f"{ENTRA_WITHOUT_CODE}\r\nann@partner.example,https://x.example/,false,\r\n".encode()
    response = upload(admin_client, home, content)
    assert response.status_code == 200
    assert "is not one this file can have" in response.content.decode()
    assert not BulkInvitationJob.objects.exists()
    assert not Invitation.objects.exists()
    assert not User.objects.guests().exists()
    assert not OutboxMessage.objects.exists()


def test_the_template_download_is_a_file_the_upload_accepts(admin_client, home):
    page = admin_client.get(reverse("admin:invitations_bulkinvitationjob_add"))
    url = reverse("admin:invitations_bulkinvitationjob_template")
    assert url in page.content.decode()
    response = admin_client.get(url)
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)))
    assert tuple(header) == bulk.TEMPLATE_HEADERS
    parsed = bulk.parse_source(text)
    assert [row.values["email"] for row in parsed.rows] == ["ann@partner.example"]


def test_job_page_lists_the_rows_that_failed_and_why(admin_client, home, django_capture_on_commit_callbacks):
    content = (b"email,display name\r\nann@partner.example,Ann\r\nnot-an-address,Nobody\r\n"
               b"eve@tailwind.example,Eve\r\n")
    with django_capture_on_commit_callbacks(execute=True):
        upload(admin_client, home, content)
    job = BulkInvitationJob.objects.get()
    job.refresh_from_db()
    assert (job.state, job.error_count) == ("finished", 2)
    body = admin_client.get(reverse("admin:invitations_bulkinvitationjob_change", args=[job.pk])).content.decode()
    table = body.split('id="bulk-row-errors"', 1)[1].split("</table>", 1)[0]
    assert "not-an-address" in table and "eve@tailwind.example" in table
    assert "ann@partner.example" not in table
    assert "redeem" not in table.lower()


def test_job_page_queries_do_not_grow_with_failed_rows(admin_client, home):
    def page_queries(rows: int) -> int:
        text = "email\r\n" + "".join(f"bad-{rows}-{n}\r\n" for n in range(rows))
        job = bulk.bulk_invitation_job_create(actor=_actor(home), tenant=home, file_name="f.csv", source=text,
                                              enqueue=False)
        bulk.bulk_invitation_job_process(job_id=job.pk)
        with CaptureQueriesContext(connection) as queries:
            body = admin_client.get(reverse("admin:invitations_bulkinvitationjob_change", args=[job.pk])).content
        assert b'id="bulk-row-errors"' in body
        return len(queries)

    page_queries(1)  # steady state: the console's per-tenant caches (conditional access policies) warm
    assert page_queries(3) == page_queries(300)


def _actor(tenant):
    return Actor.for_user(User.objects.filter(tenant=tenant, account__isnull=False).first())
