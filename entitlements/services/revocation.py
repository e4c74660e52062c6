"""Taking access away, set-based: the expiry sweep ends tens of thousands of assignments at once.

:func:`assignments_revoke` ends a batch of assignments and removes the access only they held: a group
membership, ownership or app assignment is removed when it is *managed* (held only for entitlement
management, :class:`directory.models.ManagedAccess`: not held directly, before or after delivery) and no
other active assignment holds it. Every ended assignment and every removed access is audited; every
holder is mailed "Access has ended".

On PostgreSQL the work is a fixed number of statements per batch, whatever its size: the removals,
their audit rows and search keys in one statement (``DELETE … RETURNING`` feeding ``INSERT … SELECT``),
the assignments' audit rows in another, the e-mails in a third (``INSERT … SELECT … ON CONFLICT
(dedupe_key) DO NOTHING``), each message rendered once per tenant, package and language and filled in by
the database. Elsewhere (SQLite in development) the same rows are built in Python and bulk-inserted;
``tests/entitlements/test_revocation.py`` checks both paths write the same rows.

Differences from the rows :func:`directory.audit.audit` writes: a batch shares one correlation id, and
the search keys are lower-cased by the database (``lower``), not Python's ``casefold`` (they differ only
for a few letters such as ß).
"""

import uuid
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from directory.actors import Actor, require_actor
from directory.audit import ACTIVITIES, Change, Target, audit_event, audit_save, search_keys
from directory.models import (
    Application,
    AppRoleAssignment,
    AuditEvent,
    AuditKey,
    Group,
    ManagedAccess,
    OutboxBody,
    OutboxMessage,
    Tenant,
    User,
)
from directory.services import outbox_message, outbox_publish
from directory.signals import memberships_changed

from .. import emails
from ..models import AccessPackage, Assignment, CatalogResource, ExternalUserLifecycle, Grant, ResourceRole
from . import approvals

ACTIVE = [str(s) for s in Assignment.ACTIVE_STATES]
REASON = {"reason": "Access package assignment ended"}
#: A resource role → the managed access it is, and the audit activity of removing it.
KINDS = {
    ResourceRole.MEMBER: (ManagedAccess.Kind.MEMBER, "Remove member from group"),
    ResourceRole.OWNER: (ManagedAccess.Kind.OWNER, "Remove owner from group"),
    ResourceRole.DEFAULT_ACCESS: (ManagedAccess.Kind.APP, "Remove app role assignment from user"),
}


def assignments_revoke(*, actor: Actor, assignment_ids, ended_by: str, now=None, set_based: bool | None = None) -> int:
    """End these assignments (``ended_by``: "expired" by the sweep, "removed" by a person) and remove the
    access only they gave, in the caller's transaction, in a fixed number of statements. Assignments that
    are not active any more are skipped, so running it twice changes nothing. ``set_based``: force (or
    refuse) the PostgreSQL statements; by default they run on PostgreSQL."""
    require_actor(actor)
    now = now or timezone.now()
    if set_based is None:
        set_based = connection.vendor == "postgresql"
    rows = _locked_active(list(assignment_ids), set_based)
    if not rows:
        return 0
    # A person removes in one tenant, authorized by the caller (request_remove).
    if not actor.is_platform and (len({r[1] for r in rows}) != 1 or not actor.acts_in(rows[0][1])):
        raise PermissionDenied(_("You do not have permission to do this."))
    ids = [r[0] for r in rows]
    expired = ended_by == "expired"
    activity = "Access package assignment expired" if expired else "Remove access package assignment"
    changes = {"state": Assignment.State.EXPIRED, "status": "Expired" if expired else "Removed", "expired_at": now}
    if set_based:
        _Statements(actor, rows, activity=activity, now=now).run(changes)
    else:
        Assignment.objects.filter(pk__in=ids).update(**changes)
        # The external-user lifecycle's trigger: the block sweep looks at these guests (those left with no
        # active assignment are blocked; see lifecycle.external_users_block_due).
        ExternalUserLifecycle.objects.filter(user_id__in={r[3] for r in rows}, governed=True).update(
            access_ended_at=now)
        _in_python(actor, rows, activity=activity, now=now)
    return len(ids)


