"""/users, /users/{id}, /me, memberOf and sponsors."""

import pytest

from directory.actors import Actor
from directory.models import AuditEvent, User
from policies import services as policy_services
from tests.api.contract import EndpointContract
from tests.factories import AccountFactory, GroupFactory, GuestFactory, TenantFactory, UserFactory, admin_of

pytestmark = pytest.mark.django_db


class TestListUsers(EndpointContract):
    route = "users"
    permission = "User.Read.All"


class TestCreateUser(EndpointContract):
    route = "users"
    method = "post"
    permission = "User.ReadWrite.All"
    ok_status = 201
    guest_status = 403

    def body(self, tenant, target):
        return {"accountEnabled": True, "displayName": "New Member", "mailNickname": "new",
                "userPrincipalName": f"new@{tenant.initial_domain}",
                "passwordProfile": {"password": "A-long-passphrase-for-api-1"}}


class TestGetUser(EndpointContract):
    route = "users/<str:user_id>"
    permission = "User.Read.All"
    guest_status = 404  # limited guests cannot read other users

    def make_target(self, tenant):
        return {"user_id": UserFactory(tenant=tenant).pk}


class TestPatchUser(EndpointContract):
    route = "users/<str:user_id>"
    method = "patch"
    permission = "User.ReadWrite.All"
    ok_status = 204
    guest_status = 403

    def make_target(self, tenant):
        return {"user_id": UserFactory(tenant=tenant).pk}

    def body(self, tenant, target):
        return {"jobTitle": "Lead"}


class TestDeleteUser(EndpointContract):
    route = "users/<str:user_id>"
    method = "delete"
    permission = "User.ReadWrite.All"
    ok_status = 204
    guest_status = 403

    def make_target(self, tenant):
        return {"user_id": UserFactory(tenant=tenant).pk}


class TestUserMemberOf(EndpointContract):
    route = "users/<str:user_id>/memberOf"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        return {"user_id": UserFactory(tenant=tenant).pk}


class TestUserSponsors(EndpointContract):
    route = "users/<str:user_id>/sponsors"
    permission = "User.Read.All"
    guest_status = 404

    def make_target(self, tenant):
        return {"user_id": UserFactory(tenant=tenant).pk}


class TestMe(EndpointContract):
    route = "me"
    permission = "User.Read.All"
    guest_scope = "User.Read"
    member_scope = "User.Read"
    ok_status = 400  # an app-only token has no "me"


