"""Expiry warnings, set-based: "Extend access for [package] by [date]" to a batch of holders at once.

The sweep (:func:`entitlements.services.sweeps.assignments_warn_expiring`) locks a batch of due
assignments, marks them warned and calls :func:`warnings_queue` in the same transaction. Each message is
rendered once per tenant, package, language and end date (its words carry the date) into a shared body
(:class:`directory.models.OutboxBody`); every holder's message points to it. The button opens the
tenant's My Access, where the holder extends: the same link for every holder, so nothing in a body is
per person.

On PostgreSQL the messages are one ``INSERT … SELECT … ON CONFLICT (dedupe_key) DO NOTHING``: the
address (the holder's mail, else their user principal name; none for a ``#EXT#`` name) and the dedupe key
(assignment, end, lead time, address) are filled in by the database. Elsewhere (SQLite in development)
the same rows are built in Python and bulk-inserted; ``tests/entitlements/test_expiry_warnings.py``
checks both paths write the same rows. Either way a batch costs the same number of statements whatever
its size.
"""

import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from directory.models import OutboxBody, OutboxMessage, Tenant, User
from directory.services import outbox_message, outbox_publish

from .. import emails
from ..models import AccessPackage, Assignment
from . import approvals

#: What the sweep reads of each due assignment (in this order): the row tuples :func:`warnings_queue` takes.
FIELDS = ("pk", "tenant_id", "package_id", "expires_at", "target__preferred_language", "target__mail",
          "target__user_principal_name")


def _day(expires_at) -> datetime.date:
    """The end date the message names (UTC, as the row-by-row warning formatted it)."""
    return expires_at.astimezone(datetime.UTC).date()


def _address(mail: str, user_principal_name: str) -> str:
    address = mail or user_principal_name
    return "" if not address or "#EXT#" in address else address


def _dedupe(pk, expires_at, days: int, address: str) -> str:
    """One warning per assignment, end and lead time: an extended assignment is warned again."""
    return f"em:{pk}:extend:{expires_at.astimezone(datetime.UTC):%Y%m%d%H%M}:{days}:{address}"[:200]


def _rendered(rows: list) -> tuple[dict, dict]:
    """The subject and shared body of each (tenant, package, language, end date) of the batch, and the
    batch's tenants."""
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={r[1] for r in rows})}
    packages = dict(AccessPackage.objects.filter(pk__in={r[2] for r in rows}).values_list("pk", "display_name"))
    rendered = {}
    for tenant_id, package_id, language, day in sorted({(r[1], r[2], emails.language_code(r[4]), _day(r[3]))
                                                        for r in rows}, key=str):
        tenant = tenants[tenant_id]
        subject, text, html = emails.notice(kind="extend", language=language, tenant=tenant,
                                            package=packages[package_id], url=approvals.panel_url(tenant), date=day)
        rendered[(tenant_id, package_id, language, day)] = (subject[:998], OutboxBody(body_text=text, body_html=html))
    OutboxBody.objects.bulk_create([body for _subject, body in rendered.values()])
    return rendered, tenants


def _group(row) -> tuple:
    return row[1], row[2], emails.language_code(row[4]), _day(row[3])


def warnings_queue(rows: list, *, days: int, set_based: bool | None = None) -> None:
    """Queue the warning ``days`` before the end to the holders of these assignments (rows of
    :data:`FIELDS`, locked by the caller), in the caller's transaction. A warning already queued is not
    queued again. ``set_based``: force (or refuse) the PostgreSQL statement; by default it runs there."""
    if not rows:
        return
    rendered, tenants = _rendered(rows)
    if set_based is None:
        set_based = connection.vendor == "postgresql"
    if set_based:
        keys = list(rendered)
        index = {key: n for n, key in enumerate(keys, start=1)}
        with connection.cursor() as cursor:
            cursor.execute(_SQL, {
                "ids": [r[0] for r in rows], "groups": [index[_group(r)] for r in rows], "days": str(days),
                "queued": timezone.now(), "from": settings.DEFAULT_FROM_EMAIL,
                "r_subject": [rendered[k][0] for k in keys], "r_body": [rendered[k][1].pk for k in keys]})
            outbox_publish([row[0] for row in cursor.fetchall()])
        return
    messages = []
    for pk, tenant_id, _package_id, expires_at, _language, mail, user_principal_name in rows:
        address = _address(mail, user_principal_name)
        if not address:
            continue
        subject, body = rendered[_group((pk, tenant_id, _package_id, expires_at, _language))]
        message = outbox_message(tenant=tenants[tenant_id], to=[address], subject=subject, body_text="",
                                 dedupe_key=_dedupe(pk, expires_at, days, address))
        message.shared_body = body
        messages.append(message)
    queued = set(OutboxMessage.objects.filter(dedupe_key__in=[m.dedupe_key for m in messages])
                 .values_list("dedupe_key", flat=True)) if messages else set()
    messages = [m for m in messages if m.dedupe_key not in queued]
    OutboxMessage.objects.bulk_create(messages, batch_size=len(messages) or 1)
    outbox_publish([m.pk for m in messages])


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


_SQL = f"""
INSERT INTO {_t(OutboxMessage)} (id, tenant_id, dedupe_key, from_email, "to", cc, subject, body_text, body_html,
    shared_body_id, secrets, status, attempts, created_at, next_attempt_at, last_error)
SELECT gen_random_uuid(), a.tenant_id,
       left('em:' || a.id::text || ':extend:' || to_char(a.expires_at AT TIME ZONE 'UTC', 'YYYYMMDDHH24MI')
            || ':' || %(days)s::text || ':' || x.address, 200),
       %(from)s::text, jsonb_build_array(x.address), '[]'::jsonb, r.subject, '', '', r.body_id, '[]'::jsonb,
       'pending', 0, %(queued)s::timestamptz, %(queued)s::timestamptz, ''
FROM unnest(%(ids)s::uuid[], %(groups)s::int[]) AS e(id, g)
JOIN {_t(Assignment)} a ON a.id = e.id
JOIN {_t(User)} u ON u.id = a.target_id
CROSS JOIN LATERAL (SELECT coalesce(nullif(u.mail, ''), u.user_principal_name) AS address) x
JOIN unnest(%(r_subject)s::text[], %(r_body)s::uuid[]) WITH ORDINALITY AS r(subject, body_id, g) ON r.g = e.g
WHERE x.address <> '' AND strpos(x.address, '#EXT#') = 0
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
"""  # noqa: S608
