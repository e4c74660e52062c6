"""Benchmark: Graph /users calls on a tenant of 1,000,000 users, as ratios to GET /v1.0/organization.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        /work/main/.venv/bin/python bench/api_users.py [--users 1000000] [--requests 200] [--code PATH]

It migrates the database, seeds ``--users`` users into the tenant ``bench-users`` set-based (one
INSERT … SELECT … FROM generate_series; re-runs reuse them when the count matches), starts gunicorn
with two sync workers on 127.0.0.1, gets a client-credentials token and times each call sequentially:
p50 and p95 over ``--requests`` requests (fewer when a call would take longer than ``--max-seconds``),
each beside the p50 of GET /v1.0/organization measured on the same server in the same run. ``--code``
serves and seeds with another checkout (e.g. a ``git archive`` of an older commit) for a before/after.
"""

import argparse
import random
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

TENANT_SLUG = "bench-users"
FIRST = ["Ada", "bea", "Carl", "dora", "Emil", "Fay", "Gus", "hana", "Ivo", "Jon", "Kai", "lea", "Mia", "Noa",
         "Oskar", "Pia", "Quinn", "rosa", "Sven", "Tea", "Uma", "Vera", "Wim", "Xia", "Yann", "Zoe", "Émile",
         "Åsa", "Ben", "Cleo", "Dan", "Eva", "Finn", "Greta", "Hugo", "Ines", "Jakob", "Kira", "Lars", "Mona"]
LAST = [f"{stem}{suffix}" for stem in ("Berg", "Lund", "Holm", "Dahl", "Strand", "Wood", "Hill", "Brook", "Stone",
                                        "Field", "Marsh", "Fox", "Lake", "Moor", "Ridge", "Vale", "Ford", "Shaw",
                                        "Croft", "Heath", "Nash", "Park", "Reed", "Shore", "West")
        for suffix in ("", "er", "mann", "son", "ley", "ton", "by", "dal", "ström", "ing")]  # 250 surnames


def seed(tenant, count: int) -> None:
    """Exactly ``count`` active users in ``tenant``, inserted set-based on PostgreSQL."""
    from django.db import connection, transaction

    from directory.models import User

    have = User.objects.filter(tenant=tenant).count()
    if have == count:
        print(f"seed: {count:,} users already there", flush=True)
        return
    start = time.monotonic()
    domain = tenant.initial_domain
    given = f"(ARRAY{FIRST!r})[1 + g % {len(FIRST)}]"
    surname = f"(ARRAY{LAST!r})[1 + (g / {len(FIRST)}) % {len(LAST)}]"
    expressions = {
        "id": "gen_random_uuid()",
        "tenant_id": "%(tenant)s",
        "user_type": "CASE WHEN g % 10 = 0 THEN 'Guest' ELSE 'Member' END",
        "user_principal_name": f"'user' || g || '@{domain}'",
        "mail": f"'User.' || g || '@Mail.{domain}'",  # mixed case: lookups must go through lower()
        "other_mails": "'[]'::jsonb",
        # Repeated and mixed-case names (10,000 distinct, some lower-case): the sort key is lower(name), id.
        "display_name": f"CASE WHEN g % 7 = 0 THEN lower({given}) ELSE {given} END || ' ' || {surname}",
        "given_name": given,
        "surname": surname,
        "account_enabled": "true",
        "created_at": "now() - g * interval '1 second'",
        "updated_at": "now()",
    }
    columns, values, params = [], [], {"tenant": tenant.pk}
    for model_field in User._meta.concrete_fields:
        columns.append(f'"{model_field.column}"')
        if model_field.column in expressions:
            # literal % doubled for the driver's parameter style, the tenant placeholder kept
            values.append(expressions[model_field.column].replace("%", "%%").replace("%%(tenant)s", "%(tenant)s"))
        elif model_field.null:
            values.append("NULL")
        else:  # a column added later: its Django default, as a parameter
            key = f"p{len(params)}"
            params[key] = model_field.get_db_prep_save(model_field.get_default(), connection)
            values.append(f"%({key})s")
    sql = (f'INSERT INTO "{User._meta.db_table}" ({", ".join(columns)}) '
           f"SELECT {', '.join(values)} FROM generate_series(1, %(count)s) AS g")
    params["count"] = count
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "directory_user_sponsors" WHERE from_user_id IN '
                       f'(SELECT id FROM "{User._meta.db_table}" WHERE tenant_id = %s)', [tenant.pk])
        User.objects.filter(tenant=tenant).delete()
        cursor.execute(sql, params)
    with connection.cursor() as cursor:
        # As autovacuum leaves a table in production: statistics, the visibility map (index-only scans)
        # and the GIN indexes' pending entries merged (a fresh bulk insert leaves them to be scanned by
        # every search). The database the benchmarks run on may have autovacuum off.
        cursor.execute(f'VACUUM (ANALYZE) "{User._meta.db_table}"')
    print(f"seed: {count:,} users in {time.monotonic() - start:.1f} s", flush=True)


