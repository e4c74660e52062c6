"""Bulk invitations: the upload is checked before anything is stored, every row gets a result, a bad row
never stops or half-writes the others, and a bulk-created guest looks exactly like a single invite's."""

import csv
import io
import json
import os
import random
import string

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.urls import reverse

from directory.actors import Actor
from directory.models import AuditEvent, Domain, OutboxMessage, Role, User
from invitations import bulk
from invitations.models import BulkInvitationJob, BulkInvitationResultChunk, Invitation
from invitations.services import invitation_create
from invitations.tasks import process_bulk_invitation_task
from policies import services as policy_services
from tests.factories import GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

HEADER = "email,display name,redirect URL,send message,custom message\r\n"


@pytest.fixture
def home():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


@pytest.fixture
def admin_user(home):
    return admin_of(home)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user.account)
    return client


def make_job(tenant, actor, text: str) -> BulkInvitationJob:
    return bulk.bulk_invitation_job_create(actor=actor, tenant=tenant, file_name="guests.csv", source=text,
                                           enqueue=False)


def run(tenant, actor, text: str, **kwargs) -> BulkInvitationJob:
    job = make_job(tenant, actor, text)
    return bulk.bulk_invitation_job_process(job_id=job.pk, **kwargs)


def results_of(job) -> list[dict]:
    return bulk.results_rows(job.pk)


def upload(client, tenant, content: bytes, name="guests.csv"):
    return client.post(reverse("admin:invitations_bulkinvitationjob_add"), {
        "tenant": str(tenant.pk), "csv_file": SimpleUploadedFile(name, content, content_type="text/csv"),
    })


# --- reading the file --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "email,display name,redirect url,send message,custom message",
        "Email,Display_Name,Redirect_URL,Send_Message,Custom_Message",
        "EMAIL ADDRESS,DisplayName,RedirectUrl,SendEmail,CustomizedMessageBody",
        "Email address to invite [inviteeEmail] Required,Name [displayName],Redirection url [inviteRedirectURL] "
        "Required,Send invitation message (true or false) [sendEmail],Customized invitation message "
        "[customizedMessageBody]",
    ],
)
def test_column_names_are_matched_without_case_spaces_or_underscores_and_entras_template_works(header):
    parsed = bulk.parse_source(f"{header}\r\nann@partner.example,Ann,https://x.example/,false,Hello\r\n")
    assert parsed.rows[0].values == {"email": "ann@partner.example", "display_name": "Ann",
                                     "redirect_url": "https://x.example/", "send_message": "false",
                                     "message_body": "Hello"}


def test_entras_template_with_its_version_line_and_example_row_is_read_with_spreadsheet_row_numbers():
    text = ("\ufeffversion:v1.0\r\n"
            "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] Required,"
            "Send invitation message (true or false) [sendEmail],Customized invitation message "
            "[customizedMessageBody]\r\n"
            "Example:    ann@contoso.com,https://myapps.microsoft.com,true,Welcome\r\n"
            "ann@partner.example,https://x.example/,true,\r\n"
            "\r\n"
            "bob@partner.example,,,\r\n")
    parsed = bulk.parse_source(text)
    assert [(r.number, r.values["email"]) for r in parsed.rows] == [(4, "ann@partner.example"),
                                                                     (6, "bob@partner.example")]


def test_semicolon_separated_files_from_spreadsheets_are_read():
    parsed = bulk.parse_source("E-Mail;Display name\nann@partner.example;Ann Partner\n")
    assert parsed.rows[0].values == {"email": "ann@partner.example", "display_name": "Ann Partner"}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,company\r\nAnn,Proseware\r\n", "it has no email column (found “name”, “company”)"),
        (b"ann@partner.example,Ann\r\n", "it has no email column (found “ann@partner.example”, “Ann”)"),
        (b"email,mail\r\nann@partner.example,x\r\n", "both mean email"),
        (b"email\r\n", "has a header but no rows"),
        (b"", "The file is empty"),
        ("email\r\nM\u00fcller@partner.example\r\n".encode("latin-1"),
         "not UTF-8 text: line 2 has a byte (0xFC) that UTF-8 does not allow"),
        (b"email\r\nann@x.example\x00\r\n", "contains NUL characters"),
        (b'email\r\n"' + b"x" * 200_000 + b'"\r\n', "Row 2 cannot be read as CSV: field larger than field limit"),
    ],
)
def test_unusable_files_get_a_precise_message(data, message):
    with pytest.raises(ValidationError) as exc:
        bulk.parse_source(bulk.decode_upload(data))
    assert message in " ".join(exc.value.messages)


