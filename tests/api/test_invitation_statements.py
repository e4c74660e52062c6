"""POST /v1.0/invitations costs a fixed, small number of SQL statements (issue 9, speed)."""

import pytest

from directory.models import OutboxMessage, User
from tests.api.test_invitations import REDIRECT

pytestmark = pytest.mark.django_db

#: One invitation with the e-mail, by an app: token and app lookups (3), settings (1), verified domains
#: (1), the existing-guest check (1), the guest's validation and insert with its identity and sponsors
#: (~10), its audit (1), superseding (1), branding (1), invitation, audit and outbox inserts (3), the
#: redeem-URL read audit (1), savepoints. It was 35 before the settings were read once.
STATEMENTS_PER_INVITATION = 34


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
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(app_token_for(api_tenant, ["User.Invite.All"]))
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/v1.0/invitations", {"invitedUserEmailAddress": "bo@fabrikam.example",
                                                     "inviteRedirectUrl": REDIRECT}, format="json")
    assert response.status_code == 201, response.content
    reads = [q for q in queries.captured_queries if 'FROM "policies_collaborationsettings"' in q["sql"]]
    assert len(reads) == 1
