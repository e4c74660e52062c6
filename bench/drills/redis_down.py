"""Drill 2: Redis down for 60 s while invitations are created through the API and the admin console.

    .venv/bin/python bench/drills/redis_down.py [--outage 60] [--sweep-seconds 10]

Runs the project under gunicorn, a worker and beat on a private Redis, signs in to the console and
gets an API token, then stops Redis (the broker and the cache) for ``--outage`` seconds while it keeps
inviting through ``POST /v1.0/invitations`` and the console's "Invite external user" form, and keeps
guessing passwords at the sign-in page. Redis comes back empty (no persistence), as after a crash.
Passes when no request got a 500, no password guess was evaluated while the rate limiter was down
(each got a 503), and every invitation created got its e-mail exactly once after Redis was back.
"""

import collections
import re
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Drill, log, wait_until

PASSWORD = "drill-password-4711-correct"


def main() -> int:
    parser = harness.arguments(__doc__.split("\n\n")[0], limit=300)
    parser.add_argument("--outage", type=float, default=60, help="seconds Redis stays down")
    parser.add_argument("--sweep-seconds", type=int, default=10, help="beat's outbox sweep interval")
    args = parser.parse_args()

    with Drill("redis-down", limit=args.limit, keep=args.keep) as drill:
        drill.start_services()
        drill.extra_env.update({"OUTBOX_SWEEP_SECONDS": str(args.sweep_seconds)})
        harness.setup_django(drill)
        ok = run(drill, args)
    harness.print_figures(drill, as_json=args.json, ok=ok)
    return 0 if ok else 1