# --- the upload page ---------------------------------------------------------------------------


def _nothing_stored(tenant):
    assert not BulkInvitationJob.objects.exists()
    assert not User.objects.guests().exists()
    assert not Invitation.objects.exists()


def test_upload_with_wrong_columns_shows_the_problem_and_stores_no_job(admin_client, home):
    response = upload(admin_client, home, b"first name,last name\r\nAnn,Partner\r\n")
    assert response.status_code == 200
    assert "it has no email column (found “first name”, “last name”)" in response.content.decode()
    _nothing_stored(home)


def test_upload_of_non_utf8_bytes_says_to_save_as_utf8_and_stores_no_job(admin_client, home):
    response = upload(admin_client, home, "email,display name\r\nj\u00fcrgen@partner.example,J\u00fcrgen\r\n"
                      .encode("cp1252"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "The file is not UTF-8 text" in body and "CSV UTF-8" in body
    _nothing_stored(home)


def test_upload_of_ten_megabytes_of_random_bytes_is_refused_clearly(admin_client, home):
    junk = random.Random(7).randbytes(10 * 1024 * 1024)
    response = upload(admin_client, home, junk, name="junk.csv")
    assert response.status_code == 200
    assert "The file is not UTF-8 text" in response.content.decode()
    _nothing_stored(home)


def test_upload_of_ten_megabytes_of_text_junk_is_refused_clearly(admin_client, home):
    rng = random.Random(8)
    junk = "".join(rng.choices(string.ascii_letters + string.digits + " \n", k=10 * 1024 * 1024)).encode()
    response = upload(admin_client, home, junk, name="junk.csv")
    assert response.status_code == 200
    assert "The first row must name the columns; it has no email column" in response.content.decode()
    _nothing_stored(home)


def test_upload_over_the_size_limit_is_refused_before_it_is_read(admin_client, home):
    response = upload(admin_client, home, b"email\r\n" + b"a@partner.example\r\n" * (21 * 1024 * 1024 // 19))
    assert "upload at most 20 MB" in response.content.decode()
    _nothing_stored(home)


def test_upload_creates_a_job_that_the_task_processes_after_commit(admin_client, home,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(admin_client, home, (HEADER + "ann@partner.example,Ann,,false,\r\n").encode())
    job = BulkInvitationJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:invitations_bulkinvitationjob_change", args=[job.pk])
    assert callbacks  # the task was published on commit (and ran eagerly in the tests)
    job.refresh_from_db()
    assert (job.state, job.total_rows, job.processed_rows, job.created_count) == ("finished", 1, 1, 1)
    assert AuditEvent.objects.filter(activity_display_name="Bulk invite external users", tenant=home).exists()


def test_upload_when_invitations_are_switched_off_is_refused_with_the_reason(admin_client, home):
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=home, changes={"allow_invites_from": "none"})
    response = upload(admin_client, home, (HEADER + "ann@partner.example,,,,\r\n").encode())
    assert "This organization does not allow anyone to invite guests." in response.content.decode()
    _nothing_stored(home)


# --- processing --------------------------------------------------------------------------------


def test_mixed_file_creates_good_rows_reports_bad_ones_and_duplicates_one_result_per_row(home, admin_user):
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=home, changes={
        "domain_list_type": "block", "domains": ["blocked.example"]})
    GuestFactory(tenant=home, mail="known@partner.example")
    UserFactory(tenant=home, mail="member@elsewhere.example")
    text = HEADER + "\r\n".join([
        "ann@partner.example,Ann Partner,https://apps.example/,false,Welcome",  # 2 created
        "not-an-address,,,,",  # 3 bad address
        "bob@blocked.example,,,,",  # 4 blocked domain
        "ANN@partner.example,Ann again,,,",  # 5 duplicate of row 2
        "cy@partner.example,,javascript:alert(1),,",  # 6 unsafe redirect
        "dee@partner.example,,,maybe,",  # 7 bad send flag
        "known@partner.example,,,,",  # 8 a guest already in the directory: invited again, as by invitation_create
        "member@elsewhere.example,,,,",  # 9 a member has this address
        "eve@tailwind.example,,,,",  # 10 the tenant's own domain
        f"fay@partner.example,,,,{'x' * 10_001}",  # 11 message too long
        "gus@partner.example,,,true,Hi <b>there</b>",  # 12 created, e-mail queued
    ]) + "\r\n"

    job = run(home, Actor.for_user(admin_user), text)

    assert job.state == "finished"
    rows = results_of(job)
    assert len(rows) == job.total_rows == 11
    by_row = {int(r["row"]): r for r in rows}
    assert [by_row[n]["result"] for n in range(2, 13)] == [
        "created", "error", "error", "already invited", "error", "error", "created", "error", "error",
        "error", "created"]
    assert "not a valid e-mail address" in by_row[3]["reason"]
    assert by_row[4]["reason"] == "Invitations to blocked.example are blocked by this organization."
    assert by_row[5]["reason"] == "Also in row 2 of this file."
    assert "must start with https://" in by_row[6]["reason"]
    assert "Send message must be true or false" in by_row[7]["reason"]
    assert by_row[8]["reason"] == "Invitation created for an existing guest. Invitation e-mail queued."
    assert "already belongs to a user of this organization" in by_row[9]["reason"]
    assert "own domain" in by_row[10]["reason"]
    assert "longer than 10,000 characters" in by_row[11]["reason"]
    assert (job.created_count, job.existing_count, job.error_count) == (3, 1, 7)

    created = Invitation.objects.filter(tenant=home)
    assert sorted(created.values_list("invited_email", flat=True)) == [
        "ann@partner.example", "gus@partner.example", "known@partner.example"]
    assert by_row[2]["invitation id"] == str(created.get(invited_email="ann@partner.example").pk)
    assert by_row[2]["redeem url"].startswith("http://testserver/t/tailwind/invitations/")
    # Nothing was written for the bad rows.
    assert not User.objects.filter(mail__in=["bob@blocked.example", "cy@partner.example", "dee@partner.example",
                                             "eve@tailwind.example", "fay@partner.example"]).exists()
    assert User.objects.filter(tenant=home, mail__iexact="ann@partner.example").count() == 1
    assert sorted(m.to[0] for m in OutboxMessage.objects.all()) == ["gus@partner.example", "known@partner.example"]
    message = OutboxMessage.objects.get(to=["gus@partner.example"])
    assert by_row[12]["redeem url"] in message.body_text
    assert "Hi &lt;b&gt;there&lt;/b&gt;" in message.body_html  # the custom message is text, escaped


def test_a_bulk_created_guest_has_the_same_shape_as_a_single_invite(home, admin_user):
    single = invitation_create(actor=Actor.for_user(admin_user), tenant=home, email="one@partner.example",
                               redirect_url="https://apps.example/", display_name="One", send_message=True,
                               message_body="Welcome")
    job = run(home, Actor.for_user(admin_user), HEADER + "two@partner.example,Two,https://apps.example/,true,Welcome\r\n")
    bulk_invitation = Invitation.objects.get(pk=results_of(job)[0]["invitation id"])

    def user_shape(user: User) -> dict:
        return {
            "tenant": user.tenant_id, "user_type": user.user_type, "account": user.account_id,
            "upn": user.user_principal_name.replace(user.mail.replace("@", "_"), "<mail>"),
            "state": user.external_user_state, "state_changed": user.external_user_state_changed_at is not None,
            "creation_type": user.creation_type, "enabled": user.account_enabled, "other_mails": user.other_mails,
            "sponsors": list(user.sponsors.values_list("pk", flat=True)),
            "identities": [(i.sign_in_type, i.issuer, i.issuer_assigned_id == user.mail)
                           for i in user.identities.all()],
        }

    def invitation_shape(invitation: Invitation) -> dict:
        return {
            "status": invitation.status, "user_type": invitation.invited_user_type,
            "redirect": invitation.redirect_url, "send": invitation.send_message, "body": invitation.message_body,
            "language": invitation.message_language, "cc": invitation.cc_recipients,
            "token_hash_length": len(invitation.token_hash), "invited_by": invitation.invited_by_id,
            "invited_by_account": invitation.invited_by_account_id, "send_count": invitation.send_count,
            "last_sent": invitation.last_sent_at is not None, "redeemed": invitation.redeemed_at,
            "lifetime_days": round((invitation.expires_at - invitation.created_at).total_seconds() / 86400),
            "display_name_is_users": invitation.invited_display_name == invitation.invited_user.display_name,
        }

    def audit_shape(user: User) -> list:
        events = AuditEvent.objects.filter(target_resources__0__id=str(user.pk)).order_by("activity_display_name")
        return [(e.activity_display_name, e.category, e.operation_type, e.result, e.initiated_by,
                 e.initiated_by_account_id,
                 [(t["type"], t["displayName"] == user.display_name, t["userPrincipalName"] == user.user_principal_name,
                   json.dumps(t["modifiedProperties"]).replace(user.mail, "<mail>")) for t in e.target_resources],
                 [d["key"] for d in e.additional_details]) for e in events]

    def outbox_shape(invitation: Invitation) -> dict:
        message = OutboxMessage.objects.get(to=[invitation.invited_email])
        return {"tenant": message.tenant_id, "cc": message.cc, "from": message.from_email, "status": message.status,
                "dedupe": message.dedupe_key.replace(str(invitation.pk), "<id>"),
                "subject": message.subject, "html": bool(message.body_html)}

    one, two = single.invitation, bulk_invitation
    assert user_shape(two.invited_user) == user_shape(one.invited_user)
    assert invitation_shape(two) == invitation_shape(one)
    assert audit_shape(two.invited_user) == audit_shape(one.invited_user)
    assert outbox_shape(two) == outbox_shape(one)
    assert one.invited_user.user_principal_name == "one_partner.example#EXT#@tailwind.example"
    assert two.invited_user.user_principal_name == "two_partner.example#EXT#@tailwind.example"


def test_rows_are_committed_chunk_by_chunk_with_progress_and_a_stopped_job_resumes(home, admin_user):
    text = HEADER + "".join(f"guest{i}@partner.example,,,false,\r\n" for i in range(10))
    job = make_job(home, Actor.for_user(admin_user), text)

    partial = bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=4, time_budget=0)  # stops after a chunk
    assert (partial.state, partial.processed_rows, partial.created_count) == ("running", 4, 4)
    assert len(results_of(job)) == 4

    finished = bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=4)
    assert (finished.state, finished.processed_rows, finished.created_count) == ("finished", 10, 10)
    assert [int(r["row"]) for r in results_of(job)] == list(range(2, 12))
    assert User.objects.guests().filter(tenant=home).count() == 10
    # Running a finished job again does nothing.
    again = bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=4)
    assert again.processed_rows == 10 and Invitation.objects.count() == 10


