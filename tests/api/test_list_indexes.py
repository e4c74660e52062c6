"""Lists and lookups compile to what the indexes serve: lower(column) for text, keyset pages in
(lower(display_name), id) order, and $count from an estimate when it is large (issue 9, speed)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.api import odata
from directory.api.resources import USER
from directory.models import User
from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner and indexes")


def _names(response):
    assert response.status_code == 200, response.content
    return [row["displayName"] for row in response.json()["value"]]


def _walk(client, url):
    seen = []
    while url:
        response = client.get(url)
        seen += _names(response)
        url = response.json().get("@odata.nextLink")
    return seen


def test_users_sort_by_display_name_case_insensitively_as_graph_does(api_tenant, app_token_for, api):
    for name in ("bob", "Alice", "carol", "Bea"):
        UserFactory(tenant=api_tenant, display_name=name)
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    assert _names(client.get("/v1.0/users")) == ["Alice", "Bea", "bob", "carol"]  # the default order
    assert _names(client.get("/v1.0/users", {"$orderby": "displayName"})) == ["Alice", "Bea", "bob", "carol"]
    assert _names(client.get("/v1.0/users", {"$orderby": "displayName desc"})) == ["carol", "bob", "Bea", "Alice"]


def test_groups_sort_by_display_name_case_insensitively_as_graph_does(api_tenant, app_token_for, api):
    for name in ("sales", "Marketing", "engineering", "Finance"):
        GroupFactory(tenant=api_tenant, display_name=name)
    client = api(app_token_for(api_tenant, ["Group.Read.All"]))
    assert _names(client.get("/v1.0/groups")) == ["engineering", "Finance", "Marketing", "sales"]
    assert _names(client.get("/v1.0/groups", {"$orderby": "displayName desc"})) == [
        "sales", "Marketing", "Finance", "engineering"]


@pytest.mark.parametrize("order", ["", "displayName", "displayName desc"])
def test_skiptoken_pages_visit_every_user_once_in_case_insensitive_order(api_tenant, app_token_for, api, order):
    # Names equal but for case, and repeated names: the (lower(name), id) key still orders them totally.
    names = ["ann", "Ann", "ANN", "bob", "Bob", "cid", "Dora", "dora", "eve", "Eve", "Eve"]
    for name in names:
        UserFactory(tenant=api_tenant, display_name=name)
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    url = "/v1.0/users?$top=2" + (f"&$orderby={order}" if order else "")
    seen = _walk(client, url)
    assert sorted(seen) == sorted(names)
    keys = [name.lower() for name in seen]
    assert keys == sorted(keys, reverse=order.endswith("desc"))


def test_a_deep_skiptoken_starts_from_the_key_it_names(api_tenant, app_token_for, api):
    for index in range(30):
        UserFactory(tenant=api_tenant, display_name=f"User {index:02d}")
    order = [(USER.prop("displayName"), False)]
    row = User.objects.filter(tenant=api_tenant).order_by(*odata.ordering_for(order, "pk"))[19]
    token = odata.make_skiptoken(order, row, "pk", odata.skiptoken_scope(api_tenant.pk, "/v1.0/users"))
    response = api(app_token_for(api_tenant, ["User.Read.All"])).get("/v1.0/users", {"$top": "3", "$skiptoken": token})
    assert _names(response) == ["User 20", "User 21", "User 22"]


def test_text_equality_compiles_to_lower_equality_not_upper(api_tenant, app_token_for, api):
    UserFactory(tenant=api_tenant, display_name="Ann", user_principal_name="ann@tailwind.example",
                mail="Ann.Smith@Contoso.example")
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    with CaptureQueriesContext(connection) as queries:
        by_mail = client.get("/v1.0/users", {"$filter": "mail eq 'ann.smith@contoso.EXAMPLE'"})
        by_upn = client.get("/v1.0/users", {"$filter": "userPrincipalName in ('x@y.example','ANN@tailwind.example')"})
    assert _names(by_mail) == ["Ann"] and _names(by_upn) == ["Ann"]
    user_queries = [q["sql"] for q in queries.captured_queries if 'FROM "directory_user"' in q["sql"]]
    assert user_queries and not any("UPPER(" in sql for sql in user_queries)
    assert any('LOWER("directory_user"."mail") = (LOWER(' in sql for sql in user_queries)
    assert any('LOWER("directory_user"."user_principal_name") = (LOWER(' in sql for sql in user_queries)


def test_get_user_by_upn_is_case_insensitive_through_lower(api_tenant, app_token_for, api):
    user = UserFactory(tenant=api_tenant, display_name="Ann", user_principal_name="ann@tailwind.example")
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/v1.0/users/ANN@Tailwind.example")
    assert response.status_code == 200 and response.json()["id"] == str(user.pk)
    assert any('LOWER("directory_user"."user_principal_name") = ' in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize(
    ("prefix", "names"),
    [("an", ["Ann", "anna_b"]), ("ANNA_", ["anna_b"]), ("ann%", []), ("a_n", []), ("", ["Ann", "anna_b", "Bob"])],
)
def test_startswith_is_a_case_insensitive_prefix_with_wildcards_taken_literally(
        api_tenant, app_token_for, api, prefix, names):
    for name in ("Ann", "anna_b", "Bob"):
        UserFactory(tenant=api_tenant, display_name=name)
    response = api(app_token_for(api_tenant, ["User.Read.All"])).get(
        "/v1.0/users", {"$filter": f"startswith(displayName,'{prefix}')"})
    assert _names(response) == names


def test_a_prefix_list_pages_through_every_match_once_in_code_point_order(api_tenant, app_token_for, api):
    """startswith on displayName without $orderby: lower(displayName) by code point (the order of its
    index); with $orderby=displayName the database's case-insensitive order as before."""
    names = ["Ana Zed", "Ana émile", "Ana Eve", "ANA bo", "ana Bo", "Anabel", "ana-lee", "Bob"]
    for name in names:
        UserFactory(tenant=api_tenant, display_name=name)
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    walked = _walk(client, "/v1.0/users?$top=2&$filter=startswith(displayName,'ana')")
    expected = sorted((n for n in names if n.lower().startswith("ana")),
                      key=lambda n: (n.lower(), User.objects.get(display_name=n).pk))
    assert walked == expected
    ordered = _walk(client, "/v1.0/users?$top=3&$filter=startswith(displayName,'ana')&$orderby=displayName")
    assert sorted(ordered) == sorted(expected)


