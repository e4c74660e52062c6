"""Rules that lived in one interface only now live in a service, and every interface that reaches them
gets the same answer (issue 7, item 7)."""

from io import StringIO

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from directory import services
from directory.actors import Actor
from directory.audit import graph_type
from directory.models import AppRegistration, AuditEvent, OutboxMessage, Role, Tenant, User
from invitations import services as invitation_services
from invitations.models import Invitation
from policies import services as policy_services
from policies.models import CollaborationSettings
from tests.factories import GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


# --- nobody deletes themselves ------------------------------------------------------------------

def test_deleting_yourself_is_refused_by_the_service(tenant):
    admin = admin_of(tenant)
    with pytest.raises(ValidationError, match="You cannot delete yourself"):
        services.user_delete(actor=Actor.for_user(admin), user=admin)
    assert User.objects.get(pk=admin.pk).deleted_at is None


def test_deleting_yourself_is_refused_in_the_console(client, tenant):
    admin = admin_of(tenant)
    client.force_login(admin.account)
    response = client.post(reverse("admin:directory_user_changelist"), {
        "action": "delete_selected", "_selected_action": [str(admin.pk)], "post": "yes"}, follow=True)
    assert "You cannot delete yourself" in response.content.decode()
    assert User.objects.get(pk=admin.pk).deleted_at is None


# --- app registrations' redirect URIs -------------------------------------------------------------

@pytest.mark.parametrize("uri", [
    "http://evil.example/callback", "http://localhost.evil.example/cb", "http://127.0.0.1.evil.example/cb",
    "http://user:pass@localhost/cb", "javascript:alert(1)", "ftp://files.example/cb",
])
def test_the_service_refuses_unsafe_redirect_uris_whoever_calls_it(tenant, uri):
    with pytest.raises(ValidationError):
        services.app_registration_create(actor=Actor.operator(), tenant=tenant, display_name="App",
                                         delegated_permissions=["User.Read"], redirect_uris=[uri])
    assert not AppRegistration.objects.exists()


def test_the_service_takes_https_and_local_http_redirect_uris(tenant):
    registration, _id, _secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name="App", delegated_permissions=["User.Read"],
        redirect_uris=["https://app.example/cb", "http://localhost:8080/cb", "http://127.0.0.1/cb"])
    assert set(registration.client.get_redirect_uris()) == {
        "https://app.example/cb", "http://localhost:8080/cb", "http://127.0.0.1/cb"}


def test_the_console_shows_the_services_redirect_uri_rule(client, tenant):
    admin = admin_of(tenant)
    client.force_login(admin.account)
    response = client.post(reverse("admin:directory_appregistration_add"), {
        "tenant": str(tenant.pk), "display_name": "App", "redirect_uris": "http://evil.example/cb",
        "secret_lifetime_days": "180"})
    assert response.status_code == 200 and "Use https://" in response.content.decode()
    assert not AppRegistration.objects.exists()


# --- the allow/block list switch lives in the service ---------------------------------------------

def test_switching_the_list_type_discards_the_list_in_the_console_and_the_api_alike(client, tenant):
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "domain_list_type": "block", "domains": ["evil.example"]})
    settings = CollaborationSettings.objects.get(tenant=tenant)
    admin = admin_of(tenant)
    client.force_login(admin.account)
    response = client.post(reverse("admin:policies_collaborationsettings_change", args=[settings.pk]), {
        "allow_invites_from": settings.allow_invites_from, "guest_user_role_id": settings.guest_user_role_id,
        "domain_list_type": "allow", "domains": "evil.example", "invitation_lifetime_days": "30",
        "email_otp_enabled": "on", "guests_can_leave": "on"})
    assert response.status_code == 302
    settings.refresh_from_db()
    assert (settings.domain_list_type, settings.domains) == ("allow", [])  # the switch discarded the old list
    from policies.api.views import b2b_definition_changes

    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes={
        "domain_list_type": "block", "domains": ["evil.example"]})
    changes = b2b_definition_changes(['{"B2BManagementPolicy": {"InvitationsAllowedAndBlockedDomainsPolicy": '
                                      '{"AllowedDomains": ["partner.example"]}}}'])
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant, changes=changes)
    settings.refresh_from_db()
    assert (settings.domain_list_type, settings.domains) == ("allow", ["partner.example"])


# --- revoking asks who may invite, as resending does -----------------------------------------------

def test_revoking_needs_the_right_to_invite_like_resending(tenant):
    inviter = admin_of(tenant, Role.GUEST_INVITER)
    result = invitation_services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant,
                                                   email="ann@partner.example", redirect_url="https://apps.example/")
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant,
                                                  changes={"allow_invites_from": "none"})
    for service in (invitation_services.invitation_revoke, invitation_services.invitation_resend):
        with pytest.raises(PermissionDenied):
            service(actor=Actor.for_user(inviter), invitation=result.invitation)
    assert Invitation.objects.get(pk=result.invitation.pk).status == Invitation.Status.PENDING_ACCEPTANCE