def test_duplicates_across_chunks_are_invited_once_and_a_second_run_reinvites_pending_guests(home, admin_user):
    text = HEADER + "a@partner.example,,,true,\r\nb@partner.example,,,true,\r\nA@PARTNER.example,,,true,\r\n"
    first = run(home, Actor.for_user(admin_user), text, chunk_size=2)
    assert [r["result"] for r in results_of(first)] == ["created", "created", "already invited"]
    assert Invitation.objects.count() == 2
    assert OutboxMessage.objects.count() == 2
    # A second run is a second invitation of each guest, as invitation_create would make it: the
    # earlier pending invitation is replaced and the new one mailed; the repeated row still counts once.
    second = run(home, Actor.for_user(admin_user), text)
    rows = results_of(second)
    assert [r["result"] for r in rows] == ["created", "created", "already invited"]
    assert rows[0]["reason"] == ("Invitation created for an existing guest; the earlier invitation was replaced. "
                                 "Invitation e-mail queued.")
    assert rows[2]["reason"] == "Also in row 2 of this file."
    assert User.objects.guests().filter(tenant=home).count() == 2
    assert sorted(Invitation.objects.values_list("status", "status_reason")) == [
        ("PendingAcceptance", ""), ("PendingAcceptance", ""),
        ("Revoked", "superseded by a newer invitation"), ("Revoked", "superseded by a newer invitation")]
    assert OutboxMessage.objects.count() == 4


