"""POST /v1.0/invitations: Graph's invitation semantics over the invitation service."""

import json

import pytest

from directory.actors import Actor
from directory.models import AuditEvent, OutboxMessage, Role, User
from invitations.models import Invitation
from policies import services as policy_services
from tests.api.contract import EndpointContract
from tests.factories import AccountFactory, GroupFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db

REDIRECT = "https://myapps.tailwind.example/"


class TestCreateInvitation(EndpointContract):
    route = "invitations"
    method = "post"
    permission = "User.Invite.All"
    ok_status = 201
    guest_status = 403  # guests may invite only when allowInvitesFrom is "everyone" (default: members)
    member_status = 201  # members may (allowInvitesFrom "adminsGuestInvitersAndAllMembers")

    def body(self, tenant, target):
        return {"invitedUserEmailAddress": "contract@fabrikam.example", "inviteRedirectUrl": REDIRECT}


def set_policy(tenant, **changes):
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes=changes)


@pytest.fixture
def app_client(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, ["User.Invite.All"]))


def post(client, **body):
    body.setdefault("invitedUserEmailAddress", "ann@fabrikam.example")
    body.setdefault("inviteRedirectUrl", REDIRECT)
    return client.post("/v1.0/invitations", body, format="json")


def test_app_invitation_answers_graphs_shape_with_a_working_redeem_url(api_tenant, app_client, client):
    response = post(app_client, invitedUserDisplayName="Ann Fabrikam",
                    invitedUserMessageInfo={"customizedMessageBody": "Welcome!", "messageLanguage": "de-DE",
                                            "ccRecipients": [{"emailAddress": {"name": "Boss",
                                                                               "address": "boss@fabrikam.example"}}]})
    assert response.status_code == 201, response.content
    body = response.json()
    invitation = Invitation.objects.get()
    guest = invitation.invited_user
    assert body["@odata.context"] == "http://testserver/v1.0/$metadata#invitations/$entity"
    assert body["id"] == str(invitation.pk)
    assert body["invitedUserEmailAddress"] == "ann@fabrikam.example"
    assert body["invitedUserDisplayName"] == "Ann Fabrikam"
    assert body["invitedUserType"] == "Guest"
    assert body["inviteRedirectUrl"] == REDIRECT
    assert body["sendInvitationMessage"] is False and body["resetRedemption"] is False
    assert body["status"] == "PendingAcceptance"
    assert body["invitedUser"] == {"id": str(guest.pk)}
    assert body["invitedUserMessageInfo"] == {
        "ccRecipients": [{"emailAddress": {"name": None, "address": "boss@fabrikam.example"}}],
        "customizedMessageBody": "Welcome!", "messageLanguage": "de-DE"}
    assert invitation.message_language == "de"
    assert guest.tenant == api_tenant and guest.user_type == "Guest" and "#EXT#" in guest.user_principal_name
    # The redeem URL is the guest's real, working link.
    assert body["inviteRedeemUrl"].startswith(f"http://testserver/t/{api_tenant.slug}/invitations/")
    landing = client.get(body["inviteRedeemUrl"].removeprefix("http://testserver"))
    assert landing.status_code == 200
    assert not OutboxMessage.objects.exists()  # sendInvitationMessage defaults to false


def test_every_returned_redeem_url_is_audited_with_the_app(api_tenant, app_client):
    assert post(app_client).status_code == 201
    invitation = Invitation.objects.get()
    [read] = AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Read invite redeem URL")
    details = {d["key"]: d["value"] for d in read.additional_details}
    assert details["invitationId"] == str(invitation.pk)
    assert details["appDisplayName"] == "Test app" and details["appId"]
    assert read.initiated_by["app"]["displayName"] == "Test app"
    assert read.target_resources[0]["id"] == str(invitation.invited_user_id)
    assert AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Invite external user").count() == 1