def test_a_member_who_may_not_invite_cannot_revoke_in_the_console(client, tenant):
    result = invitation_services.invitation_create(actor=Actor.operator(), tenant=tenant,
                                                   email="ann@partner.example", redirect_url="https://apps.example/")
    reader = admin_of(tenant, Role.SECURITY_ADMINISTRATOR)
    client.force_login(reader.account)
    client.post(reverse("admin:invitations_invitation_changelist"), {
        "action": "revoke_selected", "confirm": "yes", "_selected_action": [str(result.invitation.pk)]})
    assert Invitation.objects.get(pk=result.invitation.pk).status == Invitation.Status.PENDING_ACCEPTANCE


# --- sending mail again is audited -----------------------------------------------------------------

def test_sending_outbox_messages_again_is_audited_in_the_service_and_the_console(client, tenant):
    message = OutboxMessage.objects.create(tenant=tenant, to=["a@partner.example"], subject="Hi", body_text="x",
                                           status=OutboxMessage.Status.FAILED, attempts=12)
    services.outbox_retry_now(actor=Actor.operator(tenant=tenant), messages=[message])
    [event] = AuditEvent.objects.filter(tenant=tenant, activity_display_name="Send outbox messages again")
    assert event.target_resources[0]["type"] == "Message"
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 0)
    OutboxMessage.objects.filter(pk=message.pk).update(status=OutboxMessage.Status.FAILED)
    client.force_login(admin_of(tenant).account)
    client.post(reverse("admin:directory_outboxmessage_changelist"), {
        "action": "retry_now", "_selected_action": [str(message.pk)]})
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="Send outbox messages again").count() == 2


def test_platform_mail_is_sent_again_only_by_the_operator(tenant):
    message = OutboxMessage.objects.create(tenant=None, to=["a@partner.example"], subject="Code", body_text="x",
                                           status=OutboxMessage.Status.FAILED)
    with pytest.raises(PermissionDenied):
        services.outbox_retry_now(actor=Actor.for_user(admin_of(tenant)), messages=[message])


# --- GET never writes ------------------------------------------------------------------------------

def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            and "django_session" not in q["sql"]]


def test_reading_the_settings_writes_nothing_in_the_api_and_the_console(client, tenant, api, app_token_for):
    token = app_token_for(tenant, ["Policy.Read.All"])
    admin = admin_of(tenant)
    client.force_login(admin.account)
    settings = CollaborationSettings.objects.get(tenant=tenant)
    with CaptureQueriesContext(connection) as queries:
        assert api(token).get("/v1.0/policies/authorizationPolicy").status_code == 200
        assert api(token).get("/beta/policies/b2bManagementPolicies").status_code == 200
        # The list opens the tenant's one settings page directly.
        assert client.get(reverse("admin:policies_collaborationsettings_changelist"), follow=True).status_code == 200
        assert client.get(reverse("admin:policies_collaborationsettings_change", args=[settings.pk])).status_code == 200
    assert _writes(queries.captured_queries) == []


def test_a_new_tenant_has_its_settings_row_from_the_start():
    tenant = services.tenant_create(actor=Actor.operator(), name="New Co", slug="newco",
                                    initial_domain="newco.example")
    assert CollaborationSettings.objects.filter(tenant=tenant).exists()
    assert Tenant.objects.get(pk=tenant.pk).collaboration_settings.allow_invites_from


# --- audit targets of every kind get their Graph type ---------------------------------------------

def test_every_audited_object_kind_has_a_graph_type(tenant):
    result = invitation_services.invitation_create(actor=Actor.operator(), tenant=tenant,
                                                   email="ann@partner.example", redirect_url="https://apps.example/")
    registration, _id, _secret = services.app_registration_create(actor=Actor.operator(), tenant=tenant,
                                                                   display_name="App")
    assert graph_type(result.invitation) == "Invitation"
    assert graph_type(registration) == "Application"
    assert graph_type(CollaborationSettings.objects.get(tenant=tenant)) == "Policy"
    assert graph_type(GuestFactory(tenant=tenant)) == "User"
    types = {t["type"] for e in AuditEvent.objects.filter(tenant=tenant) for t in e.target_resources}
    assert "Other" not in types


def test_the_console_invite_page_audits_the_link_it_shows(client, tenant):
    admin = admin_of(tenant)
    client.force_login(admin.account)
    response = client.post(reverse("admin:invitations_invitation_add"), {
        "tenant": str(tenant.pk), "email": "ann@partner.example", "display_name": "Ann", "redirect_url": "",
        "user_type": "Guest", "message_body": "", "message_language": "en", "cc_recipients": ""}, follow=True)
    assert "/t/tailwind/invitations/" in response.content.decode()
    [read] = AuditEvent.objects.filter(tenant=tenant, activity_display_name="Read invite redeem URL")
    assert {"key": "interface", "value": "Admin console"} in read.additional_details
    assert read.initiated_by_account == admin.account


def test_the_command_line_audits_the_links_it_prints(tenant):
    call_command("invite", "--tenant", "tailwind", "--email", "ann@partner.example", "--no-send",
                 stdout=StringIO(), stderr=StringIO())
    [read] = AuditEvent.objects.filter(tenant=tenant, activity_display_name="Read invite redeem URL")
    assert {"key": "interface", "value": "Command line"} in read.additional_details
    assert read.initiated_by["app"]["servicePrincipalName"] == "platform operator"


def test_a_plain_member_is_a_user_not_an_administrator(tenant):
    member = UserFactory(tenant=tenant)
    assert Actor.for_user(member).can("User.Read.All") and not Actor.for_user(member).can("User.ReadWrite.All")
