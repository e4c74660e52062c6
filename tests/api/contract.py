"""Every API endpoint's access contract, checked the same way for all of them.

Subclass ``EndpointContract`` once per (route, method) in a test module. The subclass inherits the
four checks below; ``test_every_endpoint_has_a_contract`` (tests/api/test_contract_coverage.py) fails
when a route and method under /v1.0/ has no contract, so a new endpoint cannot skip them.
"""

import json

import pytest

from tests.factories import AccountFactory, GuestFactory, TenantFactory

REGISTRY: set[tuple[str, str]] = set()


class EndpointContract:
    route = ""  # the URL pattern as written in urls.py, e.g. "users/<str:user_id>"
    version = "v1.0"  # or "beta"
    method = "get"
    permission = ""  # an application permission that allows the call
    other_permission = "AuditLog.Read.All"  # one that does not
    guest_status = 200  # what a guest's delegated token gets (with the scope granted)
    guest_scope = ""  # the delegated scope the guest's token carries (default: permission)
    ok_status = 200

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.route:
            REGISTRY.add((f"{cls.version}/{cls.route}", cls.method.upper()))

    # -- to provide
    def make_target(self, tenant) -> dict:
        """Objects in ``tenant`` the URL needs: returns the URL kwargs (e.g. {"user_id": …})."""
        return {}

    def body(self, tenant, target: dict) -> dict | None:
        return None

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
