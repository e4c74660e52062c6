"""The guest's journey through the redemption pages, with the e-mailed code."""

import re
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from directory.actors import Actor
from directory.models import Account, OutboxMessage, User
from invitations import services
from invitations.models import Invitation
from policies import services as policy_services
from tests.factories import UserFactory
from tests.invitations.conftest import latest_code_for, path_of

pytestmark = pytest.mark.django_db
CONSENT = "/t/tailwind/invitations/accept/"


@pytest.fixture
def invitation(tenant, inviter, shared_app):
    return services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant, email="ann@partner.example",
                                      redirect_url="https://portal.tailwind.example/welcome",
                                      applications=[shared_app])


def enter_code(client, confirm_location: str, email: str):
    code = latest_code_for(email)
    return client.post(confirm_location, {"code": code})


def redeem_by_code(client, invitation_result, email="ann@partner.example"):
    start = client.post(path_of(invitation_result.redeem_url))
    assert start.status_code == 302 and start["Location"].startswith("/accounts/login/code/confirm/")
    signed_in = enter_code(client, start["Location"], email)
    assert signed_in.status_code == 302 and signed_in["Location"] == CONSENT
    return client.post(CONSENT, {"decision": "accept"})


def test_get_only_shows_the_invitation_and_consumes_nothing(client, invitation):
    for _ in range(3):  # a mail scanner following the link
        response = client.get(path_of(invitation.redeem_url))
        assert response.status_code == 200
        assert "Accept invitation" in response.content.decode()
    invitation.invitation.refresh_from_db()
    assert invitation.invitation.status == "PendingAcceptance"
    assert not OutboxMessage.objects.exists()
    assert not Account.objects.filter(email="ann@partner.example").exists()


def test_guest_redeems_with_an_emailed_code_consents_and_lands_on_the_redirect(client, invitation, shared_app):
    response = redeem_by_code(client, invitation)
    assert response.status_code == 302 and response["Location"] == "https://portal.tailwind.example/welcome"
    guest = User.objects.get(pk=invitation.invitation.invited_user_id)
    assert guest.external_user_state == "Accepted" and guest.account.email == "ann@partner.example"
    assert not guest.account.has_usable_password()
    panel = client.get("/t/tailwind/").content.decode()
    assert "Partner Portal" in panel
    launch = client.get(f"/t/tailwind/apps/{shared_app.pk}/")
    assert launch.status_code == 302 and launch["Location"] == shared_app.launch_url


def test_consent_page_shows_what_is_shared_and_the_privacy_statement(client, invitation):
    start = client.post(path_of(invitation.redeem_url))
    enter_code(client, start["Location"], "ann@partner.example")
    page = client.get(CONSENT).content.decode()
    assert "ann@partner.example" in page and "https://tailwind.example/privacy" in page
    assert "Tailwind Traders" in page


def test_cancelling_consent_links_nothing(client, invitation):
    start = client.post(path_of(invitation.redeem_url))
    enter_code(client, start["Location"], "ann@partner.example")
    response = client.post(CONSENT, {"decision": "cancel"})
    assert response.status_code == 200 and "Nothing was shared" in response.content.decode()
    assert User.objects.get(pk=invitation.invitation.invited_user_id).account is None


def test_used_link_says_already_redeemed(client, invitation):
    redeem_by_code(client, invitation)
    other = client.__class__()
    response = other.get(path_of(invitation.redeem_url))
    assert response.status_code == 410 and "already been redeemed" in response.content.decode()
    assert other.post(path_of(invitation.redeem_url)).status_code == 410


