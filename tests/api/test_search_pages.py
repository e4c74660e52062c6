"""$search pages on large lists (issue 9, speed): a bounded walk of the list order or the search index
plus a sort (``directory.api.search.page``), never an unbounded walk — and whichever it takes, the same
rows in the same order, each once through the keyset pages, as one ``ORDER BY … LIMIT`` would give."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from directory.api import odata, search
from directory.api.resources import USER
from directory.models import User

pytestmark = pytest.mark.django_db

EVENTUAL = {"HTTP_CONSISTENCYLEVEL": "eventual"}
GIVEN = ["Ada", "bea", "Carl", "dora", "Emil", "Fay", "Gus", "hana", "Ivo", "Jon", "Kai", "Zoe"]
SURNAMES = ["Berg", "Lund", "Lundmann", "Holm", "Dahl", "Strand", "Wood", "Hill", "Stone", "Field"]
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner and indexes")


@pytest.fixture
def crowd(api_tenant):
    """1,200 users named like a directory: each first name one block of the list order (all "Zoe" sort
    last), each surname spread through every block, names repeated, mixed case; analysed. The third word
    (150 of them) gives the text search statistics the 100 lexemes PostgreSQL needs before it estimates
    a prefix from them (below that it assumes 2 % of the rows match any prefix)."""
    User.objects.bulk_create(
        User(tenant=api_tenant, display_name=f"{GIVEN[i % len(GIVEN)]} {SURNAMES[(i // len(GIVEN)) % len(SURNAMES)]}"
                                             f" q{i % 150:03d}",
             user_principal_name=f"u{i}@tailwind.example", mail=f"u{i}@mail.example")
        for i in range(1200))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE directory_user")
    return api_tenant


def _expected(tenant, text, desc=False):
    """The plain query: every match, ordered as the list is, in one ORDER BY."""
    condition = search.parse_search(USER, text, "eventual")
    order = [(USER.prop("displayName"), desc)]
    queryset = User.objects.active().filter(tenant=tenant).filter(condition)
    return [str(pk) for pk in queryset.order_by(*odata.ordering_for(order, "pk")).values_list("pk", flat=True)]


def _pages(client, params):
    seen, url, data = [], "/v1.0/users", params
    while url:
        response = client.get(url, data, **EVENTUAL)
        assert response.status_code == 200, response.content
        seen += [row["id"] for row in response.json()["value"]]
        url, data = response.json().get("@odata.nextLink"), None
        if url:
            assert parse_qs(urlsplit(url).query)["$search"] == [params["$search"]]
    return seen


# walk rows without estimates (SQLite), cost of a walked row: each pair drives another path of search.page
PATHS = {
    "walk only": (100_000, 0.0001),  # the walk covers the whole list
    "short walk, then the sorted rest": (3, 4),  # a few rows walked, the rest from the search index
    "sorted matches only": (3, 10**9),  # on PostgreSQL no walk at all
}


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("text", [
    '"displayName:zoe"',  # one block, sorting last
    '"displayName:lund"',  # Lund and Lundmann in every block
    '"displayName:lundm"',  # rare
    '"displayName:s"',  # common: Strand, Stone
    '"displayName:hana wood"',  # a phrase
    '"displayName:nobody"',
    '"displayName:zoe" OR "mail:u1"',
])
def test_search_pages_give_every_match_once_in_list_order_whatever_the_path(
        crowd, api, app_token_for, monkeypatch, path, text):
    walk_rows, walk_cost = PATHS[path]
    monkeypatch.setattr(search, "WALK_ROWS", walk_rows)
    monkeypatch.setattr(search, "WALK_COST", walk_cost)
    client = api(app_token_for(crowd, ["User.Read.All"]))
    expected = _expected(crowd, text)
    assert _pages(client, {"$search": text, "$top": "7"}) == expected
    assert _pages(client, {"$search": text, "$top": "40", "$orderby": "displayName desc"}) == _expected(
        crowd, text, desc=True)


@pytest.mark.parametrize("path", PATHS)
def test_a_search_page_takes_a_fixed_number_of_statements(
        crowd, api, app_token_for, monkeypatch, path, django_assert_max_num_queries):
    walk_rows, walk_cost = PATHS[path]
    monkeypatch.setattr(search, "WALK_ROWS", walk_rows)
    monkeypatch.setattr(search, "WALK_COST", walk_cost)
    client = api(app_token_for(crowd, ["User.Read.All"]))
    client.get("/v1.0/users", {"$search": '"displayName:zoe"'}, **EVENTUAL)  # warm-up
    # token and app (3) + estimates, walk, the rest, the page's users (4; identities only when selected)
    # + on PostgreSQL, no parallel workers for the search's statements, and the setting put back (2)
    with django_assert_max_num_queries(9 if connection.vendor == "postgresql" else 7):
        response = client.get("/v1.0/users", {"$search": '"displayName:zoe"', "$top": "5"}, **EVENTUAL)
    assert response.status_code == 200 and len(response.json()["value"]) == 5


def _plans(crowd, text, top):
    """EXPLAIN of each statement a search page runs (the estimates' own EXPLAIN left out)."""
    condition = search.parse_search(USER, text, "eventual")
    queryset = User.objects.active().filter(tenant=crowd)
    with CaptureQueriesContext(connection) as queries:
        search.page(queryset, condition, [(USER.prop("displayName"), False)], "pk", top + 1)
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a small table: show what the indexes serve
        for query in queries.captured_queries:
            if query["sql"].startswith("EXPLAIN") or "set_config" in query["sql"]:
                continue
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


@postgres_only
def test_a_rare_term_is_found_in_the_search_index_and_sorted_never_by_walking_the_order(crowd):
    plans = _plans(crowd, '"displayName:q012"', top=10)  # 8 of 1,200: too rare to walk for
    assert len(plans) == 1, plans
    assert "user_search_display_name" in plans[0] and "Sort" in plans[0], plans[0]
    assert "user_tenant_name_order_idx" not in plans[0], plans[0]


@postgres_only
def test_a_common_term_walks_the_list_order_within_a_bound_without_a_sort(crowd):
    plans = _plans(crowd, '"displayName:s"', top=3)  # Strand and Stone: a fifth of everyone
    walk = plans[0]
    assert "user_tenant_name_order_idx" in walk and "Sort" not in walk, walk
    limits = [line for line in walk.splitlines() if "Limit" in line]
    assert len(limits) == 2, walk  # the page's, and the walk's bound inside it


@postgres_only
def test_a_common_term_that_sorts_last_walks_only_its_bound_then_sorts_the_rest(crowd, monkeypatch):
    monkeypatch.setattr(search, "WALK_COST", 1)  # a walk of 100 rows, as many as there are matches
    plans = _plans(crowd, '"displayName:zoe"', top=3)  # 100 users, all at the end of the order
    assert len(plans) == 3, plans  # the bounded walk (finds none), the rest, the users
    assert "user_tenant_name_order_idx" in plans[0] and len([x for x in plans[0].splitlines() if "Limit" in x]) == 2
    assert "user_tenant_name_order_idx" not in plans[1] and "Sort" in plans[1], plans[1]


@postgres_only
def test_the_planners_estimates_are_asked_once_for_a_repeated_search(crowd):
    condition = search.parse_search(USER, '"displayName:lund"', "eventual")
    queryset = User.objects.active().filter(tenant=crowd)
    order = [(USER.prop("displayName"), False)]
    explains = []
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            search.page(queryset, condition, order, "pk", 11)
        explains.append(sum(q["sql"].startswith("EXPLAIN") for q in queries.captured_queries))
    assert explains == [1, 0]


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


@postgres_only
def test_a_search_repeated_past_the_prepare_threshold_is_still_planned_for_its_own_term(crowd):
    """Prepared, PostgreSQL could keep one generic plan for every term; a search's plan depends on its term."""
    queryset = User.objects.active().filter(tenant=crowd)
    order = [(USER.prop("displayName"), False)]
    threshold = connection.connection.prepare_threshold
    assert threshold  # prepared statements are on (config/settings/base.py)
    for term in ["q012", "q013"] * threshold:  # the sorted path, the same statement each time
        search.page(queryset, search.parse_search(USER, f'"displayName:{term}"', "eventual"), order, "pk", 11)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%to_tsquery%"])
        assert cursor.fetchall() == []
    assert connection.connection.prepare_threshold == threshold  # other statements are prepared as before


PARALLEL_MADE_FREE = ("parallel_setup_cost", "parallel_tuple_cost", "min_parallel_table_scan_size",
                      "min_parallel_index_scan_size")


def _make_parallel_plans_free(scope: str) -> None:
    """So that the planner takes a parallel plan wherever it may, on a table this small."""
    with connection.cursor() as cursor:
        for setting in PARALLEL_MADE_FREE:
            cursor.execute(f"SET {scope} {setting} = 0")
        cursor.execute(f"SET {scope} max_parallel_workers_per_gather = 3")


def _explain(cursor, sql, params) -> str:
    cursor.execute(f"EXPLAIN {sql}", params, prepare=False)  # psycopg's cursor: planned for these values
    return "\n".join(row[0] for row in cursor.fetchall())


def _statements_of_a_search(queryset, condition, order) -> list[tuple[str, list, str]]:
    """(sql, params, plan) of each search statement, its plan taken just before it runs, in its session."""
    statements = []

    def explain_first(execute, sql, params, many, context):
        if "to_tsquery" in sql and not sql.startswith("EXPLAIN"):
            statements.append((sql, params, _explain(context["cursor"].cursor, sql, params)))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain_first):
        search.page(queryset, condition, order, "pk", 11)
    return statements


