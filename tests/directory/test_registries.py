"""The upward hooks (DESIGN §3): the directory declares registries, the apps above fill them at start-up."""

import pytest
from allauth.account.stages import LoginStage
from django.contrib.auth import SESSION_KEY
from django.http import HttpResponseRedirect

from directory import panel, signin, visibility
from policies.selectors import GuestAccessLevelRule, code_guest_entry_refusal, code_sign_in_allowed
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


class StopHereStage(LoginStage):
    """A stage a later feature (MFA, conditional access) would register: it interrupts the sign-in."""

    key = "portal_test_stop_here"

    def handle(self):
        return HttpResponseRedirect("/stage-ran/"), False


def test_a_registered_login_stage_runs_after_allauths_own(client, monkeypatch):
    monkeypatch.setattr(signin, "_login_stages", [])
    signin.register_login_stage(f"{__name__}.StopHereStage")
    signin.register_login_stage(f"{__name__}.StopHereStage")  # registering twice keeps one
    assert signin.login_stages() == [f"{__name__}.StopHereStage"]
    account = UserFactory().account
    response = client.post("/accounts/login/", {"login": account.email, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/stage-ran/"
    assert SESSION_KEY not in client.session  # the stage holds the sign-in until it lets it go on


def test_without_registered_stages_the_sign_in_completes(client, monkeypatch):
    monkeypatch.setattr(signin, "_login_stages", [])
    account = UserFactory().account
    client.post("/accounts/login/", {"login": account.email, "password": PASSWORD})
    assert client.session[SESSION_KEY] == str(account.pk)


def test_the_apps_registered_their_hooks_at_start_up():
    assert isinstance(visibility.rule(), GuestAccessLevelRule)
    assert signin._code_sign_in_rule is code_sign_in_allowed
    assert code_guest_entry_refusal in panel._entry_rules
    assert "apps" in {s.key for s in panel._sections.values()}
    assert panel._sign_in_page == ["invitations:sign_in"]


def test_without_a_visibility_rule_a_guest_sees_only_itself(monkeypatch):
    from directory.actors import Actor
    from directory.selectors import users_visible_to
    from policies.models import CollaborationSettings
    from tests.factories import GuestFactory, TenantFactory

    tenant = TenantFactory()
    CollaborationSettings.objects.filter(tenant=tenant).update(
        guest_user_role_id=CollaborationSettings.GuestAccess.SAME_AS_MEMBERS)
    guest = GuestFactory(tenant=tenant, external_user_state="Accepted")
    UserFactory(tenant=tenant)
    assert users_visible_to(Actor.for_user(guest)).count() == 2  # the registered rule: same as members
    monkeypatch.setattr(visibility, "_rule", visibility._OnlySelf())
    assert list(users_visible_to(Actor.for_user(guest))) == [guest]  # no rule registered: fail closed
