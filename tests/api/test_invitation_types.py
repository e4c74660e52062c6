"""An invitation answers for what it did (issue 9, found by probing the API): it never changes an existing user's
type, so asking it to is refused rather than answered as if done; a sponsor named twice is one sponsor."""

import pytest

from directory.models import User
from invitations.models import Invitation
from tests.api.test_invitations import REDIRECT
from tests.factories import AccountFactory, GuestFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(api_tenant, api, delegated_token_for):
    return api(delegated_token_for(admin_of(api_tenant), ["User.Invite.All"]))


def invite(client, email="gus@fabrikam.example", **body):
    return client.post("/v1.0/invitations", {"invitedUserEmailAddress": email, "inviteRedirectUrl": REDIRECT, **body},
                       format="json")


def test_inviting_an_existing_guest_as_a_member_is_refused_and_changes_nothing(api_tenant, admin_client):
    guest = GuestFactory(tenant=api_tenant, mail="gus@fabrikam.example")

    response = invite(admin_client, invitedUserType="Member")

    assert response.status_code == 400, response.content
    assert "invitedUserType" in response.json()["error"]["message"]
    guest.refresh_from_db()
    assert guest.user_type == "Guest"
    assert not Invitation.objects.filter(invited_user=guest).exists()


def test_inviting_an_existing_user_answers_its_own_type(api_tenant, admin_client):
    GuestFactory(tenant=api_tenant, mail="gus@fabrikam.example")
    external_member = GuestFactory(tenant=api_tenant, mail="mia@fabrikam.example", user_type="Member")

    as_guest = invite(admin_client, invitedUserType="Guest")
    unnamed = invite(admin_client, "mia@fabrikam.example")

    assert as_guest.status_code == 201 and as_guest.json()["invitedUserType"] == "Guest"
    assert unnamed.status_code == 201, unnamed.content
    assert unnamed.json()["invitedUserType"] == "Member"
    assert unnamed.json()["invitedUser"]["id"] == str(external_member.pk)
    assert invite(admin_client, "mia@fabrikam.example", invitedUserType="Guest").status_code == 400


def test_a_new_user_gets_the_type_asked_for_or_guest(api_tenant, admin_client):
    assert invite(admin_client, "new@fabrikam.example").json()["invitedUserType"] == "Guest"
    response = invite(admin_client, "newer@fabrikam.example", invitedUserType="Member")
    assert response.status_code == 201, response.content
    assert response.json()["invitedUserType"] == "Member"
    assert User.objects.get(pk=response.json()["invitedUser"]["id"]).user_type == "Member"


def test_reset_redemption_refuses_another_type_and_keeps_the_users(api_tenant, admin_client):
    guest = GuestFactory(tenant=api_tenant, mail="gus@fabrikam.example", external_user_state="Accepted",
                         account=AccountFactory(email="gus@fabrikam.example"))
    body = {"resetRedemption": True, "invitedUser": {"id": str(guest.pk)}}

    refused = invite(admin_client, invitedUserType="Member", **body)
    kept = invite(admin_client, **body)

    assert refused.status_code == 400, refused.content
    assert "invitedUserType" in refused.json()["error"]["message"]
    assert kept.status_code == 201, kept.content
    assert kept.json()["invitedUserType"] == "Guest"
    guest.refresh_from_db()
    assert guest.user_type == "Guest"


def test_a_sponsor_named_twice_is_one_sponsor_in_the_answer_too(api_tenant, admin_client):
    ann = UserFactory(tenant=api_tenant)

    response = invite(admin_client, "new@fabrikam.example", invitedUserSponsors=[{"id": str(ann.pk)},
                                                                                 {"id": str(ann.pk)}])

    assert response.status_code == 201, response.content
    assert [s["id"] for s in response.json()["invitedUserSponsors"]] == [str(ann.pk)]
    assert list(User.objects.get(pk=response.json()["invitedUser"]["id"]).sponsors.all()) == [ann]