def test_chunk_costs_a_fixed_number_of_queries_however_many_rows(home, admin_user, django_assert_max_num_queries):
    def job_with(count: int):
        return make_job(home, Actor.for_user(admin_user),
                        HEADER + "".join(f"p{count}-{i}@partner.example,,,true,Hi\r\n" for i in range(count)))

    def lookups(context) -> list[str]:
        return [q["sql"] for q in context.captured_queries if not q["sql"].startswith("INSERT")]

    small, large = job_with(5), job_with(400)
    with django_assert_max_num_queries(35) as small_queries:
        bulk.bulk_invitation_job_process(job_id=small.pk, chunk_size=500)
    # SQLite splits a large insert into batches (PostgreSQL does not): 400 rows, far fewer queries.
    with django_assert_max_num_queries(100) as large_queries:
        bulk.bulk_invitation_job_process(job_id=large.pk, chunk_size=500)
    assert len(lookups(large_queries)) == len(lookups(small_queries))
    assert BulkInvitationJob.objects.get(pk=large.pk).created_count == 400


def test_reinviting_existing_guests_costs_a_fixed_number_of_queries_however_many(home, admin_user,
                                                                               django_assert_max_num_queries):
    def job_with(count: int, state: str):
        emails = [f"{state[:3]}{count}-{i}@partner.example" for i in range(count)]
        for email in emails:
            GuestFactory(tenant=home, mail=email, external_user_state=state)
        return make_job(home, Actor.for_user(admin_user), HEADER + "".join(f"{e},,,true,Hi\r\n" for e in emails))

    def statements(context) -> list[str]:
        return [q["sql"] for q in context.captured_queries if not q["sql"].startswith("INSERT")]

    for state in (User.ExternalUserState.PENDING_ACCEPTANCE, User.ExternalUserState.ACCEPTED):
        small, large = job_with(3, state), job_with(150, state)
        with django_assert_max_num_queries(40) as small_queries:
            bulk.bulk_invitation_job_process(job_id=small.pk)
        with django_assert_max_num_queries(60) as large_queries:
            bulk.bulk_invitation_job_process(job_id=large.pk)
        assert len(statements(large_queries)) == len(statements(small_queries))
        assert BulkInvitationJob.objects.get(pk=large.pk).created_count == 150


