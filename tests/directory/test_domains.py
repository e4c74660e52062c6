"""Domain verification: only proof of control (a DNS TXT record with the tenant's token, checked against a
real DNS server on 127.0.0.1) or the platform operator verifies a domain; public mail domains never."""

import socket

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from directory import services
from directory.actors import Actor
from directory.models import AuditEvent, Domain
from tests.factories import TenantFactory, admin_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tenant():
    return TenantFactory(name="Proseware", initial_domain="proseware.example")


@pytest.fixture
def admin(tenant):
    return Actor.for_user(admin_of(tenant))


def test_a_tenant_admin_cannot_add_a_domain_as_verified(tenant, admin):
    with pytest.raises(PermissionDenied):
        services.domain_add(actor=admin, tenant=tenant, name="contoso.example", is_verified=True)
    assert not Domain.objects.exists()


def test_a_tenant_admin_cannot_tick_an_added_domain_verified(tenant, admin):
    domain = services.domain_add(actor=admin, tenant=tenant, name="contoso.example")
    with pytest.raises(PermissionDenied):
        services.domain_update(actor=admin, domain=domain, changes={"is_verified": True})
    with pytest.raises(PermissionDenied):
        services.domain_mark_verified(actor=admin, domain=domain)
    domain.refresh_from_db()
    assert not domain.is_verified


def test_a_domain_is_verified_by_its_dns_txt_record(tenant, admin, dns_server):
    domain = services.domain_add(actor=admin, tenant=tenant, name="contoso.example")
    assert domain.txt_record == f"b2bportal-verification={domain.verification_token}"

    with pytest.raises(ValidationError) as exc:  # nothing published yet: the name does not even exist
        services.domain_verify(actor=admin, domain=domain)
    assert exc.value.code == "proof_not_found" and domain.txt_record in exc.value.messages[0]

    dns_server.txt["contoso.example"] = ["v=spf1 -all", "b2bportal-verification=someone-elses-token"]
    with pytest.raises(ValidationError):
        services.domain_verify(actor=admin, domain=domain)
    domain.refresh_from_db()
    assert not domain.is_verified

    dns_server.txt["contoso.example"].append(domain.txt_record)
    services.domain_verify(actor=admin, domain=domain)
    domain.refresh_from_db()
    assert domain.is_verified and domain.verified_at is not None
    assert "contoso.example" in dns_server.queries  # the real server was asked
    event = AuditEvent.objects.get(tenant=tenant, activity_display_name="Verify domain")
    assert {"key": "method", "value": "DNS TXT record"} in event.additional_details


def test_each_tenant_gets_its_own_token_and_only_one_tenant_verifies_a_domain(tenant, admin, dns_server):
    other = TenantFactory(name="Contoso")
    contoso_admin = Actor.for_user(admin_of(other))
    squatted = services.domain_add(actor=admin, tenant=tenant, name="contoso.example")  # unverified: grants nothing
    real = services.domain_add(actor=contoso_admin, tenant=other, name="contoso.example")
    assert squatted.verification_token != real.verification_token

    dns_server.txt["contoso.example"] = [real.txt_record]  # what the real owner publishes
    with pytest.raises(ValidationError):
        services.domain_verify(actor=admin, domain=squatted)
    services.domain_verify(actor=contoso_admin, domain=real)

    dns_server.txt["contoso.example"].append(squatted.txt_record)
    with pytest.raises(ValidationError) as exc:  # verified elsewhere: no second owner, whatever DNS says
        services.domain_verify(actor=admin, domain=squatted)
    assert exc.value.error_dict["domain"][0].code == "verified_elsewhere"
    with pytest.raises(ValidationError):
        services.domain_add(actor=Actor.operator(), tenant=TenantFactory(), name="CONTOSO.example")
    assert list(Domain.objects.filter(is_verified=True).values_list("tenant_id", flat=True)) == [other.pk]


