"""Expiry warnings, set-based: "Extend access for [package] by [date]" to a batch of holders at once.

The sweep (:func:`entitlements.services.sweeps.assignments_warn_expiring`) hands :func:`warn_batch` the
assignments due for a warning; a batch of them is locked (``FOR UPDATE SKIP LOCKED``: rows another worker
holds are its), marked warned and mailed in the caller's transaction, so a worker killed mid-batch leaves
nothing half done and a second sweep finds nothing left. Each message is rendered once per tenant,
package, language and end date (its words carry the date) into a shared body
(:class:`directory.models.OutboxBody`); every holder's message points to it. The button opens the
tenant's My Access, where the holder extends: the same link for every holder, so nothing in a body is
per person.

On PostgreSQL a batch is five statements whatever its size: one locks and marks the batch and returns
its (tenant, package, language, end date) groups with their assignments' ids; the groups' tenants and
packages are read and their bodies written (three); then one ``INSERT … SELECT … ON CONFLICT (dedupe_key)
DO NOTHING`` writes the messages, the address (the holder's mail, else their user principal name; none
for an ``#EXT#`` name) and the dedupe key (assignment, end, lead time, address) filled in by the
database. Elsewhere (SQLite in development) the same rows are built in Python and bulk-inserted;
``tests/entitlements/test_expiry_warnings.py`` checks both paths write the same rows.
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

#: What the portable path reads of each due assignment.
_FIELDS = ("pk", "tenant_id", "package_id", "expires_at", "target__preferred_language", "target__mail",
           "target__user_principal_name")


def warn_batch(due, *, days: int, batch: int, set_based: bool | None = None) -> int:
    """Lock up to ``batch`` of the ``due`` assignments (a queryset), mark them warned ``days`` before
    their end and queue their holders' warnings, in the caller's transaction; how many were marked. A
    warning already queued is not queued again. ``set_based``: force (or refuse) the PostgreSQL
    statements; by default they run there."""
    due = due.select_for_update(of=("self",), skip_locked=True).order_by()
    if set_based is None:
        set_based = connection.vendor == "postgresql"
    return (_set_based if set_based else _portable)(due, days=days, batch=batch)


def _day(expires_at) -> datetime.date:
    """The end date the message names (UTC, as the row-by-row warning formatted it)."""
    return expires_at.astimezone(datetime.UTC).date()


def _rendered(groups: set) -> tuple[dict, dict]:
    """The subject and shared body of each (tenant, package, language, end date) group, and the tenants."""
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={g[0] for g in groups})}
    packages = dict(AccessPackage.objects.filter(pk__in={g[1] for g in groups}).values_list("pk", "display_name"))
    rendered = {}
    for tenant_id, package_id, language, day in groups:
        tenant = tenants[tenant_id]
        subject, text, html = emails.notice(kind="extend", language=language, tenant=tenant,
                                            package=packages[package_id], url=approvals.panel_url(tenant), date=day)
        rendered[(tenant_id, package_id, language, day)] = (subject[:998], OutboxBody(body_text=text, body_html=html))
    OutboxBody.objects.bulk_create([body for _subject, body in rendered.values()])
    return rendered, tenants


# --- PostgreSQL: a fixed number of statements per batch ------------------------------------------


def _set_based(due, *, days: int, batch: int) -> int:
    sql, params = due.values("pk")[:batch].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(_MARK_SQL.replace("{due}", sql), [*params, days])
        groups = cursor.fetchall()  # (tenant, package, language, day, [assignment ids])
        if not groups:
            return 0
        rendered, _tenants = _rendered({tuple(g[:4]) for g in groups})
        ids, index = [], []
        for n, group in enumerate(groups, start=1):
            ids.extend(group[4])
            index.extend([n] * len(group[4]))
        cursor.execute(_INSERT_SQL, {
            "ids": ids, "groups": index, "days": str(days), "queued": timezone.now(),
            "from": settings.DEFAULT_FROM_EMAIL, "r_subject": [rendered[tuple(g[:4])][0] for g in groups],
            "r_body": [rendered[tuple(g[:4])][1].pk for g in groups]})
        outbox_publish([row[0] for row in cursor.fetchall()])
    return len(ids)


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


_MARK_SQL = f"""
WITH due(id) AS ({{due}}),
marked AS (
    UPDATE {_t(Assignment)} a SET warned_days = %s FROM due WHERE a.id = due.id
    RETURNING a.id, a.tenant_id, a.package_id, a.expires_at, a.target_id
)
SELECT m.tenant_id, m.package_id, {emails.language_sql("u.preferred_language")},
       (m.expires_at AT TIME ZONE 'UTC')::date, array_agg(m.id)
FROM marked m JOIN {_t(User)} u ON u.id = m.target_id
GROUP BY 1, 2, 3, 4
"""  # noqa: S608

_INSERT_SQL = f"""
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


# --- elsewhere: the same rows built in Python ---------------------------------------------------------


def _address(mail: str, user_principal_name: str) -> str:
    address = mail or user_principal_name
    return "" if not address or "#EXT#" in address else address


def _dedupe(pk, expires_at, days: int, address: str) -> str:
    """One warning per assignment, end and lead time: an extended assignment is warned again."""
    return f"em:{pk}:extend:{expires_at.astimezone(datetime.UTC):%Y%m%d%H%M}:{days}:{address}"[:200]


def _portable(due, *, days: int, batch: int) -> int:
    rows = list(due.values_list(*_FIELDS)[:batch])
    if not rows:
        return 0
    Assignment.objects.filter(pk__in=[row[0] for row in rows]).update(warned_days=days)

    def group(row) -> tuple:
        return row[1], row[2], emails.language_code(row[4]), _day(row[3])

    rendered, tenants = _rendered({group(row) for row in rows})
    messages = []
    for row in rows:
        pk, tenant_id, _package_id, expires_at, _language, mail, user_principal_name = row
        address = _address(mail, user_principal_name)
        if not address:
            continue
        subject, body = rendered[group(row)]
        message = outbox_message(tenant=tenants[tenant_id], to=[address], subject=subject, body_text="",
                                 dedupe_key=_dedupe(pk, expires_at, days, address))
        message.shared_body = body
        messages.append(message)
    queued = set(OutboxMessage.objects.filter(dedupe_key__in=[m.dedupe_key for m in messages])
                 .values_list("dedupe_key", flat=True)) if messages else set()
    messages = [m for m in messages if m.dedupe_key not in queued]
    OutboxMessage.objects.bulk_create(messages, batch_size=len(messages) or 1)
    outbox_publish([m.pk for m in messages])
    return len(rows)