@pytest.mark.parametrize("mutation", ["tamper", "truncate", "other_tenant", "garbage"])
def test_tampered_or_foreign_links_get_a_clear_not_found_page(client, invitation, mutation):
    from tests.factories import TenantFactory

    path = path_of(invitation.redeem_url)
    token = path.rstrip("/").rsplit("/", 1)[1]
    other = TenantFactory(slug="fabrikam")
    url = {
        "tamper": path.replace(token, token[:-2] + ("AA" if not token.endswith("AA") else "BB")),
        "truncate": path.replace(token, token[:20]),
        "other_tenant": path.replace("/t/tailwind/", f"/t/{other.slug}/"),
        "garbage": "/t/tailwind/invitations/" + "x" * 500 + "/",
    }[mutation]
    response = client.get(url)
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_expired_and_revoked_links_explain_themselves(client, invitation, inviter):
    Invitation.objects.filter(pk=invitation.invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(path_of(invitation.redeem_url))
    assert response.status_code == 410 and "expired" in response.content.decode()
    Invitation.objects.filter(pk=invitation.invitation.pk).update(expires_at=None)
    services.invitation_revoke(actor=Actor.for_user(inviter), invitation=invitation.invitation)
    response = client.get(path_of(invitation.redeem_url))
    assert response.status_code == 410 and "withdrawn" in response.content.decode()


def test_signed_in_with_another_account_gets_a_clear_message_and_nothing_is_linked(client, invitation):
    someone = UserFactory()
    client.force_login(someone.account)
    response = client.post(path_of(invitation.redeem_url))
    assert response.status_code == 409
    assert "another address" in response.content.decode() or "different address" in response.content.decode()
    assert client.post(CONSENT, {"decision": "accept"}).status_code == 409
    assert User.objects.get(pk=invitation.invitation.invited_user_id).account is None


def test_signing_in_as_someone_else_mid_journey_cannot_redeem(client, invitation):
    """The journey is bound to the invitation; whoever signs in, the consent step checks the address."""
    from tests.factories import TenantFactory

    mallory = UserFactory(tenant=TenantFactory(slug="evil", initial_domain="evil.example"))
    start = client.post(path_of(invitation.redeem_url))  # binds the invitation; the code goes to Ann only
    assert start.status_code == 302
    assert not any(mallory.account.email in m.to for m in OutboxMessage.objects.all())
    client.force_login(mallory.account)
    assert client.session.get("invitations.pending")  # still bound to Ann's invitation
    response = client.post(CONSENT, {"decision": "accept"})
    assert response.status_code == 409
    assert User.objects.get(pk=invitation.invitation.invited_user_id).account is None


def test_member_of_another_tenant_redeems_by_signing_in_to_that_account(client, tenant, inviter):
    from tests.factories import PASSWORD, TenantFactory

    home = TenantFactory(slug="proseware", initial_domain="proseware.example")
    member = UserFactory(tenant=home, user_principal_name="gio@proseware.example")
    result = services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant, email="gio@proseware.example",
                                        redirect_url="https://portal.tailwind.example/")
    start = client.post(path_of(result.redeem_url))
    assert start.status_code == 302 and urlsplit(start["Location"]).path == "/accounts/login/"
    assert not OutboxMessage.objects.exists()  # no passcode: the home account is the identity
    login = client.post(start["Location"], {"login": "gio@proseware.example", "password": PASSWORD})
    assert login["Location"] == CONSENT
    client.post(CONSENT, {"decision": "accept"})
    guest = User.objects.get(pk=result.invitation.invited_user_id)
    assert guest.account == member.account
    assert guest.identities.get().sign_in_type == "federated"


def test_otp_switched_off_leaves_no_way_in_for_strangers(client, tenant, invitation):
    policy_services.collaboration_settings_update(
        actor=Actor.operator(), tenant=tenant, changes={"email_otp_enabled": False})
    response = client.post(path_of(invitation.redeem_url))
    assert response.status_code == 403 and "one-time passcodes" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_invited_guest_redeems_just_in_time_from_the_access_panel(client, invitation):
    response = client.get("/t/tailwind/")
    assert response.status_code == 302 and response["Location"].startswith("/t/tailwind/sign-in/")
    start = client.post(response["Location"], {"email": "Ann@Partner.example"})
    assert start["Location"].startswith("/accounts/login/code/confirm/")
    signed_in = enter_code(client, start["Location"], "ann@partner.example")
    assert signed_in["Location"] == "/t/tailwind/"
    assert client.get("/t/tailwind/")["Location"] == CONSENT
    assert client.post(CONSENT, {"decision": "accept"}).status_code == 302
    assert "Partner Portal" in client.get("/t/tailwind/").content.decode()


