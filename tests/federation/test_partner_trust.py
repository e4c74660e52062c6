"""Partner MFA where Entra counts it, and the invitation e-mail under automatic redemption."""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.urls import reverse

from directory.access import satisfied_at
from directory.actors import Actor
from directory.federation import federated_login_response, sign_in_federated
from directory.models import OutboxMessage
from invitations.services import invitation_create
from policies import services
from policies.cross_tenant_access import credit_trusted_mfa
from tests.factories import GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db
ISSUER = "https://portal.proseware.example"
PROSEWARE_ID = "0a3f5a51-8d0c-4b7f-9b1e-2a9d1c6e4f00"


def _operator(tenant):
    return Actor.operator(tenant=tenant)


def _federated_guest(http_request, tenant, amr):
    account = sign_in_federated(http_request, tenant=tenant, issuer=ISSUER, subject="ann", email="ann@proseware.example",
                                email_verified=True, amr=amr, home_tenant_id=PROSEWARE_ID)
    federated_login_response(http_request, account, redirect_url="/t/tailwind/")
    return GuestFactory(tenant=tenant, account=account, mail=account.email)


@pytest.mark.parametrize(("trusted", "amr", "credited"), [(True, ["pwd", "mfa"], True), (False, ["pwd", "mfa"], False),
                                                          (True, ["pwd"], False)])
def test_a_partner_deployments_mfa_counts_only_where_inbound_trust_accepts_it(http_request, tenant, trusted, amr,
                                                                               credited):
    services.cross_tenant_partner_create(actor=_operator(tenant), tenant=tenant, partner_tenant_id=PROSEWARE_ID,
                                         issuer=ISSUER, settings={"inboundTrust": {"isMfaAccepted": trusted}})
    guest = _federated_guest(http_request, tenant, amr)
    credit_trusted_mfa(http_request, tenant=tenant, user=guest, account=guest.account)
    assert ("mfa" in satisfied_at(http_request.session, tenant)) is credited


def test_the_same_tenant_id_from_another_issuer_is_not_trusted(http_request, tenant):
    services.cross_tenant_partner_create(actor=_operator(tenant), tenant=tenant, partner_tenant_id=PROSEWARE_ID,
                                         issuer="https://elsewhere.example",
                                         settings={"inboundTrust": {"isMfaAccepted": True}})
    guest = _federated_guest(http_request, tenant, ["mfa"])
    credit_trusted_mfa(http_request, tenant=tenant, user=guest, account=guest.account)
    assert "mfa" not in satisfied_at(http_request.session, tenant)