def _locked_active(ids: list, set_based: bool) -> list:
    """(id, tenant, package, target, state) of the assignments still active among ``ids``, locked. On
    PostgreSQL the ids travel as one array (a list of 10,000 placeholders costs more to bind than to run)."""
    if not set_based:
        return list(Assignment.objects.select_for_update(of=("self",)).filter(
            pk__in=ids, state__in=Assignment.ACTIVE_STATES).order_by()
            .values_list("pk", "tenant_id", "package_id", "target_id", "state"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, tenant_id, package_id, target_id, state FROM {_t(Assignment)} "  # noqa: S608
                       "WHERE id = ANY(%s::uuid[]) AND state = ANY(%s::text[]) FOR UPDATE", [ids, ACTIVE])
        return cursor.fetchall()


def _rendered(rows: list) -> dict:
    """"Access has ended for [package]" once per tenant, package and language of the batch: the subject
    and a shared body (:class:`directory.models.OutboxBody`) each message points to."""
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={r[1] for r in rows})}
    packages = dict(AccessPackage.objects.filter(pk__in={r[2] for r in rows}).values_list("pk", "display_name"))
    rendered = {}
    for tenant_id, package_id in {(r[1], r[2]) for r in rows}:
        tenant = tenants[tenant_id]
        for language in emails.LANGUAGES:
            subject, text, html = emails.notice(kind="ended", language=language, tenant=tenant,
                                                package=packages[package_id], url=approvals.panel_url(tenant))
            rendered[(tenant_id, package_id, language)] = (subject[:998], OutboxBody(body_text=text, body_html=html))
    OutboxBody.objects.bulk_create([body for _subject, body in rendered.values()])
    return rendered


# --- PostgreSQL: a fixed number of statements per batch ---------------------------------------------