def test_a_prefix_lists_skiptoken_is_not_taken_by_another_order(api_tenant, app_token_for, api):
    for name in ("Ann", "Anna", "Anne"):
        UserFactory(tenant=api_tenant, display_name=name)
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    first = client.get("/v1.0/users", {"$top": "1", "$filter": "startswith(displayName,'an')"}).json()
    token = parse_qs(urlsplit(first["@odata.nextLink"]).query)["$skiptoken"][0]
    response = client.get("/v1.0/users", {"$top": "1", "$skiptoken": token})
    assert response.status_code == 400 and response.json()["error"]["code"] == "Request_BadRequest"


@pytest.mark.parametrize("filter_text", ["startswith(userPrincipalName,'a') or startswith(displayName,'an')",
                                         "not startswith(displayName,'an')"])
def test_a_prefix_under_or_or_not_keeps_the_list_order(filter_text):
    assert odata.prefix_order(USER, odata.parse_filter(USER, filter_text)) is None


def test_count_is_exact_when_small(api_tenant, app_token_for, api):
    for _ in range(3):
        UserFactory(tenant=api_tenant)
    response = api(app_token_for(api_tenant, ["User.Read.All"])).get(
        "/v1.0/users", {"$count": "true", "$top": "1"}, HTTP_CONSISTENCYLEVEL="eventual")
    assert response.status_code == 200 and response.json()["@odata.count"] == 3


