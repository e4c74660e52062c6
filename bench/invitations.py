"""Benchmark: POST /v1.0/invitations with sendInvitationMessage, mail delivered, against the baseline.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        /work/main/.venv/bin/python bench/invitations.py [--invitations 300] [--clients 2]

Starts an aiosmtpd sink (tests/support/smtp.py, in a process of its own), a real Celery worker (solo pool,
on a queue of its own) and gunicorn with two sync workers, all on 127.0.0.1, the server and the worker
sending mail to the sink.
``--clients`` concurrent clients POST ``--invitations`` invitations (new guests, sendInvitationMessage:
true); the rate is invitations whose e-mail reached the sink per second, from the first request to the
last message received. The baseline is GET /v1.0/organization requests per second with the same
clients on the same server. Goal: at least 0.5× the baseline.

``--rounds`` (5) repeats the measurement on the same server and worker; each round's ratio is printed and
the **median ratio** is the figure (a shared machine's load moves between runs: one pair of runs was 0.38×
or 0.54× depending on the hour; the median of interleaved rounds is what compares). Within a round the two
calls alternate in chunks of ``--chunk`` (100) requests, each chunk of invitations timed to its last mail,
so that both see the same stretches of the machine's speed.
Each round also prints the CPU time per request (baseline) and per invitation of each side that shares
the cores: the server's workers, the Celery worker, PostgreSQL's backends, the sink and the clients.
``--floor`` adds a third run to each round: the baseline's request, the invitation's writes replayed by plain SQL
and its e-mail through the same worker (:class:`Floor`), an invitation stripped of everything the product adds
around its rows and its mail: how close to the goal any server-side work can bring it.
``--code`` serves another checkout (a ``git archive`` of older code) with this script, sink and clients.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

sys.path.insert(0, str(c.ROOT))


def parallel(clients: int, total: int, call) -> float:
    """Run ``call(i)`` for i in range(total) over ``clients`` threads; seconds taken."""
    counter, lock = iter(range(total)), threading.Lock()

    def loop():
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            call(i)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - start


class Floor:
    """What an invitation must at least cost on this stack, measured beside it (``--floor``).

    One invitation is made in-process through ``POST /v1.0/invitations`` and the statements that *write*
    its rows are kept, with their parameters (the guest, its identity, the invitation, its e-mail in the
    outbox, the audit rows). A floor invitation is then: the baseline's request (``GET /v1.0/organization``
    on the server: token, throttle, middleware, a JSON answer), those same writes replayed by plain SQL with
    fresh ids in one committed transaction from the client's own connection, and the e-mail's task
    published to the real worker, which delivers it to the sink like any other. What it leaves out is
    what the product adds on top: parsing and checking the request, the reads (settings, domains, the
    existing guest, branding), rendering the message, compiling the ORM's statements."""

    def __init__(self, tenant, auth: dict):
        import re

        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from directory.models import AuditEvent, OutboxMessage, User
        from invitations.models import Invitation

        marker = f"floor{uuid.uuid4().hex[:10]}"
        email = f"{marker}@fabrikam-bench.example"
        body = json.dumps({"invitedUserEmailAddress": email, "inviteRedirectUrl": "https://example.com/",
                           "sendInvitationMessage": True})
        with CaptureQueriesContext(connection) as captured:
            response = Client().post("/v1.0/invitations", body, content_type="application/json",
                                     HTTP_AUTHORIZATION=auth["Authorization"])
        if response.status_code != 201:
            sys.exit(f"the floor's template invitation answered {response.status_code}: {response.content[:300]!r}")
        self.statements = [q["sql"] for q in captured.captured_queries
                           if q["sql"].startswith(("INSERT", "WITH")) and " INSERT INTO " in f" {q['sql']}"]
        user = User.objects.get(tenant=tenant, mail=email)
        invitation = Invitation.objects.get(invited_user=user)
        outbox = OutboxMessage.objects.get(dedupe_key__startswith=f"invitation:{invitation.pk}:")
        audits = list(AuditEvent.objects.filter(tenant=tenant, search_keys__holds=f"t:{email}"))
        fresh = [user.pk, invitation.pk, outbox.pk, *(a.pk for a in audits), *{a.correlation_id for a in audits}]
        self.ids = [str(i) for i in fresh if i]
        self.outbox_index = self.ids.index(str(outbox.pk))
        self.texts = [marker, invitation.token_hash]
        text = "\n".join(self.statements)
        for value in [*self.ids, *self.texts]:
            if value.replace("-", "") not in text.replace("-", ""):
                sys.exit(f"the floor cannot find {value} in the captured statements")
        self._pattern = re.compile("|".join(
            re.escape(v) for v in sorted({*self.ids, *(i.replace("-", "") for i in self.ids), *self.texts},
                                         key=len, reverse=True)))
        self.local = threading.local()

    def prepare(self, count: int) -> None:
        """Write ``count`` invitations' statements with fresh ids and texts, before the timed run (the text
        substitution is the bench's work, not an invitation's)."""
        self.prepared = []
        for _ in range(count):
            mapping = {}
            new_ids = [uuid.uuid4() for _ in self.ids]
            for old, new in zip(self.ids, new_ids, strict=True):
                mapping[old] = str(new)
                mapping[old.replace("-", "")] = new.hex
            mapping[self.texts[0]] = f"floor{uuid.uuid4().hex[:10]}"
            mapping[self.texts[1]] = uuid.uuid4().hex + uuid.uuid4().hex
            self.prepared.append(([self._pattern.sub(lambda m, mapping=mapping: mapping[m.group(0)], statement)
                                   for statement in self.statements], str(new_ids[self.outbox_index])))

    def write(self, i: int) -> str:
        """Run the ``i``-th prepared invitation's writes in one committed transaction; its e-mail's id."""
        import psycopg
        from django.db import connection

        conn = getattr(self.local, "conn", None)
        if conn is None:
            db = connection.settings_dict
            conn = self.local.conn = psycopg.connect(dbname=db["NAME"], user=db["USER"], password=db["PASSWORD"],
                                                     host=db["HOST"], port=db["PORT"] or 5432)
        statements, outbox_id = self.prepared[i]
        with conn.transaction(), conn.cursor() as cursor:
            for statement in statements:  # no parameters: the text is sent as it is
                cursor.execute(statement)
        return outbox_id

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invitations", type=int, default=150, help="per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=100,
                        help="requests of one call before the round switches to the other (see the round loop)")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--code", type=Path, default=c.ROOT)
    parser.add_argument("--floor", action="store_true",
                        help="also measure the floor: the baseline's request + the invitation's writes by plain SQL "
                             "+ its e-mail through the worker (see Floor)")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("Set REDIS_URL (the worker's broker), e.g. redis://127.0.0.1:6379/6")
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    os.environ.update({"CELERY_QUEUE": queue, "OUTBOX_RETRY_BASE_SECONDS": "1",
                       "CACHE_URL": os.environ.get("CACHE_URL", redis_url), "CACHE_KEY_PREFIX": f"bench-{queue}"})
    sink = c.SinkProcess()
    os.environ["EMAIL_URL"] = sink.url
    c.setup_django(args.code.resolve())
    c.migrate()
    tenant = c.bench_tenant("bench-invitations", "Bench Invitations")
    client_id, secret = c.app_credentials(tenant, ["User.Invite.All", "User.Read.All"], f"bench {time.time():.0f}")
    from django.db import connection

    connection.close()

    worker_log = Path(f"/tmp/bench-worker-{queue}.log")
    celery = Path(sys.executable).parent / "celery"
    with worker_log.open("wb") as log:
        worker = subprocess.Popen(
            [str(celery), "-A", "config", "worker", "--pool=solo", "-Q", queue, "-n", f"{queue}@%h",
             "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
            # Configured as the server is (c.Server): a deployment gives its web and Celery workers one
            # environment, and README's DB_CONN_MAX_AGE counts Celery's processes among the connections kept.
            cwd=args.code.resolve(), env={**os.environ, "PYTHONUNBUFFERED": "1", "DB_CONN_MAX_AGE": "600"}, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while " ready." not in worker_log.read_text(errors="replace"):
            if worker.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the Celery worker did not start:\n{worker_log.read_text(errors='replace')}")
            time.sleep(0.2)
        with c.Server(args.code.resolve()) as server:
            token = c.client_credentials_token(server.host, client_id, secret)
            auth = {"Authorization": f"Bearer {token}"}
            post_headers = {**auth, "Content-Type": "application/json"}
            run_id = ""
            failures = []

            def invite(i):
                body = json.dumps({"invitedUserEmailAddress": f"guest{i}-{run_id}-"
                                   f"{uuid.uuid4().hex[:4]}@fabrikam-bench.example",
                                   "inviteRedirectUrl": "https://example.com/", "sendInvitationMessage": True})
                status, data = c.request(server.host, "POST", "/v1.0/invitations", headers=post_headers,
                                         body=body.encode())
                if status != 201:
                    failures.append((status, data[:200]))

            def organization(i):
                c.request(server.host, "GET", "/v1.0/organization", headers=auth)

            # Warm up both calls, the invitations with their mail delivered (the baseline alone was): the POST's
            # first runs in each server worker prepare its statements and build its e-mail skeletons.
            parallel(args.clients, 20, organization)
            run_id = "warm"
            parallel(args.clients, 20, invite)
            sink.wait_for(20 - len(failures), timeout=60)
            if failures:
                sys.exit(f"warming up, {len(failures)} invitations failed: {failures[:2]}")
            floor = Floor(tenant, auth) if args.floor else None
            if floor is not None:
                from directory import queue as product_queue

                def floor_invite(i):
                    c.request(server.host, "GET", "/v1.0/organization", headers=auth)
                    outbox_id = floor.write(i)
                    if hasattr(product_queue, "wake"):  # the e-mail is handed over as the served code does
                        product_queue.wake("directory.outbox_drain")
                    else:
                        product_queue.publish("directory.outbox_deliver", outbox_id)
            rounds, floors = [], []
            server_pids = server.worker_pids()

            def cpu_by_side() -> dict:
                """CPU seconds so far of each process (or thread) that shares the machine's cores."""
                return {"server": c.cpu_seconds(server_pids), "worker": c.cpu_seconds([worker.pid]),
                        "database": c.cpu_seconds(c.database_backend_pids()), "sink": c.cpu_seconds([sink.process.pid]),
                        "clients": c.cpu_seconds([os.getpid()])}
            sides = ("server", "worker", "database", "sink", "clients")
            for round_number in range(args.rounds):
                run_id = uuid.uuid4().hex[:6]
                failures.clear()
                # The round alternates the two calls in chunks of --chunk, each invitation chunk timed until its
                # last mail arrived: both see the same stretches of a shared machine's speed, which moved by
                # ±20 % from one round to the next here (CPU ms per baseline request 11.5-16.2).
                baseline_seconds = posted_seconds = delivered_seconds = 0.0
                expected = received = 0
                cpu_baseline = dict.fromkeys(sides, 0.0)
                cpu_invitations = dict.fromkeys(sides, 0.0)
                for chunk_start in range(0, args.invitations, args.chunk):
                    count = min(args.chunk, args.invitations - chunk_start)
                    cpu_start = cpu_by_side()
                    baseline_seconds += parallel(args.clients, count, organization)
                    cpu_middle = cpu_by_side()
                    failed_before = len(failures)
                    sink.clear()
                    start = time.monotonic()
                    posted_seconds += parallel(args.clients, count, lambda i, offset=chunk_start: invite(offset + i))
                    chunk_expected = count - (len(failures) - failed_before)
                    sink.wait_for(chunk_expected, timeout=max(120, count))  # what is missing is reported below
                    delivered_seconds += time.monotonic() - start
                    cpu_end = cpu_by_side()
                    expected += chunk_expected
                    received += sink.received
                    for side in sides:
                        cpu_baseline[side] += cpu_middle[side] - cpu_start[side]
                        cpu_invitations[side] += cpu_end[side] - cpu_middle[side]
                baseline = args.invitations / baseline_seconds
                delivered = received / delivered_seconds
                rounds.append((baseline, expected / posted_seconds, delivered, list(failures), expected - received))
                print(f"round {round_number + 1}: baseline {baseline:6.1f}/s, answered {expected / posted_seconds:6.1f}/s, "
                      f"delivered {delivered:6.1f}/s = {delivered / baseline:4.2f}× baseline", flush=True)
                print("  CPU ms per request, baseline | per invitation: " + ", ".join(
                    f"{side} {cpu_baseline[side] * 1000 / args.invitations:.1f} | "
                    f"{cpu_invitations[side] * 1000 / max(received, 1):.1f}"
                    for side in sides), flush=True)
                if floor is not None:
                    floor.prepare(args.invitations)
                    cpu_floor_start = cpu_by_side()
                    sink.clear()
                    start = time.monotonic()
                    parallel(args.clients, args.invitations, floor_invite)
                    sink.wait_for(args.invitations, timeout=max(120, args.invitations))
                    floor_rate = sink.received / (time.monotonic() - start)
                    cpu_floor = cpu_by_side()
                    floors.append(floor_rate / baseline)
                    print(f"  floor: {floor_rate:6.1f}/s delivered = {floor_rate / baseline:4.2f}× baseline; CPU ms per "
                          "floor invitation: " + ", ".join(
                              f"{side} {(cpu_floor[side] - cpu_floor_start[side]) * 1000 / max(sink.received, 1):.1f}"
                              for side in sides), flush=True)
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
        sink.stop()

    ratios = sorted(delivered / baseline for baseline, _answered, delivered, _failures, _missing in rounds)
    median = statistics.median(ratios)
    print(f"{args.clients} clients, gunicorn 2 sync workers, Celery worker (solo), aiosmtpd sink, "
          f"{args.rounds} rounds of {args.invitations} invitations")
    print(f"baseline GET /v1.0/organization (median)    {statistics.median(r[0] for r in rounds):7.1f}/s")
    print(f"POST /invitations answered (201, median)     {statistics.median(r[1] for r in rounds):7.1f}/s")
    print(f"invitations with mail delivered (median)    {statistics.median(r[2] for r in rounds):7.1f}/s")
    print(f"ratio per round {', '.join(f'{r:.2f}' for r in ratios)}; median {median:.2f}× baseline  "
          f"goal ≥ 0.5× {'met' if median >= 0.5 else 'MISSED'}")
    if floors:
        print(f"floor (the baseline's request + the same writes by plain SQL + the e-mail through the worker): "
              f"{', '.join(f'{r:.2f}' for r in sorted(floors))}; median {statistics.median(floors):.2f}× baseline")
    failed = [f for r in rounds for f in r[3]]
    missing = sum(r[4] for r in rounds)
    if failed or missing:
        print(f"({len(failed)} failed: {failed[:2]}; {missing} mails not delivered in time)")


if __name__ == "__main__":
    main()
