"""On PostgreSQL a statement a connection keeps running is prepared once (settings: DB_PREPARED_STATEMENTS), so
the server stops parsing and planning it; its parameters are bound on the server, never quoted into the text."""

import pytest
from django.db import connection

from directory.models import Tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")


def _prepared(fragment: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                       [f"%{fragment}%"])
        return [row[0] for row in cursor.fetchall()]


# A statement no other code runs: the session's connection may already hold the product's own, prepared.
_QUERY = '"directory_tenant"."initial_domain" AS "initial_domain", "directory_tenant"."slug" AS "slug" FROM'


def _run(slug: str) -> None:
    list(Tenant.objects.filter(slug=slug).values_list("initial_domain", "slug"))


def test_a_query_run_five_times_on_a_connection_is_prepared_with_its_parameters_bound(postgresql):
    slugs = [f"prepared-{i}" for i in range(6)]
    for slug in slugs[:4]:
        _run(slug)
    assert _prepared(_QUERY) == []  # four runs: still parsed and planned each time
    for slug in slugs[4:]:
        _run(slug)
    [statement] = _prepared(_QUERY)
    assert '"directory_tenant"."slug" = $1' in statement  # one statement for every slug: the value is a parameter
    assert "prepared-" not in statement


def test_a_prepared_query_still_answers_for_each_value(postgresql):
    Tenant.objects.create(name="Contoso", slug="contoso-prepared", initial_domain="contoso-prepared.example")
    answers = [Tenant.objects.filter(slug=slug).exists() for slug in
               ["x1", "x2", "x3", "x4", "x5", "contoso-prepared", "x6"]]
    assert answers == [False] * 5 + [True, False]