def _t(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _keys(*expressions: str) -> str:
    """The search keys (:class:`directory.models.AuditKey`) of an event: the initiator's, computed once in
    Python, and its targets' ``expressions`` lower-cased by the database; blank ones left out."""
    targets = ", ".join(f"'{AuditKey.Side.TARGET}:' || nullif(left(lower(btrim({e})), {AuditKey.MAX_LENGTH}), '')"
                        for e in expressions)
    return f"to_jsonb(array_remove(%(initiator_keys)s::text[] || ARRAY[{targets}], NULL))"


_LANGUAGE = ("CASE lower(left(u.preferred_language, 2)) "
             + " ".join(f"WHEN '{code}' THEN '{code}'" for code in emails.LANGUAGES) + " ELSE 'en' END")


class _Statements:
    def __init__(self, actor: Actor, rows: list, *, activity: str, now):
        self.rows = rows
        self.activity = ACTIVITIES[activity]
        self.now = now
        initiator = actor.initiated_by()
        extra = [actor.account.email] if actor.account is not None else []
        self.common = {
            "now": now, "correlation": uuid.uuid4(), "initiator": _json(initiator),
            "account": actor.account.pk if actor.account is not None else None,
            "initiator_user": (initiator.get("user") or {}).get("id"),
            "initiator_keys": search_keys(initiator, [], extra_initiator=extra),
            "details": _json([{"key": k, "value": v} for k, v in REASON.items()]),
        }
        self.ids = [r[0] for r in rows]

    def run(self, changes: dict) -> None:
        with connection.cursor() as cursor:
            # Bulk statements of a fixed shape: compiling them to machine code costs more than it saves.
            cursor.execute("SET LOCAL jit = off")
            # The assignments end; the external-user lifecycle's trigger is set for their holders (the block
            # sweep looks at these guests: those left with no active assignment are blocked; see
            # lifecycle.external_users_block_due).
            cursor.execute(f"""
                WITH ended AS (UPDATE {_t(Assignment)} SET state = %(state)s, status = %(status)s,
                                                          expired_at = %(expired_at)s
                               WHERE id = ANY(%(ids)s::uuid[]) RETURNING target_id)
                UPDATE {_t(ExternalUserLifecycle)} SET access_ended_at = %(expired_at)s
                WHERE governed AND user_id IN (SELECT target_id FROM ended)""",  # noqa: S608
                           {**changes, "state": str(changes["state"]), "ids": self.ids})
            cursor.execute(self._removals_sql(), {**self.common, "ids": self.ids, "active": ACTIVE})
            if cursor.rowcount:  # audit rows written: something was removed
                # A set-based delete sends no m2m_changed: whoever keeps facts about groups forgets them.
                memberships_changed.send(sender=Group.members.through)
            cursor.execute(self._assignments_sql(), {
                **self.common, "ids": self.ids, "states": [str(r[4]) for r in self.rows],
                "activity": self.activity.display_name, "category": self.activity.category,
                "operation": self.activity.operation_type, "new_state": _json(str(Assignment.State.EXPIRED))})
            rendered = _rendered(self.rows)
            keys = list(rendered)
            cursor.execute(self._outbox_sql(), {
                "ids": self.ids, "now": self.now, "from": settings.DEFAULT_FROM_EMAIL,
                "r_tenant": [k[0] for k in keys], "r_package": [k[1] for k in keys], "r_language": [k[2] for k in keys],
                "r_subject": [rendered[k][0] for k in keys], "r_body": [rendered[k][1].pk for k in keys]})
            outbox_publish([row[0] for row in cursor.fetchall()])

    @staticmethod
    def _events(source: str) -> str:
        """The tail shared by both audit statements: ``source`` (a CTE of event_id, tenant_id, activity,
        category, operation, targets, details and keys) → audit rows."""
        return f"""
        INSERT INTO {_t(AuditEvent)} (id, tenant_id, activity_date_time, activity_display_name, category,
            operation_type, logged_by_service, correlation_id, initiated_by, initiated_by_account_id,
            initiated_by_user_id, result, result_reason, target_resources, additional_details, search_keys)
        SELECT event_id, tenant_id, %(now)s::timestamptz, activity, category, operation, 'Core Directory',
               %(correlation)s::uuid,
               %(initiator)s::jsonb, %(account)s::uuid, %(initiator_user)s::uuid, 'success', '', targets, details, keys
        FROM {source}
        """  # noqa: S608

    #: A user target's display name, as ``Target`` gives it.
    _USER_NAME = "coalesce(nullif(u.display_name, ''), u.display_name || ' <' || u.user_principal_name || '>')"
    #: A user target's search keys: id, display name, principal name and e-mail address.
    _USER_KEYS = ("u.id::text", _USER_NAME, "u.user_principal_name", "u.mail")

    @classmethod
    def _user_target(cls) -> str:
        return (f"jsonb_build_object('id', u.id::text, 'type', 'User', 'displayName', {cls._USER_NAME}, "
                "'userPrincipalName', u.user_principal_name, 'modifiedProperties', '[]'::jsonb)")

    def _removals_sql(self) -> str:
        G, M, A = _t(Grant), _t(ManagedAccess), _t(Assignment)
        removals = []
        for role, (kind, activity) in KINDS.items():
            entry = ACTIVITIES[activity]
            if kind == ManagedAccess.Kind.APP:
                column, table, obj_table = "application_id", _t(AppRoleAssignment), _t(Application)
                obj_type = "ServicePrincipal"
            else:
                column, obj_table, obj_type = "group_id", _t(Group), "Group"
                table = _t(Group.members.through if kind == ManagedAccess.Kind.MEMBER else Group.owners.through)
            removals.append((role, kind, column, table, obj_table, obj_type, entry))
        ctes = [f"""
        gone AS MATERIALIZED (
            SELECT DISTINCT g.user_id, g.role, r.group_id, r.application_id
            FROM unnest(%(ids)s::uuid[]) AS e(id)
            -- each ended assignment's grants by index: a join would hash every grant there is, a cost
            -- that grows with the history, not with the batch (1.4 million grants: 0.5-2.1 s against 0.5 s)
            CROSS JOIN LATERAL (SELECT * FROM {G} WHERE assignment_id = e.id) g
            JOIN {_t(CatalogResource)} r ON r.id = g.resource_id
            -- held through another active assignment? (one index probe per grant, not a scan per batch)
            LEFT JOIN LATERAL (SELECT 1 AS held FROM {G} o JOIN {A} oa ON oa.id = o.assignment_id
                               WHERE o.user_id = g.user_id AND o.resource_id = g.resource_id AND o.role = g.role
                                 AND oa.state = ANY(%(active)s::text[]) LIMIT 1) h ON true
            WHERE h.held IS NULL
        )"""]  # noqa: S608
        selects = []
        for n, (role, kind, column, table, obj_table, obj_type, entry) in enumerate(removals):
            ctes.append(f"""
        m{n} AS (DELETE FROM {M} m USING gone
                 WHERE gone.role = '{role}' AND m.kind = '{kind}' AND m.{column} = gone.{column}
                   AND m.user_id = gone.user_id
                 RETURNING m.{column} AS object_id, m.user_id),
        d{n} AS (DELETE FROM {table} x USING m{n}
                 WHERE x.{column} = m{n}.object_id AND x.user_id = m{n}.user_id
                 RETURNING x.{column} AS object_id, x.user_id)""")  # noqa: S608
            selects.append(f"""
            SELECT gen_random_uuid() AS event_id, u.tenant_id, '{entry.display_name}' AS activity,
                   '{entry.category}' AS category, '{entry.operation_type}' AS operation,
                   jsonb_build_array(jsonb_build_object('id', o.id::text, 'type', '{obj_type}',
                       'displayName', o.display_name, 'userPrincipalName', NULL,
                       'modifiedProperties', '[]'::jsonb), {self._user_target()}) AS targets,
                   %(details)s::jsonb AS details, {_keys("o.id::text", "o.display_name", *self._USER_KEYS)} AS keys
            FROM d{n} JOIN {obj_table} o ON o.id = d{n}.object_id JOIN {_t(User)} u ON u.id = d{n}.user_id""")  # noqa: S608
        ctes.append("removed AS (" + " UNION ALL ".join(selects) + ")")
        return "WITH " + ",".join(ctes) + self._events("removed")

    def _assignments_sql(self) -> str:
        assignment = ("jsonb_build_object('id', a.id::text, 'type', 'AccessPackageAssignment', "
                      "'displayName', p.display_name, 'userPrincipalName', NULL, 'modifiedProperties', "
                      "jsonb_build_array(jsonb_build_object('displayName', 'state', 'oldValue', to_jsonb(e.state)::text, "
                      "'newValue', %(new_state)s::text)))")
        return f"""
        WITH ended AS (
            SELECT gen_random_uuid() AS event_id, a.tenant_id, %(activity)s::text AS activity,
                   %(category)s::text AS category,
                   %(operation)s::text AS operation, jsonb_build_array({assignment}, {self._user_target()}) AS targets,
                   '[]'::jsonb AS details, {_keys("a.id::text", "p.display_name", *self._USER_KEYS)} AS keys
            FROM unnest(%(ids)s::uuid[], %(states)s::text[]) AS e(id, state)
            -- each by its primary key (a join would hash every assignment there is)
            CROSS JOIN LATERAL (SELECT * FROM {_t(Assignment)} WHERE id = e.id) a
            JOIN {_t(AccessPackage)} p ON p.id = a.package_id
            JOIN {_t(User)} u ON u.id = a.target_id
        )""" + self._events("ended")  # noqa: S608

    @staticmethod
    def _outbox_sql() -> str:
        return f"""
        INSERT INTO {_t(OutboxMessage)} (id, tenant_id, dedupe_key, from_email, "to", cc, subject, body_text,
            body_html, shared_body_id, secrets, status, attempts, created_at, next_attempt_at, last_error)
        SELECT gen_random_uuid(), a.tenant_id, 'em:' || a.id::text || ':ended', %(from)s::text, jsonb_build_array(u.mail),
               '[]'::jsonb, r.subject, '', '', r.body_id, '[]'::jsonb, 'pending', 0, %(now)s::timestamptz,
               %(now)s::timestamptz, ''
        FROM {_t(Assignment)} a JOIN {_t(User)} u ON u.id = a.target_id
        JOIN unnest(%(r_tenant)s::uuid[], %(r_package)s::uuid[], %(r_language)s::text[], %(r_subject)s::text[],
                    %(r_body)s::uuid[])
             AS r(tenant_id, package_id, language, subject, body_id)
          ON r.tenant_id = a.tenant_id AND r.package_id = a.package_id AND r.language = {_LANGUAGE}
        WHERE a.id = ANY(%(ids)s::uuid[]) AND u.mail <> ''
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id
        """  # noqa: S608


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


# --- elsewhere: the same rows built in Python ---------------------------------------------------------


def _in_python(actor: Actor, rows: list, *, activity: str, now) -> None:
    removed = _remove_access([r[0] for r in rows])
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={r[1] for r in rows})}
    packages = dict(AccessPackage.objects.filter(pk__in={r[2] for r in rows}).values_list("pk", "display_name"))
    user_ids = {r[3] for r in rows} | {u for pairs in removed.values() for _o, u in pairs}
    users = {u.pk: u for u in User.objects.filter(pk__in=user_ids).only(
        "pk", "display_name", "user_principal_name", "mail", "preferred_language", "tenant_id")}
    groups = {g.pk: g for g in Group.objects.filter(pk__in={o for pairs in removed.values() for o, _u in pairs})
              .only("pk", "display_name", "tenant_id")}
    apps = {a.pk: a for a in Application.objects.filter(pk__in={o for pairs in removed.values() for o, _u in pairs})
            .only("pk", "display_name", "tenant_id")}
    initiator = actor.initiated_by()
    correlation = uuid.uuid4()
    events = []
    for role, pairs in removed.items():
        for object_id, user_id in pairs:
            user = users[user_id]
            target = (apps if role == ResourceRole.DEFAULT_ACCESS else groups)[object_id]
            events.append(audit_event(tenant=tenants.get(user.tenant_id) or Tenant(pk=user.tenant_id), actor=actor,
                                      initiator=initiator, when=now, correlation_id=correlation,
                                      activity=KINDS[role][1], targets=[Target(target), Target(user)],
                                      details=REASON))
    for pk, tenant_id, package_id, target_id, state in rows:
        assignment = Assignment(pk=pk)
        assignment.display_name = packages[package_id]
        events.append(audit_event(
            tenant=tenants[tenant_id], actor=actor, initiator=initiator, when=now, correlation_id=correlation,
            activity=activity, targets=[Target(assignment, [Change("state", state, Assignment.State.EXPIRED)]),
                                        Target(users[target_id])]))
    audit_save(events)
    rendered = _rendered(rows)
    messages = []
    for pk, tenant_id, package_id, target_id, _state in rows:
        user = users[target_id]
        if not user.mail:
            continue
        subject, body = rendered[(tenant_id, package_id, emails.language_of(user))]
        message = outbox_message(tenant=tenants[tenant_id], to=[user.mail], subject=subject, body_text="",
                                 dedupe_key=f"em:{pk}:ended")
        message.shared_body = body
        messages.append(message)
    queued = set(OutboxMessage.objects.filter(dedupe_key__in=[m.dedupe_key for m in messages])
                 .values_list("dedupe_key", flat=True)) if messages else set()
    messages = [m for m in messages if m.dedupe_key not in queued]
    OutboxMessage.objects.bulk_create(messages, batch_size=2000)
    outbox_publish([m.pk for m in messages])