def test_count_above_the_exact_limit_is_an_estimate_never_below_it(api_tenant, app_token_for, api, monkeypatch):
    monkeypatch.setattr(odata, "EXACT_COUNT_LIMIT", 4)
    for _ in range(7):
        UserFactory(tenant=api_tenant)
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/v1.0/users", {"$count": "true", "$top": "1"}, HTTP_CONSISTENCYLEVEL="eventual")
    count = response.json()["@odata.count"]
    if connection.vendor == "postgresql":
        assert count >= 5  # the planner's estimate, at least the limit + 1 rows counted
        assert any(q["sql"].startswith("EXPLAIN (FORMAT JSON)") for q in queries.captured_queries)
    else:
        assert count == 7  # no estimate on SQLite: exact
    # the bounded count reads at most limit + 1 rows
    assert any("LIMIT 5" in q["sql"] and "COUNT(*)" in q["sql"] for q in queries.captured_queries)


# --- PostgreSQL: the plans use the indexes -------------------------------------------------------


def _plan(queryset) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table: show what the index can serve
        plan = queryset.explain()
        cursor.execute("RESET enable_seqscan")
    return plan


def _many_users(tenant, count=500):
    """Enough rows, analyzed, that the planner's choice among the indexes reflects their selectivity."""
    User.objects.bulk_create(
        User(tenant=tenant, display_name=f"Person {i}", user_principal_name=f"p{i}@{tenant.initial_domain}",
             mail=f"p{i}@mail.example") for i in range(count))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_user")


def _users(api_tenant, **filters):
    return User.objects.active().filter(tenant=api_tenant, **filters)


@postgres_only
@pytest.mark.parametrize(
    ("filter_text", "condition"),
    [
        # the unique lower() indexes (or the prefix index on the same expression) answer equality
        ("mail eq 'ann@contoso.example'", "lower((mail)::text) = 'ann@contoso.example'::text"),
        ("userPrincipalName eq 'ANN@tailwind.example'", "lower((user_principal_name)::text) = 'ann@tailwind.example'"),
        # the text_pattern_ops prefix index, or the C-collated one of 0008 (both an index range)
        ("startswith(displayName,'an')", ("lower((display_name)::text) ~>=~ 'an'::text",
                                          "lower((display_name)::text) >= 'an'::text")),
        ("startswith(userPrincipalName,'ann@')", "lower((user_principal_name)::text) ~>=~ 'ann@'::text"),
        ("startswith(mail,'ann')", "lower((mail)::text) ~>=~ 'ann'::text"),
    ],
)
def test_filters_are_index_ranges_on_postgresql(api_tenant, filter_text, condition):
    UserFactory(tenant=api_tenant, display_name="Ann", mail="ann@contoso.example")
    _many_users(api_tenant)
    plan = _plan(_users(api_tenant).filter(odata.parse_filter(USER, filter_text)))
    index_conditions = [line for line in plan.splitlines() if "Index Cond" in line]
    conditions = (condition,) if isinstance(condition, str) else condition
    assert any(c in line for line in index_conditions for c in conditions), plan
    assert "Seq Scan" not in plan, plan


@postgres_only
def test_list_pages_are_index_ranges_without_a_sort_on_postgresql(api_tenant):
    UserFactory(tenant=api_tenant, display_name="Ann")
    _many_users(api_tenant)
    order = [(USER.prop("displayName"), False)]
    ordering = odata.ordering_for(order, "pk")
    first = _plan(_users(api_tenant).order_by(*ordering)[:101])
    assert "user_tenant_name_order_idx" in first and "Sort" not in first, first
    token = odata.make_skiptoken(order, User.objects.get(display_name="Ann"), "pk")
    deep = _plan(odata.apply_skiptoken(_users(api_tenant), order, token, "pk").order_by(*ordering)[:101])
    assert "user_tenant_name_order_idx" in deep and "Sort" not in deep, deep
    # the redundant range on the first key is an index condition, not a filter over everything before it
    assert "Index Cond" in deep and "lower((display_name)::text) >=" in deep, deep


