"""SAML 2.0 sign-in against a real identity provider (pysaml2, tests/support/saml_idp.py), through the
service provider's pages with Django's test client: a partner's guest redeems, and every response the SP
must not accept is refused with the tenant's branded page (tampered, expired, replayed, unsolicited,
signed by another key, a user of another domain)."""

import base64
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from directory.actors import Actor
from directory.models import Account, User
from invitations.services import invitation_create
from policies import saml, services
from policies.models import ExternalDomainFederation
from tests.factories import TenantFactory, admin_of
from tests.support.saml_idp import SamlIdp, certificate_base64, make_key_and_certificate

pytestmark = pytest.mark.django_db
GUEST = "dana@fabrikam.example"


@pytest.fixture(scope="module")
def idp():
    server = SamlIdp().start()
    server.add_user(GUEST, "Dana Fabrikam")
    server.add_user("eve@contoso.example", "Eve Contoso")
    yield server
    server.stop()


@pytest.fixture
def tailwind():
    return TenantFactory(name="Tailwind Traders", slug="tailwind", initial_domain="tailwind.example")


def federate(tenant, idp, *, certificate=None) -> ExternalDomainFederation:
    federation = services.saml_federation_create(
        actor=Actor.for_user(admin_of(tenant)), tenant=tenant, domains=[{"id": "fabrikam.example"}],
        data={"displayName": "Fabrikam IdP", "issuerUri": idp.entity_id, "passiveSignInUri": idp.sso_url,
              "signingCertificate": certificate or idp.certificate})
    return federation


@pytest.fixture
def federation(tailwind, idp, client):
    federation = federate(tailwind, idp)
    idp.trust(client.get(reverse("policies:saml_metadata", args=[tailwind.slug, federation.pk])).content.decode())
    return federation


def invite(tenant, email=GUEST):
    return invitation_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant, email=email,
                             redirect_url=f"https://testserver/t/{tenant.slug}/")


def start(client, federation, next_url=None) -> str:
    """Open the SP's start page; the URL of the IdP it continues to (the AuthnRequest)."""
    url = saml.begin_url(federation) + (f"?next={next_url}" if next_url else "")
    response = client.get(url)
    assert response.status_code == 200
    return response.context["idp_url"]


def post_to_acs(client, acs: str, value: str):
    """What the IdP's auto-posting form does, then the same-site GET the SP redirects to."""
    posted = client.post(urlsplit(acs).path, {"SAMLResponse": value})
    assert posted.status_code == 303, posted.content[:300]
    return client.get(posted["Location"])


def refusal(response) -> str:
    assert response.status_code in (400, 403), response.status_code
    assert "policies/saml/refused.html" in [t.name for t in response.templates]
    return response.context["message"]


def test_the_sp_metadata_names_our_entity_id_acs_and_persistent_name_ids(client, federation):
    response = client.get(reverse("policies:saml_metadata", args=["tailwind", federation.pk]))
    body = response.content.decode()
    assert response["Content-Type"] == "application/samlmetadata+xml"
    assert f'entityID="{saml.sp_entity_id(federation)}"' in body
    assert saml.acs_url(federation) in body and "nameid-format:persistent" in body


def test_another_tenants_configuration_is_not_found(client, federation):
    other = TenantFactory()
    for name in ("saml_metadata", "saml_begin", "saml_acs"):
        assert client.get(reverse(f"policies:{name}", args=[other.slug, federation.pk])).status_code == 404
    assert client.get(reverse("policies:saml_begin", args=["tailwind", "not-a-uuid"])).status_code == 404


def test_an_invited_partner_redeems_by_signing_in_at_the_idp(client, tailwind, federation, idp):
    result = invite(tailwind)
    landing = client.post(result.redeem_url)
    assert landing.status_code == 302 and landing["Location"].startswith(saml.begin_url(federation))
    idp_url = client.get(landing["Location"]).context["idp_url"]
    assert idp_url.startswith(idp.sso_url + "?SAMLRequest=")
    acs, value = idp.respond(idp_url, email=GUEST)
    assert acs == saml.acs_url(federation)
    signed_in = post_to_acs(client, acs, value)
    assert signed_in.status_code == 302
    assert signed_in["Location"] == reverse("invitations:consent", args=["tailwind"])
    account = Account.objects.get(email=GUEST)
    assert client.session["_auth_user_id"] == str(account.pk)
    consent = client.post(signed_in["Location"], {"decision": "accept"})
    assert consent.status_code == 302
    guest = User.objects.get(tenant=tailwind, mail=GUEST)
    assert guest.account_id == account.pk and guest.external_user_state == "Accepted"