def test_app_link_redeems_just_in_time_and_then_opens_the_app(client, invitation, shared_app):
    app_url = f"/t/tailwind/apps/{shared_app.pk}/"
    response = client.get(app_url)
    start = client.post(response["Location"], {"email": "ann@partner.example"})
    signed_in = enter_code(client, start["Location"], "ann@partner.example")
    assert signed_in["Location"] == app_url
    assert client.get(app_url)["Location"] == CONSENT
    client.post(CONSENT, {"decision": "accept"})
    assert client.get(app_url)["Location"] == shared_app.launch_url


def test_sign_in_page_answers_unknown_and_invited_addresses_alike(client, invitation):
    known = client.post("/t/tailwind/sign-in/", {"email": "ann@partner.example"})
    stranger = client.__class__().post("/t/tailwind/sign-in/", {"email": "nobody@nowhere.example"})
    assert (known.status_code, urlsplit(known["Location"]).path) == (
        stranger.status_code, urlsplit(stranger["Location"]).path)
    assert not any("nobody@nowhere.example" in m.to for m in OutboxMessage.objects.all())
    assert not Account.objects.filter(email="nobody@nowhere.example").exists()


def test_sign_in_next_cannot_leave_the_tenant(client, invitation):
    start = client.post("/t/tailwind/sign-in/?next=https://evil.example/", {"email": "ann@partner.example"})
    assert "evil.example" not in start["Location"]


def test_signed_in_person_without_access_sees_a_clear_page(client, tenant):
    client.force_login(UserFactory().account)
    response = client.get("/t/tailwind/")
    assert response.status_code == 403 and "no access" in response.content.decode()


def test_other_guests_apps_never_show(client, invitation, tenant, shared_app):
    from tests.factories import ApplicationFactory, AssignmentFactory

    secret = ApplicationFactory(tenant=tenant, display_name="Board Minutes")
    AssignmentFactory(application=secret, user=UserFactory(tenant=tenant))
    redeem_by_code(client, invitation)
    page = client.get("/t/tailwind/").content.decode()
    assert "Partner Portal" in page and "Board Minutes" not in page
    # A link to it does not launch it: the guest is told it is not assigned to them (issue 10).
    launch = client.get(f"/t/tailwind/apps/{secret.pk}/")
    assert launch.status_code == 403 and "Location" not in launch


def test_access_panel_is_constant_query(client, invitation, tenant, django_assert_max_num_queries):
    from directory.models import Application, AppRoleAssignment

    redeem_by_code(client, invitation)
    guest = User.objects.get(pk=invitation.invitation.invited_user_id)
    apps = Application.objects.bulk_create(Application(tenant=tenant, display_name=f"App {i}") for i in range(300))
    AppRoleAssignment.objects.bulk_create(AppRoleAssignment(tenant=tenant, application=a, user=guest) for a in apps)
    # the same count for 1 app or 301 (one more than before: the switcher; two more since issue 11: whether
    # "Invite someone" is in the navigation reads the settings and the guest's roles)
    with django_assert_max_num_queries(13):
        response = client.get("/t/tailwind/")
    assert response.content.decode().count('class="tile app"') == 301


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_redemptions_exactly_one_succeeds(tenant, inviter):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (set DATABASE_URL); SQLite serialises writers")
    result = services.invitation_create(actor=Actor.for_user(inviter), tenant=tenant, email="ann@partner.example",
                                        redirect_url="https://portal.tailwind.example/")
    account = services.guest_account_for(email="ann@partner.example")
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def redeem():
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            services.invitation_redeem(actor=Actor.for_account(account, None), invitation=result.invitation, method="code")
            outcome = "ok"
        except services.RedemptionError as exc:
            outcome = exc.code
        finally:
            thread_connection.close()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=redeem) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 1
    assert outcomes.count("already_redeemed") == 19
    assert User.objects.get(pk=result.invitation.invited_user_id).identities.count() == 1
    from directory.models import AuditEvent

    assert AuditEvent.objects.filter(activity_display_name="Redeem external user invite").count() == 1
    assert re.match(r"^Completed$", Invitation.objects.get(pk=result.invitation.pk).status)