def test_a_row_that_fails_in_the_database_is_reported_and_the_rest_of_its_chunk_is_created(home, admin_user,
                                                                                          monkeypatch):
    from invitations.bulk import writer

    real_create = writer._create

    def create_failing_for_boom(context, new):
        if any(c.email == "boom@partner.example" for c in new):
            raise IntegrityError("duplicate key value violates unique constraint")
        return real_create(context, new)

    monkeypatch.setattr(writer, "_create", create_failing_for_boom)
    job = run(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,false,\r\nboom@partner.example,,,false,\r\n"
              "c@partner.example,,,false,\r\n")
    assert [r["result"] for r in results_of(job)] == ["created", "error", "created"]
    assert "nothing was written for it" in results_of(job)[1]["reason"]
    assert not User.objects.filter(mail="boom@partner.example").exists()
    assert User.objects.filter(mail__in=["a@partner.example", "c@partner.example"]).count() == 2


def test_upn_taken_by_a_user_whose_mail_changed_is_an_error_not_a_crash(home, admin_user):
    GuestFactory(tenant=home, mail="new@partner.example", user_principal_name="old_partner.example#EXT#@tailwind.example")
    job = run(home, Actor.for_user(admin_user), HEADER + "old@partner.example,,,false,\r\nok@partner.example,,,false,\r\n")
    assert [r["result"] for r in results_of(job)] == ["error", "created"]
    assert "user principal name already exists" in results_of(job)[0]["reason"]


