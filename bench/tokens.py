"""Benchmark: client-credentials tokens issued per second per core, against Keycloak's 120/s per vCPU.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        /work/main/.venv/bin/python bench/tokens.py [--clients 4] [--seconds 15] [--workers 2]

Starts gunicorn with ``--workers`` sync workers on 127.0.0.1 (one worker uses at most one core), then
for ``--seconds`` keeps ``--clients`` concurrent clients each requesting a token (POST
/identity/o/api/token, grant_type=client_credentials) in a loop, and reports tokens/s in total and
**per core**: tokens per CPU-second the server's workers used (from /proc), so neither the load
generator's own CPU (same machine) nor other work on a shared machine counts against the server; and
the same with the CPU of the PostgreSQL processes serving the workers added (the database's share of a
token). Per worker (tokens/s ÷ workers, the figure before) is printed too. It measures two app
registrations in the same run: one whose secret is stored as the portal stores it now
(directory/hashers.py, a salted HMAC-SHA-256) and one stored with allauth's default
(``Client.set_secret`` → the password hasher, Argon2), the way every secret was stored before.
GET /v1.0/organization is timed the same way as the baseline. Keycloak's sizing guide: 120 client-
credentials grants per second per vCPU; the goal here is at least twice that.
"""

import argparse
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

KEYCLOAK_PER_VCPU = 120


def hammer(host: str, method: str, path: str, *, clients: int, seconds: float, headers=None, body=None,
           server_pids=(), database_pids=()) -> dict:
    done, errors, lock = [], [], threading.Lock()
    server_cpu, database_cpu = c.cpu_seconds(server_pids), c.cpu_seconds(database_pids)
    deadline = time.monotonic() + seconds

    def loop():
        ok = failed = 0
        while time.monotonic() < deadline:
            try:
                status, _ = c.request(host, method, path, headers=headers, body=body)
            except OSError:
                status = 0
            if status == 200:
                ok += 1
            else:
                failed += 1
        with lock:
            done.append(ok)
            errors.append(failed)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    server_cpu = c.cpu_seconds(server_pids) - server_cpu
    database_cpu = c.cpu_seconds(database_pids) - database_cpu
    return {"per_second": sum(done) / elapsed, "ok": sum(done), "failed": sum(errors), "seconds": elapsed,
            "server_cpu": server_cpu, "database_cpu": database_cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=15, help="per measurement (bounded to 120)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (= cores used)")
    parser.add_argument("--code", type=Path, default=c.ROOT)
    args = parser.parse_args()
    seconds = min(args.seconds, 120)

    c.setup_django(args.code.resolve())
    c.migrate()
    from allauth.idp.oidc.models import Client

    tenant = c.bench_tenant("bench-tokens", "Bench Tokens")
    fast_id, fast_secret = c.app_credentials(tenant, ["User.Read.All"], f"bench fast {time.time():.0f}")
    slow_id, slow_secret = c.app_credentials(tenant, ["User.Read.All"], f"bench argon2 {time.time():.0f}")
    slow = Client.objects.get(pk=slow_id)
    slow.set_secret(slow_secret)  # allauth's default: make_password → Argon2
    slow.save(update_fields=["secret"])
    fast_scheme = Client.objects.get(pk=fast_id).secret.split("$", 1)[0]
    from django.db import connection

    connection.close()

    def form(client_id, secret):
        return urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                                       "client_secret": secret, "scope": ".default"}).encode()

    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    with c.Server(args.code.resolve(), workers=args.workers) as server:
        token = c.client_credentials_token(server.host, fast_id, fast_secret)
        runs = {}
        for label, method, path, headers, body in (
            ("GET /v1.0/organization (baseline)", "GET", "/v1.0/organization",
             {"Authorization": f"Bearer {token}"}, None),
            (f"token, secret stored as {fast_scheme}", "POST", "/identity/o/api/token", form_headers,
             form(fast_id, fast_secret)),
            ("token, secret stored as argon2 (allauth default)", "POST", "/identity/o/api/token", form_headers,
             form(slow_id, slow_secret)),
        ):
            for _ in range(2 * args.workers):  # warm the workers (and open their database connections)
                c.request(server.host, method, path, headers=headers, body=body)
            runs[label] = hammer(server.host, method, path, clients=args.clients, seconds=seconds,
                                 headers=headers, body=body, server_pids=server.worker_pids(),
                                 database_pids=c.database_backend_pids())

    print(f"gunicorn {args.workers} sync workers, {args.clients} concurrent clients, {seconds:.0f} s each; "
          f"Keycloak: {KEYCLOAK_PER_VCPU}/s per vCPU, goal ≥ {2 * KEYCLOAK_PER_VCPU}/s per core")
    baseline = runs["GET /v1.0/organization (baseline)"]
    print(f"{'':<50} {'per s':>8} {'per worker':>11} {'per core':>9} {'+database':>10}  per core ×baseline")
    for label, run in runs.items():
        per_worker = run["per_second"] / args.workers
        per_core = run["ok"] / run["server_cpu"] if run["server_cpu"] else float("nan")
        with_database = run["ok"] / (run["server_cpu"] + run["database_cpu"]) if run["server_cpu"] else float("nan")
        base_core = baseline["ok"] / baseline["server_cpu"] if baseline["server_cpu"] else float("nan")
        line = (f"{label:<50} {run['per_second']:8.1f} {per_worker:11.1f} {per_core:9.1f} {with_database:10.1f}  "
                f"{per_core / base_core:5.2f}×  ({run['ok']} ok, {run['failed']} failed; server CPU "
                f"{run['server_cpu']:.1f} s, database CPU {run['database_cpu']:.1f} s in {run['seconds']:.1f} s)")
        if label.startswith("token"):
            line += (f"  per core {per_core / KEYCLOAK_PER_VCPU:4.2f}× Keycloak"
                     f" ({with_database / KEYCLOAK_PER_VCPU:4.2f}× with the database)")
        print(line)


if __name__ == "__main__":
    main()