def test_send_invitation_message_queues_the_email_in_the_chosen_language(app_client):
    response = post(app_client, sendInvitationMessage=True, invitedUserMessageInfo={"messageLanguage": "de"})
    assert response.status_code == 201
    [message] = OutboxMessage.objects.all()
    assert message.to == ["ann@fabrikam.example"]
    assert Invitation.objects.get().message_language == "de"
    assert response.json()["invitedUserMessageInfo"]["messageLanguage"] == "de-DE"
    other = post(app_client, invitedUserEmailAddress="bo@fabrikam.example",
                 invitedUserMessageInfo={"messageLanguage": "fr-FR"})
    assert other.json()["invitedUserMessageInfo"]["messageLanguage"] == "en-US"  # we write en and de only


def test_inviting_an_accepted_guest_again_is_completed_and_reuses_the_user(api_tenant, app_client):
    guest = GuestFactory(tenant=api_tenant, mail="gus@fabrikam.example", external_user_state="Accepted",
                         account=AccountFactory())
    body = post(app_client, invitedUserEmailAddress="Gus@Fabrikam.example").json()
    assert body["status"] == "Completed"
    assert body["invitedUser"]["id"] == str(guest.pk)
    assert User.objects.filter(tenant=api_tenant, user_type="Guest").count() == 1


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"invitedUserEmailAddress": "not-an-email"}, "invitedUserEmailAddress"),
        ({"invitedUserEmailAddress": "a;b@fabrikam.example"}, "invitedUserEmailAddress"),
        ({"invitedUserEmailAddress": None}, "invitedUserEmailAddress"),
        ({"inviteRedirectUrl": "javascript:alert(1)"}, "inviteRedirectUrl"),
        ({"inviteRedirectUrl": "https://user:pw@evil.example/"}, "inviteRedirectUrl"),
        ({"inviteRedirectUrl": 42}, "inviteRedirectUrl"),
        ({"isAdmin": True}, "isAdmin"),
        ({"invitedUserType": "Owner"}, "invitedUserType"),
        ({"sendInvitationMessage": "yes"}, "sendInvitationMessage"),
        ({"invitedUserMessageInfo": {"language": "de"}}, "language"),
        ({"invitedUserMessageInfo": {"messageLanguage": "<script>"}}, "language tag"),
        ({"invitedUserMessageInfo": {"customizedMessageBody": "x" * 10_001}}, "customizedMessageBody"),
        ({"invitedUserMessageInfo": {"ccRecipients": [{"emailAddress": {"address": "a@x.example"}},
                                                      {"emailAddress": {"address": "b@x.example"}}]}}, "ccRecipients"),
        ({"invitedUserMessageInfo": {"ccRecipients": ["a@x.example"]}}, "ccRecipients"),
        ({"invitedUserMessageInfo": {"ccRecipients": [{"emailAddress": {"address": "nope"}}]}}, "ccRecipients"),
        ({"invitedUser": {"id": "3f1c0e3e-8d62-4c4e-9f59-4a0f5f4b2d11"}}, "resetRedemption"),
        ({"resetRedemption": True}, "invitedUser"),
        ({"invitedUserEmailAddress": "ann@tailwind.example"}, "own domain"),
    ],
)
def test_bad_input_is_a_graph_style_400_and_writes_nothing(app_client, body, needle):
    response = post(app_client, **body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "Request_BadRequest"
    assert needle.lower() in error["message"].lower()
    assert error["innerError"]["request-id"]
    assert not Invitation.objects.exists() and not User.objects.filter(user_type="Guest").exists()


def test_required_properties_are_required(app_client):
    response = app_client.post("/v1.0/invitations", {"inviteRedirectUrl": REDIRECT}, format="json")
    assert response.status_code == 400 and "invitedUserEmailAddress" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [(b"{not json", "application/json", 400), (b'["a"]', "application/json", 400),
     (b'{"invitedUserEmailAddress": NaN}', "application/json", 400),
     (b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}", "application/json", 400),
     (b"invitedUserEmailAddress=a@b.example", "application/x-www-form-urlencoded", 415)],
)
def test_malformed_bodies_are_refused_in_json(app_client, raw, content_type, status):
    response = app_client.generic("POST", "/v1.0/invitations", raw, content_type=content_type)
    assert response.status_code == status, response.content
    assert "error" in response.json()


