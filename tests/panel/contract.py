"""Every access-panel page's access contract, checked the same way for all of them (DESIGN §10).

Subclass ``PanelPageContract`` once per panel page (a URL under ``t/<slug:slug>/`` served by a
``PanelView``) in a test module of this package. The subclass inherits the checks below — anonymous,
signed in with no user object here, invited here but not yet redeemed, each guest access level, a member
without a role, the owner (pages about an object owners manage), another tenant's Global Administrator, a
blocked and a deleted user, another tenant's object, and the page's query budget;
``tests/panel/test_panel_contract_coverage.py`` fails when a panel page has no contract, so a new page
cannot skip them.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from directory.actors import Actor
from directory.models import Application, Group
from policies import services as policy_services
from policies.models import CollaborationSettings
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory, admin_of
from tests.support.tenant_data import object_ids, populate, snapshot

GA = CollaborationSettings.GuestAccess
NO_ACCESS = "directory/panel/no_access.html"

#: {"namespace:url_name": the contract class}
PANEL_REGISTRY: dict[str, type] = {}

#: What an owner owns, per ``owner_kind``: (model, URL kwarg naming it).
OWNED = {"group": (Group, "group_id"), "application": (Application, "app_id")}


class PanelPageContract:
    route = ""  # the URL pattern's name, e.g. "directory:panel"
    #: What a member without a role gets (and, unless ``guest_statuses`` says otherwise, a guest).
    member_status = 200
    #: {guest access level (CollaborationSettings.GuestAccess): status}; a level not named gets member_status.
    guest_statuses: dict[str, int] = {}
    #: "group" or "application" where the page is about an object its owners manage; then the owner gets
    #: ``owner_status`` on what it owns (and a member who does not own it, ``member_status``).
    owner_kind = ""
    owner_status = 200
    #: The most queries a member's request may run (sessions and the shell included), whatever the data.
    max_queries = 0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.route:
            PANEL_REGISTRY[cls.route] = cls

    # -- to provide
    def make_target(self, tenant, user) -> dict:
        """Objects of ``tenant`` the page needs, made for ``user`` (who will ask for the page; None when
        nobody in particular, e.g. for an anonymous visitor): returns the URL kwargs besides ``slug``."""
        return {}

    def check_success(self, response, tenant, user, target: dict) -> None:
        """What a person who may see the page must find on it (called when the status is 200 or 302)."""

    def owned_object(self, target: dict):
        model, kwarg = OWNED[self.owner_kind]
        return model.objects.get(pk=target[kwarg])

    # -- helpers
    def url(self, tenant, target: dict) -> str:
        return reverse(self.route, kwargs={"slug": tenant.slug, **target})

    def visit(self, person, tenant, target: dict):
        """``person`` (a user object, an account, or None for anonymous) asks for the page."""
        client = Client()
        account = getattr(person, "account", person)
        if account is not None:
            client.force_login(account)
        return client.get(self.url(tenant, target))

    def assert_status(self, response, expected: int, tenant, user, target) -> None:
        assert response.status_code == expected, (response.status_code, response.get("Location"))
        if expected in (200, 302):
            self.check_success(response, tenant, user, target)

    def assert_no_access(self, response) -> None:
        assert response.status_code == 403, (response.status_code, response.get("Location"))
        assert NO_ACCESS in [t.name for t in response.templates]

    # -- the contract
    @pytest.mark.django_db
    def test_anonymous_is_sent_to_the_tenants_sign_in_page(self):
        tenant = TenantFactory()
        target = self.make_target(tenant, None)
        response = self.visit(None, tenant, target)
        assert response.status_code == 302
        location = urlsplit(response["Location"])
        assert location.path == reverse("invitations:sign_in", args=[tenant.slug])
        assert parse_qs(location.query)["next"] == [self.url(tenant, target)]

    @pytest.mark.django_db
    def test_someone_with_no_user_here_gets_no_access(self):
        tenant = TenantFactory()
        target = self.make_target(tenant, None)
        self.assert_no_access(self.visit(AccountFactory(), tenant, target))

    @pytest.mark.django_db
    def test_someone_invited_here_is_sent_to_redeem_first(self):
        from invitations import services as invitation_services

        tenant = TenantFactory()
        target = self.make_target(tenant, None)
        invitation_services.invitation_create(actor=Actor.for_user(admin_of(tenant)), tenant=tenant,
                                              email="invited@partner.example", redirect_url="https://example.com/")
        response = self.visit(AccountFactory(email="invited@partner.example"), tenant, target)
        assert response.status_code == 302
        assert response["Location"] == reverse("invitations:consent", args=[tenant.slug])

    @pytest.mark.django_db
    @pytest.mark.parametrize("level", list(GA), ids=[level.name.lower() for level in GA])
    def test_guest_gets_what_its_access_level_allows(self, level):
        tenant = TenantFactory()
        policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=tenant,
                                                      changes={"guest_user_role_id": level.value})
        guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
        target = self.make_target(tenant, guest)
        expected = self.guest_statuses.get(level, self.member_status)
        self.assert_status(self.visit(guest, tenant, target), expected, tenant, guest, target)

    @pytest.mark.django_db
    def test_member_without_a_role_gets_what_a_member_may(self):
        tenant = TenantFactory()
        member = UserFactory(tenant=tenant)
        target = self.make_target(tenant, member)
        self.assert_status(self.visit(member, tenant, target), self.member_status, tenant, member, target)

    @pytest.mark.django_db
    def test_owner_gets_what_an_owner_may_on_what_it_owns_only(self):
        if not self.owner_kind:
            pytest.skip("the page is about nothing an owner manages")
        tenant = TenantFactory()
        owner = UserFactory(tenant=tenant)
        owned, not_owned = self.make_target(tenant, owner), self.make_target(tenant, owner)
        self.owned_object(owned).owners.add(owner)
        self.assert_status(self.visit(owner, tenant, owned), self.owner_status, tenant, owner, owned)
        self.assert_status(self.visit(owner, tenant, not_owned), self.member_status, tenant, owner, not_owned)

    @pytest.mark.django_db
    def test_admin_of_another_tenant_gets_no_access_and_sees_nothing_of_this_one(self):
        here, theirs = TenantFactory(), TenantFactory()
        target = self.make_target(here, UserFactory(tenant=here))
        populate(here)
        before = snapshot(here)
        response = self.visit(admin_of(theirs), here, target)
        self.assert_no_access(response)
        page = response.content.decode()
        url = self.url(here, target)
        seen = [i for i in object_ids(here) - {str(here.pk)} if i in page and i not in url]
        names = [u.display_name for u in here.users.all()] + [g.display_name for g in here.groups.all()] + [
            a.display_name for a in here.applications.all()]
        assert not seen and not [n for n in names if n in page], (seen, names)
        assert snapshot(here) == before

    @pytest.mark.django_db
    def test_a_blocked_user_gets_no_access(self):
        tenant = TenantFactory()
        member = UserFactory(tenant=tenant, account_enabled=False)
        self.assert_no_access(self.visit(member, tenant, self.make_target(tenant, member)))

    @pytest.mark.django_db
    def test_a_deleted_user_gets_no_access(self):
        tenant = TenantFactory()
        member = UserFactory(tenant=tenant, deleted_at=timezone.now())
        self.assert_no_access(self.visit(member, tenant, self.make_target(tenant, member)))

    @pytest.mark.django_db
    def test_another_tenants_object_is_404(self):
        tenant, other = TenantFactory(), TenantFactory()
        member = UserFactory(tenant=tenant)
        theirs = self.make_target(other, UserFactory(tenant=other))
        if not theirs:
            pytest.skip("the page names no object")
        assert self.visit(member, tenant, theirs).status_code == 404

    @pytest.mark.django_db
    def test_a_member_is_served_within_the_query_budget(self, django_assert_max_num_queries):
        assert self.max_queries, "declare max_queries: the page's fixed query budget"
        tenant = TenantFactory()
        member = UserFactory(tenant=tenant)
        target = self.make_target(tenant, member)
        client = Client()
        client.force_login(member.account)
        # Steady state: an entry into the tenant first, so per-tenant caches (conditional access policies,
        # loaded once per process and version) are warm, as they are for every request but the first.
        client.get(reverse("directory:panel", args=[tenant.slug]))
        with django_assert_max_num_queries(self.max_queries):
            response = client.get(self.url(tenant, target))
        assert response.status_code == self.member_status
