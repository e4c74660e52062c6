"""$search on /users, /groups and a group's members: Graph's word-prefix and value-prefix matching,
behind ConsistencyLevel: eventual, on indexes (PostgreSQL)."""

import pytest
from django.db import connection

from directory.api.resources import GROUP, USER
from directory.api.search import apply_search
from directory.models import Group, User
from tests.factories import GroupFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

EVENTUAL = {"HTTP_CONSISTENCYLEVEL": "eventual"}


@pytest.fixture
def people(api_tenant):
    names = {
        "ann": ("Ann Smith", "ann.smith@tailwind.example"),
        "mary": ("Mary-Ann Jones", "mary.jones@tailwind.example"),
        "anna": ("Anna.Lee", "anna.lee@tailwind.example"),
        "joann": ("Joann Smith", "joann@tailwind.example"),
        "bob": ("Bob Brown", "bob@tailwind.example"),
        "rev": ("Smith Ann", "reverse@tailwind.example"),
    }
    return {key: UserFactory(tenant=api_tenant, display_name=name, user_principal_name=upn, mail=upn)
            for key, (name, upn) in names.items()}


@pytest.fixture
def reader(api, app_token_for, api_tenant):
    return api(app_token_for(api_tenant, ["User.Read.All", "Group.Read.All", "Application.Read.All"]))


def names(response) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["displayName"] for row in response.json()["value"]}


def test_search_needs_the_consistency_level_header(reader, people):
    response = reader.get("/v1.0/users", {"$search": '"displayName:ann"'})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert "ConsistencyLevel" in response.json()["error"]["message"]


def test_display_name_matches_the_start_of_any_word(reader, people):
    response = reader.get("/v1.0/users", {"$search": '"displayName:ann"'}, **EVENTUAL)
    assert names(response) == {"Ann Smith", "Mary-Ann Jones", "Anna.Lee", "Smith Ann"}  # not "Joann Smith"


def test_the_words_of_one_term_all_match_word_starts(reader, people):
    response = reader.get("/v1.0/users", {"$search": '"displayName:ann smi"'}, **EVENTUAL)
    found = names(response)
    assert "Ann Smith" in found and not found & {"Joann Smith", "Mary-Ann Jones", "Anna.Lee", "Bob Brown"}


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_on_postgresql_the_words_of_one_term_match_in_order_and_adjacent(reader, people):
    response = reader.get("/v1.0/users", {"$search": '"displayName:ann smi"'}, **EVENTUAL)
    assert names(response) == {"Ann Smith"}  # not "Smith Ann"


def test_mail_and_user_principal_name_match_from_the_start_of_the_value(reader, people):
    by_mail = reader.get("/v1.0/users", {"$search": '"mail:ann"'}, **EVENTUAL)
    assert names(by_mail) == {"Ann Smith", "Anna.Lee"}  # not joann@, not mary.jones@
    by_upn = reader.get("/v1.0/users", {"$search": '"userPrincipalName:ANN.S"'}, **EVENTUAL)
    assert names(by_upn) == {"Ann Smith"}


def test_like_wildcards_in_a_term_are_literal(reader, people):
    response = reader.get("/v1.0/users", {"$search": '"mail:%"'}, **EVENTUAL)
    assert names(response) == set()
    response = reader.get("/v1.0/users", {"$search": '"mail:_nn"'}, **EVENTUAL)
    assert names(response) == set()


def test_clauses_combine_with_or_and_and(reader, people):
    either = reader.get("/v1.0/users", {"$search": '"displayName:bob" OR "mail:joann"'}, **EVENTUAL)
    assert names(either) == {"Bob Brown", "Joann Smith"}
    both = reader.get("/v1.0/users", {"$search": '"displayName:smith" AND "mail:ann"'}, **EVENTUAL)
    assert names(both) == {"Ann Smith"}
    precedence = reader.get("/v1.0/users", {"$search": '"displayName:bob" OR "displayName:smith" AND "mail:jo"'},
                            **EVENTUAL)
    assert names(precedence) == {"Bob Brown", "Joann Smith"}


def test_search_combines_with_filter_orderby_count_and_top(reader, people):
    response = reader.get("/v1.0/users", {
        "$search": '"displayName:smith"', "$filter": "startswith(mail, 'ann')", "$count": "true"}, **EVENTUAL)
    assert names(response) == {"Ann Smith"}
    assert response.json()["@odata.count"] == 1
    page = reader.get("/v1.0/users", {"$search": '"displayName:ann"', "$orderby": "displayName desc",
                                      "$top": "2", "$count": "true"}, **EVENTUAL)
    body = page.json()
    assert body["@odata.count"] == 4
    assert [u["displayName"] for u in body["value"]] == ["Smith Ann", "Mary-Ann Jones"]
    rest = reader.get(body["@odata.nextLink"], **EVENTUAL)
    assert [u["displayName"] for u in rest.json()["value"]] == ["Anna.Lee", "Ann Smith"]