def test_oversized_body_is_413(app_client):
    response = post(app_client, invitedUserMessageInfo={"customizedMessageBody": "x" * 2_000_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "Request_EntityTooLarge"


def test_domain_block_list_refuses_the_invitation(api_tenant, app_client):
    set_policy(api_tenant, domain_list_type="block", domains=["fabrikam.example"])
    response = post(app_client)
    assert response.status_code == 400 and "blocked" in response.json()["error"]["message"]
    assert post(app_client, invitedUserEmailAddress="ann@contoso.example").status_code == 201


# --- who may invite ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "app_status"),
    [("none", 403), ("adminsAndGuestInviters", 403), ("adminsGuestInvitersAndAllMembers", 201), ("everyone", 201)],
)
def test_app_only_calls_obey_allow_invites_from_like_graph(api_tenant, app_client, level, app_status):
    set_policy(api_tenant, allow_invites_from=level)
    response = post(app_client)
    assert response.status_code == app_status, response.content
    if app_status == 403:
        assert response.json()["error"]["code"] == "Authorization_RequestDenied"
        assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    ("level", "guest", "member", "inviter", "admin"),
    [
        ("none", 403, 403, 403, 403),
        ("adminsAndGuestInviters", 403, 403, 201, 201),
        ("adminsGuestInvitersAndAllMembers", 403, 201, 201, 201),
        ("everyone", 201, 201, 201, 201),
    ],
)
def test_delegated_calls_follow_the_users_role_and_the_policy(api_tenant, api, delegated_token_for, level, guest,
                                                             member, inviter, admin):
    set_policy(api_tenant, allow_invites_from=level)
    people = {
        "guest": GuestFactory(tenant=api_tenant, account=AccountFactory(), external_user_state="Accepted"),
        "member": UserFactory(tenant=api_tenant),
        "inviter": admin_of(api_tenant, Role.GUEST_INVITER),
        "admin": admin_of(api_tenant, Role.USER_ADMINISTRATOR),
    }
    expected = {"guest": guest, "member": member, "inviter": inviter, "admin": admin}
    for index, (who, user) in enumerate(people.items()):
        client = api(delegated_token_for(user, ["User.Invite.All"]))
        response = post(client, invitedUserEmailAddress=f"p{index}@fabrikam.example")
        assert response.status_code == expected[who], (who, response.content)
        if response.status_code == 201:
            invited = User.objects.get(pk=response.json()["invitedUser"]["id"])
            assert list(invited.sponsors.all()) == [user]  # the inviter becomes the sponsor


def test_member_type_only_for_administrators_and_apps(api_tenant, api, app_client, delegated_token_for):
    member = api(delegated_token_for(UserFactory(tenant=api_tenant), ["User.Invite.All"]))
    refused = post(member, invitedUserType="Member")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "Authorization_RequestDenied"
    # App-only: the app's User.Invite.All was consented by an administrator; Graph takes Member from it.
    by_app = post(app_client, invitedUserType="Member", invitedUserEmailAddress="app-member@fabrikam.example")
    assert by_app.status_code == 201, by_app.content
    assert User.objects.get(pk=by_app.json()["invitedUser"]["id"]).user_type == "Member"
    admin = api(delegated_token_for(admin_of(api_tenant), ["User.Invite.All"]))
    response = post(admin, invitedUserType="member")
    assert response.status_code == 201, response.content
    assert response.json()["invitedUserType"] == "Member"
    assert User.objects.get(pk=response.json()["invitedUser"]["id"]).user_type == "Member"


def test_a_token_for_another_permission_cannot_invite(api_tenant, api, app_token_for):
    response = post(api(app_token_for(api_tenant, ["User.Read.All"])))
    assert response.status_code == 403
    for permission in ("User.ReadWrite.All", "Directory.ReadWrite.All"):
        ok = post(api(app_token_for(api_tenant, [permission])), invitedUserEmailAddress=f"{permission}@f.example")
        assert ok.status_code == 201, (permission, ok.content)


# --- resetRedemption ------------------------------------------------------------------------------


@pytest.fixture
def redeemed_guest(api_tenant):
    guest = GuestFactory(tenant=api_tenant, mail="gus@fabrikam.example", other_mails=["gus@new.example"],
                         external_user_state="Accepted", account=AccountFactory(email="gus@fabrikam.example"))
    return guest