def test_when_invitations_are_switched_off_before_processing_every_row_fails_with_the_reason(home, admin_user):
    job = make_job(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,,\r\nb@partner.example,,,,\r\n")
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=home, changes={"allow_invites_from": "none"})
    job = bulk.bulk_invitation_job_process(job_id=job.pk)
    assert job.state == "failed"
    assert job.failure == "This organization does not allow anyone to invite guests."
    assert [r["result"] for r in results_of(job)] == ["error", "error"]
    assert not Invitation.objects.exists()


def test_an_inviter_who_lost_their_role_under_an_admins_only_policy_invites_nobody(home):
    inviter = admin_of(home, Role.GUEST_INVITER)
    job = make_job(home, Actor.for_user(inviter), HEADER + "a@partner.example,,,,\r\n")
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=home,
                                                  changes={"allow_invites_from": "adminsAndGuestInviters"})
    inviter.role_assignments.all().delete()
    assert bulk.bulk_invitation_job_process(job_id=job.pk).state == "failed"
    assert not Invitation.objects.exists()


def test_verified_custom_domains_count_as_the_tenants_own(home, admin_user):
    Domain.objects.create(tenant=home, name="tailwindtraders.example", is_verified=True)
    job = run(home, Actor.for_user(admin_user), HEADER + "ann@tailwindtraders.example,,,,\r\n")
    assert "own domain" in results_of(job)[0]["reason"]


def test_invitation_emails_of_a_chunk_are_delivered_after_commit(home, admin_user, mailoutbox,
                                                                 django_capture_on_commit_callbacks):
    job = make_job(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,true,\r\nb@partner.example,,,true,\r\n"
                   "c@partner.example,,,false,\r\n")
    with django_capture_on_commit_callbacks(execute=True):
        bulk.bulk_invitation_job_process(job_id=job.pk)
    assert sorted(m.to[0] for m in mailoutbox) == ["a@partner.example", "b@partner.example"]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
    urls = {r["email"]: r["redeem url"] for r in results_of(job)}
    assert urls["a@partner.example"] in next(m for m in mailoutbox if m.to == ["a@partner.example"]).body


def test_results_cells_that_a_spreadsheet_would_run_as_formulas_are_written_as_text(home, admin_user):
    job = run(home, Actor.for_user(admin_user), HEADER + '"=HYPERLINK(""http://evil.example"")",,,,\r\n')
    [row] = results_of(job)
    assert row["email"].startswith("'=HYPERLINK")
    assert row["result"] == "error"


def test_task_processes_the_job_by_id(home, admin_user):
    job = make_job(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,false,\r\n")
    assert process_bulk_invitation_task.name == "invitations.process_bulk_invitation"
    assert process_bulk_invitation_task.apply(args=[str(job.pk)]).get() == "finished"
    assert Invitation.objects.filter(invited_email="a@partner.example").exists()


# --- progress and results pages ------------------------------------------------------------------


def test_progress_endpoint_reports_counts_as_json(admin_client, home, admin_user):
    job = make_job(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,false,\r\nbad,,,,\r\n"
                   "c@partner.example,,,false,\r\n")
    url = reverse("admin:invitations_bulkinvitationjob_progress", args=[job.pk])
    queued = admin_client.get(url).json()
    assert queued == {"id": str(job.pk), "state": "queued", "stateLabel": "Queued", "finished": False, "total": 3,
                      "processed": 0, "percent": 0, "created": 0, "alreadyInvited": 0, "errors": 0, "failure": ""}
    bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=2, time_budget=0)
    running = admin_client.get(url).json()
    assert (running["state"], running["processed"], running["percent"], running["created"], running["errors"]) == (
        "running", 2, 66, 1, 1)
    bulk.bulk_invitation_job_process(job_id=job.pk)
    done = admin_client.get(url)
    assert "no-store" in done["Cache-Control"]
    assert done.json()["finished"] is True and done.json()["percent"] == 100


