"""Benchmark: the worker's CPU per delivered invitation e-mail, with directory.mime's bytes and with Django's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        /work/main/.venv/bin/python bench/outbox_mime.py [--mails 150] [--rounds 3]

Invitations are POSTed through django.test.Client (sendInvitationMessage: true) with ``CELERY_QUEUE`` set
to a queue no worker reads, so their messages stay pending in the outbox. Then, in this process, each
round delivers ``--mails`` of them with ``delivery.outbox_deliver`` (as the Celery task does: one call,
one SMTP connection per message) to an aiosmtpd sink in a process of its own, once with Django's path
(``sanitize_address`` + ``message().as_bytes()``, the code before directory.mime) and once with
``outbox_mime``, alternating which goes first; the figure is ``time.process_time()`` per mail. A second
part times building the envelope and bytes alone for one real invitation e-mail (µs per mail).
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c

sys.path.insert(0, str(c.ROOT))


def django_mime(email):
    """What delivery._write_until_end_of_data computed before directory.mime."""
    from django.conf import settings
    from django.core.mail.message import sanitize_address

    encoding = email.encoding or settings.DEFAULT_CHARSET
    return (sanitize_address(email.from_email, encoding),
            [sanitize_address(address, encoding) for address in email.recipients()],
            email.message().as_bytes(linesep="\r\n"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=150, help="per path and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--builds", type=int, default=2000, help="bytes built per path and round (second part)")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("Set REDIS_URL: the invitations' delivery tasks are published there, to a queue no one reads")
    os.environ.update({"CELERY_QUEUE": f"bench-nowhere-{uuid.uuid4().hex[:8]}",
                       "CACHE_URL": os.environ.get("CACHE_URL", redis_url)})
    sink = c.SinkProcess()
    received = sink.count
    os.environ["EMAIL_URL"] = sink.url
    c.setup_django(c.ROOT)
    c.migrate()
    from django.test import Client

    from directory import delivery
    from directory.mime import _encoded_header, outbox_mime
    from directory.models import OutboxMessage

    tenant = c.bench_tenant("bench-outbox-mime", "Bench Outbox Mime")
    client_id, secret = c.app_credentials(tenant, ["User.Invite.All"], f"bench {time.time():.0f}")
    client = Client()
    token = client.post("/identity/o/api/token", {"grant_type": "client_credentials", "client_id": client_id,
                                                  "client_secret": secret, "scope": ".default"}).json()["access_token"]
    needed = 2 * args.mails * args.rounds
    pending = list(OutboxMessage.objects.filter(tenant=tenant, status=OutboxMessage.Status.PENDING)
                   .values_list("pk", flat=True)[:needed])
    for _ in range(needed - len(pending)):
        response = client.post("/v1.0/invitations", json.dumps({
            "invitedUserEmailAddress": f"guest-{uuid.uuid4().hex[:10]}@fabrikam-bench.example",
            "inviteRedirectUrl": "https://example.com/", "sendInvitationMessage": True}),
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert response.status_code == 201, response.content[:300]
    pending = list(OutboxMessage.objects.filter(tenant=tenant, status=OutboxMessage.Status.PENDING)
                   .values_list("pk", flat=True)[:needed])
    sample = delivery._email(OutboxMessage.objects.get(pk=pending[0]))

    def deliver(ids, build) -> float:
        delivery.outbox_mime = build
        try:
            before = received.value
            started = time.process_time()
            for message_id in ids:
                assert delivery.outbox_deliver(message_id=message_id)
            spent = time.process_time() - started
            deadline = time.monotonic() + 30
            while received.value < before + len(ids) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert received.value == before + len(ids), "mail missing at the sink"
            return spent / len(ids)
        finally:
            delivery.outbox_mime = outbox_mime

    def build(function, cold: bool = False) -> float:
        spent = 0.0
        for _ in range(args.builds):
            if cold:  # the first mail with this subject in this process: its folding is not kept yet
                _encoded_header.cache_clear()
            started = time.process_time()
            function(sample)
            spent += time.process_time() - started
        return spent / args.builds

    deliver(pending[:10], outbox_mime)  # warm up: connections, imports, compiled queries
    pending = pending[10:]
    paths = {"django": django_mime, "fast": outbox_mime}
    per_mail = {name: [] for name in paths}
    per_build = {name: [] for name in [*paths, "fast, cold"]}
    for round_number in range(args.rounds):
        order = ["django", "fast"] if round_number % 2 == 0 else ["fast", "django"]
        for name in order:
            ids, pending = pending[:args.mails], pending[args.mails:]
            per_mail[name].append(deliver(ids, paths[name]))
        for name in order:
            per_build[name].append(build(paths[name]))
        per_build["fast, cold"].append(build(outbox_mime, cold=True))
        print(f"round {round_number + 1}: deliver CPU/mail django {per_mail['django'][-1] * 1e3:.2f} ms, "
              f"fast {per_mail['fast'][-1] * 1e3:.2f} ms (ratio {per_mail['fast'][-1] / per_mail['django'][-1]:.2f}); "
              f"build django {per_build['django'][-1] * 1e6:.0f} µs, fast {per_build['fast'][-1] * 1e6:.0f} µs "
              f"(cold {per_build['fast, cold'][-1] * 1e6:.0f} µs)")
    ratios = [f / d for f, d in zip(per_mail["fast"], per_mail["django"], strict=True)]
    build_ratios = [f / d for f, d in zip(per_build["fast"], per_build["django"], strict=True)]
    print(f"median: deliver CPU/mail django {statistics.median(per_mail['django']) * 1e3:.2f} ms → fast "
          f"{statistics.median(per_mail['fast']) * 1e3:.2f} ms (median ratio {statistics.median(ratios):.2f}); "
          f"build {statistics.median(per_build['django']) * 1e6:.0f} µs → "
          f"{statistics.median(per_build['fast']) * 1e6:.0f} µs "
          f"(median ratio {statistics.median(build_ratios):.3f}; "
          f"cold {statistics.median(per_build['fast, cold']) * 1e6:.0f} µs);"
          f" {len(sample.message().as_bytes())} bytes per mail")
    sink.stop()


if __name__ == "__main__":
    main()
