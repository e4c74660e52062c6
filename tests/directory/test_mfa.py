"""MFA in the access panel: registration (combined, when a policy asks), the challenge, backup codes,
removal, the admin reset, and enforcement at sign-in, panel entry and app launch (with a test
evaluator: "guests require MFA" or "block everyone")."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp

from directory import access
from directory.actors import Actor
from directory.models import AuditEvent, AuthenticationMethod, SignInEvent, User
from directory.services import authentication_methods_reset, backup_codes_create, totp_register
from directory.services.mfa import totp_new_key
from tests.factories import (
    PASSWORD,
    AccountFactory,
    ApplicationFactory,
    AssignmentFactory,
    GuestFactory,
    TenantFactory,
    UserFactory,
    admin_of,
)
from tests.panel import test_my_apps
from tests.support.access import POLICY_ID

pytestmark = pytest.mark.django_db


def _code(key: str, offset: int = 0) -> str:
    return f"{totp(bytes.fromhex(key), t0=0, step=30, digits=6, drift=offset):06d}"


def _guest(tenant):
    return GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())


def _client(user) -> Client:
    client = Client()
    client.force_login(user.account)
    return client


def _pending_key(client, tenant) -> str:
    return client.session["mfa.pending_totp"][str(tenant.pk)]


def _with_totp(user) -> str:
    key = totp_new_key()
    totp_register(actor=Actor.for_user(user), user=user, key=key, token=_code(key, -1))
    return key


def test_a_guest_without_a_method_registers_one_when_guests_require_mfa_and_then_enters(guests_require_mfa):
    tenant = TenantFactory()
    guest = _guest(tenant)
    client = _client(guest)
    panel = reverse("directory:panel", args=[tenant.slug])

    response = client.get(panel)
    assert response.status_code == 302
    challenge = urlsplit(response["Location"])
    assert challenge.path == reverse("directory:mfa_challenge", args=[tenant.slug])
    assert parse_qs(challenge.query) == {"next": [panel], "requirement": ["mfa"]}

    response = client.get(response["Location"])  # no method yet: combined registration
    assert urlsplit(response["Location"]).path == reverse("directory:mfa_totp_register", args=[tenant.slug])
    page = client.get(response["Location"])
    assert page.status_code == 200 and "<svg" in page.content.decode()
    key = _pending_key(client, tenant)

    response = client.post(response["Location"], {"token": _code(key), "next": panel})
    assert response.status_code == 302 and response["Location"] == panel
    assert client.get(panel).status_code == 200

    method = AuthenticationMethod.objects.get(account=guest.account)
    assert (method.kind, method.tenant_id) == ("totp", tenant.pk)
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="User registered security info").exists()
    results = list(SignInEvent.objects.filter(tenant=tenant, user=guest).order_by("created_at")
                   .values_list("result", "conditional_access_status"))
    assert results == [("interrupted", "failure"), ("success", "success")]
    last = SignInEvent.objects.filter(tenant=tenant, user=guest).latest("created_at")
    assert last.applied_policies[0]["id"] == POLICY_ID and "totp" in last.authentication_methods
    guest.refresh_from_db()
    assert guest.last_sign_in_at is not None


def test_a_wrong_code_registers_nothing(guests_require_mfa):
    tenant = TenantFactory()
    guest = _guest(tenant)
    client = _client(guest)
    url = reverse("directory:mfa_totp_register", args=[tenant.slug])
    client.get(url)
    key = _pending_key(client, tenant)
    wrong = f"{(int(_code(key)) + 1) % 1_000_000:06d}"
    response = client.post(url, {"token": wrong})
    assert response.status_code == 400
    assert not AuthenticationMethod.objects.filter(account=guest.account).exists()
    assert client.get(reverse("directory:panel", args=[tenant.slug])).status_code == 302


def test_a_member_is_not_asked_by_a_policy_for_guests(guests_require_mfa):
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    assert _client(member).get(reverse("directory:panel", args=[tenant.slug])).status_code == 200


def test_the_challenge_takes_the_apps_code_once_and_counts_wrong_ones(guests_require_mfa, settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 60  # a back-off no slow test machine outruns
    tenant = TenantFactory()
    guest = _guest(tenant)
    key = _with_totp(guest)
    client = _client(guest)
    url = reverse("directory:mfa_challenge", args=[tenant.slug])
    panel = reverse("directory:panel", args=[tenant.slug])

    wrong = f"{(int(_code(key)) + 1) % 1_000_000:06d}"
    assert client.post(url, {"token": wrong, "next": panel}).status_code == 400
    assert AuditEvent.objects.filter(activity_display_name="User failed MFA challenge", result="failure").count() == 1
    # django-otp's back-off, counted on the device row: right after a failure even the right code waits
    assert client.post(url, {"token": _code(key), "next": panel}).status_code == 429
    device = AuthenticationMethod.objects.get(account=guest.account).totp_device
    assert device.throttling_failure_count == 1

    device.throttle_reset()
    response = client.post(url, {"token": _code(key), "next": panel})
    assert response.status_code == 302 and response["Location"] == panel
    assert client.get(panel).status_code == 200
    # the same code cannot be answered again (a replay)
    other = _client(guest)
    assert other.post(url, {"token": _code(key), "next": panel}).status_code == 400


def test_a_code_from_another_tenant_does_not_count_here(guests_require_mfa):
    here, there = TenantFactory(), TenantFactory()
    guest_here = _guest(here)
    guest_there = GuestFactory(tenant=there, external_user_state="Accepted", account=guest_here.account)
    key = _with_totp(guest_there)
    client = _client(guest_here)
    response = client.get(reverse("directory:mfa_challenge", args=[here.slug]))
    # no method registered in this tenant: registration, not a challenge a code from "there" answers
    assert urlsplit(response["Location"]).path == reverse("directory:mfa_totp_register", args=[here.slug])
    assert client.post(reverse("directory:mfa_challenge", args=[here.slug]),
                       {"token": _code(key, 1)}).status_code == 400


def test_backup_codes_work_once_each(guests_require_mfa):
    tenant = TenantFactory()
    guest = _guest(tenant)
    _method, codes = backup_codes_create(actor=Actor.for_user(guest), user=guest)
    url = reverse("directory:mfa_challenge", args=[tenant.slug])
    first = _client(guest)
    assert first.post(url, {"token": codes[0]}).status_code == 302
    assert first.get(reverse("directory:panel", args=[tenant.slug])).status_code == 200
    assert _client(guest).post(url, {"token": codes[0]}).status_code == 400


def test_removing_the_last_method_asks_for_a_fresh_mfa_first():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    key = _with_totp(member)
    method = AuthenticationMethod.objects.get(account=member.account)
    client = _client(member)
    url = reverse("directory:security_info", args=[tenant.slug])
    response = client.post(url, {"action": "delete", "method": str(method.pk)})
    assert urlsplit(response["Location"]).path == reverse("directory:mfa_challenge", args=[tenant.slug])
    assert AuthenticationMethod.objects.filter(pk=method.pk).exists()

    client.post(reverse("directory:mfa_challenge", args=[tenant.slug]), {"token": _code(key, 1), "next": url})
    assert client.post(url, {"action": "delete", "method": str(method.pk)}).status_code == 302
    assert not AuthenticationMethod.objects.filter(pk=method.pk).exists()
    assert AuditEvent.objects.filter(tenant=tenant, activity_display_name="User deleted security info").exists()


def test_an_mfa_answered_long_ago_is_not_fresh_enough_to_remove_the_last_method():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    _with_totp(member)
    method = AuthenticationMethod.objects.get(account=member.account)
    client = _client(member)
    session = client.session
    access.mark_satisfied(session, tenant, "mfa", at=time.time() - 3600)
    session.save()
    client.post(reverse("directory:security_info", args=[tenant.slug]), {"action": "delete", "method": str(method.pk)})
    assert AuthenticationMethod.objects.filter(pk=method.pk).exists()


def test_a_stronger_authentication_strength_than_totp_cannot_be_met_yet(guests_require_mfa):
    tenant = TenantFactory()
    guest = _guest(tenant)
    _with_totp(guest)
    response = _client(guest).get(reverse("directory:mfa_challenge", args=[tenant.slug]),
                                  {"requirement": "authenticationStrength:phishingResistant"})
    assert response.status_code == 403 and "passkey" in response.content.decode()


def test_a_block_shows_the_block_page_and_is_logged(everyone_blocked):
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    response = _client(member).get(reverse("directory:panel", args=[tenant.slug]))
    assert response.status_code == 403
    assert "directory/access_blocked.html" in [t.name for t in response.templates]
    assert "Blocked by the test policy." in response.content.decode()
    event = SignInEvent.objects.get(tenant=tenant)
    assert (event.result, event.error_code, event.failure_reason) == ("failure", 53003, "Blocked by the test policy.")


def test_an_app_launch_is_evaluated_for_the_app(guests_require_mfa):
    seen = []

    def spy(request):
        seen.append((request.resource, request.application))
        return access.AccessDecision()

    access.register_access_evaluator(spy)
    try:
        tenant = TenantFactory()
        member = UserFactory(tenant=tenant)
        app = ApplicationFactory(tenant=tenant, launch_url="https://app.example/")
        AssignmentFactory(application=app, user=member)
        response = _client(member).get(reverse("directory:launch", args=[tenant.slug, app.pk]))
    finally:
        access._evaluators.remove(spy)
    assert response.status_code == 302
    assert (access.APP, app) in seen and (access.PANEL, None) in seen


def test_password_sign_in_to_a_tenant_runs_the_access_stage_and_is_logged(guests_require_mfa):
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    client = Client()
    panel = reverse("directory:panel", args=[tenant.slug])
    response = client.post(f"{reverse('account_login')}?next={panel}",
                           {"login": member.user_principal_name, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == panel
    event = SignInEvent.objects.get(tenant=tenant)
    assert (event.user_id, event.result, event.authentication_methods) == (member.pk, "success", ["password"])
    assert User.objects.get(pk=member.pk).last_sign_in_at is not None


def test_a_sign_in_a_policy_blocks_ends_on_the_block_page_signed_out(everyone_blocked):
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    client = Client()
    panel = reverse("directory:panel", args=[tenant.slug])
    response = client.post(f"{reverse('account_login')}?next={panel}",
                           {"login": member.user_principal_name, "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session
    assert SignInEvent.objects.get(tenant=tenant).result == "failure"


def test_a_guests_sign_in_goes_to_the_challenge_first(guests_require_mfa):
    tenant = TenantFactory()
    guest = _guest(tenant)
    guest.account.set_password(PASSWORD)
    guest.account.save()
    from allauth.account.models import EmailAddress
    EmailAddress.objects.create(user=guest.account, email=guest.account.email, verified=True, primary=True)
    panel = reverse("directory:panel", args=[tenant.slug])
    response = Client().post(f"{reverse('account_login')}?next={panel}",
                             {"login": guest.account.email, "password": PASSWORD})
    location = urlsplit(response["Location"])
    assert location.path == reverse("directory:mfa_challenge", args=[tenant.slug])
    assert parse_qs(location.query)["next"] == [panel]
    assert SignInEvent.objects.get(tenant=tenant).result == "interrupted"


def test_an_admin_requires_re_registration_and_others_may_not():
    tenant = TenantFactory()
    guest = _guest(tenant)
    _with_totp(guest)
    backup_codes_create(actor=Actor.for_user(guest), user=guest)
    with pytest.raises(PermissionDenied):
        authentication_methods_reset(actor=Actor.for_user(UserFactory(tenant=tenant)), user=guest)
    with pytest.raises(PermissionDenied):
        authentication_methods_reset(actor=Actor.for_user(admin_of(TenantFactory())), user=guest)
    assert authentication_methods_reset(actor=Actor.for_user(admin_of(tenant)), user=guest) == 2
    assert not AuthenticationMethod.objects.filter(account=guest.account).exists()
    guest.refresh_from_db()
    assert guest.sign_in_sessions_valid_from is not None
    assert AuditEvent.objects.filter(
        tenant=tenant, activity_display_name="Admin required re-registration of security info").exists()


def test_the_console_leaves_out_a_tenant_until_its_requirement_is_met():
    def console_requires_mfa(request):
        if request.resource == access.CONSOLE and "mfa" not in request.satisfied:
            return access.AccessDecision(requirements=frozenset({"mfa"}))
        return access.AccessDecision()

    tenant = TenantFactory(name="Console Co")
    admin = admin_of(tenant)
    client = _client(admin)
    access.register_access_evaluator(console_requires_mfa)
    try:
        assert client.get(reverse("admin:directory_user_changelist")).status_code == 403
        index = client.get(reverse("admin:index")).content.decode()
        assert "Console Co" in index and reverse("directory:mfa_challenge", args=[tenant.slug]) in index
        session = client.session
        access.mark_satisfied(session, tenant, "mfa")
        session.save()
        assert client.get(reverse("admin:directory_user_changelist")).status_code == 200
    finally:
        access._evaluators.remove(console_requires_mfa)
    assert SignInEvent.objects.filter(tenant=tenant, resource="console", result="interrupted").exists()


def test_a_guest_who_met_mfa_enters_within_my_apps_query_budget(guests_require_mfa, django_assert_max_num_queries):
    tenant = TenantFactory()
    guest = _guest(tenant)
    client = _client(guest)
    session = client.session
    access.mark_satisfied(session, tenant, "mfa")
    session.save()
    panel = reverse("directory:panel", args=[tenant.slug])
    assert client.get(panel).status_code == 200  # the first entry logs its outcome once
    # My Apps' own budget, and one query for cross-tenant access settings: a guest whose account has a
    # password may be a member of another tenant here (its home), whose outbound settings also decide.
    with django_assert_max_num_queries(test_my_apps.TestMyApps.max_queries + 1) as captured:
        assert client.get(panel).status_code == 200
    assert not [q for q in captured.captured_queries if "signinevent" in q["sql"].lower()]


def test_a_wrong_password_for_a_tenant_is_a_failed_sign_in_in_its_log():
    tenant = TenantFactory()
    member = UserFactory(tenant=tenant)
    panel = reverse("directory:panel", args=[tenant.slug])
    response = Client().post(f"{reverse('account_login')}?next={panel}",
                             {"login": member.user_principal_name, "password": "wrong"})
    assert response.status_code == 200
    event = SignInEvent.objects.get(tenant=tenant)
    assert (event.user_id, event.result, event.error_code) == (member.pk, "failure", 50126)
    Client().post(f"{reverse('account_login')}?next={panel}", {"login": "nobody@nowhere.example", "password": "x"})
    assert SignInEvent.objects.count() == 1


@pytest.mark.parametrize("route", ["directory:mfa_challenge", "directory:mfa_totp_register"])
def test_the_pages_that_meet_requirements_still_honour_a_block(everyone_blocked, route):
    tenant = TenantFactory()
    guest = _guest(tenant)
    response = _client(guest).get(reverse(route, args=[tenant.slug]))
    assert response.status_code == 403
    assert "directory/access_blocked.html" in [t.name for t in response.templates]


def test_the_sign_in_log_keeps_its_retention_and_only_the_platform_purges_it(settings):
    import datetime as dt

    from django.utils import timezone

    from directory.services import sign_in_events_purge

    settings.SIGN_IN_LOG_RETENTION_DAYS = 30
    tenant = TenantFactory()
    now = timezone.now()
    old = SignInEvent.objects.create(tenant=tenant, result="success", created_at=now - dt.timedelta(days=31))
    kept = SignInEvent.objects.create(tenant=tenant, result="success", created_at=now - dt.timedelta(days=29))
    with pytest.raises(PermissionDenied):
        sign_in_events_purge(actor=Actor.for_user(admin_of(tenant)))
    assert sign_in_events_purge(actor=Actor.system(None, "test"), now=now) == 1
    assert list(SignInEvent.objects.values_list("pk", flat=True)) == [kept.pk]
    assert sign_in_events_purge(actor=Actor.system(None, "test"), now=now) == 0  # idempotent
    assert not SignInEvent.objects.filter(pk=old.pk).exists()


def test_an_authentication_strength_of_mfa_is_met_by_the_authenticator_app():
    def strength_for_guests(request):
        if request.user is not None and request.user.is_guest and \
                "authenticationStrength:mfa" not in request.satisfied:
            return access.AccessDecision(requirements=frozenset({"authenticationStrength:mfa"}))
        return access.AccessDecision()

    tenant = TenantFactory()
    guest = _guest(tenant)
    key = _with_totp(guest)
    client = _client(guest)
    panel = reverse("directory:panel", args=[tenant.slug])
    access.register_access_evaluator(strength_for_guests)
    try:
        response = client.get(panel)
        assert parse_qs(urlsplit(response["Location"]).query)["requirement"] == ["authenticationStrength:mfa"]
        answered = client.post(response["Location"], {"token": _code(key, 1), "next": panel,
                                                      "requirement": "authenticationStrength:mfa"})
        assert answered["Location"] == panel
        assert client.get(panel).status_code == 200
    finally:
        access._evaluators.remove(strength_for_guests)