def test_job_page_shows_the_progress_bar_polling_script_and_results_link(admin_client, home, admin_user):
    job = run(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,false,\r\n")
    body = admin_client.get(reverse("admin:invitations_bulkinvitationjob_change", args=[job.pk])).content.decode()
    assert '<progress data-field="bar" max="1" value="1"' in body
    assert "/static/js/bulk_progress.js" in body
    assert reverse("admin:invitations_bulkinvitationjob_progress", args=[job.pk]) in body
    assert reverse("admin:invitations_bulkinvitationjob_results", args=[job.pk]) in body
    assert admin_client.get("/static/js/bulk_progress.js").status_code == 200  # served by the project


def test_results_download_is_a_csv_with_one_row_per_input_row(admin_client, home, admin_user):
    job = run(home, Actor.for_user(admin_user),
              HEADER + "a@partner.example,,,false,\r\nbad,,,,\r\na@partner.example,,,,\r\n")
    response = admin_client.get(reverse("admin:invitations_bulkinvitationjob_results", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="bulk-invitations-')
    assert "no-store" in response["Cache-Control"]  # it holds redemption links
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ["row", "email", "result", "reason", "invitation id", "redeem url"]
    assert [(r["row"], r["result"]) for r in rows] == [("2", "created"), ("3", "error"), ("4", "already invited")]


def test_results_so_far_can_be_downloaded_while_the_job_runs_and_are_joined_once_at_the_end(admin_client, home,
                                                                                              admin_user):
    job = make_job(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,false,\r\nb@partner.example,,,false,\r\n"
                   "c@partner.example,,,false,\r\n")
    url = reverse("admin:invitations_bulkinvitationjob_results", args=[job.pk])
    bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=2, time_budget=0)
    partial = list(csv.DictReader(io.StringIO(admin_client.get(url).content.decode("utf-8-sig"))))
    assert [r["email"] for r in partial] == ["a@partner.example", "b@partner.example"]
    assert BulkInvitationResultChunk.objects.filter(job=job).count() == 1

    bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=2)
    assert not BulkInvitationResultChunk.objects.exists()
    stored = BulkInvitationJob.objects.get(pk=job.pk).results
    assert [r["email"] for r in csv.DictReader(io.StringIO(stored))] == [
        "a@partner.example", "b@partner.example", "c@partner.example"]
    assert admin_client.get(url).content.decode("utf-8-sig") == stored


def test_a_reader_sees_the_job_but_not_the_results_with_their_links(client, home, admin_user):
    job = run(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,false,\r\n")
    reader = admin_of(home, Role.SECURITY_ADMINISTRATOR)
    client.force_login(reader.account)
    page = client.get(reverse("admin:invitations_bulkinvitationjob_change", args=[job.pk]))
    assert page.status_code == 200 and "Download results" not in page.content.decode()
    assert client.get(reverse("admin:invitations_bulkinvitationjob_results", args=[job.pk])).status_code == 403
    assert client.get(reverse("admin:invitations_bulkinvitationjob_add")).status_code == 403


def test_upload_page_offers_the_admins_tenants_and_a_file_field(admin_client, home):
    other = TenantFactory(name="Not Mine")
    body = admin_client.get(reverse("admin:invitations_bulkinvitationjob_add")).content.decode()
    assert 'enctype="multipart/form-data"' in body and 'type="file" name="csv_file"' in body
    assert "Tailwind Traders" in body and other.name not in body


def test_process_again_starts_a_stuck_job_where_it_stopped(admin_client, home, admin_user):
    job = make_job(home, Actor.for_user(admin_user), HEADER + "a@partner.example,,,false,\r\nb@partner.example,,,false,\r\n")
    bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=1, time_budget=0)  # as if the worker died
    admin_client.post(reverse("admin:invitations_bulkinvitationjob_changelist"), {
        "action": "process_again", "_selected_action": [str(job.pk)]})
    job.refresh_from_db()
    assert (job.state, job.processed_rows, job.created_count) == ("finished", 2, 2)
    assert [r["result"] for r in results_of(job)] == ["created", "created"]


# --- a real worker -------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_processes_an_uploaded_job_and_each_invitation_email_arrives_once(celery_worker_process, smtp_sink):
    from django.test import Client

    tenant = TenantFactory(slug=f"bulk{os.getpid()}")
    admin = admin_of(tenant)
    client = Client()
    client.force_login(admin.account)
    addresses = [f"worker{i}@partner.example" for i in range(5)]
    content = (HEADER + "".join(f"{a},Guest {i},,true,\r\n" for i, a in enumerate(addresses))
               + f"{addresses[0]},dup,,true,\r\nnot-an-address,,,,\r\n").encode()

    response = upload(client, tenant, content)

    assert response.status_code == 302
    job = BulkInvitationJob.objects.get(tenant=tenant)
    mails = smtp_sink.wait_for(5, timeout=30)
    deadline_job = _wait_for_state(job, "finished")
    assert (deadline_job.created_count, deadline_job.existing_count, deadline_job.error_count) == (5, 1, 1)
    _wait_for_sent(5)
    import time

    time.sleep(1)  # anything sent twice would have arrived by now
    received = sorted(r for mail in smtp_sink.received for r in mail.rcpt_tos)
    assert received == sorted(addresses)
    urls = {r["email"]: r["redeem url"] for r in results_of(job)}
    for mail in mails:
        assert urls[mail.rcpt_tos[0]] in mail.message.get_body(("plain",)).get_content()


def _wait_for_state(job, state: str, timeout: float = 30.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state == state:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job is {job.state}, not {state}, after {timeout}s")


def _wait_for_sent(count: int, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while OutboxMessage.objects.filter(status="sent").count() < count:
        if time.monotonic() > deadline:
            raise AssertionError("outbox messages not marked sent")
        time.sleep(0.1)


# --- in a browser ----------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_job_page_updates_its_progress_bar_by_itself_until_the_job_is_done(browser_page):
    from playwright.sync_api import expect

    from tests.factories import PASSWORD
    from tests.support.browser import sign_in_to_admin

    tenant = TenantFactory(name="Browser Co")
    admin = admin_of(tenant)
    job = make_job(tenant, Actor.for_user(admin), HEADER + "".join(f"p{i}@partner.example,,,false,\r\n" for i in range(5))
                   + "broken,,,,\r\n")
    page = browser_page
    sign_in_to_admin(page, admin.account.email, PASSWORD)
    page.goto(reverse("admin:invitations_bulkinvitationjob_change", args=[job.pk]))
    expect(page.locator('[data-field="stateLabel"]')).to_have_text("Queued")

    bulk.bulk_invitation_job_process(job_id=job.pk, chunk_size=2, time_budget=0)  # the worker's first chunk
    expect(page.locator('[data-field="processed"]')).to_have_text("2")
    expect(page.locator('[data-field="stateLabel"]')).to_have_text("Running")

    bulk.bulk_invitation_job_process(job_id=job.pk)
    expect(page.locator('[data-field="stateLabel"]')).to_have_text("Finished")
    expect(page.locator('[data-field="percent"]')).to_have_text("100")
    expect(page.locator('[data-field="created"]')).to_have_text("5")
    expect(page.locator('[data-field="errors"]')).to_have_text("1")
    assert page.locator('[data-field="bar"]').evaluate("bar => [bar.value, bar.max]") == [6, 6]
    with page.expect_download() as download:
        page.locator('[data-field="results"]').click()
    assert download.value.suggested_filename.endswith("-results.csv")



@pytest.mark.django_db
def test_a_job_whose_uploader_was_deleted_does_not_run_with_platform_rights():
    from directory.models import Account
    from invitations import bulk
    from invitations.models import BulkInvitationJob
    from tests.factories import TenantFactory, admin_of

    tenant = TenantFactory()
    uploader = admin_of(tenant)
    job = bulk.bulk_invitation_job_create(actor=Actor.for_user(uploader), tenant=tenant, file_name="x.csv",
                                          source="email\nann@partner.example\n", enqueue=False)
    Account.objects.filter(pk=uploader.account_id).delete()
    bulk.bulk_invitation_job_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.state == BulkInvitationJob.State.FAILED
    assert job.created_count == 0 and "no longer exists" in job.results