def test_a_tampered_response_is_refused(client, federation, idp):
    acs, value = idp.respond(start(client, federation), email=GUEST)
    xml = base64.b64decode(value).decode()
    forged = xml.replace(GUEST, "mallory@fabrikam.example")
    assert forged != xml
    message = refusal(post_to_acs(client, acs, base64.b64encode(forged.encode()).decode()))
    assert "changed on the way" in message
    assert not Account.objects.filter(email="mallory@fabrikam.example").exists()


def test_a_response_signed_by_another_key_is_refused(client, tailwind, idp):
    federation = federate(tailwind, idp, certificate=certificate_base64(make_key_and_certificate()[1]))
    idp.trust(client.get(reverse("policies:saml_metadata", args=[tailwind.slug, federation.pk])).content.decode())
    acs, value = idp.respond(start(client, federation), email=GUEST)
    assert "not signed with the certificate" in refusal(post_to_acs(client, acs, value))
    assert "_auth_user_id" not in client.session


def test_an_expired_response_is_refused(client, federation, idp):
    acs, value = idp.respond(start(client, federation), email=GUEST, lifetime_minutes=-10)
    assert "expired" in refusal(post_to_acs(client, acs, value))
    assert "_auth_user_id" not in client.session


def test_a_replayed_response_is_refused(client, federation, idp):
    idp_url = start(client, federation)
    acs, value = idp.respond(idp_url, email=GUEST)
    assert post_to_acs(client, acs, value).status_code == 302
    client.logout()
    start(client, federation)  # a fresh request in the same browser does not make the old answer good
    assert "already used" in refusal(post_to_acs(client, acs, value))


def test_a_response_to_a_request_another_session_started_is_refused(client, federation, idp, django_user_model):
    from django.test import Client

    acs, value = idp.respond(start(Client(), federation), email=GUEST)
    assert "not started here" in refusal(post_to_acs(client, acs, value))
    assert not Account.objects.filter(email=GUEST).exists()


def test_a_user_of_a_domain_the_configuration_does_not_federate_is_refused(client, federation, idp):
    acs, value = idp.respond(start(client, federation), email="eve@contoso.example")
    assert "whose domain this identity provider does not serve" in refusal(post_to_acs(client, acs, value))
    assert not Account.objects.filter(email="eve@contoso.example").exists()


@pytest.mark.parametrize("value", ["", "bm90IHhtbA==", "%%%", "PD94bWwgdmVyc2lvbj0iMS4wIj8+PGEvPg==", "a\x00b"])
def test_garbage_at_the_acs_is_a_branded_refusal_never_a_500(client, federation, value):
    start(client, federation)
    posted = client.post(reverse("policies:saml_acs", args=["tailwind", federation.pk]), {"SAMLResponse": value})
    if posted.status_code == 303:
        posted = client.get(posted["Location"])
    refusal(posted)


def test_an_acs_visit_without_a_parked_response_is_refused(client, federation):
    response = client.get(reverse("policies:saml_acs", args=["tailwind", federation.pk]) + "?parked=nothing")
    assert "not started here" in refusal(response)


def test_next_only_goes_into_the_same_tenant(client, federation, idp):
    for given, expected in (("/t/tailwind/apps/", "/t/tailwind/apps/"), ("https://evil.example/", "/t/tailwind/"),
                            ("/t/other/", "/t/tailwind/"), ("/t/tailwind//evil.example", "/t/tailwind/")):
        client.logout()
        acs, value = idp.respond(start(client, federation, given), email=GUEST)
        assert post_to_acs(client, acs, value)["Location"] == expected, given


def test_the_start_page_continues_without_inline_script(client, federation):
    response = client.get(saml.begin_url(federation))
    body = response.content.decode()
    assert re.search(r'<meta http-equiv="refresh" content="0;url=https://127\.0\.0\.1:\d+/sso/redirect\?SAMLRequest=', body)
    assert "<script>" not in body and response["Cache-Control"] == "no-store"


def test_the_pages_speak_german(client, federation, idp):
    page = client.get(saml.begin_url(federation), HTTP_ACCEPT_LANGUAGE="de")
    assert "Weiter zur Anmeldung Ihrer Organisation" in page.content.decode()
    acs, value = idp.respond(page.context["idp_url"], email="eve@contoso.example")
    posted = client.post(urlsplit(acs).path, {"SAMLResponse": value}, HTTP_ACCEPT_LANGUAGE="de")
    refused = client.get(posted["Location"], HTTP_ACCEPT_LANGUAGE="de")
    assert "Anmeldung abgelehnt" in refused.content.decode()
    assert "deren Domäne dieser Identitätsanbieter hier nicht bedient" in refused.context["message"]


def test_the_tenants_sign_in_page_sends_a_federated_domain_to_its_idp(client, federation):
    response = client.post(reverse("invitations:sign_in", args=["tailwind"]), {"email": GUEST})
    assert response.status_code == 302 and response["Location"].startswith(saml.begin_url(federation) + "?next=")