def q(path: str, **params) -> str:
    return path + "?" + urllib.parse.urlencode(params, safe="$,'()", quote_via=urllib.parse.quote)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests per call")
    parser.add_argument("--max-seconds", type=float, default=40, help="per call; fewer requests beyond it")
    parser.add_argument("--deep", type=int, default=100_000, help="rows before the deep page")
    parser.add_argument("--code", type=Path, default=c.ROOT, help="the checkout to seed and serve")
    parser.add_argument("--only", action="append", default=[], help="time only calls whose label has this text")
    args = parser.parse_args()

    c.setup_django(args.code.resolve())
    c.migrate()
    from django.db import connection

    from directory.api import odata
    from directory.api.resources import USER
    from directory.models import User

    tenant = c.bench_tenant(TENANT_SLUG, "Bench Users")
    seed(tenant, args.users)
    with connection.cursor() as cursor:  # statistics for indexes a migration may just have added
        cursor.execute('ANALYZE "directory_user"')
    client_id, secret = c.app_credentials(tenant, ["User.Read.All"], f"bench {time.time():.0f}")
    users = User.objects.active().filter(tenant=tenant)
    with connection.cursor() as cursor:  # a random sample, without sorting a million rows
        cursor.execute("SELECT id, user_principal_name, mail, display_name FROM directory_user TABLESAMPLE "
                       "SYSTEM (1) WHERE tenant_id = %s AND deleted_at IS NULL LIMIT 2000", [tenant.pk])
        sample = cursor.fetchall()
    random.Random(7).shuffle(sample)
    sample = sample[:200]
    order = [(USER.prop("displayName"), False)]
    deep_row = users.order_by(*odata.ordering_for(order, "pk"))[args.deep - 1]
    # A token is bound to its tenant and route (odata.skiptoken_scope); older checkouts (--code) have no scope.
    scope = (odata.skiptoken_scope(tenant.pk, "/v1.0/users"),) if hasattr(odata, "skiptoken_scope") else ()
    deep_token = odata.make_skiptoken(order, deep_row, "pk", *scope)
    connection.close()  # the server's workers get the connections

    with c.Server(args.code.resolve()) as server:
        token = c.client_credentials_token(server.host, client_id, secret)
        auth = {"Authorization": f"Bearer {token}"}
        eventual = {**auth, "ConsistencyLevel": "eventual"}

        def run(path_for, headers=auth):
            """The call alternating with the baseline; fewer requests when the call is slow."""
            probe = c.time_calls(server.host, "GET", path_for, count=3, warmup=1, headers=headers)
            if "p50" not in probe:
                return probe, None
            count = max(20, min(args.requests, int(args.max_seconds * 1000 / max(probe["p50"], 0.1))))
            return c.time_against_baseline(server.host, path_for, "/v1.0/organization", count=count,
                                           headers=headers)

        def rotate(fn):
            return lambda i: fn(sample[i % len(sample)])

        calls = [
            ("GET /users?$top=100 (page 1)", lambda i: q("/v1.0/users", **{"$top": "100"}), auth, 3),
            (f"GET /users?$top=100 page {args.deep:,} rows deep",
             lambda i: q("/v1.0/users", **{"$top": "100", "$skiptoken": deep_token}), auth, 3),
            ("GET /users/{id}", rotate(lambda row: f"/v1.0/users/{row[0]}"), auth, 1.5),
            ("GET /users/{upn}", rotate(lambda row: f"/v1.0/users/{urllib.parse.quote(row[1].upper(), safe='@')}"),
             auth, 1.5),
            ("GET /users?$filter=mail eq '…'",
             rotate(lambda row: q("/v1.0/users", **{"$filter": f"mail eq '{row[2].lower()}'"})), auth, 1.5),
            ("GET /users?$filter=userPrincipalName eq '…'",
             rotate(lambda row: q("/v1.0/users", **{"$filter": f"userPrincipalName eq '{row[1].upper()}'"})),
             auth, 1.5),
            ("GET /users?$filter=startswith(displayName,…)",
             rotate(lambda row: q("/v1.0/users", **{"$filter": f"startswith(displayName,'{row[3][:6]}')"})),
             auth, 3),
            ("GET /users?$search=\"displayName:…\"",
             rotate(lambda row: q("/v1.0/users", **{"$search": f'"displayName:{row[3].split()[-1][:5]}"'})),
             eventual, 3),
            ("GET /users?$count=true&$top=1", lambda i: q("/v1.0/users", **{"$count": "true", "$top": "1"}),
             eventual, 3),
        ]
        if args.only:
            calls = [call for call in calls if any(text in call[0] for text in args.only)]
        print(f"server: gunicorn, 2 sync workers; code: {args.code}; {args.users:,} users; "
              f"up to {args.requests} requests per call", flush=True)
        results = [(label, *run(path_for, headers), goal) for label, path_for, headers, goal in calls]

    print(f"{'call':<44} {'p50':>8} {'p95':>9}   ratio to GET /v1.0/organization p50 in the same window")
    for label, result, baseline, goal in results:
        line = c.ratio_line(label, result, baseline or {}, goal)
        if baseline:
            line += f"  [n={result['n']}, baseline p50 {baseline['p50']:.1f} ms p95 {baseline['p95']:.1f} ms]"
        print(line)
    pages = {label: (result, baseline) for label, result, baseline, _goal in results if "page" in label}
    if len(pages) == 2 and all("p50" in result for result, _baseline in pages.values()):
        (first, first_base), (deep, deep_base) = pages.values()
        ratio = (deep["p50"] / deep_base["p50"]) / (first["p50"] / first_base["p50"])
        print(f"{'deep page / page 1 (baseline-normalised)':<44} {ratio:.2f}  goal ≤ 1.2 "
              f"{'met' if ratio <= 1.2 else 'MISSED'}")


if __name__ == "__main__":
    main()
