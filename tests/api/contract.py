"""Every API endpoint's access contract, checked the same way for all of them (DESIGN §10).

Subclass ``EndpointContract`` once per (route, method) in a test module. The subclass inherits the
checks below — anonymous, app without and with the permission, another tenant's object, a guest's,
a no-role member's and another tenant's Global Administrator's delegated tokens, and (routes whose
object's owners may write it) the owner; ``tests/api/test_contract_coverage.py`` fails when a route
and method under /v1.0/ or /beta/ has no contract, or a route owners may write has no owner contract,
so a new endpoint cannot skip them.
"""

import json

import pytest

from directory.models import Application, Group
from tests.factories import AccountFactory, GuestFactory, TenantFactory, UserFactory, admin_of
from tests.support.tenant_data import object_ids, populate, snapshot

#: {("v1.0/route", "METHOD"): the contract class}
REGISTRY: dict[tuple[str, str], type] = {}

#: What an owner owns, per ``owner_kind``: (model, URL kwarg naming it).
OWNED = {"group": (Group, "group_id"), "application": (Application, "sp_id")}


class EndpointContract:
    route = ""  # the URL pattern as written in urls.py, e.g. "users/<str:user_id>"
    version = "v1.0"  # or "beta"
    method = "get"
    permission = ""  # an application permission that allows the call
    other_permission = "AuditLog.Read.All"  # one that does not
    guest_status = 200  # what a guest's delegated token gets (with the scope granted)
    guest_scope = ""  # the delegated scope the guest's token carries (default: permission)
    #: What a member without a role gets with a delegated token carrying ``member_scope`` (default:
    #: permission); None means 200 for reads and 403 for writes (members read the directory, and write
    #: only what the authorization table gives every member, e.g. inviting).
    member_status: int | None = None
    member_scope = ""
    #: "group" or "application" where the owner of the object the URL names may write it (the view's
    #: ``owners_may_write``); the owner's token carries ``owner_scope`` (default: permission).
    owner_kind = ""
    owner_scope = ""
    ok_status = 200

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.route:
            REGISTRY[(f"{cls.version}/{cls.route}", cls.method.upper())] = cls

    # -- to provide
    def make_target(self, tenant) -> dict:
        """Objects in ``tenant`` the URL needs: returns the URL kwargs (e.g. {"user_id": …})."""
        return {}

    def body(self, tenant, target: dict) -> dict | None:
        return None

    def owned_object(self, target: dict):
        """The object an owner owns in ``target`` (for ``owner_kind`` routes)."""
        model, kwarg = OWNED[self.owner_kind]
        return model.objects.get(pk=target[kwarg])

    # -- helpers
    def url(self, kwargs: dict) -> str:
        path = self.route
        for name, value in kwargs.items():
            for kind in ("str", "uuid", "slug"):
                path = path.replace(f"<{kind}:{name}>", str(value))
        return f"/{self.version}/{path}"

    def call(self, client, tenant, target):
        method = getattr(client, self.method)
        body = self.body(tenant, target)
        if body is None:
            return method(self.url(target))
        return method(self.url(target), body, format="json")

    # -- the contract
    @pytest.mark.django_db
    def test_without_a_token_is_401(self, api):
        tenant = TenantFactory()
        response = self.call(api(), tenant, self.make_target(tenant))
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken"

    @pytest.mark.django_db
    def test_without_the_permission_is_403(self, api, app_token_for):
        tenant = TenantFactory()
        token = app_token_for(tenant, [self.other_permission])
        response = self.call(api(token), tenant, self.make_target(tenant))
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "Authorization_RequestDenied"

    @pytest.mark.django_db
    def test_with_the_permission_succeeds(self, api, app_token_for):
        tenant = TenantFactory()
        token = app_token_for(tenant, [self.permission])
        response = self.call(api(token), tenant, self.make_target(tenant))
        assert response.status_code == self.ok_status, response.content

    @pytest.mark.django_db
    def test_another_tenants_object_is_404(self, api, app_token_for):
        if "<" not in self.route:
            pytest.skip("the route names no object")
        mine, other = TenantFactory(), TenantFactory()
        token = app_token_for(mine, [self.permission])
        response = self.call(api(token), mine, self.make_target(other))
        assert response.status_code == 404, response.content
        assert response.json()["error"]["code"] == "Request_ResourceNotFound"

    @pytest.mark.django_db
    def test_a_lone_surrogate_in_the_body_is_400(self, api, app_token_for):
        """JSON's "\\ud800" escape decodes to half a UTF-16 pair, not a character: refused as bad input
        before any handler sees it (it once reached the database and answered 500)."""
        if self.method not in {"post", "patch", "put"}:
            pytest.skip("the route takes no body")
        tenant = TenantFactory()
        token = app_token_for(tenant, [self.permission])
        target = self.make_target(tenant)
        body = with_lone_surrogates(self.body(tenant, target) or {})
        response = api(token).generic(self.method.upper(), self.url(target), json.dumps(body),
                                      content_type="application/json")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "Request_BadRequest" and "surrogate" in error["message"], error

    @pytest.mark.django_db
    def test_guest_delegated_token_gets_what_the_guest_level_allows(self, api, delegated_token_for):
        tenant = TenantFactory()
        guest = GuestFactory(tenant=tenant, external_user_state="Accepted", account=AccountFactory())
        token = delegated_token_for(guest, [self.guest_scope or self.permission])
        response = self.call(api(token), tenant, self.make_target(tenant))
        assert response.status_code == self.guest_status, response.content

    @pytest.mark.django_db
    def test_member_delegated_token_gets_what_a_member_may(self, api, delegated_token_for):
        tenant = TenantFactory()
        member = UserFactory(tenant=tenant)
        token = delegated_token_for(member, [self.member_scope or self.permission])
        response = self.call(api(token), tenant, self.make_target(tenant))
        expected = self.member_status
        if expected is None:
            expected = 200 if self.method == "get" else 403
        assert response.status_code == expected, response.content
        if expected == 403:
            assert response.json()["error"]["code"] == "Authorization_RequestDenied"

    @pytest.mark.django_db
    def test_admin_of_another_tenant_is_refused_here(self, api, delegated_token_for):
        """A Global Administrator of another tenant (a guest here too), through an app of theirs, with this
        tenant's object ids: the object is not found (their token only ever sees their tenant); a
        collection answers with their own tenant's data or refuses. Either way nothing of this tenant is
        read or changed."""
        here, theirs = TenantFactory(), TenantFactory()
        target = self.make_target(here)
        populate(here)
        admin = admin_of(theirs)
        GuestFactory(tenant=here, external_user_state="Accepted", account=admin.account)
        before, ids = snapshot(here), object_ids(here)
        token = delegated_token_for(admin, [self.permission])
        body = self.body(here, target)
        response = self.call(api(token), here, target)
        if "<" in self.route:
            assert response.status_code == 404, response.content
            assert response.json()["error"]["code"] == "Request_ResourceNotFound"
        else:
            assert response.status_code < 500, response.content
        sent = self.url(target) + json.dumps(body or {})
        seen = [i for i in ids if i not in sent and i in response.content.decode()]  # an echo of the request is not a leak
        assert not seen, f"{self.method.upper()} {self.route} showed this tenant's objects: {seen}"
        assert snapshot(here) == before

    @pytest.mark.django_db
    def test_owner_may_write_what_it_owns_and_nothing_else(self, api, delegated_token_for):
        if not self.owner_kind:
            pytest.skip("no owner writes through this route")
        tenant = TenantFactory()
        owner = UserFactory(tenant=tenant)
        owned, not_owned, owned_again = (self.make_target(tenant) for _ in range(3))
        for target in (owned, owned_again):
            self.owned_object(target).owners.add(owner)
        client = api(delegated_token_for(owner, [self.owner_scope or self.permission]))

        response = self.call(client, tenant, owned)
        assert response.status_code == self.ok_status, response.content
        response = self.call(client, tenant, not_owned)
        assert response.status_code == 403, response.content
        assert response.json()["error"]["code"] == "Authorization_RequestDenied"
        # an owner's token without a write scope writes nothing, not even what it owns
        response = self.call(api(delegated_token_for(owner, ["User.Read"])), tenant, owned_again)
        assert response.status_code == 403, response.content


def with_lone_surrogates(body: dict) -> dict:
    """``body`` with a lone surrogate appended to every string in it (and a key holding one)."""

    def spoil(value):
        if isinstance(value, str):
            return value + "\ud800"
        if isinstance(value, list):
            return [spoil(v) for v in value]
        if isinstance(value, dict):
            return {k: spoil(v) for k, v in value.items()}
        return value

    return {**spoil(body), "displayName\udfff": "x"}