def test_routing_and_the_start_page_run_fixed_queries(client, tailwind, federation, django_assert_max_num_queries):
    from invitations.saml_routes import saml_route

    with django_assert_max_num_queries(1):
        route = saml_route(tenant=tailwind, email="someone@fabrikam.example")
    assert route.kind == "saml" and route.begin_url == saml.begin_url(federation)
    with django_assert_max_num_queries(1):
        assert saml_route(tenant=tailwind, email="someone@contoso.example") is None
    with django_assert_max_num_queries(6):
        assert client.get(saml.begin_url(federation)).status_code == 200


def test_a_ws_fed_configuration_is_not_routed_and_its_start_page_says_why(client, tailwind, federation):
    from invitations.saml_routes import saml_route

    services.saml_federation_update(actor=Actor.for_user(admin_of(tailwind)), federation=federation,
                                    changes={"preferredAuthenticationProtocol": "wsFed"})
    assert saml_route(tenant=tailwind, email=GUEST) is None
    response = client.get(saml.begin_url(federation))
    assert response.status_code == 501 and "WS-Fed" in response.context["message"]


def test_a_response_addressed_to_another_organizations_service_provider_is_refused(client, federation, idp):
    from django.test import Client

    other = TenantFactory()
    theirs = federate(other, idp)  # the same partner IdP federated by another tenant: another SP
    idp.trust(Client().get(reverse("policies:saml_metadata", args=[other.slug, theirs.pk])).content.decode())
    start(client, federation)
    _acs, value = idp.respond(start(Client(), theirs), email=GUEST)
    posted = client.post(reverse("policies:saml_acs", args=["tailwind", federation.pk]), {"SAMLResponse": value})
    assert "addressed to another place" in refusal(client.get(posted["Location"]))
    assert "_auth_user_id" not in client.session


def test_two_uses_of_one_answer_racing_in_one_session_let_only_one_through(client, federation, idp):
    """Both requests read the pending request before either removes it: the assertion id decides."""
    from django.test import RequestFactory

    _acs, value = idp.respond(start(client, federation), email=GUEST)
    pending = dict(client.session[saml.PENDING_KEY])
    first, second = RequestFactory().get("/"), RequestFactory().get("/")
    first.session, second.session = {saml.PENDING_KEY: dict(pending)}, {saml.PENDING_KEY: dict(pending)}
    assertion, _next = saml.consume_response(first, federation, value)
    assert assertion.email == GUEST
    with pytest.raises(saml.SamlRefused) as caught:
        saml.consume_response(second, federation, value)
    assert caught.value.code == "replayed"


def test_a_stranger_posting_someones_answer_does_not_use_it_up(client, federation, idp):
    from django.test import Client

    acs, value = idp.respond(start(client, federation), email=GUEST)
    assert "not started here" in refusal(post_to_acs(Client(), acs, value))
    assert post_to_acs(client, acs, value).status_code == 302


def test_a_redeemed_guest_signs_in_again_through_the_tenants_sign_in_page(client, tailwind, federation, idp):
    result = invite(tailwind)
    landing = client.post(result.redeem_url)
    acs, value = idp.respond(client.get(landing["Location"]).context["idp_url"], email=GUEST)
    client.post(post_to_acs(client, acs, value)["Location"], {"decision": "accept"})
    client.logout()

    page = client.post(reverse("invitations:sign_in", args=["tailwind"]), {"email": GUEST})
    assert page["Location"].startswith(saml.begin_url(federation))
    acs, value = idp.respond(client.get(page["Location"]).context["idp_url"], email=GUEST)
    back = post_to_acs(client, acs, value)
    assert back["Location"] == reverse("directory:panel", args=["tailwind"])
    assert client.get(back["Location"]).status_code == 200
    assert client.session["_auth_user_id"] == str(User.objects.get(tenant=tailwind, mail=GUEST).account_id)


@pytest.mark.parametrize(("minutes", "accepted"), [(1, True), (-1, True), (3, False), (10, False), (-10, False)])
def test_an_idp_clock_off_by_a_little_is_accepted_by_a_lot_refused(client, federation, idp, minutes, accepted):
    """NotBefore / NotOnOrAfter are checked with 90 seconds of skew: an IdP a minute ahead or behind signs in,
    three minutes ahead does not (python3-saml alone would allow five), nor ten ahead, nor a 5-minute assertion
    from ten minutes behind (expired)."""
    acs, value = idp.respond(start(client, federation), email=GUEST, clock_offset_minutes=minutes)
    response = post_to_acs(client, acs, value)
    if accepted:
        assert response.status_code == 302 and "_auth_user_id" in client.session
    else:
        assert "not valid yet" in refusal(response)
