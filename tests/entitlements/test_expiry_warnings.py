"""Expiry warnings ("Extend access for [package] by [date]", 14 days and 1 day before the end), set-based:
a batch costs the same statements whatever its size, the PostgreSQL statement and the portable path write
the same rows, a sweep run twice or killed mid-batch leaves nothing doubled or half done."""

from datetime import UTC

import pytest
from django.db import connection, transaction
from django.utils import formats

from directory.actors import Actor
from directory.models import OutboxBody, OutboxMessage
from entitlements import services
from entitlements.models import Assignment
from entitlements.services import expiry_warnings
from tests.factories import GuestFactory

from .scenario import later, member, system, tailwind

pytestmark = pytest.mark.django_db

PATHS = [
    pytest.param(False, id="portable"),
    pytest.param(True, id="postgresql", marks=pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the set-based statement is PostgreSQL's")),
]
SUBJECT = "Extend access for Campaign collaboration by"


def _setup(slug="tailwind", extendable=True):
    s = tailwind(slug=slug)
    s.package_policy = s.policy(enable_targets_to_self_update=extendable)
    return s


def _give(s, user):
    request = services.request_admin_add(actor=s.admin_actor, package=s.package, policy=s.package_policy, target=user)
    services.request_deliver(actor=system(), request_id=request.pk)
    return Assignment.objects.get(target=user, package=s.package, state="delivered")


def _warn(set_based, **delta) -> int:
    return services.assignments_warn_expiring(actor=system(), now=later(**delta), set_based=set_based)


def _warnings(**filters):
    return OutboxMessage.objects.filter(dedupe_key__contains=":extend:", **filters)


@pytest.mark.parametrize("set_based", PATHS)
def test_holders_are_warned_14_days_and_1_day_before_once_each(set_based):
    s = _setup()
    ann = member(s)
    assignment = _give(s, ann)
    assert _warn(set_based, days=10) == 0
    assert _warn(set_based, days=17) == 1
    assert _warn(set_based, days=18) == 0
    assert _warn(set_based, days=29, hours=1) == 1
    assert _warn(set_based, days=29, hours=2) == 0
    messages = list(_warnings(to=[ann.mail]).order_by("dedupe_key"))
    assert len(messages) == 2 and all(m.subject.startswith(SUBJECT) for m in messages)
    assert {m.dedupe_key.split(":")[-2] for m in messages} == {"1", "14"}
    day = formats.date_format(assignment.expires_at.astimezone(UTC).date(), "DATE_FORMAT")
    message = messages[0]
    assert message.shared_body_id and message.body_text == ""  # the words are the shared body's
    assert f"ends on {day}" in message.text and message.subject == f"{SUBJECT} {day}"
    assert f"/t/{s.tenant.slug}/" in message.text and "Extend access" in message.html
    assert Assignment.objects.get(pk=assignment.pk).warned_days == 1


@pytest.mark.parametrize("set_based", PATHS)
def test_a_policy_that_does_not_let_holders_extend_sends_no_warning(set_based):
    s = _setup(extendable=False)
    _give(s, member(s))
    assert _warn(set_based, days=17) == 0
    assert not _warnings().exists()


@pytest.mark.parametrize("set_based", PATHS)
def test_an_extended_assignment_is_warned_again_for_its_new_end(set_based, django_capture_on_commit_callbacks):
    s = _setup()
    ann = member(s)
    assignment = _give(s, ann)
    # Delivered 17 days ago: 13 days left, so warned today.
    Assignment.objects.filter(pk=assignment.pk).update(start_at=later(days=-17), expires_at=later(days=13))
    assert _warn(set_based) == 1
    assignment.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.request_extend(actor=Actor.for_user(ann), assignment=assignment)
    assignment.refresh_from_db()
    assert assignment.expires_at > later(days=29) and assignment.warned_days == 0
    assert _warn(set_based, days=17) == 1
    warnings = list(_warnings(to=[ann.mail]))
    assert len(warnings) == 2 and len({m.subject for m in warnings}) == 2  # each names its own end date


@pytest.mark.parametrize("set_based", PATHS)
def test_each_holder_reads_their_language_and_one_body_serves_many(set_based):
    s = _setup()
    people = [member(s, preferred_language=language) for language in ("", "de-DE", "en-GB", "DE", "fr")]
    for person in people:
        _give(s, person)
    bodies = OutboxBody.objects.count()
    assert _warn(set_based, days=17) == 5
    german = {m.to[0] for m in _warnings() if m.subject.startswith("Zugriff auf Campaign collaboration bis")}
    assert german == {people[1].mail, people[3].mail}
    assert OutboxBody.objects.count() - bodies == 2  # English and German, shared by the five messages


@pytest.mark.parametrize("set_based", PATHS)
def test_the_address_is_the_mail_else_the_principal_name_and_never_an_ext_name(set_based):
    s = _setup()
    no_mail = member(s, mail="")
    guest_without_mail = GuestFactory(tenant=s.tenant, mail="", external_user_state="Accepted")
    for person in (no_mail, guest_without_mail):
        _give(s, person)
    assert _warn(set_based, days=17) == 2  # both warned (marked), one mailed
    assert [m.to for m in _warnings()] == [[no_mail.user_principal_name]]
    assert Assignment.objects.filter(warned_days=14).count() == 2


@pytest.mark.parametrize("set_based", PATHS)
def test_a_warning_already_queued_is_not_queued_twice(set_based):
    s = _setup()
    assignment = _give(s, member(s))
    assert _warn(set_based, days=17) == 1
    Assignment.objects.filter(pk=assignment.pk).update(warned_days=0)  # as if the mark were lost
    assert _warn(set_based, days=17) == 1
    assert _warnings().count() == 1


@pytest.mark.parametrize("set_based", PATHS)
def test_a_sweep_killed_mid_batch_leaves_nothing_half_done(set_based, monkeypatch):
    s = _setup()
    holders = [member(s) for _ in range(3)]
    for person in holders:
        _give(s, person)

    def die(*args, **kwargs):
        raise RuntimeError("worker killed")

    with transaction.atomic():  # the test's own transaction stands in for the database's
        # The last step of a batch (after the mark and the messages were written).
        monkeypatch.setattr(expiry_warnings, "outbox_publish", die)
        with pytest.raises(RuntimeError):
            _warn(set_based, days=17)
        monkeypatch.undo()
    assert not Assignment.objects.exclude(warned_days=0).exists()
    assert not _warnings().exists()
    assert _warn(set_based, days=17) == 3
    assert _warnings().count() == 3


def _bulk_holders(s, count: int) -> None:
    """``count`` delivered assignments ending in 20 days (on the same day: one body per language)."""
    from directory.models import User

    ends = later(days=20).replace(hour=12, minute=0)
    users = User.objects.bulk_create(
        User(tenant=s.tenant, user_principal_name=f"h{n}@{s.tenant.initial_domain}",
             mail=f"h{n}@{s.tenant.initial_domain}", display_name=f"Holder {n}",
             preferred_language="de" if n % 3 == 0 else "")
        for n in range(count))
    Assignment.objects.bulk_create(
        Assignment(tenant=s.tenant, package=s.package, policy=s.package_policy, target=u, state="delivered",
                   status="Delivered", expires_at=ends) for u in users)


@pytest.mark.parametrize("set_based", PATHS)
@pytest.mark.parametrize("count", [5, 200])
def test_a_batch_runs_the_same_statements_for_5_or_200_holders(set_based, count, django_assert_max_num_queries):
    s = _setup()
    _bulk_holders(s, count)
    # Per lead time a batch and an empty look (in savepoints here). The batch on PostgreSQL: lock and mark,
    # tenants, packages, branding (a per-process cache), bodies, one INSERT … SELECT for the messages; the
    # portable path locks and marks in two, looks at the dedupe keys, and bulk-inserts (SQLite alone splits
    # that by its cap on a statement's parameters).
    inserts = len(range(0, count, connection.ops.bulk_batch_size(OutboxMessage._meta.concrete_fields, [None] * count)))
    with django_assert_max_num_queries(14 if set_based else 15 + inserts):
        assert services.assignments_warn_expiring(actor=system(), now=later(days=7), set_based=set_based) == count
    assert _warnings().count() == count


@pytest.mark.skipif(connection.vendor != "postgresql", reason="compares the PostgreSQL statement")
def test_the_postgresql_statement_writes_the_rows_the_portable_path_writes():
    def run(set_based: bool, slug: str):
        s = _setup(slug=slug)
        people = [member(s, preferred_language=language, mail=mail, user_principal_name=f"p{n}@{slug}.example")
                  for n, (language, mail) in enumerate((("", f"p0@{slug}.example"), ("de-DE", f"p1@{slug}.example"),
                                                        ("en", "")))]
        people.append(GuestFactory(tenant=s.tenant, mail="", external_user_state="Accepted"))
        ids = [_give(s, person).pk for person in people]
        assert _warn(set_based, days=17) == 4
        replace = {str(s.tenant.pk): "T", slug: "S", **{str(pk): f"X{n}" for n, pk in enumerate(ids)}}

        def neutral(value):
            text = str(value)
            for old, new in replace.items():
                text = text.replace(old, new)
            return text

        return sorted(neutral((m.to, m.cc, m.from_email, m.subject, m.text, m.html, m.body_text, m.body_html,
                               m.dedupe_key, m.status, m.attempts, m.secrets, m.last_error,
                               m.shared_body_id is not None))
                      for m in OutboxMessage.objects.filter(tenant=s.tenant, dedupe_key__contains=":extend:"))

    portable = run(False, "tailwind-a")
    statement = run(True, "tailwind-b")
    assert len(portable) == 3
    assert any("Zugriff" in mail for mail in portable)  # the German holder's message is German
    assert statement == portable


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_share_the_work_and_warn_each_holder_once():
    """A batch another worker holds is skipped (FOR UPDATE SKIP LOCKED), not waited for or warned twice;
    once it is released, the next sweep finds only what is left."""
    import threading

    from django.db import connections

    s = _setup()
    _bulk_holders(s, 6)
    held = list(Assignment.objects.order_by("pk").values_list("pk", flat=True)[:2])
    locked, release, done = threading.Event(), threading.Event(), threading.Event()

    def other_worker():  # holds two rows as a worker mid-batch would
        try:
            with transaction.atomic():
                list(Assignment.objects.select_for_update().filter(pk__in=held))
                locked.set()
                release.wait(30)
        finally:
            connections.close_all()
            done.set()

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert locked.wait(30)
    try:
        assert _warn(True, days=7) == 4
        assert set(Assignment.objects.filter(warned_days=0).values_list("pk", flat=True)) == set(held)
    finally:
        release.set()
        thread.join(30)
    assert _warn(True, days=7) == 2
    assert _warn(True, days=7) == 0
    assert _warnings().count() == 6