def _assert_serial_inside_a_search_only(queryset, condition, order) -> None:
    statements = _statements_of_a_search(queryset, condition, order)
    assert statements and not any("Gather" in plan for _sql, _params, plan in statements), statements
    with connection.cursor() as cursor:  # the same statements, on their own, would run parallel
        assert any("Gather" in _explain(cursor.cursor, sql, params) for sql, params, _plan in statements)


@postgres_only
def test_a_search_runs_without_parallel_workers_and_leaves_the_setting_as_it_was(crowd, monkeypatch):
    queryset = User.objects.active().filter(tenant=crowd)
    order = [(USER.prop("displayName"), False)]
    condition = search.parse_search(USER, '"displayName:lund"', "eventual")
    _make_parallel_plans_free("LOCAL")  # the test's transaction: a SET LOCAL the search must keep
    monkeypatch.setattr(search, "WALK_COST", 10**9)  # the sorted path
    _assert_serial_inside_a_search_only(queryset, condition, order)
    assert _setting("max_parallel_workers_per_gather") == "3"

    def fails(*args, **kwargs):
        raise ValueError("the walk broke")

    monkeypatch.setattr(search, "WALK_COST", 0.0001)  # the walk
    monkeypatch.setattr(search, "_walk", fails)
    with pytest.raises(ValueError, match="the walk broke"):
        search.page(queryset, condition, order, "pk", 11)
    assert _setting("max_parallel_workers_per_gather") == "3"
    assert connection.connection.prepare_threshold


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_search_runs_serial_and_puts_the_sessions_setting_back(api_tenant):
    User.objects.bulk_create(User(tenant=api_tenant, display_name=f"Ada Lund {i}",
                                  user_principal_name=f"ada{i}@tailwind.example") for i in range(40))
    queryset = User.objects.active().filter(tenant=api_tenant)
    order = [(USER.prop("displayName"), False)]
    condition = search.parse_search(USER, '"displayName:lund"', "eventual")
    _make_parallel_plans_free("SESSION")
    try:
        assert connection.get_autocommit() and not connection.in_atomic_block
        _assert_serial_inside_a_search_only(queryset, condition, order)
        assert _setting("max_parallel_workers_per_gather") == "3"
    finally:
        with connection.cursor() as cursor:
            for setting in (*PARALLEL_MADE_FREE, "max_parallel_workers_per_gather"):
                cursor.execute(f"RESET {setting}")