def _log_in(client, account, http_request):
    """Carry the federated session into the test client (its allauth records, then Django's login)."""
    session = client.session
    for key, value in http_request.session.items():
        session[key] = value
    session[SESSION_KEY] = str(account.pk)
    session[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
    session[HASH_SESSION_KEY] = account.get_session_auth_hash()
    session.save()


@pytest.mark.parametrize("trusted", [True, False])
def test_trusted_partner_mfa_counts_when_an_app_is_launched_too(client, http_request, tenant, trusted):
    """Conditional access asks MFA for one app only: the panel opens, the launch is where it is checked."""
    from directory.models import AppRoleAssignment
    from tests.factories import ApplicationFactory

    app = ApplicationFactory(tenant=tenant, launch_url="https://crm.tailwind.example/")
    services.cross_tenant_partner_create(actor=_operator(tenant), tenant=tenant, partner_tenant_id=PROSEWARE_ID,
                                         issuer=ISSUER, settings={"inboundTrust": {"isMfaAccepted": trusted}})
    services.conditional_access_policy_create(actor=_operator(tenant), tenant=tenant, data={
        "displayName": "The CRM requires MFA", "state": "enabled",
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
        "conditions": {"users": {"includeUsers": ["All"]}, "applications": {"includeApplications": [str(app.app_id)]}}})
    guest = _federated_guest(http_request, tenant, ["pwd", "mfa"])
    AppRoleAssignment.objects.create(tenant=tenant, application=app, user=guest)
    _log_in(client, guest.account, http_request)
    assert client.get(reverse("directory:panel", args=[tenant.slug])).status_code == 200
    response = client.get(reverse("directory:launch", args=[tenant.slug, app.pk]))
    assert response.status_code == 302
    if trusted:
        assert response["Location"] == "https://crm.tailwind.example/"
    else:
        assert "/mfa/" in response["Location"]


def test_under_automatic_redemption_the_invitation_mail_is_replaced_by_the_notice():
    tailwind, proseware = TenantFactory(name="Tailwind"), TenantFactory(name="Proseware")
    ann = UserFactory(tenant=proseware)
    services.cross_tenant_partner_create(actor=_operator(tailwind), tenant=tailwind, partner_tenant_id=proseware.pk,
                                         settings={"automaticUserConsentSettings": {"inboundAllowed": True}})
    services.cross_tenant_partner_create(actor=_operator(proseware), tenant=proseware, partner_tenant_id=tailwind.pk,
                                         settings={"automaticUserConsentSettings": {"outboundAllowed": True}})
    invitation_create(actor=Actor.for_user(admin_of(tailwind)), tenant=tailwind, email=ann.account.email,
                      redirect_url="https://apps.tailwind.example/", send_message=True)
    mails = list(OutboxMessage.objects.filter(to=[ann.account.email]).values_list("subject", flat=True))
    assert len(mails) == 1 and "You now have access" in mails[0]


def test_without_both_switches_the_invitation_mail_goes_out():
    tailwind, proseware = TenantFactory(name="Tailwind"), TenantFactory(name="Proseware")
    ann = UserFactory(tenant=proseware)
    services.cross_tenant_partner_create(actor=_operator(tailwind), tenant=tailwind, partner_tenant_id=proseware.pk,
                                         settings={"automaticUserConsentSettings": {"inboundAllowed": True}})
    invitation_create(actor=Actor.for_user(admin_of(tailwind)), tenant=tailwind, email=ann.account.email,
                      redirect_url="https://apps.tailwind.example/", send_message=True)
    mails = list(OutboxMessage.objects.filter(to=[ann.account.email]).values_list("subject", flat=True))
    assert len(mails) == 1 and "You now have access" not in mails[0]


def test_a_federated_redemption_records_the_issuer_and_the_subject_as_the_guests_identity(client, http_request,
                                                                                         tenant):
    from directory.models import User
    from invitations.views import PENDING_KEY

    result = invitation_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant, email="ann@proseware.example",
                               redirect_url="https://apps.tailwind.example/")
    account = sign_in_federated(http_request, tenant=tenant, issuer=ISSUER, subject="sub-ann",
                                email="ann@proseware.example", email_verified=True, amr=["pwd"],
                                home_tenant_id=PROSEWARE_ID)
    federated_login_response(http_request, account, redirect_url="/t/tailwind/")
    _log_in(client, account, http_request)
    session = client.session
    session[PENDING_KEY] = {"invitation": str(result.invitation.pk), "tenant": str(tenant.pk)}
    session.save()
    response = client.post(reverse("invitations:consent", args=[tenant.slug]), {"decision": "accept"})
    assert response.status_code == 302
    guest = User.objects.get(pk=result.invitation.invited_user_id)
    identity = guest.identities.get()
    assert (identity.sign_in_type, identity.issuer, identity.issuer_assigned_id) == ("federated", ISSUER, "sub-ann")


def test_a_bulk_invitation_under_automatic_redemption_queues_the_notice_not_the_invitation():
    from invitations import bulk

    tailwind, proseware = TenantFactory(name="Tailwind"), TenantFactory(name="Proseware")
    ann, bob = UserFactory(tenant=proseware), UserFactory(tenant=TenantFactory())
    services.cross_tenant_partner_create(actor=_operator(tailwind), tenant=tailwind, partner_tenant_id=proseware.pk,
                                         settings={"automaticUserConsentSettings": {"inboundAllowed": True}})
    services.cross_tenant_partner_create(actor=_operator(proseware), tenant=proseware, partner_tenant_id=tailwind.pk,
                                         settings={"automaticUserConsentSettings": {"outboundAllowed": True}})
    text = ("email,display name,redirect URL,send message,custom message\r\n"
            f"{ann.account.email},Ann,https://apps.tailwind.example/,true,\r\n"
            f"{bob.account.email},Bob,https://apps.tailwind.example/,true,\r\n")
    job = bulk.bulk_invitation_job_create(actor=Actor.for_user(admin_of(tailwind)), tenant=tailwind,
                                          file_name="guests.csv", source=text, enqueue=False)
    bulk.bulk_invitation_job_process(job_id=job.pk)
    ann_mail = list(OutboxMessage.objects.filter(to=[ann.account.email]).values_list("subject", flat=True))
    bob_mail = list(OutboxMessage.objects.filter(to=[bob.account.email]).values_list("subject", flat=True))
    assert len(ann_mail) == 1 and "You now have access" in ann_mail[0]
    assert len(bob_mail) == 1 and "You now have access" not in bob_mail[0]
