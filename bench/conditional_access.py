"""Benchmark: one conditional access decision with 195 policies, beside the page that asks for it.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        /work/main/.venv/bin/python bench/conditional_access.py [--decisions 2000] [--users 400]

Builds (once; kept between runs) a tenant with 195 policies (users, groups, roles, guest types, chosen
apps, 60 IP and 60 country named locations, platforms, client apps; enabled, report-only and off), 150
groups, members and guests in several groups each. Then, in this process, measures:

- ``decision``: ``directory.access.evaluate_access`` for a rotating mix of members and guests, IPs (known
  ranges, countries, private), user agents and resources, with the tenant's policies cached (the state
  after the first decision following a change): median and p95 in milliseconds, queries per decision;
- ``decision, cold``: the first decision after a change (the cache reloads the policies);
- ``decision, facts queried``: the same with the user's facts (groups, roles, home tenant) read from the
  database for each decision, as every decision did before they were kept per process (the baseline);
- ``evaluator, all asked`` / ``indexed``: the pure function on the same contexts, asking every policy and
  location, and with the precompiled indexes (same answers, asserted);
- ``SELECT 1 round trip``: one database round trip, what the decision's one query costs at least;
- ``page``: the access panel (GET /t/<tenant>/, My Apps) for a member, through Django's test client,
  the page whose entry asks for the decision: its median is the baseline the decision is reported beside.

Goal (issue 12): median < 1 ms and at most 2 queries per decision.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

SLUG = "ca-bench"


def build(users: int):
    from directory.actors import Actor
    from directory.models import Application, Group, Role, RoleAssignment, User
    from policies import services
    from policies.models import ConditionalAccessPolicy

    tenant = c.bench_tenant(SLUG, "Conditional Access Bench")
    if ConditionalAccessPolicy.objects.filter(tenant=tenant).count() >= 195:
        return tenant
    rng = random.Random(12)
    operator = Actor.operator(tenant=tenant)
    groups = Group.objects.bulk_create([Group(tenant=tenant, display_name=f"Group {i}") for i in range(150)])
    apps = Application.objects.bulk_create([Application(tenant=tenant, display_name=f"App {i}") for i in range(30)])
    people = User.objects.bulk_create([
        User(tenant=tenant, user_type="Guest" if i % 3 == 0 else "Member", display_name=f"Person {i}",
             user_principal_name=f"person{i}@{tenant.initial_domain}", mail=f"person{i}@people.example",
             creation_type="Invitation" if i % 3 == 0 else "", external_user_state="Accepted" if i % 3 == 0 else "")
        for i in range(users)])
    Group.members.through.objects.bulk_create([
        Group.members.through(group_id=g.pk, user_id=u.pk) for u in people for g in rng.sample(groups, 6)])
    RoleAssignment.objects.bulk_create([RoleAssignment(tenant=tenant, user=u, role=Role.SECURITY_ADMINISTRATOR)
                                        for u in people[1:40:3]])
    locations = []
    for i in range(60):
        locations.append(services.named_location_create(actor=operator, tenant=tenant, kind="ip", data={
            "displayName": f"Site {i}", "isTrusted": i % 4 == 0,
            "ipRanges": [f"10.{i}.{j}.0/24" for j in range(20)] + [f"2001:db8:{i:x}::/48"]}))
    countries = ["DE", "FR", "US", "GB", "KP", "IR", "CN", "RU", "BR", "IN", "JP", "NL", "SE", "PL", "IT"]
    for i in range(60):
        locations.append(services.named_location_create(actor=operator, tenant=tenant, kind="country", data={
            "displayName": f"Countries {i}", "countriesAndRegions": rng.sample(countries, 3),
            "includeUnknownCountriesAndRegions": i % 5 == 0}))
    states = ["enabled", "enabledForReportingButNotEnforced", "disabled"]
    for i in range(195):
        users_condition = [
            {"includeGroups": [str(g.pk) for g in rng.sample(groups, 5)], "excludeGroups": [str(rng.choice(groups).pk)]},
            {"includeGuestsOrExternalUsers": {"guestOrExternalUserTypes": "b2bCollaborationGuest,internalGuest",
                                              "externalTenants": {"membershipKind": "all"}}},
            {"includeUsers": ["All"], "excludeRoles": [Role.SECURITY_ADMINISTRATOR.value]},
            {"includeUsers": [str(u.pk) for u in rng.sample(people, 20)]},
        ][i % 4]
        conditions = {"users": users_condition, "applications": {
            "includeApplications": ["All"] if i % 3 else [str(a.app_id) for a in rng.sample(apps, 3)]}}
        if i % 2:
            conditions["locations"] = {"includeLocations": [str(x.pk) for x in rng.sample(locations, 4)]}
        if i % 5 == 0:
            conditions["platforms"] = {"includePlatforms": ["all"], "excludePlatforms": ["windows"]}
        grant = {"builtInControls": ["block"]} if i % 7 == 0 else {"builtInControls": ["mfa"], "operator": "OR"}
        services.conditional_access_policy_create(actor=operator, tenant=tenant, acknowledge_lockout=True, data={
            "displayName": f"Policy {i}", "state": states[i % 3], "conditions": conditions, "grantControls": grant,
            "sessionControls": {"signInFrequency": {"value": 8, "type": "hours"}} if i % 6 == 0 else None})
    return tenant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--users", type=int, default=400)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    c.setup_django(c.ROOT)
    c.migrate()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from directory.access import APP, CONSOLE, PANEL, AccessRequest, evaluate_access
    from directory.models import Account, Application, User
    from policies import access
    from policies.evaluators import evaluate_conditional_access

    tenant = build(args.users)
    people = list(User.objects.filter(tenant=tenant).order_by("user_principal_name")[:200])
    apps = list(Application.objects.filter(tenant=tenant)[:10])
    ips = ["10.3.4.5", "10.59.19.200", "193.99.144.80", "175.45.176.1", "8.8.8.8", "2001:db8:7::1", "192.168.1.1",
           None]
    agents = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/128.0", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5)",
              "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"]
    resources = [PANEL, PANEL, APP, CONSOLE]
    requests = []
    for i in range(args.decisions):
        resource = resources[i % 4]
        requests.append(AccessRequest(tenant=tenant, user=people[i % len(people)], account=None, resource=resource,
                                      application=apps[i % len(apps)] if resource == APP else None,
                                      ip=ips[i % len(ips)], user_agent=agents[i % len(agents)]))

    evaluate_access(requests[0])  # warm: the tenant's policies compiled and cached
    samples, queries = [], []
    for request in requests:
        start = time.perf_counter()
        evaluate_access(request)
        samples.append((time.perf_counter() - start) * 1000)
    for request in requests[:200]:  # counted apart: capturing queries costs time of its own
        with CaptureQueriesContext(connection) as captured:
            evaluate_access(request)
        queries.append(len(captured))

    uncached_facts = []  # the decision as it was before facts were kept: one membership query each
    for request in requests[:500]:
        access._facts.clear()
        start = time.perf_counter()
        evaluate_access(request)
        uncached_facts.append((time.perf_counter() - start) * 1000)

    cold, cold_queries = [], []
    for _ in range(20):
        access._local.clear()
        start = time.perf_counter()
        evaluate_access(requests[1])
        cold.append((time.perf_counter() - start) * 1000)
    access._local.clear()
    with CaptureQueriesContext(connection) as captured:
        evaluate_access(requests[1])
    cold_queries.append(len(captured))

    policy_set = access.tenant_policy_set(tenant.pk)
    contexts = [access.context_for(r, policy_set) for r in requests[:500]]
    pure, indexed = [], []
    for context in contexts:
        start = time.perf_counter()
        plain = evaluate_conditional_access(policy_set.policies, policy_set.locations, context)
        pure.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        fast = evaluate_conditional_access(policy_set.policies, policy_set.locations, context,
                                           index=policy_set.index, location_index=policy_set.location_index)
        indexed.append((time.perf_counter() - start) * 1000)
        assert plain == fast, (plain, fast)  # the indexes change the cost, never the answer

    round_trip = []
    with connection.cursor() as cursor:
        for _ in range(500):
            start = time.perf_counter()
            cursor.execute("SELECT 1")
            cursor.fetchall()
            round_trip.append((time.perf_counter() - start) * 1000)

    member = User.objects.filter(tenant=tenant, user_type="Member").first()
    if member.account_id is None:
        account = Account.objects.create_user(email=f"bench-{member.pk}@people.example", password=None)
        User.objects.filter(pk=member.pk).update(account=account)
        member.refresh_from_db()
    client = Client()
    client.force_login(member.account)
    page = []
    for i in range(args.pages + 10):
        start = time.perf_counter()
        response = client.get(f"/t/{tenant.slug}/")
        if i >= 10:
            page.append((time.perf_counter() - start) * 1000)
    assert response.status_code == 200, response.status_code

    def line(name, values, extra=""):
        print(f"{name:<24} median {statistics.median(values):7.3f} ms   p95 {c.percentile(values, 95):7.3f} ms{extra}")

    print(f"tenant {tenant.slug}: {len(policy_set.policies)} policies, {len(policy_set.locations)} named locations, "
          f"{len(people)} people asked, cache {type(__import__('django.core.cache').core.cache.cache).__name__}")
    line("decision (cached)", samples, f"   queries max {max(queries)}, mean {statistics.mean(queries):.2f}")
    line("decision, facts queried", uncached_facts, "   (before: the user's groups/roles/home read per decision)")
    line("decision (cold)", cold, f"   queries max {max(cold_queries)}")
    line("evaluator, all asked", pure, "   (before: every policy and location asked)")
    line("evaluator, indexed", indexed)
    line("SELECT 1 round trip", round_trip, "   (the one query a decision may make costs at least this)")
    line("page GET /t/<tenant>/", page)
    print(f"decision / page: {statistics.median(samples) / statistics.median(page):.3f}   "
          f"decision / decision with facts queried: {statistics.median(samples) / statistics.median(uncached_facts):.3f}   "
          f"indexed / all asked: {statistics.median(indexed) / statistics.median(pure):.3f}")


if __name__ == "__main__":
    main()
