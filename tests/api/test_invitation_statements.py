"""POST /v1.0/invitations costs a fixed, small number of SQL statements (issue 9, speed)."""

import pytest
from django.db import connection

from directory.models import AuditEvent, OutboxMessage, User
from tests.api.test_invitations import REDIRECT

pytestmark = pytest.mark.django_db

#: One invitation with the e-mail, by an app: token and app lookups (3), settings (1), verified domains
#: (1), the existing-guest check (1), the guest's insert and its identity in a savepoint (4), branding (1),
#: invitation and outbox inserts (2), the three audit rows in one insert (1), and the service's transaction
#: (a savepoint pair here, inside the test's transaction; BEGIN and COMMIT on a server). It was 35, then
#: 34 once the settings were read once; then 16 without the guest's pre-insert uniqueness queries (the
#: database enforces them), the read of its empty sponsor set, superseding for a guest that has no
#: invitation yet, one insert per audit row, and the nested savepoints of the guest's creation, of the
#: redeem-URL record and of the view's own transaction block (the service records the link's reading).
#: The audit rows' search keys (the console's indexed audit search, issue 10) are one more insert: 17.
#: Cross-tenant access settings add one: is the invitee a member of a tenant on this platform? (An indexed
#: read of the account with that address; the members' query and their settings only when there is one.)
#: 18 → 16: the guest's insert needs no savepoint (``INSERT … ON CONFLICT DO NOTHING``: a taken key refuses
#: the row without aborting the transaction, directory/services/_common.py);
#: on PostgreSQL the guest's identity, the invitation, its outbox message, the audit rows and their keys are
#: one statement (``directory.audit.insert_with_audit``): 12 there. On PostgreSQL the settings and the
#: verified domains are one read (``invitations.services.settings_and_own_domains``): 11 there.
STATEMENTS_PER_INVITATION = 11 if connection.vendor == "postgresql" else 16


def test_an_invitation_with_its_message_takes_a_bounded_number_of_statements(
        api_tenant, app_token_for, api, django_assert_max_num_queries):
    client = api(app_token_for(api_tenant, ["User.Invite.All"]))
    client.post("/v1.0/invitations", {"invitedUserEmailAddress": "warm@fabrikam.example",
                                      "inviteRedirectUrl": REDIRECT, "sendInvitationMessage": True}, format="json")
    with django_assert_max_num_queries(STATEMENTS_PER_INVITATION):
        response = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "ann@fabrikam.example",
                                                     "inviteRedirectUrl": REDIRECT, "sendInvitationMessage": True},
                               format="json")
    assert response.status_code == 201, response.content
    assert User.objects.filter(tenant=api_tenant, mail="ann@fabrikam.example").exists()
    assert OutboxMessage.objects.filter(to__icontains="ann@fabrikam.example").exists()


def test_the_collaboration_settings_are_read_once_per_invitation(api_tenant, app_token_for, api):
    from django.test.utils import CaptureQueriesContext

    client = api(app_token_for(api_tenant, ["User.Invite.All"]))
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "bo@fabrikam.example",
                                                     "inviteRedirectUrl": REDIRECT}, format="json")
    assert response.status_code == 201, response.content
    reads = [q for q in queries.captured_queries
             if q["sql"].startswith("SELECT") and '"policies_collaborationsettings"' in q["sql"]]
    assert len(reads) == 1


def test_the_invitations_audit_rows_are_one_insert(api_tenant, app_token_for, api):
    from django.test.utils import CaptureQueriesContext

    client = api(app_token_for(api_tenant, ["User.Invite.All"]))
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "cy@fabrikam.example",
                                                     "inviteRedirectUrl": REDIRECT}, format="json")
    assert response.status_code == 201, response.content
    inserts = [q for q in queries.captured_queries if 'INSERT INTO "directory_auditevent"' in q["sql"]]
    assert len(inserts) == 1
    activities = set(AuditEvent.objects.filter(tenant=api_tenant).values_list("activity_display_name", flat=True))
    assert activities >= {"Add user", "Invite external user", "Read invite redeem URL"}


def test_a_guest_principal_name_taken_by_another_user_is_a_400_not_a_500(api_tenant, app_token_for, api):
    """The guest's UPN is unique per tenant: without the check before the insert, the database refuses it
    and the same message as before comes back (not an IntegrityError, and nothing is left behind)."""
    client = api(app_token_for(api_tenant, ["User.Invite.All"]))
    first = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "dee@fabrikam.example",
                                              "inviteRedirectUrl": REDIRECT}, format="json")
    assert first.status_code == 201
    User.objects.filter(mail="dee@fabrikam.example").update(mail="dee.new@fabrikam.example")  # UPN stays
    users = User.objects.count()

    again = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "dee@fabrikam.example",
                                              "inviteRedirectUrl": REDIRECT}, format="json")
    assert again.status_code == 400, again.content
    assert again.json()["error"]["message"] == "A user with this user principal name already exists in this tenant."
    assert User.objects.count() == users
    assert AuditEvent.objects.filter(activity_display_name="Add user").count() == 1