def test_list_users_filters_selects_and_hides_guest_only_properties_by_default(api_tenant, app_token_for, api):
    UserFactory(tenant=api_tenant, display_name="Ann Member")
    GuestFactory(tenant=api_tenant, display_name="Gus Guest")
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    body = client.get("/v1.0/users").json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#users")
    assert [u["displayName"] for u in body["value"]] == ["Ann Member", "Gus Guest"]
    assert "externalUserState" not in body["value"][0]
    guests = client.get("/v1.0/users", {"$filter": "userType eq 'Guest'",
                                        "$select": "displayName,externalUserState,creationType,identities"}).json()
    [gus] = guests["value"]
    assert gus["externalUserState"] == "PendingAcceptance" and gus["creationType"] == "Invitation"


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("startswith(displayName,'an')", ["Ann"]),
        ("displayName eq 'ANN' or displayName eq 'bob'", ["Ann", "Bob"]),
        ("not(displayName eq 'Ann')", ["Bob", "Cid"]),
        ("displayName in ('Ann','Cid') and accountEnabled eq true", ["Ann"]),
        ("accountEnabled eq false", ["Cid"]),
        ("displayName ne 'Ann' and (jobTitle eq 'Dev' or jobTitle eq null)", ["Bob", "Cid"]),
    ],
)
def test_filter_expressions(api_tenant, app_token_for, api, query, names):
    UserFactory(tenant=api_tenant, display_name="Ann", job_title="Dev")
    UserFactory(tenant=api_tenant, display_name="Bob", job_title="Dev")
    UserFactory(tenant=api_tenant, display_name="Cid", account_enabled=False)
    response = api(app_token_for(api_tenant, ["User.Read.All"])).get("/v1.0/users", {"$filter": query})
    assert response.status_code == 200, response.content
    assert [u["displayName"] for u in response.json()["value"]] == names


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"$filter": "displayName eq"}, "Request_UnsupportedQuery"),
        ({"$filter": "nosuch eq 'x'"}, "Request_BadRequest"),
        ({"$filter": "displayName like 'x'"}, "Request_UnsupportedQuery"),
        ({"$filter": "displayName eq 'x'); DROP TABLE directory_user;--"}, "Request_UnsupportedQuery"),
        ({"$filter": "(" * 50 + "displayName eq 'x'" + ")" * 50}, "Request_UnsupportedQuery"),
        ({"$filter": "x" * 3000}, "Request_UnsupportedQuery"),
        ({"$filter": "accountEnabled eq 'yes'"}, "Request_BadRequest"),
        ({"$filter": "id eq 'not-a-guid'"}, "Request_BadRequest"),
        ({"$filter": "identities/any(i:i/issuer eq 'x')"}, "Request_UnsupportedQuery"),
        ({"$top": "100000"}, "Request_BadRequest"),
        ({"$top": "-1"}, "Request_BadRequest"),
        ({"$select": "displayName,password"}, "Request_BadRequest"),
        ({"$orderby": "mail desc"}, "Request_UnsupportedQuery"),
        ({"$expand": "manager,memberOf"}, "Request_UnsupportedQuery"),  # one navigation at a time
        ({"$skiptoken": "forged"}, "Request_BadRequest"),
        ({"$count": "true"}, "Request_UnsupportedQuery"),  # without ConsistencyLevel: eventual
    ],
)
def test_bad_queries_get_a_graph_style_400(api_tenant, app_token_for, api, params, code):
    response = api(app_token_for(api_tenant, ["User.Read.All"])).get("/v1.0/users", params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"] and error["innerError"]["request-id"] and error["innerError"]["date"]


def test_paging_follows_next_links_through_every_user_once(api_tenant, app_token_for, api,
                                                           django_assert_max_num_queries):
    User.objects.bulk_create(User(tenant=api_tenant, display_name=f"P{i % 7}", user_principal_name=f"p{i}@x.example")
                             for i in range(260))
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    seen, url, pages = [], "/v1.0/users?$top=50&$orderby=displayName desc", 0
    while url:
        with django_assert_max_num_queries(8):
            body = client.get(url, HTTP_CONSISTENCYLEVEL="eventual").json()
        seen += [u["id"] for u in body["value"]]
        url = body.get("@odata.nextLink")
        pages += 1
    assert len(seen) == len(set(seen)) == 260
    assert pages == 6


def test_count_with_consistency_level(api_tenant, app_token_for, api):
    GuestFactory.create_batch(3, tenant=api_tenant)
    UserFactory(tenant=api_tenant)
    body = api(app_token_for(api_tenant, ["User.Read.All"])).get(
        "/v1.0/users", {"$count": "true", "$filter": "userType eq 'Guest'"}, HTTP_CONSISTENCYLEVEL="eventual").json()
    assert body["@odata.count"] == 3


def test_get_user_by_upn_and_missing_user(api_tenant, app_token_for, api):
    user = UserFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    assert client.get(f"/v1.0/users/{user.user_principal_name}").json()["id"] == str(user.pk)
    missing = client.get("/v1.0/users/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"


@pytest.mark.parametrize("key", ["not-a-guid", "1234", "00000000-0000-0000-0000", "nobody@tailwind.example"])
def test_a_key_that_names_no_user_is_404_resource_not_found(api_tenant, app_token_for, api, key):
    client = api(app_token_for(api_tenant, ["User.ReadWrite.All"]))
    for method, url in [("get", f"/v1.0/users/{key}"), ("get", f"/v1.0/users/{key}/memberOf"),
                        ("get", f"/v1.0/users/{key}/sponsors"), ("patch", f"/v1.0/users/{key}"),
                        ("delete", f"/v1.0/users/{key}"), ("get", f"/v1.0/users('{key}')")]:
        response = getattr(client, method)(url, {"jobTitle": "x"} if method == "patch" else None, format="json")
        assert response.status_code == 404, (method, url, response.content)
        assert response.json()["error"]["code"] == "Request_ResourceNotFound"


def test_the_odata_key_form_names_a_user_by_upn_or_id(api_tenant, app_token_for, api):
    ann = UserFactory(tenant=api_tenant, user_principal_name="o'neil@tailwind.example")
    group = GroupFactory(tenant=api_tenant)
    group.members.add(ann)
    client = api(app_token_for(api_tenant, ["User.ReadWrite.All", "GroupMember.Read.All"]))
    assert client.get("/v1.0/users('o''neil@tailwind.example')").json()["id"] == str(ann.pk)
    assert client.get("/v1.0/users('O''NEIL@tailwind.example')").json()["id"] == str(ann.pk)
    assert client.get(f"/v1.0/users('{ann.pk}')", {"$select": "displayName"}).json()["id"] == str(ann.pk)
    member_of = client.get("/v1.0/users('o''neil@tailwind.example')/memberOf").json()["value"]
    assert [g["id"] for g in member_of] == [str(group.pk)]
    assert client.patch("/v1.0/users('o''neil@tailwind.example')", {"department": "Sales"},
                        format="json").status_code == 204
    ann.refresh_from_db()
    assert ann.department == "Sales"


def test_create_member_validates_and_audits(api_tenant, app_token_for, api):
    client = api(app_token_for(api_tenant, ["User.ReadWrite.All"]))
    body = {"accountEnabled": True, "displayName": "Dee", "mailNickname": "dee",
            "userPrincipalName": "dee@tailwind.example", "passwordProfile": {"password": "A-long-passphrase-77"}}
    created = client.post("/v1.0/users", body, format="json")
    assert created.status_code == 201 and created.json()["userPrincipalName"] == "dee@tailwind.example"
    duplicate = client.post("/v1.0/users", body, format="json")
    assert duplicate.status_code == 400 and "already exists" in duplicate.json()["error"]["message"]
    unknown = client.post("/v1.0/users", {**body, "userPrincipalName": "x@tailwind.example", "isAdmin": True},
                          format="json")
    assert unknown.status_code == 400 and "isAdmin" in unknown.json()["error"]["message"]
    wrong_type = client.post("/v1.0/users", {**body, "accountEnabled": "yes"}, format="json")
    assert wrong_type.status_code == 400
    assert User.objects.filter(tenant=api_tenant).count() == 1
    assert AuditEvent.objects.filter(tenant=api_tenant, activity_display_name="Add user").count() == 1


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [(b"{not json", "application/json"), (b"[1,2]", "application/json"), (b'{"a": NaN}', "application/json"),
     (b"\xff\xfe", "application/json"), (b"displayName=x", "application/x-www-form-urlencoded")],
)
def test_malformed_bodies_are_400_or_415(api_tenant, app_token_for, api, raw, content_type):
    user = UserFactory(tenant=api_tenant)
    response = api(app_token_for(api_tenant, ["User.ReadWrite.All"])).generic(
        "PATCH", f"/v1.0/users/{user.pk}", raw, content_type=content_type)
    assert response.status_code in (400, 415), response.content
    assert "error" in response.json()


def test_oversized_body_is_refused(api_tenant, app_token_for, api):
    user = UserFactory(tenant=api_tenant)
    response = api(app_token_for(api_tenant, ["User.ReadWrite.All"])).patch(
        f"/v1.0/users/{user.pk}", {"displayName": "x" * 2_000_000}, format="json")
    assert response.status_code == 413


def test_patch_and_soft_delete(api_tenant, app_token_for, api):
    user = UserFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, ["User.ReadWrite.All"]))
    assert client.patch(f"/v1.0/users/{user.pk}", {"jobTitle": "Chief", "accountEnabled": False},
                        format="json").status_code == 204
    user.refresh_from_db()
    assert user.job_title == "Chief" and user.account_enabled is False
    assert client.patch(f"/v1.0/users/{user.pk}", {"displayName": "x" * 300}, format="json").status_code == 400
    assert client.delete(f"/v1.0/users/{user.pk}").status_code == 204
    assert User.objects.get(pk=user.pk).deleted_at is not None
    assert client.get(f"/v1.0/users/{user.pk}").status_code == 404