def _walk_statement(queryset, text) -> str:
    condition = search.parse_search(USER, text, "eventual")
    with CaptureQueriesContext(connection) as queries:
        search._walk(queryset, condition, [(USER.prop("displayName"), False)], ["display_name", "pk"], "pk", 500, 5)
    [walk] = [q["sql"] for q in queries.captured_queries if "walk_key0" in q["sql"]]
    return walk


@postgres_only
def test_the_walk_tests_each_ascii_word_as_a_substring_before_the_words_document(crowd):
    queryset = User.objects.active().filter(tenant=crowd)
    walk = _walk_statement(queryset, '"displayName:hana wood"')
    assert walk.count("LIKE '%hana%'") == 1 and walk.count("LIKE '%wood%'") == 1, walk
    assert "to_tsvector" in walk  # the substring only narrows; the words' rule still decides
    assert "LIKE" not in _walk_statement(queryset, '"displayName:émile"')  # not ASCII: the document alone


@postgres_only
@pytest.mark.parametrize("text", ['"displayName:wood"', '"displayName:hana wood"', '"displayName:q01"',
                                  '"displayName:ood"', '"displayName:émile"', '"displayName:ada" OR "mail:u1"'])
def test_a_walk_finds_what_the_words_rule_finds_and_nothing_a_substring_alone_would(crowd, text):
    """'ood' is a substring of every Wood but starts no word: the prefilter lets those rows through and
    the words' rule turns them away; 'émile' (not ASCII) and 'Émile' in the names: found as before."""
    User.objects.bulk_create([
        User(tenant=crowd, display_name="Émile Woodward", user_principal_name="emile@tailwind.example"),
        User(tenant=crowd, display_name="Ada Hollywood", user_principal_name="ada.h@tailwind.example")])
    queryset = User.objects.active().filter(tenant=crowd)
    condition = search.parse_search(USER, text, "eventual")
    order = [(USER.prop("displayName"), False)]
    walked = search._walk(queryset, condition, order, ["display_name", "pk"], "pk", 100_000, 100_000)
    assert [str(row[-1]) for row in walked] == _expected(crowd, text)