@pytest.mark.parametrize("value, code", [
    ('displayName:ann', "Request_BadRequest"),  # no quotes
    ('"displayName:ann" NOT "mail:b"', "Request_BadRequest"),
    ('"displayName:ann" OR', "Request_BadRequest"),
    ('"ann"', "Request_BadRequest"),  # no property
    ('"jobTitle:dev"', "Request_UnsupportedQuery"),
    ('"displayName:..."', "Request_BadRequest"),
    ('"mail: "', "Request_BadRequest"),
    ("", "Request_BadRequest"),
])
def test_a_search_graph_would_refuse_is_a_400(reader, people, value, code):
    response = reader.get("/v1.0/users", {"$search": value}, **EVENTUAL)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code


def test_groups_are_searched_by_display_name_and_description(reader, api_tenant):
    GroupFactory(tenant=api_tenant, display_name="Sales EMEA", description="Field sales in Europe")
    GroupFactory(tenant=api_tenant, display_name="Marketing", description="Brand and field-marketing")
    GroupFactory(tenant=api_tenant, display_name="Wholesale")
    assert names(reader.get("/v1.0/groups", {"$search": '"displayName:sales"'}, **EVENTUAL)) == {"Sales EMEA"}
    assert names(reader.get("/v1.0/groups", {"$search": '"description:field"'}, **EVENTUAL)) == {
        "Sales EMEA", "Marketing"}
    assert names(reader.get("/v1.0/groups", {"$search": '"description:marketing"'}, **EVENTUAL)) == {"Marketing"}


def test_a_groups_members_are_searched_like_users(reader, api_tenant, people):
    group = GroupFactory(tenant=api_tenant)
    group.members.add(people["ann"], people["bob"], people["joann"])
    response = reader.get(f"/v1.0/groups/{group.pk}/members", {"$search": '"displayName:smith"'}, **EVENTUAL)
    assert names(response) == {"Ann Smith", "Joann Smith"}


def test_search_sees_only_the_callers_tenant(reader, people):
    UserFactory(tenant=TenantFactory(), display_name="Ann Other")
    response = reader.get("/v1.0/users", {"$search": '"displayName:ann"'}, **EVENTUAL)
    assert "Ann Other" not in names(response)


def test_lists_without_searchable_properties_refuse_search(reader, api_tenant):
    response = reader.get("/v1.0/servicePrincipals", {"$search": '"displayName:x"'}, **EVENTUAL)
    assert response.status_code == 400 and response.json()["error"]["code"] == "Request_UnsupportedQuery"


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize("resource, model, clause, index, condition", [
    (USER, User, '"displayName:ann smi"', "user_search_display_name", "@@"),
    (USER, User, '"mail:ann"', "user_search_mail_prefix", "~>=~"),
    (USER, User, '"userPrincipalName:ann"', "user_search_upn_prefix", "~>=~"),
    (GROUP, Group, '"displayName:sales"', "group_search_display_name", "@@"),
    (GROUP, Group, '"description:field"', "group_search_description", "@@"),
])
def test_on_postgresql_each_search_runs_on_its_index(api_tenant, resource, model, clause, index, condition):
    """EXPLAIN of the tenant's search names the migration's index, with the search in its index condition
    (not in a filter over rows found otherwise), on 3,000 analysed rows."""
    other = TenantFactory()
    User.objects.bulk_create([User(tenant=api_tenant if i % 3 else other, display_name=f"Person {i} Doe",
                                   user_principal_name=f"p{i}@tailwind.example", mail=f"p{i}@tailwind.example")
                              for i in range(3000)])
    Group.objects.bulk_create([Group(tenant=api_tenant if i % 3 else other, display_name=f"Team {i}",
                                     description=f"Team number {i}") for i in range(3000)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE directory_user")
        cursor.execute("ANALYZE directory_group")
        cursor.execute("SET LOCAL enable_seqscan = off")  # the index must be usable; the rest is costing
    plan = apply_search(model.objects.filter(tenant=api_tenant), resource, clause, "eventual").explain()
    lines = plan.splitlines()
    start = next((number for number, line in enumerate(lines) if index in line), None)
    assert start is not None, plan
    assert condition in next(line for line in lines[start:] if "Index Cond" in line), plan