def test_guest_token_sees_only_itself_and_its_own_groups_under_limited_access(api_tenant, api, delegated_token_for):
    guest = GuestFactory(tenant=api_tenant, account=AccountFactory(), external_user_state="Accepted")
    colleague, stranger = UserFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    mine, other = GroupFactory(tenant=api_tenant), GroupFactory(tenant=api_tenant)
    mine.members.add(guest, colleague)
    other.members.add(stranger)
    client = api(delegated_token_for(guest, ["User.Read.All", "User.Read"]))
    assert [u["id"] for u in client.get("/v1.0/users").json()["value"]] == [str(guest.pk)]
    assert client.get(f"/v1.0/users/{stranger.pk}").status_code == 404
    assert client.get("/v1.0/me").json()["id"] == str(guest.pk)
    member_of = client.get(f"/v1.0/users/{guest.pk}/memberOf").json()["value"]
    assert [g["id"] for g in member_of] == [str(mine.pk)]
    policy_services.collaboration_settings_update(actor=Actor.operator(), tenant=api_tenant,
                                                  changes={"guest_user_role_id": "a0b1b346-4d3e-4e8b-98f8-753987be4970"})
    assert len(client.get("/v1.0/users").json()["value"]) == 3


def test_delegated_token_is_limited_by_the_users_role(api_tenant, api, delegated_token_for):
    member = UserFactory(tenant=api_tenant)
    other = UserFactory(tenant=api_tenant)
    token = delegated_token_for(member, ["User.ReadWrite.All", "User.Read.All"])
    client = api(token)
    assert client.get(f"/v1.0/users/{other.pk}").status_code == 200
    assert client.patch(f"/v1.0/users/{other.pk}", {"jobTitle": "x"}, format="json").status_code == 403
    admin = admin_of(api_tenant)
    admin_client = api(delegated_token_for(admin, ["User.ReadWrite.All"]))
    assert admin_client.patch(f"/v1.0/users/{other.pk}", {"jobTitle": "x"}, format="json").status_code == 204