@postgres_only
@pytest.mark.parametrize("prefix", ["ann", "zoe", "b", "émile"])
def test_a_prefix_list_is_one_range_of_the_bytewise_index_without_a_sort(api_tenant, prefix):
    """Whatever the prefix (common, rare, early or late in the order): the page is read in index order,
    never a sort of every match nor a walk of the list order (issue 9: the startswith p95 tail)."""
    UserFactory(tenant=api_tenant, display_name="Ann")
    _many_users(api_tenant)
    condition = odata.parse_filter(USER, f"startswith(displayName,'{prefix}')")
    prefix_condition, order = odata.prefix_order(USER, condition)
    queryset = _users(api_tenant).filter(condition).filter(prefix_condition)
    page = _plan(queryset.order_by(*odata.ordering_for(order, "pk"))[:101])
    assert "user_tenant_name_bytewise_idx" in page and "Sort" not in page, page
    assert "Index Cond" in page and f"lower((display_name)::text) >= '{prefix}'" in page, page
    token = odata.make_skiptoken(order, User.objects.get(display_name="Ann"), "pk")
    deep = _plan(odata.apply_skiptoken(queryset, order, token, "pk").order_by(*odata.ordering_for(order, "pk"))[:101])
    assert "user_tenant_name_bytewise_idx" in deep and "Sort" not in deep, deep


@postgres_only
def test_the_c_collated_name_index_makes_the_pattern_ops_one_redundant(api_tenant):
    """Migration 0014 dropped (tenant, lower(display_name) text_pattern_ops): a displayName prefix with
    $orderby (the list keeps the collation's order) is still a range of an index, 0008's C-collated one."""
    UserFactory(tenant=api_tenant, display_name="Ann")
    _many_users(api_tenant)
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'directory_user'")
        indexes = {row[0] for row in cursor.fetchall()}
    assert "user_tenant_name_prefix_idx" not in indexes and "user_tenant_name_bytewise_idx" in indexes
    condition = odata.parse_filter(USER, "startswith(displayName,'ann')")
    queryset = _users(api_tenant).filter(condition).filter(odata.bytewise_prefix(USER, condition))
    plan = _plan(queryset)
    assert "user_tenant_name_bytewise_idx" in plan, plan
    assert any("lower((display_name)::text) >= 'ann'" in line for line in plan.splitlines() if "Index Cond" in line)


def test_a_prefix_with_orderby_lists_every_match_in_the_collations_order(api_tenant, app_token_for, api):
    for name in ("Anna", "ann b", "Annika", "Bob", "ANN a"):
        UserFactory(tenant=api_tenant, display_name=name)
    client = api(app_token_for(api_tenant, ["User.Read.All"]))
    response = client.get("/v1.0/users", {"$filter": "startswith(displayName,'ann')", "$orderby": "displayName",
                                          "$top": "2"})
    names = _names(response) + _walk(client, response.json()["@odata.nextLink"])
    assert names == ["ANN a", "ann b", "Anna", "Annika"]


@postgres_only
def test_skiptoken_query_for_groups_is_an_index_range_on_postgresql(api_tenant):
    from directory.api.resources import GROUP
    from directory.models import Group

    # Enough rows, analyzed, that the planner weighs the indexes as it will on a real tenant (one row
    # lets it pick any index and sort).
    Group.objects.bulk_create(Group(tenant=api_tenant, display_name=f"Team {i}") for i in range(500))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_group")
    order = [(GROUP.prop("displayName"), False)]
    plan = _plan(Group.objects.filter(tenant=api_tenant).order_by(*odata.ordering_for(order, "pk"))[:101])
    # Either index walks the order: (tenant, lower(name), id) directly, or the unique (tenant, lower(name))
    # with an incremental sort whose groups are one row each (names are unique per tenant). What must
    # never appear is a full sort of the tenant's groups; which one the planner picks depends on the
    # statistics earlier tests left behind.
    nodes = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    assert "Index" in plan and not any(node.startswith("Sort  (") for node in nodes), plan
    assert "Incremental Sort" not in plan or "Presorted Key: (lower((display_name)::text))" in plan, plan


def test_next_link_keeps_the_query_and_carries_a_skiptoken(api_tenant, app_token_for, api):
    for index in range(3):
        UserFactory(tenant=api_tenant, display_name=f"u{index}")
    body = api(app_token_for(api_tenant, ["User.Read.All"])).get(
        "/v1.0/users", {"$top": "1", "$select": "id"}).json()
    query = parse_qs(urlsplit(body["@odata.nextLink"]).query)
    assert query["$select"] == ["id"] and query["$top"] == ["1"] and query["$skiptoken"]
