"""OData system query options are never silently resolved, ignored or reused: a repeated option, an
empty one, one a write does not take and a $skiptoken from elsewhere are 400s; the unprefixed names are
the same options; text comparisons are case-insensitive; a group's securityEnabled is filterable."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.db import connection

from directory.api import odata
from directory.api.resources import GROUP
from directory.authz import APPLICATION_PERMISSIONS
from directory.models import Group, User
from tests.factories import GroupFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(api_tenant, app_token_for, api):
    return api(app_token_for(api_tenant, APPLICATION_PERMISSIONS))


def get(client, path, pairs, **headers):
    """GET path with the query ``pairs`` (a list, so that a key may repeat)."""
    return client.get(f"{path}?{urlencode(pairs, safe='$')}", **headers)


def error(response, status=400):
    assert response.status_code == status, response.content
    return response.json()["error"]


def ids(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["value"]}


def skiptoken(response) -> str:
    return parse_qs(urlsplit(response.json()["@odata.nextLink"]).query)["$skiptoken"][0]


# --- 1. a repeated option ----------------------------------------------------------------------------


@pytest.mark.parametrize("pairs", [
    [("$select", "id,userType"), ("$filter", "userType eq 'Guest'"), ("$filter", "userType eq 'Member'")],
    [("$top", "1"), ("$top", "3")],
    [("$select", "id"), ("$select", "displayName")],
    [("$filter", "userType eq 'Guest'"), ("filter", "userType eq 'Member'")],
    [("$top", "1"), ("TOP", "2")],
])
def test_a_query_option_given_twice_is_400_not_the_last_value(client, api_tenant, pairs):
    UserFactory(tenant=api_tenant)
    err = error(get(client, "/v1.0/users", pairs))
    assert err["code"] == "Request_BadRequest" and "more than once" in err["message"]


def test_a_query_option_given_twice_in_a_batch_step_is_400(client, api_tenant):
    UserFactory(tenant=api_tenant)
    response = client.post("/v1.0/$batch", {"requests": [
        {"id": "1", "method": "GET", "url": "/users?$top=1&$top=3"}]}, format="json")
    assert response.status_code == 200, response.content
    [answer] = response.json()["responses"]
    assert answer["status"] == 400 and "more than once" in answer["body"]["error"]["message"]


def test_a_query_option_given_twice_on_a_single_object_is_400(client, api_tenant):
    user = UserFactory(tenant=api_tenant)
    error(get(client, f"/v1.0/users/{user.pk}", [("$select", "id"), ("$select", "mail")]))


# --- 2. the names without "$" ---------------------------------------------------------------------------


def test_filter_without_the_dollar_filters(client, api_tenant):
    wanted = UserFactory(tenant=api_tenant, display_name="zz")
    UserFactory(tenant=api_tenant, display_name="Other")
    assert ids(get(client, "/v1.0/users", [("filter", "displayName eq 'zz'")])) == {str(wanted.pk)}


def test_select_and_top_without_the_dollar_apply_and_the_next_link_keeps_them(client, api_tenant):
    UserFactory.create_batch(3, tenant=api_tenant)
    response = get(client, "/v1.0/users", [("select", "id,displayName"), ("top", "2")])
    body = response.json()
    assert response.status_code == 200 and len(body["value"]) == 2
    assert all(set(row) == {"id", "displayName"} for row in body["value"])
    follow = client.get(body["@odata.nextLink"])
    assert follow.status_code == 200 and len(follow.json()["value"]) == 1


def test_an_unprefixed_option_a_single_object_does_not_take_is_400(client, api_tenant):
    user = UserFactory(tenant=api_tenant)
    assert error(get(client, f"/v1.0/users/{user.pk}", [("filter", "x")]))["code"] == "Request_UnsupportedQuery"


def test_other_parameters_are_still_ignored(client, api_tenant):
    UserFactory(tenant=api_tenant)
    assert get(client, "/v1.0/users", [("api-version", "1"), ("foo", "")]).status_code == 200


# --- 3. an empty option ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "message"), [
    ("$count", "$count must be true or false."),
    ("$orderby", "$orderby is empty."),
    ("$filter", "$filter is empty."),
    ("$select", "$select is empty."),
    ("$search", "$search is empty."),
    ("$skiptoken", "$skiptoken is empty."),
    ("$expand", "$expand is empty."),
    ("top", "$top is empty: give a whole number between 1 and 999."),
])
def test_an_empty_query_option_is_400_with_a_precise_message(client, api_tenant, option, message):
    UserFactory(tenant=api_tenant)
    err = error(get(client, "/v1.0/users", [(option, "")], HTTP_CONSISTENCYLEVEL="eventual"))
    assert err["message"] == message


def test_a_blank_orderby_is_empty_too(client):
    assert error(get(client, "/v1.0/groups", [("$orderby", "  ")]))["message"] == "$orderby is empty."


# --- 4. options on writes and actions ---------------------------------------------------------------------


def test_patch_with_a_filter_is_400_and_changes_nothing(client, api_tenant):
    user = UserFactory(tenant=api_tenant, department="Sales")
    response = client.patch(f"/v1.0/users/{user.pk}?$filter=x", {"department": "Legal"}, format="json")
    assert error(response)["code"] == "Request_UnsupportedQuery"
    user.refresh_from_db()
    assert user.department == "Sales"


def test_post_with_a_filter_is_400_and_creates_nothing(client, api_tenant):
    response = client.post("/v1.0/groups?$filter=bogus", {
        "displayName": "Finance", "mailEnabled": False, "mailNickname": "finance", "securityEnabled": True},
        format="json")
    assert error(response)["code"] == "Request_UnsupportedQuery"
    assert not Group.objects.filter(tenant=api_tenant).exists()


def test_an_action_with_query_options_is_400(client, api_tenant):
    user = UserFactory(tenant=api_tenant)
    response = client.post(f"/v1.0/users/{user.pk}/checkMemberGroups?$filter=x&$top=1",
                           {"groupIds": [str(GroupFactory(tenant=api_tenant).pk)]}, format="json")
    assert error(response)["code"] == "Request_UnsupportedQuery"


def test_delete_with_an_option_is_400_and_deletes_nothing(client, api_tenant):
    user = UserFactory(tenant=api_tenant)
    assert error(client.delete(f"/v1.0/users/{user.pk}?select=id"))["code"] == "Request_UnsupportedQuery"
    assert User.objects.active().filter(pk=user.pk).exists()


def test_select_on_a_post_that_answers_the_object_still_applies(client, api_tenant):
    response = client.post("/v1.0/groups?$select=id,displayName", {
        "displayName": "Finance", "mailEnabled": False, "mailNickname": "finance", "securityEnabled": True},
        format="json")
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"@odata.context", "id", "displayName"}


def test_select_on_a_patch_that_answers_nothing_is_400(client, api_tenant):
    group = GroupFactory(tenant=api_tenant)
    response = client.patch(f"/v1.0/groups/{group.pk}?$select=id", {"description": "x"}, format="json")
    assert error(response)["code"] == "Request_UnsupportedQuery"


def test_removing_a_member_by_id_parameter_still_works(client, api_tenant):
    group, user = GroupFactory(tenant=api_tenant), UserFactory(tenant=api_tenant)
    group.members.add(user)
    response = client.delete(f"/v1.0/groups/{group.pk}/members/$ref?$id=https://graph.microsoft.com/v1.0/"
                             f"directoryObjects/{user.pk}")
    assert response.status_code == 204, response.content
    assert not group.members.filter(pk=user.pk).exists()


# --- 5. text comparisons ---------------------------------------------------------------------------------


def test_range_comparisons_on_text_are_case_insensitive(client, api_tenant):
    megan, zoe = UserFactory(tenant=api_tenant, display_name="Megan"), UserFactory(tenant=api_tenant, display_name="zoe")
    UserFactory(tenant=api_tenant, display_name="adele")
    upper = ids(get(client, "/v1.0/users", [("$filter", "displayName ge 'Megan'")]))
    lower = ids(get(client, "/v1.0/users", [("$filter", "displayName ge 'megan'")]))
    assert upper == lower == {str(megan.pk), str(zoe.pk)}
    assert ids(get(client, "/v1.0/users", [("$filter", "displayName lt 'MEGAN'")])) == {
        str(u.pk) for u in User.objects.filter(tenant=api_tenant, display_name="adele")}


def test_groups_displayname_ge_a_lower_case_letter_finds_capitalised_names(client, api_tenant):
    finance = GroupFactory(tenant=api_tenant, display_name="Finance")
    GroupFactory(tenant=api_tenant, display_name="Accounting")
    assert ids(get(client, "/v1.0/groups", [("$filter", "displayName ge 'f'")])) == {str(finance.pk)}
    assert ids(get(client, "/v1.0/groups", [("$filter", "displayName gt 'ACCOUNTING' and displayName le 'FINANCE'")])) \
        == {str(finance.pk)}


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner and indexes")
def test_a_range_comparison_on_text_is_an_index_range_on_lower(api_tenant):
    Group.objects.bulk_create(Group(tenant=api_tenant, display_name=f"A{i}") for i in range(300))
    GroupFactory(tenant=api_tenant, display_name="Finance")
    queryset = Group.objects.filter(tenant=api_tenant).filter(odata.parse_filter(GROUP, "displayName ge 'f'"))
    with connection.cursor() as cursor:
        cursor.execute('ANALYZE "directory_group"')
        cursor.execute("SET LOCAL enable_seqscan = off")  # a small table: show what the index can serve
        plan = queryset.explain()
        cursor.execute("RESET enable_seqscan")
    assert any("lower((display_name)::text) >= 'f'" in line for line in plan.splitlines()
               if "Index Cond" in line), plan


# --- 6. $skiptoken bound to where it was issued ----------------------------------------------------------


def _first_page(client, path, pairs=()):
    response = get(client, path, [("$top", "1"), *pairs])
    assert response.status_code == 200 and "@odata.nextLink" in response.json(), response.content
    return skiptoken(response)


def test_a_skiptoken_still_pages_where_it_was_issued(client, api_tenant):
    UserFactory.create_batch(3, tenant=api_tenant)
    token = _first_page(client, "/v1.0/users", [("$filter", "accountEnabled eq true")])
    response = get(client, "/v1.0/users", [("$top", "1"), ("$filter", "accountEnabled eq true"), ("$skiptoken", token)])
    assert response.status_code == 200 and len(response.json()["value"]) == 1


def test_another_tenants_skiptoken_is_400(client, api_tenant, app_token_for, api):
    UserFactory.create_batch(2, tenant=api_tenant)
    token = _first_page(client, "/v1.0/users")
    other = TenantFactory()
    UserFactory.create_batch(2, tenant=other)
    other_client = api(app_token_for(other, APPLICATION_PERMISSIONS))
    err = error(get(other_client, "/v1.0/users", [("$skiptoken", token)]))
    assert err["message"] == "The $skiptoken is not valid for this query."


def test_a_users_skiptoken_on_groups_is_400(client, api_tenant):
    UserFactory.create_batch(2, tenant=api_tenant)
    GroupFactory.create_batch(2, tenant=api_tenant)
    token = _first_page(client, "/v1.0/users")
    assert error(get(client, "/v1.0/groups", [("$skiptoken", token)]))["code"] == "Request_BadRequest"


def test_a_groups_members_skiptoken_on_another_groups_members_is_400(client, api_tenant):
    first, second = GroupFactory(tenant=api_tenant), GroupFactory(tenant=api_tenant)
    people = UserFactory.create_batch(2, tenant=api_tenant)
    first.members.add(*people)
    second.members.add(*people)
    token = _first_page(client, f"/v1.0/groups/{first.pk}/members")
    assert get(client, f"/v1.0/groups/{first.pk}/members", [("$skiptoken", token)]).status_code == 200
    error(get(client, f"/v1.0/groups/{second.pk}/members", [("$skiptoken", token)]))


def test_a_skiptoken_with_another_filter_is_400(client, api_tenant):
    UserFactory.create_batch(3, tenant=api_tenant)
    token = _first_page(client, "/v1.0/users", [("$filter", "accountEnabled eq true")])
    error(get(client, "/v1.0/users", [("$filter", "userType eq 'Member'"), ("$skiptoken", token)]))


# --- 7. securityEnabled, mailEnabled -----------------------------------------------------------------------


def test_groups_filter_on_security_enabled_and_mail_enabled(client, api_tenant):
    groups = {str(GroupFactory(tenant=api_tenant).pk) for _ in range(2)}
    assert ids(get(client, "/v1.0/groups", [("$filter", "securityEnabled eq true")])) == groups
    assert ids(get(client, "/v1.0/groups", [("$filter", "securityEnabled eq false")])) == set()
    assert ids(get(client, "/v1.0/groups", [("$filter", "securityEnabled ne true")])) == set()
    assert ids(get(client, "/v1.0/groups", [("$filter", "mailEnabled eq false and securityEnabled eq true")])) == groups
    assert ids(get(client, "/v1.0/groups", [("$filter", "not (mailEnabled eq true)")])) == groups


def test_unprefixed_options_cost_no_extra_query(client, api_tenant, django_assert_max_num_queries):
    UserFactory.create_batch(3, tenant=api_tenant)
    get(client, "/v1.0/users", [("$top", "2")])  # warm the token's caches
    with django_assert_max_num_queries(4):  # as the same page with $filter, $top, $select
        response = get(client, "/v1.0/users", [("filter", "accountEnabled eq true"), ("top", "2"), ("select", "id")])
    assert response.status_code == 200


def test_a_batch_and_a_resource_request_refuse_select_they_would_ignore(client):
    batch = client.post("/v1.0/$batch?$select=id", {"requests": [{"id": "1", "method": "GET", "url": "/users"}]},
                        format="json")
    request = client.post("/v1.0/identityGovernance/entitlementManagement/resourceRequests?$select=id",
                          {"requestType": "adminAdd", "catalog": {"id": "x"}, "resource": {}}, format="json")
    for response in (batch, request):
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "Request_UnsupportedQuery"
