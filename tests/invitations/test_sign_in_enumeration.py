"""/t/<tenant>/sign-in/ gives every address the same first answer: a password account, a guest who
signs in by code, an invited person and a stranger all land on the same "enter your code" page, which
offers the password to everyone. Which way in an address has is never revealed before it is proven."""

import re
from urllib.parse import urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import SESSION_KEY
from django.test import Client

from directory.actors import Actor
from directory.models import Account, OutboxMessage, User
from invitations import services
from tests.factories import PASSWORD, GuestFactory, TenantFactory, UserFactory
from tests.invitations.conftest import latest_code_for

pytestmark = pytest.mark.django_db

SIGN_IN = "/t/tailwind/sign-in/"
CONSENT = "/t/tailwind/invitations/accept/"


@pytest.fixture
def addresses(tenant, inviter):
    """One address of each kind, by the name the test reports."""
    member = UserFactory(tenant=tenant).account
    otp_guest = Account.objects.create_user("otp.guest@partner.example", None)
    EmailAddress.objects.create(user=otp_guest, email=otp_guest.email, verified=True, primary=True)
    GuestFactory(tenant=tenant, mail=otp_guest.email, account=otp_guest,
                 external_user_state=User.ExternalUserState.ACCEPTED)
    home = TenantFactory(slug="proseware", initial_domain="proseware.example")
    UserFactory(tenant=home, user_principal_name="gio@proseware.example")
    services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant, email="gio@proseware.example",
                               redirect_url="https://portal.tailwind.example/")
    services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant, email="ann@partner.example",
                               redirect_url="https://portal.tailwind.example/")
    return {
        "member with a password": member.email,
        "guest who signs in by code": otp_guest.email,
        "invited member of another tenant (password account)": "gio@proseware.example",
        "invited stranger": "ann@partner.example",
        "unknown address": "nobody@nowhere.example",
    }


def _first_answer(email: str):
    client = Client()
    response = client.post(f"{SIGN_IN}?next=/t/tailwind/", {"email": email})
    page = client.get(response["Location"]) if response.status_code == 302 else response
    # The page names the address it was given, and carries a fresh CSRF token: neither tells anything.
    text = page.content.decode().replace(email, "EMAIL")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", text)
    return response.status_code, response.get("Location"), page.status_code, text


def test_every_kind_of_address_gets_the_same_first_answer_and_page(addresses):
    answers = {kind: _first_answer(email) for kind, email in addresses.items()}

    reference = answers["unknown address"]
    assert reference[0] == 302 and urlsplit(reference[1]).path == "/accounts/login/code/confirm/"
    for kind, answer in answers.items():
        assert answer == reference, f"{kind} is told apart from an unknown address"


def _use_password_form(page: str) -> tuple[str, str]:
    """(action, next) of the code page's "Sign in with your password instead" form."""
    form = re.search(r'<form id="use-password" method="post" action="([^"]+)">(.*?)</form>', page, re.DOTALL)
    assert form, "the code page offers no password"
    assert "Sign in with your password instead" in form.group(2)
    return form.group(1), re.search(r'name="next" value="([^"]+)"', form.group(2)).group(1)


def test_code_page_offers_the_password_to_everyone_keeping_next(addresses):
    _, _, _, page = _first_answer(addresses["unknown address"])

    assert _use_password_form(page) == ("/accounts/logout/", "/accounts/login/?next=%2Ft%2Ftailwind%2F")


def test_invited_member_of_another_tenant_redeems_with_the_password_offered_on_the_code_page(client, addresses):
    start = client.post(SIGN_IN, {"email": "gio@proseware.example"})
    action, next_url = _use_password_form(client.get(start["Location"]).content.decode())
    password_page = client.post(action, {"next": next_url})
    assert password_page["Location"] == next_url

    signed_in = client.post(next_url, {"login": "gio@proseware.example", "password": PASSWORD})

    assert signed_in.status_code == 302 and signed_in["Location"] == "/t/tailwind/"
    assert client.get("/t/tailwind/")["Location"] == CONSENT
    assert client.post(CONSENT, {"decision": "accept"}).status_code == 302


def test_invited_member_of_another_tenant_can_also_use_the_emailed_code(client, addresses):
    start = client.post(SIGN_IN, {"email": "gio@proseware.example"})

    client.post(start["Location"], {"code": latest_code_for("gio@proseware.example")})

    assert client.session[SESSION_KEY] == str(Account.objects.get(email="gio@proseware.example").pk)


def test_unknown_addresses_still_get_no_mail(addresses):
    _first_answer(addresses["unknown address"])

    assert not any("nobody@nowhere.example" in m.to for m in OutboxMessage.objects.all())