def _remove_access(ids: list) -> dict:
    """Remove the managed access of the ended assignments that no other active assignment holds; the
    removed (object id, user id) pairs by role."""
    grants = list(Grant.objects.filter(assignment_id__in=ids).values_list(
        "user_id", "resource_id", "role", "resource__group_id", "resource__application_id"))
    if not grants:
        return {}
    still_held = set(Grant.objects.filter(user_id__in={g[0] for g in grants}, resource_id__in={g[1] for g in grants},
                                          assignment__state__in=Assignment.ACTIVE_STATES)
                     .values_list("user_id", "resource_id", "role"))
    by_target: dict[tuple[str, object], set] = defaultdict(set)
    for user_id, resource_id, role, group_id, application_id in grants:
        if (user_id, resource_id, role) not in still_held:
            by_target[(role, group_id or application_id)].add(user_id)
    removed: dict[str, list] = defaultdict(list)
    for (role, object_id), user_ids in by_target.items():
        kind = KINDS[role][0]
        field = "application_id" if kind == ManagedAccess.Kind.APP else "group_id"
        marks = ManagedAccess.objects.filter(kind=kind, user_id__in=user_ids, **{field: object_id})
        managed = list(marks.values_list("user_id", flat=True))
        if not managed:
            continue
        marks.delete()
        if role == ResourceRole.DEFAULT_ACCESS:
            qs = AppRoleAssignment.objects.filter(application_id=object_id, user_id__in=managed)
        else:
            through = (Group.members if role == ResourceRole.MEMBER else Group.owners).through
            qs = through.objects.filter(group_id=object_id, user_id__in=managed)
        present = list(qs.values_list("user_id", flat=True))
        if present:
            qs.filter(user_id__in=present).delete()
            removed[role].extend((object_id, user_id) for user_id in present)
            memberships_changed.send(sender=qs.model)  # a set-based delete sends no m2m_changed
    return removed