class Tally:
    """Answers per (phase, kind): status code counts and the slowest answer."""

    def __init__(self) -> None:
        self.codes: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
        self.slowest: dict[str, float] = collections.defaultdict(float)
        self.lock = threading.Lock()

    def add(self, phase: str, kind: str, code: int | str, seconds: float) -> None:
        with self.lock:
            self.codes[(phase, kind)][code] += 1
            self.slowest[kind] = max(self.slowest[kind], seconds)

    def count(self, code) -> int:
        return sum(counter[code] for counter in self.codes.values())

    def table(self) -> dict[str, dict]:
        return {f"{phase}/{kind}": dict(counter) for (phase, kind), counter in sorted(self.codes.items())}


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def run(drill: Drill, args) -> bool:
    import httpx

    from directory import services
    from directory.actors import Actor
    from directory.models import OutboxMessage
    from invitations.models import Invitation

    tenant, account, _actor = harness.tenant_with_admin(password=PASSWORD)
    _registration, client_id, secret = services.app_registration_create(
        actor=Actor.operator(), tenant=tenant, display_name="Drill app", application_permissions=["User.Invite.All"])
    drill.worker("worker")
    drill.beat()
    _web, base = drill.web()

    token = httpx.post(f"{base}/identity/o/api/token", data={
        "grant_type": "client_credentials", "client_id": client_id, "client_secret": secret, "scope": ".default"},
        timeout=30).json()["access_token"]
    console = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    page = console.get("/accounts/login/")
    answer = console.post("/accounts/login/", data={"csrfmiddlewaretoken": csrf_token(page.text),
                                                    "login": account.email, "password": PASSWORD},
                          headers={"Referer": f"{base}/accounts/login/"})
    if answer.status_code != 302:
        raise RuntimeError(f"console sign-in failed: {answer.status_code}")
    log("signed in to the console; API token issued")

    tally = Tally()
    # The phase a request ran in, from its start to its end: one that spans a change (Redis being stopped or
    # started while it ran) is counted under e.g. "before→stopping" or "outage→starting", not judged as in the
    # outage. (Labelled by its end alone, a guess the rate limiter refused while Redis was still stopping
    # counted as "evaluated during the outage": run 15 of helper batch's loop, 2026-11-26.)
    phase = ["before"]

    def span(start: str) -> str:
        return start if phase[0] == start else f"{start}→{phase[0]}"

    counter = iter(range(1_000_000))
    stop = threading.Event()

    def api_invite() -> None:
        n = next(counter)
        began, started = phase[0], time.monotonic()
        try:
            code = httpx.post(f"{base}/v1.0/invitations", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                              json={"invitedUserEmailAddress": f"api{n}@partner.example",
                                    "inviteRedirectUrl": "https://apps.partner.example/",
                                    "sendInvitationMessage": True}).status_code
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        tally.add(span(began), "api invite", code, time.monotonic() - started)

    def console_invite() -> None:
        n = next(counter)
        began, started = phase[0], time.monotonic()
        try:
            form = console.get("/admin/invitations/invitation/add/")
            code = form.status_code
            if code == 200:
                code = console.post("/admin/invitations/invitation/add/", data={
                    "csrfmiddlewaretoken": csrf_token(form.text), "tenant": str(tenant.pk),
                    "email": f"console{n}@partner.example", "display_name": f"Console {n}",
                    "redirect_url": "https://apps.partner.example/", "user_type": "Guest", "send_message": "on",
                    "message_language": "en"}, headers={"Referer": f"{base}/admin/"}).status_code
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        tally.add(span(began), "console invite", code, time.monotonic() - started)

    guesser = httpx.Client(base_url=base, timeout=30, follow_redirects=False)

    def guess_password() -> None:
        began, started = phase[0], time.monotonic()
        try:
            page = guesser.get("/accounts/login/")
            code = page.status_code
            if code == 200:
                answer = guesser.post("/accounts/login/", data={
                    "csrfmiddlewaretoken": csrf_token(page.text), "login": account.email,
                    "password": f"wrong-{next(counter)}"}, headers={"Referer": f"{base}/accounts/login/"})
                code = answer.status_code
                if code == 200 and "incorrect" in answer.text.lower():
                    code = "200 evaluated"
        except httpx.HTTPError as exc:
            code = type(exc).__name__
        tally.add(span(began), "password guess", code, time.monotonic() - started)

    def load(action, pause: float) -> None:
        while not stop.is_set():
            action()
            time.sleep(pause)

    threads = [threading.Thread(target=load, args=(action, pause), daemon=True)
               for action, pause in ((api_invite, 0.3), (console_invite, 0.5), (guess_password, 1.0))]
    for thread in threads:
        thread.start()
    time.sleep(8)
    phase[0] = "stopping"
    drill.redis.stop()
    phase[0] = "outage"
    log(f"PROVOKED: Redis stopped (broker and cache) for {args.outage:g} s under load")
    time.sleep(args.outage)
    phase[0] = "starting"
    drill.redis.start()
    phase[0] = "after"
    log("Redis is back (empty: no persistence)")
    time.sleep(10)
    stop.set()
    for thread in threads:
        thread.join(timeout=40)

    invitations = Invitation.objects.count()
    expected = {str(pk) for pk in OutboxMessage.objects.values_list("pk", flat=True)}
    log(f"{invitations} invitations created, {len(expected)} e-mails queued; waiting for the sweep")
    wait_until(lambda: len(harness.copies_by_outbox_id(drill.sink).keys() & expected) >= len(expected),
               timeout=drill.remaining(30), interval=0.5, what="every e-mail")
    time.sleep(min(args.sweep_seconds + 2.0, drill.remaining(10)))
    mail = harness.mail_figures(drill.sink, expected)
    outage_guesses = tally.codes[("outage", "password guess")]
    evaluated = sum(n for code, n in outage_guesses.items() if code not in (503,))
    server_errors = tally.count(500)
    without_mail = Invitation.objects.filter(send_message=True, send_count=0).count()
    drill.report(
        provoked=f"Redis (broker and cache) down {args.outage:g} s under API, console and sign-in load, "
                 "back empty",
        answers=tally.table(), server_errors_500=server_errors,
        password_guesses_evaluated_during_outage=evaluated,
        slowest_answer_seconds={k: round(v, 2) for k, v in tally.slowest.items()},
        invitations=invitations, invitations_without_queued_mail=without_mail, **mail,
    )
    return server_errors == 0 and evaluated == 0 and mail["lost"] == 0 and mail["duplicated"] == 0 \
        and without_mail == 0 and not any(isinstance(code, str) for c in tally.codes.values() for code in c
                                          if code != "200 evaluated")


if __name__ == "__main__":
    sys.exit(main())
