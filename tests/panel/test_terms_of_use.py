"""The terms of use page (/t/<tenant>/terms-of-use/): the "termsOfUse" requirement handler, the step after
consent in the redemption journey, and the review of what one accepted."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from directory.access import requirement_url, satisfied
from directory.actors import Actor
from invitations import services as invitation_services
from policies import services
from policies.models import AgreementAcceptance
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory, admin_of
from tests.panel.contract import PanelPageContract

pytestmark = pytest.mark.django_db


class TestTermsOfUseReview(PanelPageContract):
    route = "policies:terms_of_use"
    # tenant, session, account, user, the actor's account, agreements, acceptances, branding, organizations,
    # the Invite section's settings
    max_queries = 5

    def make_target(self, tenant, user):
        self.terms = services.agreement_create(actor=Actor.operator(tenant=tenant), tenant=tenant, data={
            "displayName": "House rules", "files": [{"language": "en", "text": "Be nice."}]})
        return {}

    def check_success(self, response, tenant, user, target):
        assert "House rules" in response.content.decode()


def agreement(tenant, **extra):
    return services.agreement_create(actor=Actor.operator(tenant=tenant), tenant=tenant, data={
        "displayName": "Guest terms", "files": [{"language": "en", "text": "Be nice to everyone."},
                                                {"language": "de", "text": "Seien Sie nett."}], **extra})


def require_terms(tenant, terms):
    services.conditional_access_policy_create(actor=Actor.operator(tenant=tenant), tenant=tenant, data={
        "displayName": "Guests accept the terms", "state": "enabled", "grantControls": {"termsOfUse": [str(terms.pk)]},
        "conditions": {"users": {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest"}},
                       "applications": {"includeApplications": ["All"]}}})


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def test_the_handler_is_registered_under_the_tenant():
    tenant = TenantFactory()
    url = requirement_url("termsOfUse:abc", tenant, "/t/x/")
    assert url.startswith(reverse("policies:terms_of_use", args=[tenant.slug]))


def test_accepting_records_who_when_which_version_and_from_where_then_goes_on():
    tenant = TenantFactory()
    terms = agreement(tenant)
    guest = GuestFactory(tenant=tenant, account=AccountFactory(), external_user_state="Accepted")
    client = signed_in(guest)
    url = (reverse("policies:terms_of_use", args=[tenant.slug]) + "?" +
           urlencode({"requirement": f"termsOfUse:{terms.pk}", "next": f"/t/{tenant.slug}/"}))
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="de")
    assert page.status_code == 200 and "Seien Sie nett." in page.content.decode()
    response = client.post(url, {"decision": "accept"}, HTTP_USER_AGENT="Firefox", REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302 and response["Location"] == f"/t/{tenant.slug}/"
    acceptance = AgreementAcceptance.objects.get(user=guest)
    assert (acceptance.state, acceptance.agreement_version, acceptance.user_agent) == ("accepted", 1, "Firefox")
    assert f"termsOfUse:{terms.pk}" in satisfied(client.session, tenant)


def test_expanding_is_required_when_the_terms_say_so_and_declining_blocks():
    tenant = TenantFactory()
    terms = agreement(tenant, isViewingBeforeAcceptanceRequired=True)
    guest = GuestFactory(tenant=tenant, account=AccountFactory(), external_user_state="Accepted")
    client = signed_in(guest)
    url = reverse("policies:terms_of_use", args=[tenant.slug]) + f"?requirement=termsOfUse:{terms.pk}&next=//evil.example/"
    assert client.post(url, {"decision": "accept"}).status_code == 400
    response = client.post(url, {"decision": "accept", "expanded": "yes"})
    assert response["Location"] == f"/t/{tenant.slug}/"  # never another host
    response = client.post(url, {"decision": "decline"})
    assert response.status_code == 403 and "declined" in response.content.decode()
    assert AgreementAcceptance.objects.filter(user=guest, state="declined").exists()


def test_another_tenants_terms_are_404():
    tenant = TenantFactory()
    theirs = agreement(TenantFactory())
    member = UserFactory(tenant=tenant)
    url = reverse("policies:terms_of_use", args=[tenant.slug]) + f"?requirement=termsOfUse:{theirs.pk}"
    assert signed_in(member).get(url).status_code == 404


def test_redemption_shows_the_terms_right_after_consent_once():
    tenant = TenantFactory()
    terms = agreement(tenant)
    require_terms(tenant, terms)
    invitation_services.invitation_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant,
                                          email="ann@partner.example", redirect_url="https://example.com/")
    client = Client()
    client.force_login(AccountFactory(email="ann@partner.example"))
    panel = reverse("directory:panel", args=[tenant.slug])
    assert client.get(panel)["Location"] == reverse("invitations:consent", args=[tenant.slug])
    response = client.post(reverse("invitations:consent", args=[tenant.slug]), {"decision": "accept"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("policies:terms_of_use", args=[tenant.slug]))
    assert client.post(response["Location"], {"decision": "accept"}).status_code == 302
    assert AgreementAcceptance.objects.filter(agreement=terms, state="accepted").count() == 1


def test_several_terms_are_asked_one_at_a_time():
    tenant = TenantFactory()
    first, second = agreement(tenant), agreement(tenant)
    require_terms(tenant, first)
    require_terms(tenant, second)
    guest = GuestFactory(tenant=tenant, account=AccountFactory(), external_user_state="Accepted")
    client = signed_in(guest)
    wanted = sorted([f"termsOfUse:{first.pk}", f"termsOfUse:{second.pk}"])
    page = reverse("policies:terms_of_use", args=[tenant.slug])
    response = client.post(f"{page}?{urlencode({'requirement': wanted[0], 'next': f'/t/{tenant.slug}/'})}",
                           {"decision": "accept"})
    assert response.status_code == 302 and f"requirement=termsOfUse%3A{wanted[1].split(':')[1]}" in response["Location"]
    response = client.post(response["Location"], {"decision": "accept"})
    assert response["Location"] == f"/t/{tenant.slug}/"
    assert AgreementAcceptance.objects.filter(user=guest, state="accepted").count() == 2
