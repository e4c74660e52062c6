"""Benchmark: the My Apps page against a bare signed-in Django view, requests per second, side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        /work/main/.venv/bin/python bench/panel.py [--apps 30] [--seconds 8] [--rounds 3] [--clients 2]

Starts gunicorn (``--workers`` sync workers, 2 by default) on 127.0.0.1 with the project's settings plus
one route, ``/bench/bare/`` (``bench/panel_stack/``): a ``login_required`` view that returns a few bytes,
through the same middleware stack. A member of the tenant ``bench-panel`` has ``--apps`` applications
(half assigned directly, half through a group; each with an owner), the tenant has branding. ``--clients``
concurrent clients, signed in with one session, call the bare page, My Apps and the no-template view in
turn, request by request, for ``--seconds`` (``--rounds`` times), so that all see the same load on a shared
machine; each rate is clients / mean latency. Goal: My Apps at ≥ 0.5× the
bare view's requests per second. ``--profile`` instead profiles ``--profile-requests`` My Apps requests in
this process (Django's test client, same settings) and prints the top of cProfile's cumulative list.
"""

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

sys.path.insert(0, str(c.ROOT))

SLUG = "bench-panel"


def seed(apps: int):
    """The tenant, its member and the member's apps (reused when the counts match); the member's account."""
    from django.db import transaction

    from directory import services
    from directory.actors import Actor
    from directory.models import Application, AppRoleAssignment, Branding, Group, User

    tenant = c.bench_tenant(SLUG, "Bench Panel")
    member = User.objects.filter(tenant=tenant, user_principal_name=f"member@{tenant.initial_domain}").first()
    if member is None:
        member = services.user_create(actor=Actor.operator(), tenant=tenant, display_name="Bench Member",
                                      user_principal_name=f"member@{tenant.initial_domain}",
                                      password="Bench-Panel-2026!x", mail=f"member@{tenant.initial_domain}")
    Branding.objects.get_or_create(tenant=tenant, locale="", defaults={"accent_color": "#8A2BE2"})
    if Application.objects.filter(tenant=tenant).count() != apps:
        with transaction.atomic():
            Application.objects.filter(tenant=tenant).delete()
            Group.objects.filter(tenant=tenant).delete()
            owner = User.objects.filter(tenant=tenant, user_principal_name=f"owner@{tenant.initial_domain}").first()
            if owner is None:
                owner = services.user_create(actor=Actor.operator(), tenant=tenant, display_name="App Owner",
                                             user_principal_name=f"owner@{tenant.initial_domain}")
            created = Application.objects.bulk_create(
                Application(tenant=tenant, display_name=f"Bench App {n:05}", description="An application",
                            launch_url=f"https://app{n}.bench.example/") for n in range(apps))
            Application.owners.through.objects.bulk_create(
                Application.owners.through(application_id=a.pk, user_id=owner.pk) for a in created)
            group = Group.objects.create(tenant=tenant, display_name="Bench Group")
            group.members.add(member)
            half = apps // 2
            AppRoleAssignment.objects.bulk_create(
                [AppRoleAssignment(tenant=tenant, application=a, user=member) for a in created[:half]]
                + [AppRoleAssignment(tenant=tenant, application=a, group=group) for a in created[half:]])
    return tenant, member


def session_cookie(account) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(account)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def interleaved(host: str, paths: list[str], headers: dict, clients: int, seconds: float) -> dict[str, float]:
    """{path: requests per second} with ``clients`` threads, each calling the paths in turn, request by
    request, for ``seconds``: every path sees the same load at the same moments (the machine is shared),
    and a path's rate is the requests per second the clients would get calling only it
    (clients / mean latency)."""
    spent = {path: [0.0, 0] for path in paths}
    lock, failures = threading.Lock(), []
    stop = time.monotonic() + seconds

    def loop():
        while time.monotonic() < stop:
            for path in paths:
                start = time.perf_counter()
                status, _body = c.request(host, "GET", path, headers=headers)
                elapsed = time.perf_counter() - start
                with lock:
                    spent[path][0] += elapsed
                    spent[path][1] += 1
                    if status != 200:
                        failures.append((path, status))

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        sys.exit(f"failures: {failures[:5]}")
    return {path: clients * count / total for path, (total, count) in spent.items()}


def profile(path: str, account, requests: int) -> None:
    import cProfile
    import pstats

    from django.test import Client

    client = Client()
    client.force_login(account)
    for _ in range(5):
        client.get(path)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        response = client.get(path)
    profiler.disable()
    assert response.status_code == 200, response.status_code
    stats = pstats.Stats(profiler).sort_stats("cumulative")
    stats.print_stats(45)
    stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--apps", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--code", type=Path, default=c.ROOT)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--profile-requests", type=int, default=200)
    args = parser.parse_args()
    code = args.code.resolve()
    import os

    stack = str(Path(__file__).resolve().parent)
    os.environ["DJANGO_SETTINGS_MODULE"] = "panel_stack.settings"
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (stack, os.environ.get("PYTHONPATH")) if p)
    sys.path.insert(0, stack)
    c.setup_django(code)
    c.migrate()
    tenant, member = seed(args.apps)
    panel_path = f"/t/{tenant.slug}/"
    if args.profile:
        profile(panel_path, member.account, args.profile_requests)
        return
    headers = {"Cookie": session_cookie(member.account)}
    from django.db import connection

    connection.close()
    with c.Server(code, workers=args.workers) as server:
        for path in ("/bench/bare/", "/bench/bytes/", panel_path):
            status, body = c.request(server.host, "GET", path, headers=headers)
            if status != 200:
                sys.exit(f"{path} answered {status}: {body[:300]!r}")
        for _ in range(20):  # warm both workers
            c.request(server.host, "GET", panel_path, headers=headers)
            c.request(server.host, "GET", "/bench/bare/", headers=headers)
        ratios, bare_rates, panel_rates, bytes_ratios = [], [], [], []
        for n in range(args.rounds):
            rates = interleaved(server.host, ["/bench/bare/", panel_path, "/bench/bytes/"], headers, args.clients,
                                args.seconds)
            bare, panel, just_bytes = rates["/bench/bare/"], rates[panel_path], rates["/bench/bytes/"]
            bare_rates.append(bare)
            panel_rates.append(panel)
            ratios.append(panel / bare)
            bytes_ratios.append(panel / just_bytes)
            print(f"round {n + 1}: bare page {bare:7.1f} req/s   My Apps ({args.apps} apps) {panel:7.1f} req/s   "
                  f"{panel / bare:5.2f}×   (no-template view {just_bytes:7.1f} req/s: {panel / just_bytes:4.2f}×)")
    ratio = statistics.median(ratios)
    print(f"median: bare {statistics.median(bare_rates):.1f} req/s, My Apps {statistics.median(panel_rates):.1f} "
          f"req/s, ratio {ratio:.2f}× (range {min(ratios):.2f}–{max(ratios):.2f})  "
          f"goal ≥ 0.5× {'met' if ratio >= 0.5 else 'MISSED'}; against the no-template view "
          f"{statistics.median(bytes_ratios):.2f}×")


if __name__ == "__main__":
    main()
