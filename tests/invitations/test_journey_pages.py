"""Issue 10, the guest's journey as pages: the platform's sign-in pages and the code e-mail in the
tenant's branding and the invitation's language, the personal message, the code page's wording, the
warning before the last code and the lock-out that keeps the invitation, sign-out and password sign-in
landing where the person was going."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from directory.actors import Actor
from directory.models import Branding, OutboxMessage
from directory.signin import JOURNEY_KEY
from invitations import services
from invitations.views import PENDING_KEY
from tests.factories import PASSWORD, TenantFactory, UserFactory
from tests.invitations.conftest import latest_code_for, path_of

pytestmark = pytest.mark.django_db
CONSENT = "/t/tailwind/invitations/accept/"


@pytest.fixture
def branding(tenant):
    return Branding.objects.create(tenant=tenant, locale="", accent_color="#038387", background_color="#F0F7F7",
                                   sign_in_page_text="Partners of Tailwind: use your invited address.")


def _invite(tenant, inviter, email="ann@partner.example", **options):
    return services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant, email=email,
                                      redirect_url="https://portal.tailwind.example/welcome", **options)


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def test_the_code_page_and_the_password_page_carry_the_tenants_branding_and_offer_no_sign_up(
        client, tenant, inviter, branding):
    start = client.post(path_of(_invite(tenant, inviter).redeem_url))
    code_page = client.get(start["Location"]).content.decode()
    assert "Tailwind Traders" in code_page and "#038387" in code_page and "B2B Portal" not in code_page
    assert "Partners of Tailwind: use your invited address." in code_page
    password_page = client.__class__().get("/accounts/login/?next=" + CONSENT).content.decode()
    assert "Tailwind Traders" in password_page and "#038387" in password_page
    assert "/accounts/signup/" not in password_page and "sign up" not in password_page.lower()


def test_the_platforms_own_sign_in_page_keeps_the_products_look(client, tenant, branding):
    page = client.get("/accounts/login/?next=/admin/").content.decode()
    assert "B2B Portal" in page and "#038387" not in page and "/accounts/signup/" not in page


def test_the_code_page_never_claims_that_a_code_was_sent(client, tenant):
    start = client.post("/t/tailwind/sign-in/", {"email": "nobody@nowhere.example"})
    page = client.get(start["Location"]).content.decode()
    assert "can sign in here, a code is on its way" in page
    assert "We've sent a code" not in page and "We&#x27;ve sent a code" not in page
    assert "has been sent" not in page


def test_the_code_email_names_the_inviting_organization(client, tenant, inviter, branding):
    client.post(path_of(_invite(tenant, inviter).redeem_url))
    message = OutboxMessage.objects.filter(subject__contains="sign-in code").latest("created_at")
    assert "Tailwind Traders" in message.subject and "sign in to Tailwind Traders" in message.body_text
    assert "#038387" in message.body_html and "Tailwind Traders" in message.body_html


def test_the_home_account_step_has_the_invited_address_filled_in(client, tenant, inviter):
    home = UserFactory(tenant=TenantFactory(), user_principal_name="bob@home.example", mail="bob@home.example")
    assert home.account.email == "bob@home.example"
    start = client.post(path_of(_invite(tenant, inviter, email="bob@home.example").redeem_url))
    assert urlsplit(start["Location"]).path == "/accounts/login/"
    page = client.get(start["Location"]).content.decode()
    assert re.search(r'<input[^>]+name="login"[^>]+value="bob@home.example"', page)
    # Signing in with the password goes on to consent, in the tenant's journey.
    signed_in = client.post(start["Location"], {"login": "bob@home.example", "password": PASSWORD})
    assert signed_in["Location"] == CONSENT


def test_password_sign_in_from_the_tenants_page_lands_on_the_panel(client, tenant):
    member = UserFactory(tenant=tenant)
    page = client.get("/t/tailwind/sign-in/").content.decode()
    link = re.search(r'href="(/accounts/login/\?next=[^"]+)"', page).group(1)
    assert parse_qs(urlsplit(link).query)["next"] == ["/t/tailwind/"]
    signed_in = client.post(link.replace("&amp;", "&"), {"login": member.account.email, "password": PASSWORD})
    assert signed_in["Location"] == "/t/tailwind/"
    assert client.get("/t/tailwind/").status_code == 200
    # Back on the sign-in page while signed in: straight on, not the form again.
    again = client.get("/t/tailwind/sign-in/?next=/t/tailwind/")
    assert again.status_code == 302 and again["Location"] == "/t/tailwind/"


def test_sign_out_lands_on_the_tenants_sign_in_page(client, tenant):
    member = UserFactory(tenant=tenant)
    client.force_login(member.account)
    panel = client.get("/t/tailwind/").content.decode()
    assert re.search(r'action="/accounts/logout/".*?name="next" value="/t/tailwind/"', panel, re.S)
    out = client.post("/accounts/logout/", {"next": "/t/tailwind/"})
    assert out["Location"] == "/t/tailwind/"
    assert urlsplit(client.get("/t/tailwind/")["Location"]).path == "/t/tailwind/sign-in/"


def test_signing_out_on_allauths_page_in_a_journey_lands_on_the_tenant(client, tenant):
    client.get("/t/tailwind/sign-in/")  # the session is now on its way into Tailwind
    client.force_login(UserFactory(tenant=tenant).account)
    page = client.get("/accounts/logout/").content.decode()
    assert "Tailwind Traders" in page
    assert client.post("/accounts/logout/")["Location"] == "/t/tailwind/"


def test_the_landing_page_shows_the_personal_message(client, tenant, inviter):
    invitation = _invite(tenant, inviter, message_body="Welcome aboard!\n<b>not bold</b>")
    page = client.get(path_of(invitation.redeem_url)).content.decode()
    assert "Welcome aboard!<br>&lt;b&gt;not bold&lt;/b&gt;" in page
    assert f"Message from {inviter.display_name}" in page.replace("&#x27;", "'")


def test_a_german_invitation_has_german_landing_code_and_consent_pages(client, tenant, inviter):
    invitation = _invite(tenant, inviter, message_language="de")
    landing = client.get(path_of(invitation.redeem_url)).content.decode()
    assert _lang(landing) == "de" and "Einladung annehmen" in landing and "Accept invitation" not in landing
    start = client.post(path_of(invitation.redeem_url))
    code_page = client.get(start["Location"]).content.decode()
    assert _lang(code_page) == "de" and "Code eingeben" in code_page
    code_mail = OutboxMessage.objects.filter(to__isnull=False).latest("created_at")
    assert "Anmeldecode für Tailwind Traders" in code_mail.subject
    consent = client.post(start["Location"], {"code": latest_code_for("ann@partner.example")})
    page = client.get(consent["Location"]).content.decode()
    assert _lang(page) == "de" and "Berechtigungen prüfen" in page and "Annehmen" in page


def test_an_english_invitation_keeps_english_pages(client, tenant, inviter):
    landing = client.get(path_of(_invite(tenant, inviter).redeem_url)).content.decode()
    assert _lang(landing) == "en" and "Accept invitation" in landing


def test_a_warning_comes_before_the_last_code_attempt(client, tenant, inviter):
    start = client.post(path_of(_invite(tenant, inviter).redeem_url))
    pages = [client.post(start["Location"], {"code": "ZZZ-ZZZ"}).content.decode() for _ in range(4)]
    assert ["One attempt left" in page for page in pages] == [False, False, False, True]


def test_after_lock_out_the_journey_keeps_its_invitation(client, tenant, inviter):
    invitation = _invite(tenant, inviter)
    start = client.post(path_of(invitation.redeem_url))
    for _ in range(4):
        client.post(start["Location"], {"code": "ZZZ-ZZZ"})
    locked = client.post(start["Location"], {"code": "ZZZ-ZZZ"})
    assert locked.status_code == 302
    target = urlsplit(locked["Location"])
    assert target.path == "/t/tailwind/sign-in/"
    assert parse_qs(target.query) == {"next": [CONSENT]}  # no address in the URL: the session has it
    assert client.session[PENDING_KEY]["invitation"] == str(invitation.invitation.pk)
    form = client.get(locked["Location"]).content.decode()
    assert 'value="ann@partner.example"' in form
    # A new code continues the same invitation: consent, then redeemed.
    again = client.post(locked["Location"], {"email": "ann@partner.example"})
    signed_in = client.post(again["Location"], {"code": latest_code_for("ann@partner.example")})
    assert signed_in["Location"] == CONSENT
    client.post(CONSENT, {"decision": "accept"})
    invitation.invitation.refresh_from_db()
    assert invitation.invitation.status == "Completed"


def test_the_journey_is_remembered_only_for_its_tenant(client, tenant, inviter):
    other = TenantFactory(name="Contoso", slug="contoso")
    client.get(path_of(_invite(tenant, inviter).redeem_url))
    assert client.session[JOURNEY_KEY]["tenant"] == "tailwind"
    assert 'value="ann@partner.example"' in client.get("/accounts/login/").content.decode()
    page = client.get("/accounts/login/?next=/t/contoso/").content.decode()
    assert "Contoso" in page and 'value="ann@partner.example"' not in page
    assert other.slug == "contoso"


def test_pages_name_a_favicon_the_tenants_logo_where_set(client, tenant, branding):
    from django.core.files.base import ContentFile

    page = client.get("/t/tailwind/sign-in/").content.decode()
    assert re.search(r'<link rel="icon" href="[^"]*/favicon.svg"', page)
    branding.banner_logo.save("logo.png", ContentFile(b"\x89PNG\r\n\x1a\n"), save=True)
    page = client.get("/t/tailwind/sign-in/").content.decode()
    assert re.search(rf'<link rel="icon" href="{re.escape(branding.banner_logo.url)}"', page)
    icon = client.get("/favicon.ico")
    assert icon.status_code == 301 and icon["Location"].endswith("favicon.svg")


def test_an_expired_german_invitation_says_so_in_german(client, tenant, inviter):
    from django.utils import timezone

    from invitations.models import Invitation

    invitation = _invite(tenant, inviter, message_language="de")
    Invitation.objects.filter(pk=invitation.invitation.pk).update(expires_at=timezone.now())
    page = client.get(path_of(invitation.redeem_url))
    body = page.content.decode()
    assert page.status_code == 410 and _lang(body) == "de" and "abgelaufen" in body


def test_the_journeys_language_stays_with_its_tenant(client, tenant, inviter):
    TenantFactory(name="Contoso", slug="contoso")
    client.get(path_of(_invite(tenant, inviter, message_language="de").redeem_url))
    assert _lang(client.get("/t/tailwind/sign-in/").content.decode()) == "de"
    assert _lang(client.get("/t/contoso/sign-in/").content.decode()) == "en"


def test_the_tenants_sign_in_page_shows_its_username_hint(client, tenant, branding):
    Branding.objects.filter(pk=branding.pk).update(username_hint_text="name@partner.example")
    page = client.get("/t/tailwind/sign-in/").content.decode()
    assert 'placeholder="name@partner.example"' in page


def test_the_german_catalog_is_compiled_and_complete_for_the_journey():
    """The committed .mo matches the .po (msgfmt --check), and no journey string is left fuzzy."""
    import shutil
    import subprocess
    from pathlib import Path

    po = Path(__file__).resolve().parents[2] / "locale" / "de" / "LC_MESSAGES" / "django.po"
    assert "#, fuzzy" not in po.read_text(encoding="utf-8")
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (gettext) is not installed")
    compiled = subprocess.run(["msgfmt", "--check", "-o", "-", str(po)], capture_output=True, check=True).stdout
    assert compiled == po.with_suffix(".mo").read_bytes(), "run manage.py compilemessages -l de"