@pytest.mark.parametrize("name", ["gmail.com", "Outlook.com", "hotmail.co.uk", "mail.gmail.com"])
def test_public_mail_domains_can_never_be_added_or_verified(tenant, admin, name):
    for actor in (admin, Actor.operator()):
        with pytest.raises(ValidationError) as exc:
            services.domain_add(actor=actor, tenant=tenant, name=name, is_verified=actor.is_platform)
        assert exc.value.error_dict["name"][0].code == "public_mail_domain"
    assert not Domain.objects.exists()


def test_the_platform_operator_verifies_a_domain_by_hand(tenant, admin):
    domain = services.domain_add(actor=admin, tenant=tenant, name="contoso.example")
    services.domain_mark_verified(actor=Actor.operator(), domain=domain)
    domain.refresh_from_db()
    assert domain.is_verified
    event = AuditEvent.objects.get(tenant=tenant, activity_display_name="Verify domain")
    assert {"key": "method", "value": "platform operator"} in event.additional_details


def test_renaming_a_verified_domain_unverifies_it_with_a_new_token(tenant, admin):
    domain = services.domain_add(actor=Actor.operator(), tenant=tenant, name="contoso.example", is_verified=True)
    token = domain.verification_token
    services.domain_update(actor=admin, domain=domain, changes={"name": "fabrikam.example"})
    domain.refresh_from_db()
    assert (domain.name, domain.is_verified) == ("fabrikam.example", False)
    assert domain.verification_token != token


def test_dns_that_does_not_answer_is_a_clear_error(tenant, admin, settings):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # bound, never answers
    silent.bind(("127.0.0.1", 0))
    settings.DNS_RESOLVER = f"127.0.0.1:{silent.getsockname()[1]}"
    settings.DNS_RESOLVER_TIMEOUT = 0.5
    domain = services.domain_add(actor=admin, tenant=tenant, name="contoso.example")
    try:
        with pytest.raises(ValidationError) as exc:
            services.domain_verify(actor=admin, domain=domain)
    finally:
        silent.close()
    assert exc.value.code == "dns_unavailable"


# --- the admin console -------------------------------------------------------------------------------


def _tenant_form(tenant, **extra):
    data = {"name": tenant.name, "configuration": "workforce", "privacy_statement_url": "",
            "domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0"}
    data.update(extra)
    return data


def test_admin_ticking_verified_in_the_console_does_not_verify(client, tenant):
    client.force_login(admin_of(tenant).account)
    response = client.post(reverse("admin:directory_tenant_change", args=[tenant.pk]), _tenant_form(
        tenant, **{"domains-TOTAL_FORMS": "1", "domains-0-name": "contoso.example", "domains-0-is_verified": "on"}))
    assert response.status_code == 302
    assert Domain.objects.get(tenant=tenant).is_verified is False


def test_admin_sees_the_txt_record_and_verify_now_checks_dns(client, tenant, dns_server):
    client.force_login(admin_of(tenant).account)
    domain = services.domain_add(actor=Actor.operator(), tenant=tenant, name="contoso.example")
    page = client.get(reverse("admin:directory_tenant_change", args=[tenant.pk])).content.decode()
    verify_url = reverse("admin:directory_tenant_verify_domain", args=[tenant.pk, domain.pk])
    assert domain.txt_record in page and verify_url in page
    assert 'name="domains-0-is_verified"' not in page  # no box to tick

    response = client.post(verify_url, follow=True)
    assert "No TXT record" in response.content.decode()
    dns_server.txt["contoso.example"] = [domain.txt_record]
    response = client.post(verify_url, follow=True)
    assert "The domain contoso.example is verified." in response.content.decode()
    domain.refresh_from_db()
    assert domain.is_verified


def test_verify_now_of_another_tenants_domain_is_not_found(client, tenant):
    other_domain = services.domain_add(actor=Actor.operator(), tenant=TenantFactory(), name="contoso.example")
    client.force_login(admin_of(tenant).account)
    url = reverse("admin:directory_tenant_verify_domain", args=[tenant.pk, other_domain.pk])
    assert client.post(url).status_code == 404