def test_disabled_app_user_or_account_stops_working_at_once(api_tenant, api, app_token_for, delegated_token_for):
    from directory.models import AppRegistration

    token = app_token_for(api_tenant, ["User.Read.All"])
    assert api(token).get("/v1.0/users").status_code == 200
    AppRegistration.objects.update(enabled=False)
    assert api(token).get("/v1.0/users").status_code == 401
    member = UserFactory(tenant=api_tenant)
    token = delegated_token_for(member, ["User.Read.All"])
    assert api(token).get("/v1.0/users").status_code == 200
    User.objects.filter(pk=member.pk).update(account_enabled=False)
    assert api(token).get("/v1.0/users").status_code == 401


def test_expired_secret_cannot_use_tokens(api_tenant, api, app_token_for):
    from django.utils import timezone

    from directory.models import AppRegistration

    token = app_token_for(api_tenant, ["User.Read.All"])
    AppRegistration.objects.update(secret_expires_at=timezone.now())
    assert api(token).get("/v1.0/users").status_code == 401


def test_tokens_never_cross_tenants(api, app_token_for):
    mine, other = TenantFactory(), TenantFactory()
    stranger = UserFactory(tenant=other)
    client = api(app_token_for(mine, ["User.ReadWrite.All"]))
    assert stranger.pk not in [u["id"] for u in client.get("/v1.0/users").json()["value"]]
    assert client.patch(f"/v1.0/users/{stranger.pk}", {"jobTitle": "x"}, format="json").status_code == 404