def test_code_requests_are_rate_limited_alike_for_known_and_unknown_addresses(client, invitation):
    # allauth's request_login_code limit: 3 per minute per address.
    statuses = {}
    for email in ("ann@partner.example", "nobody@nowhere.example"):
        codes = [client.__class__().post("/t/tailwind/sign-in/", {"email": email}).status_code for _ in range(4)]
        statuses[email] = codes
    assert statuses["ann@partner.example"] == statuses["nobody@nowhere.example"] == [302, 302, 302, 429]
    sent_to_ann = [m for m in OutboxMessage.objects.all() if "ann@partner.example" in m.to]
    assert len(sent_to_ann) == 3


def test_invitation_link_cannot_be_used_to_flood_the_guest_with_codes(invitation):
    from django.test import Client

    statuses = [Client().post(path_of(invitation.redeem_url)).status_code for _ in range(4)]
    assert statuses == [302, 302, 302, 429]


def _codes_sent_to(email: str) -> int:
    return sum(1 for m in OutboxMessage.objects.all() if email in m.to and "code" in m.subject.lower())


def test_reset_redemption_ends_the_old_sign_in_and_consent_needs_a_new_code(client, invitation, inviter):
    redeem_by_code(client, invitation)
    assert "Partner Portal" in client.get("/t/tailwind/").content.decode()
    guest = User.objects.get(pk=invitation.invitation.invited_user_id)
    services.invitation_reset_redemption(actor=Actor.for_user(inviter), user=guest, email="ann@partner.example",
                                         redirect_url="https://portal.tailwind.example/welcome")
    codes = _codes_sent_to("ann@partner.example")

    panel = client.get("/t/tailwind/")
    assert panel["Location"] == CONSENT
    consent = client.get(CONSENT)  # the old sign-in ends here; the address must be proven again
    assert consent.status_code == 302 and consent["Location"].startswith("/accounts/login/code/confirm/")
    assert "_auth_user_id" not in client.session
    assert _codes_sent_to("ann@partner.example") == codes + 1
    assert client.post(CONSENT, {"decision": "accept"})["Location"].startswith("/t/tailwind/sign-in/")
    guest.refresh_from_db()
    assert guest.account is None and guest.external_user_state == "PendingAcceptance"

    assert enter_code(client, consent["Location"], "ann@partner.example")["Location"] == CONSENT
    assert client.post(CONSENT, {"decision": "accept"}).status_code == 302
    guest.refresh_from_db()
    assert guest.external_user_state == "Accepted"
    assert "Partner Portal" in client.get("/t/tailwind/").content.decode()


def test_a_browser_signed_in_before_the_reset_stays_out_after_the_guest_redeems_again(client, invitation, inviter):
    from django.test import Client

    redeem_by_code(client, invitation)
    old_session = Client()  # the same signed-in session, in another browser
    old_session.cookies[next(iter(client.cookies))] = client.cookies[next(iter(client.cookies))].value
    guest = User.objects.get(pk=invitation.invitation.invited_user_id)
    reset = services.invitation_reset_redemption(actor=Actor.for_user(inviter), user=guest,
                                                 email="ann@partner.example",
                                                 redirect_url="https://portal.tailwind.example/welcome")
    fresh = Client()
    redeem_by_code(fresh, reset)  # the guest proves the address again in a new browser
    assert "Partner Portal" in fresh.get("/t/tailwind/").content.decode()

    response = old_session.get("/t/tailwind/")
    assert response.status_code == 302 and response["Location"].startswith("/t/tailwind/sign-in/")
    assert "_auth_user_id" not in old_session.session
