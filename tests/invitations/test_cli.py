"""``manage.py invite``: operators invite by address or from a CSV file, see the links or per-row
results, and get a non-zero exit with a clear message for bad input."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from directory.actors import Actor
from directory.models import AuditEvent, OutboxMessage, User
from invitations.models import BulkInvitationJob, Invitation
from policies import services as policy_services
from tests.factories import TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


def invite(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("invite", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_invites_addresses_and_prints_each_redeem_url(tenant):
    out, _ = invite("--tenant", "tailwind", "--email", "ann@partner.example", "--email", "Bob@Partner.example",
                    "--no-send")
    lines = [line.split("\t") for line in out.splitlines()]
    assert [email for email, _ in lines] == ["ann@partner.example", "bob@partner.example"]
    assert all(url.startswith("http://testserver/t/tailwind/invitations/") for _, url in lines)
    invitation = Invitation.objects.get(invited_email="ann@partner.example")
    assert invitation.redirect_url == "http://testserver/t/tailwind/"  # the access panel by default
    assert invitation.invited_by is None and invitation.invited_by_account is None  # the platform invited
    assert not OutboxMessage.objects.exists()


def test_sends_the_message_in_the_chosen_language_as_the_given_inviter(tenant):
    inviter = admin_of(tenant)
    invite("--tenant", "tailwind", "--email", "ann@partner.example", "--display-name", "Ann Partner",
           "--redirect-url", "https://apps.example/", "--message", "Willkommen", "--language", "de",
           "--inviter", inviter.user_principal_name.upper())
    invitation = Invitation.objects.get()
    assert invitation.invited_by == inviter and invitation.invited_display_name == "Ann Partner"
    assert list(invitation.invited_user.sponsors.all()) == [inviter]
    message = OutboxMessage.objects.get()
    assert message.to == ["ann@partner.example"] and "Willkommen" in message.body_text
    assert invitation.message_language == "de"


def test_a_bad_address_is_reported_the_others_are_invited_and_the_exit_is_non_zero(tenant):
    err = StringIO()
    with pytest.raises(CommandError, match="1 of 2 addresses were not invited"):
        call_command("invite", "--tenant", "tailwind", "--email", "not-an-address", "--email", "ok@partner.example",
                     "--no-send", stdout=StringIO(), stderr=err)
    assert "not-an-address: “not-an-address” is not a valid e-mail address." in err.getvalue()
    assert list(Invitation.objects.values_list("invited_email", flat=True)) == ["ok@partner.example"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nope", "--email", "a@partner.example"], "No tenant with the short name 'nope'."),
        (["--tenant", "tailwind"], "one of the arguments --email --csv is required"),
        (["--tenant", "tailwind", "--email", "a@partner.example", "--csv", "x.csv"], "not allowed with argument"),
        (["--tenant", "tailwind", "--email", "a@partner.example", "--redirect-url", "javascript:alert(1)"],
         "--redirect-url: The redirect URL must start with https://"),
        (["--tenant", "tailwind", "--email", "a@partner.example", "--inviter", "ghost@tailwind.example"],
         "'ghost@tailwind.example' is not a user of Tailwind Traders who can sign in"),
        (["--tenant", "tailwind", "--email", "a@partner.example", "--email", "b@partner.example", "--display-name",
          "X"], "--display-name goes with a single --email."),
        (["--tenant", "tailwind", "--csv", "/nonexistent/guests.csv"], "/nonexistent/guests.csv: No such file"),
    ],
)
def test_bad_input_exits_non_zero_with_a_clear_message_and_writes_nothing(tenant, args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        invite(*args)
    assert not Invitation.objects.exists()
    assert not User.objects.guests().exists()


def test_policy_none_stops_the_command_with_the_reason(tenant):
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tenant, changes={"allow_invites_from": "none"})
    with pytest.raises(CommandError, match=r"This organization does not allow anyone to invite guests\."):
        invite("--tenant", "tailwind", "--email", "a@partner.example")
    assert not Invitation.objects.exists()


def test_csv_file_is_invited_as_a_bulk_job_and_prints_one_result_per_row(tenant, tmp_path):
    path = tmp_path / "guests.csv"
    path.write_text("Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL] Required,"
                    "Send invitation message (true or false) [sendEmail]\n"
                    "ann@partner.example,https://apps.example/,true\n"
                    "bob@partner.example,,\n", encoding="utf-8-sig")
    out, err = invite("--tenant", "tailwind", "--csv", str(path), "--no-send")
    lines = out.splitlines()
    assert lines[0] == "row,email,result,reason,invitation id,redeem url"
    assert [line.split(",")[:3] for line in lines[1:]] == [["2", "ann@partner.example", "created"],
                                                           ["3", "bob@partner.example", "created"]]
    assert "2 rows: 2 created, 0 already invited, 0 errors." in err
    job = BulkInvitationJob.objects.get()
    assert (job.state, job.file_name, job.created_by) == ("finished", "guests.csv", None)
    # The row's "true" sends; the empty cell takes --no-send.
    assert [m.to for m in OutboxMessage.objects.all()] == [["ann@partner.example"]]
    assert Invitation.objects.get(invited_email="bob@partner.example").redirect_url == "http://testserver/t/tailwind/"
    [read] = AuditEvent.objects.filter(tenant=tenant, activity_display_name="Read invite redeem URL")
    # The printed links are on record; ann's went out by e-mail, so only bob's is kept and printed.
    assert {"key": "redeemUrls", "value": "1"} in read.additional_details


def test_csv_rows_with_errors_are_printed_and_the_exit_is_non_zero(tenant, tmp_path):
    UserFactory(tenant=tenant, mail="member@partner.example")
    path = tmp_path / "guests.csv"
    path.write_text("email\nok@partner.example\nmember@partner.example\nbroken\n")
    out = StringIO()
    with pytest.raises(CommandError, match="2 of 3 rows were not invited"):
        call_command("invite", "--tenant", "tailwind", "--csv", str(path), stdout=out, stderr=StringIO())
    results = [line.split(",")[2] for line in out.getvalue().splitlines()[1:]]
    assert results == ["created", "error", "error"]


def test_an_unusable_csv_is_refused_before_anything_is_stored(tenant, tmp_path):
    path = tmp_path / "guests.csv"
    path.write_bytes("Name;Firma\nJürgen;Proseware\n".encode("cp1252"))
    with pytest.raises(CommandError, match="The file is not UTF-8 text"):
        invite("--tenant", "tailwind", "--csv", str(path))
    path.write_text("name,company\nAnn,Proseware\n")
    with pytest.raises(CommandError, match="it has no email column"):
        invite("--tenant", "tailwind", "--csv", str(path))
    assert not BulkInvitationJob.objects.exists()