def test_app_only_writes_are_audited_as_the_app(api_tenant, app_token_for, api):
    from directory.models import AppRegistration

    user = UserFactory(tenant=api_tenant)
    api(app_token_for(api_tenant, ["User.ReadWrite.All"])).patch(
        f"/v1.0/users/{user.pk}", {"jobTitle": "Auditor"}, format="json")
    app = AppRegistration.objects.get(tenant=api_tenant)
    event = AuditEvent.objects.get(tenant=api_tenant, activity_display_name="Update user")
    assert event.initiated_by["app"]["servicePrincipalId"] == str(app.pk)
    assert event.initiated_by["app"]["displayName"] == "Test app"


def test_over_the_rate_limit_is_429_with_retry_after(api_tenant, app_token_for, api, monkeypatch):
    from directory.api.throttling import GraphThrottle

    monkeypatch.setattr(GraphThrottle, "THROTTLE_RATES", {"graph": "3/10s"})
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    statuses = [client.get("/v1.0/users").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/v1.0/users")
    assert limited.json()["error"]["code"] == "TooManyRequests"
    assert 1 <= int(limited["Retry-After"]) <= 10
    # Another app of the same tenant has its own bucket.
    assert api(app_token_for(api_tenant, ["User.Read.All"])).get("/v1.0/users").status_code == 200


# --- a member with a password never takes over someone else's address (issue 8) -----------------------


@pytest.fixture
def proseware_with_contoso_domain():
    from directory import services

    proseware = TenantFactory(name="Proseware", slug="proseware", initial_domain="proseware.example")
    domain = services.domain_add(actor=Actor.operator(), tenant=proseware, name="contoso.example")
    services.domain_mark_verified(actor=Actor.operator(), domain=domain)
    return proseware


def _member_body(upn):
    return {"accountEnabled": True, "displayName": "Hijack", "mailNickname": "hijack", "userPrincipalName": upn,
            "passwordProfile": {"password": "Attacker-chosen-passphrase-1"}}


def test_creating_a_member_for_an_address_invited_elsewhere_is_refused_and_cannot_redeem(
        api_tenant, proseware_with_contoso_domain, app_token_for, api, client):
    from directory.models import Account
    from invitations import services as invitation_services

    victim = "hijack-victim@contoso.example"
    invited = invitation_services.invitation_create(
        actor=Actor.for_user(admin_of(api_tenant)), tenant=api_tenant, email=victim,
        redirect_url="https://portal.tailwind.example/")
    attacker = api(app_token_for(proseware_with_contoso_domain, ["User.ReadWrite.All"]))

    response = attacker.post("/v1.0/users", _member_body(victim), format="json")

    assert response.status_code == 400
    assert "invitation waiting" in response.json()["error"]["message"]
    assert not Account.objects.filter(email=victim).exists()
    assert not User.objects.filter(tenant=proseware_with_contoso_domain).exists()
    signed_in = client.post("/accounts/login/", {"login": victim, "password": "Attacker-chosen-passphrase-1"})
    assert "_auth_user_id" not in client.session and signed_in.status_code == 200
    invited.invitation.refresh_from_db()
    assert invited.invitation.status == "PendingAcceptance"


def test_creating_a_member_for_an_address_that_already_signs_in_is_refused(
        proseware_with_contoso_domain, app_token_for, api):
    existing = AccountFactory(email="someone@contoso.example")
    attacker = api(app_token_for(proseware_with_contoso_domain, ["User.ReadWrite.All"]))

    response = attacker.post("/v1.0/users", _member_body("Someone@Contoso.example"), format="json")

    assert response.status_code == 400 and "already signs in" in response.json()["error"]["message"]
    existing.refresh_from_db()
    assert not existing.check_password("Attacker-chosen-passphrase-1")
    assert not User.objects.filter(tenant=proseware_with_contoso_domain).exists()
    assert not User.objects.filter(account=existing).exists()  # nothing was linked to the person