def reset(client, user_id, email="gus@new.example", **body):
    return post(client, invitedUserEmailAddress=email, resetRedemption=True,
                invitedUser={"id": str(user_id), "@odata.type": "#microsoft.graph.user"}, **body)


def test_reset_redemption_keeps_the_user_and_issues_a_new_link(api_tenant, app_client, redeemed_guest):
    response = reset(app_client, redeemed_guest.pk)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["resetRedemption"] is True and body["status"] == "PendingAcceptance"
    assert body["invitedUser"]["id"] == str(redeemed_guest.pk)
    assert body["invitedUserEmailAddress"] == "gus@new.example"
    assert body["inviteRedeemUrl"]
    redeemed_guest.refresh_from_db()
    assert redeemed_guest.account is None and redeemed_guest.external_user_state == "PendingAcceptance"
    assert redeemed_guest.mail == "gus@new.example"
    assert AuditEvent.objects.filter(activity_display_name="Reset user redemption status").count() == 1
    assert AuditEvent.objects.filter(activity_display_name="Read invite redeem URL").count() == 1


def test_reset_redemption_of_another_tenants_or_a_missing_user_is_404(app_client, redeemed_guest):
    stranger = GuestFactory(tenant=TenantFactory(), mail="gus@new.example", external_user_state="Accepted")
    for user_id in (stranger.pk, "00000000-0000-0000-0000-000000000000"):
        response = reset(app_client, user_id)
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "Request_ResourceNotFound"
    assert reset(app_client, "not-a-guid").status_code == 400
    stranger.refresh_from_db()
    assert stranger.external_user_state == "Accepted"


def test_reset_redemption_rules(api_tenant, api, app_client, delegated_token_for, redeemed_guest):
    # the new address must already be one of the user's addresses
    assert reset(app_client, redeemed_guest.pk, email="someone@else.example").status_code == 400
    # members are not external users
    assert reset(app_client, UserFactory(tenant=api_tenant).pk).status_code == 400
    # only administrators (or apps) reset; an app may not reset a user who holds a directory role
    member = api(delegated_token_for(UserFactory(tenant=api_tenant), ["User.Invite.All"]))
    assert reset(member, redeemed_guest.pk).status_code == 403
    redeemed_guest.role_assignments.create(tenant=api_tenant, role=Role.GUEST_INVITER)
    assert reset(app_client, redeemed_guest.pk).status_code == 403
    admin = api(delegated_token_for(admin_of(api_tenant), ["User.Invite.All"]))
    assert reset(admin, redeemed_guest.pk).status_code == 201
    # ccRecipients belong to a new invitation only
    cc = {"ccRecipients": [{"emailAddress": {"address": "c@x.example"}}]}
    assert reset(admin, redeemed_guest.pk, invitedUserMessageInfo=cc).status_code == 400


def test_the_redeem_url_never_leaks_into_other_answers(api_tenant, app_client, api, app_token_for):
    url = post(app_client).json()["inviteRedeemUrl"]
    reader = api(app_token_for(api_tenant, ["User.Read.All", "Directory.Read.All"]))
    everything = json.dumps(reader.get("/v1.0/users", {"$select": "id,displayName,identities,otherMails"}).json())
    assert url not in everything and url.rsplit("/", 2)[-2] not in everything


# --- invitedUserSponsors, ccRecipients, app-only Member ------------------------------------------------


def test_invited_user_sponsors_sponsor_the_new_guest(api_tenant, app_client):
    ann, bob = UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    response = post(app_client, invitedUserSponsors=[
        {"@odata.type": "#microsoft.graph.user", "id": str(ann.pk)}, {"id": str(bob.pk)}])
    assert response.status_code == 201, response.content
    body = response.json()
    assert {s["id"] for s in body["invitedUserSponsors"]} == {str(ann.pk), str(bob.pk)}
    guest = User.objects.get(pk=body["invitedUser"]["id"])
    assert set(guest.sponsors.all()) == {ann, bob}


def test_without_sponsors_the_inviter_sponsors(api_tenant, api, delegated_token_for):
    inviter = admin_of(api_tenant)
    response = post(api(delegated_token_for(inviter, ["User.Invite.All"])), invitedUserSponsors=[])
    assert response.status_code == 201, response.content
    assert response.json()["invitedUserSponsors"] is None
    assert list(User.objects.get(pk=response.json()["invitedUser"]["id"]).sponsors.all()) == [inviter]