def test_a_new_guest_is_inserted_without_a_savepoint_of_its_own(api_tenant, app_token_for, api):
    """The service's transaction is the only block (a savepoint pair inside the test's transaction): the
    guest's insert refuses a taken key with ON CONFLICT DO NOTHING instead of a savepoint to roll back to."""
    from django.test.utils import CaptureQueriesContext

    client = api(app_token_for(api_tenant, ["User.Invite.All"]))
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "eve@fabrikam.example",
                                                     "inviteRedirectUrl": REDIRECT}, format="json")
    assert response.status_code == 201, response.content
    savepoints = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 1, savepoints
    assert any("ON CONFLICT DO NOTHING" in q["sql"] or "INSERT OR IGNORE" in q["sql"]
               for q in queries.captured_queries if 'INTO "directory_user"' in q["sql"])


def test_a_taken_address_refused_by_the_database_leaves_the_transaction_usable(api_tenant):
    """A guest whose principal name is taken is refused with the precise message, and the caller's
    transaction goes on (nothing was written, nothing to roll back)."""
    from django.core.exceptions import ValidationError
    from django.db import transaction

    from directory import services
    from directory.actors import Actor

    first = services.guest_user_create(actor=Actor.operator(), tenant=api_tenant, email="fay@fabrikam.example")
    User.objects.filter(pk=first.pk).update(mail="fay.new@fabrikam.example")  # the UPN stays taken
    with transaction.atomic():
        with pytest.raises(ValidationError) as refused:
            services.guest_user_create(actor=Actor.operator(), tenant=api_tenant, email="fay@fabrikam.example")
        assert User.objects.filter(tenant=api_tenant, mail__startswith="fay").count() == 1  # still usable
    assert "user principal name already exists" in str(refused.value)


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_the_invitation_its_mail_and_the_audit_rows_are_one_statement(api_tenant, app_token_for, api):
    from django.test.utils import CaptureQueriesContext

    client = api(app_token_for(api_tenant, ["User.Invite.All"]))
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "gil@fabrikam.example",
                                                     "inviteRedirectUrl": REDIRECT, "sendInvitationMessage": True},
                               format="json")
    assert response.status_code == 201, response.content
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "WITH"))
              and not q["sql"].startswith('INSERT INTO "directory_user" ')]
    assert len(writes) == 1, writes
    for table in ("directory_useridentity", "invitations_invitation", "directory_outboxmessage",
                  "directory_auditevent"):
        assert f'INSERT INTO "{table}"' in writes[0], table
    assert OutboxMessage.objects.filter(to__icontains="gil@fabrikam.example").exists()
    events = AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Invite external user")
    assert events.filter(search_keys__holds="t:gil@fabrikam.example").exists()


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_the_settings_and_the_verified_domains_are_one_read(api_tenant, app_token_for, api):
    """An invitation to an address on a verified domain of the tenant is refused (its own domain), under
    the tenant's settings, both read in one statement."""
    from django.test.utils import CaptureQueriesContext

    from directory.models import Domain
    from policies.models import CollaborationSettings

    Domain.objects.create(tenant=api_tenant, name="contoso-verified.example", is_verified=True)
    CollaborationSettings.objects.update_or_create(tenant=api_tenant, defaults={
        "domain_list_type": "block", "domains": ["blocked.example"]})
    client = api(app_token_for(api_tenant, ["User.Invite.All"]))
    with CaptureQueriesContext(connection) as queries:
        own = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "kim@contoso-verified.example",
                                                "inviteRedirectUrl": REDIRECT}, format="json")
    reads = [q["sql"] for q in queries.captured_queries
             if '"directory_domain"' in q["sql"] or '"policies_collaborationsettings"' in q["sql"]]
    blocked = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "lee@blocked.example",
                                                "inviteRedirectUrl": REDIRECT}, format="json")

    assert own.status_code == 400 and "own domain" in own.json()["error"]["message"]
    assert blocked.status_code == 400 and "blocked.example" in blocked.json()["error"]["message"], blocked.content
    assert len(reads) == 1, reads


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's statement cache (PostgreSQL)")
def test_after_one_invitation_psycopg_splits_none_of_the_next_ones_statements_again(api_tenant, app_token_for, api,
                                                                                    monkeypatch):
    """psycopg keeps a statement's split on its placeholders only up to a number of parameters: the invitation's
    combined insert has more than its default 50 (directory.compiled.let_psycopg_cache_larger_statements)."""
    from psycopg import _queries

    uncached = []
    for name in ("_query2pg_client_nocache", "_query2pg_nocache"):  # what psycopg calls when it will not cache
        split = getattr(_queries, name)
        monkeypatch.setattr(_queries, name, lambda query, *args, split=split: uncached.append(query) or split(
            query, *args))
    client = api(app_token_for(api_tenant, ["User.Invite.All"]))

    def invite(address: str):
        response = client.post("/v1.0/invitations", {"invitedUserEmailAddress": address,
                                                     "inviteRedirectUrl": REDIRECT, "sendInvitationMessage": True},
                               format="json")
        assert response.status_code == 201, response.content

    invite("first@fabrikam.example")
    uncached.clear()
    invite("second@fabrikam.example")
    assert uncached == []