@pytest.mark.parametrize(
    ("sponsors", "status", "words"),
    [
        (lambda t, o: [{"id": "not-a-guid"}], 400, "invalid object identifier"),
        (lambda t, o: [{"id": str(UserFactory(tenant=o).pk)}], 404, "does not exist"),  # another tenant's
        (lambda t, o: [{"id": "00000000-0000-0000-0000-000000000001"}], 404, "does not exist"),
        (lambda t, o: [{"id": str(UserFactory(tenant=t, deleted_at="2026-01-01T00:00:00Z").pk)}], 404, "does not exist"),
        (lambda t, o: [{"id": str(GroupFactory(tenant=t).pk)}], 400, "only users"),
        (lambda t, o: [{"id": str(UserFactory(tenant=t).pk)} for _ in range(6)], 400, "at most 5"),
        (lambda t, o: [{"@odata.type": "#microsoft.graph.user"}], 400, "'id' is required"),
        (lambda t, o: {"id": "x"}, 400, "must be a list"),
    ],
)
def test_bad_sponsors_are_refused_and_nothing_is_created(api_tenant, app_client, sponsors, status, words):
    other = TenantFactory()
    response = post(app_client, invitedUserSponsors=sponsors(api_tenant, other))
    assert response.status_code == status, response.content
    assert words in response.json()["error"]["message"]
    assert not Invitation.objects.exists() and not User.objects.filter(mail="ann@fabrikam.example").exists()


def test_the_sponsor_limit_is_the_services_rule(api_tenant):
    from django.core.exceptions import ValidationError

    from invitations import services

    sponsors = UserFactory.create_batch(6, tenant=api_tenant)
    with pytest.raises(ValidationError) as error:
        services.invitation_create(actor=Actor.operator(), tenant=api_tenant, email="ann@fabrikam.example",
                                   redirect_url=REDIRECT, sponsors=sponsors)
    assert "sponsors" in error.value.message_dict


def test_sponsors_are_not_taken_with_a_reset(api_tenant, app_client):
    guest = GuestFactory(tenant=api_tenant, mail="ann@fabrikam.example")
    response = post(app_client, resetRedemption=True, invitedUser={"id": str(guest.pk)},
                    invitedUserSponsors=[{"id": str(UserFactory(tenant=api_tenant).pk)}])
    assert response.status_code == 400 and "invitedUserSponsors" in response.json()["error"]["message"]


def test_one_cc_recipient_as_graph_supports_and_a_second_is_a_clear_400(api_tenant, app_client):
    def cc(*addresses):
        return {"ccRecipients": [{"emailAddress": {"address": a}} for a in addresses]}

    one = post(app_client, sendInvitationMessage=True, invitedUserMessageInfo=cc("boss@fabrikam.example"))
    assert one.status_code == 201, one.content
    assert OutboxMessage.objects.get().cc == ["boss@fabrikam.example"]
    two = post(app_client, invitedUserEmailAddress="bob@fabrikam.example",
               invitedUserMessageInfo=cc("boss@fabrikam.example", "ceo@fabrikam.example"))
    assert two.status_code == 400
    assert "ccRecipients" in two.json()["error"]["message"] and "at most 1" in two.json()["error"]["message"]


@pytest.mark.parametrize(("level", "status"), [("everyone", 201), ("adminsGuestInvitersAndAllMembers", 201),
                                               ("adminsAndGuestInviters", 403), ("none", 403)])
def test_app_only_member_invitations_follow_allow_invites_from_like_guest_ones(api_tenant, app_client, level,
                                                                              status):
    set_policy(api_tenant, allow_invites_from=level)
    response = post(app_client, invitedUserType="Member")
    assert response.status_code == status, response.content


def test_member_invitation_errors_name_graph_properties_not_django_fields(api_tenant, app_client):
    UserFactory(tenant=api_tenant, mail="ann@fabrikam.example")  # a member with that address already
    response = post(app_client, invitedUserType="Member")
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert message.startswith("invitedUserEmailAddress: ") and "__all__" not in message
