"""The audit trail: every service that changes state calls :func:`audit` inside its transaction.

Activities come from one catalog (:data:`ACTIVITIES`: display name, category, operation type), which
each app fills at import of its services; targets get their Graph type from :data:`TARGET_TYPES`,
which each app fills for its models. The initiator comes from the :class:`~directory.actors.Actor`.
"""

import contextlib
import contextvars
import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from .actors import Actor
from .compiled import insert_statement
from .models import (
    Application,
    AppRegistration,
    AppRoleAssignment,
    AuditEvent,
    AuditKey,
    Branding,
    Domain,
    Group,
    OutboxMessage,
    RoleAssignment,
    Tenant,
    User,
)

_correlation_id: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar("correlation_id", default=None)


def current_correlation_id() -> uuid.UUID:
    value = _correlation_id.get()
    return value if value is not None else uuid.uuid4()


def set_correlation_id(value: uuid.UUID | None) -> contextvars.Token:
    return _correlation_id.set(value)


class CorrelationIdMiddleware:
    """Gives every request one correlation id, shared by all audit rows it writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.correlation_id = uuid.uuid4()
        token = set_correlation_id(request.correlation_id)
        try:
            return self.get_response(request)
        finally:
            _correlation_id.reset(token)


# --- the catalog ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    display_name: str
    category: str
    operation_type: str  # Add, Update, Delete, Assign, Unassign, Other


#: Every activity the audit log may hold, by display name.
ACTIVITIES: dict[str, Activity] = {}


def register_activities(category: str, entries: dict[str, str]) -> None:
    """Add ``{display name: operation type}`` of one category to the catalog."""
    for name, operation in entries.items():
        existing = ACTIVITIES.get(name)
        if existing is not None and existing != Activity(name, category, operation):
            raise ValueError(f"Audit activity {name!r} is registered twice, differently")
        ACTIVITIES[name] = Activity(name, category, operation)


register_activities("DirectoryManagement", {
    "Create company": "Add", "Update company settings": "Update", "Add unverified domain": "Add",
    "Add verified domain": "Add", "Verify domain": "Update", "Update domain": "Update", "Remove domain": "Delete",
    "Set domain authentication": "Update", "Update company branding": "Update",
    "Delete company branding": "Delete",
})
register_activities("UserManagement", {
    "Add user": "Add", "Update user": "Update", "Delete user": "Delete", "Restore user": "Update",
    "Hard delete user": "Delete", "Disable account": "Update", "Enable account": "Update",
})
register_activities("GroupManagement", {
    "Add group": "Add", "Update group": "Update", "Delete group": "Delete", "Add member to group": "Assign",
    "Remove member from group": "Unassign", "Add owner to group": "Assign", "Remove owner from group": "Unassign",
})
register_activities("ApplicationManagement", {
    "Add service principal": "Add", "Update service principal": "Update", "Remove service principal": "Delete",
    "Add app role assignment to user": "Assign", "Add app role assignment to group": "Assign",
    "Remove app role assignment from user": "Unassign", "Remove app role assignment from group": "Unassign",
    "Add application": "Add", "Update application": "Update",
    "Update application – Certificates and secrets management": "Update",
})
register_activities("RoleManagement", {"Add member to role": "Assign", "Remove member from role": "Unassign"})
register_activities("Other", {"Send outbox messages again": "Other"})


# --- targets -------------------------------------------------------------------------------------

#: Model → the ``type`` Graph gives such a target.
TARGET_TYPES: dict[type[models.Model], str] = {
    User: "User", Group: "Group", Application: "ServicePrincipal", AppRegistration: "Application",
    Tenant: "Directory", Domain: "Domain", Branding: "Directory", RoleAssignment: "Role",
    AppRoleAssignment: "ServicePrincipal", OutboxMessage: "Message",
}


def register_target_type(model: type[models.Model], graph_type: str) -> None:
    TARGET_TYPES[model] = graph_type


@dataclass(frozen=True)
class Change:
    property: str
    old: Any
    new: Any


@dataclass
class Target:
    obj: models.Model
    changes: list[Change] = field(default_factory=list)

    def as_graph(self) -> dict:
        obj = self.obj
        return {
            "id": str(obj.pk),
            "type": graph_type(obj),
            "displayName": getattr(obj, "display_name", None) or getattr(obj, "name", None) or str(obj),
            "userPrincipalName": getattr(obj, "user_principal_name", None),
            "modifiedProperties": [
                {"displayName": c.property, "oldValue": _json_value(c.old), "newValue": _json_value(c.new)}
                for c in self.changes
            ],
        }


def graph_type(obj: models.Model) -> str:
    for cls in type(obj).__mro__:
        if cls in TARGET_TYPES:
            return TARGET_TYPES[cls]
    raise LookupError(f"{type(obj).__name__} has no audit target type; register one with register_target_type")


def _json_value(value: Any) -> str | None:
    # Graph carries old and new values as JSON text.
    if value is None:
        return None
    if isinstance(value, models.Model):
        value = str(value.pk)
    elif isinstance(value, (set, frozenset, tuple)):
        value = sorted(str(v) for v in value)
    elif hasattr(value, "name") and hasattr(value, "url"):  # a FieldFile
        value = value.name or ""
    return json.dumps(value, default=str, ensure_ascii=False)


# --- what the console's audit search matches -----------------------------------------------------


def search_keys(initiated_by: dict, target_resources: list[dict], *, extra_initiator=(), extra_targets=()) -> \
        list[str]:
    """The :class:`~directory.models.AuditKey` keys of one event: the ids, names and principal names of who
    acted and what was acted on, lower-cased, prefixed by their side, without repeats."""
    keys: dict[str, None] = {}

    def add(side, *values):
        for value in values:
            key = AuditKey.of(side, value)
            if key:
                keys[key] = None

    for who in (initiated_by.get("user") or {}, initiated_by.get("app") or {}):
        add(AuditKey.Side.INITIATOR, who.get("id"), who.get("userPrincipalName"), who.get("displayName"),
            who.get("appId"), who.get("servicePrincipalId"))
    add(AuditKey.Side.INITIATOR, *extra_initiator)
    for target in target_resources:
        add(AuditKey.Side.TARGET, target.get("id"), target.get("displayName"), target.get("userPrincipalName"))
    add(AuditKey.Side.TARGET, *extra_targets)
    return list(keys)


def matching_key(queryset, side: str, value):
    """``queryset`` narrowed to the events with ``value`` on ``side`` (a whole value, compared lower-cased)."""
    key = AuditKey.of(side, value)
    return queryset.filter(search_keys__holds=key) if key else queryset


def _addresses(obj) -> list[str]:
    # A user target is also found by the addresses it was invited or is reached at.
    # Only fields already loaded: a bulk job's users come with few fields, and a key is not worth a query.
    if not isinstance(obj, User):
        return []
    deferred = obj.get_deferred_fields()
    addresses = [obj.mail] if "mail" not in deferred else []
    if "other_mails" not in deferred:
        addresses += obj.other_mails or []
    return addresses


# --- writing -------------------------------------------------------------------------------------


def apply_changes(instance: models.Model, changes: dict[str, Any]) -> list[Change]:
    """Set ``changes`` on ``instance`` and return what really changed (old → new), for the audit row."""
    applied = []
    for name, new in changes.items():
        old = getattr(instance, name)
        if old != new:
            applied.append(Change(name, old, new))
            setattr(instance, name, new)
    return applied


def audit_event(
    *,
    tenant: Tenant | None,
    actor: Actor,
    activity: str,
    targets: list[Target],
    operation_type: str | None = None,
    result: str = AuditEvent.Result.SUCCESS,
    reason: str = "",
    details: dict[str, Any] | None = None,
    when=None,
    correlation_id: uuid.UUID | None = None,
    initiator: dict | None = None,
) -> AuditEvent:
    """The (unsaved) audit row for ``activity``: :func:`audit` saves one, bulk jobs ``bulk_create`` many."""
    entry = ACTIVITIES[activity]
    initiator = initiator if initiator is not None else actor.initiated_by()
    fields = {"activity_date_time": when} if when is not None else {}
    event = AuditEvent(
        tenant=tenant,
        initiated_by_user_id=(initiator.get("user") or {}).get("id"),
        activity_display_name=entry.display_name,
        category=entry.category,
        operation_type=operation_type or entry.operation_type,
        correlation_id=correlation_id or current_correlation_id(),
        initiated_by=initiator,
        initiated_by_account=actor.account,
        result=result,
        result_reason=reason[:512],
        target_resources=[t.as_graph() for t in targets],
        additional_details=[{"key": k, "value": str(v)} for k, v in (details or {}).items()],
        **fields,
    )
    event.search_keys = search_keys(initiator, event.target_resources,
                                    extra_initiator=[actor.account.email] if actor.account is not None else [],
                                    extra_targets=[address for t in targets for address in _addresses(t.obj)])
    return event


#: The rows an :func:`audit_batch` block has written so far (None outside one).
_batch: contextvars.ContextVar[list[AuditEvent] | None] = contextvars.ContextVar("audit_batch", default=None)
#: New rows of other models the block inserts with its audit rows (:func:`insert_with_audit`).
_with: contextvars.ContextVar[list[models.Model] | None] = contextvars.ContextVar("audit_batch_with", default=None)


@contextlib.contextmanager
def audit_batch():
    """Within the block, :func:`audit` (and :func:`audit_save`) collect their rows; they are inserted in
    one statement when the block ends without an error, after the rows :func:`insert_with_audit` was
    given (on PostgreSQL in that same statement). Use it inside the transaction of the changes the rows
    record (a block that fails writes none of them, and its transaction rolls back anyway). Nested
    blocks leave the writing to the outermost."""
    if _batch.get() is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("audit_batch() must run inside the transaction of the changes it records")
    rows: list[AuditEvent] = []
    others: list[models.Model] = []
    token, others_token = _batch.set(rows), _with.set(others)
    try:
        yield
    finally:
        _batch.reset(token)
        _with.reset(others_token)
    if rows or others:
        _insert(rows, others)


def insert_with_audit(*rows: models.Model) -> None:
    """Insert new rows (of any model) with the open :func:`audit_batch`'s audit rows, at its end: on
    PostgreSQL all in one statement (issue 9: an invitation, its e-mail and their audit rows are one
    round trip). The block must not read them back nor point other rows at them before it ends. Outside
    a batch each is saved at once."""
    others = _with.get()
    if others is None:
        for row in rows:
            row.save(force_insert=True)
    else:
        others.extend(rows)


def audit_save(events: list[AuditEvent]) -> None:
    """Save unsaved rows from :func:`audit_event`: into the open :func:`audit_batch`, else in one insert."""
    rows = _batch.get()
    if rows is not None:
        rows.extend(events)
    elif events:
        _insert(events)


def _insert(events: list[AuditEvent], others: list[models.Model] = ()) -> None:
    """``others`` (in their order) and the audit rows (their search keys in them): one statement on
    PostgreSQL (``WITH a AS (INSERT …) INSERT …``: foreign keys are checked at the end of the statement,
    when all rows are in), one insert per model elsewhere."""
    groups = [(model, list(group)) for model, group in itertools.groupby(others, key=type)]
    if events:
        groups.append((AuditEvent, events))
    # The connection itself, not django.db.connection's per-thread proxy: compiling the rows' values looks
    # it up a few hundred times.
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor != "postgresql" or len(groups) == 1:
        for model, rows in groups:
            model.objects.bulk_create(rows)
        return
    statements = [_insert_statement(model, rows, db)[0] for model, rows in groups]
    sql = "WITH " + ", ".join(f"written_{i} AS ({statement})" for i, (statement, _p) in enumerate(statements[:-1]))
    with db.cursor() as cursor:
        cursor.execute(f"{sql} {statements[-1][0]}", tuple(p for _s, params in statements for p in params))
    for _model, rows in groups:
        for row in rows:
            row._state.adding, row._state.db = False, db.alias


def _insert_statement(model, rows, db) -> list[tuple[str, tuple]]:
    """One multi-row INSERT of ``rows`` (no RETURNING), as ``bulk_create`` compiles it but as one ``VALUES``
    list (:func:`directory.compiled.insert_statement`: its SQL compiled once per shape); a serial primary
    key is left to the database."""
    fields = [f for f in model._meta.local_concrete_fields
              if not f.generated and not (f.primary_key and getattr(rows[0], f.attname) is None)]
    return [insert_statement(model, fields, rows, using=db.alias)]


def audit(*, tenant: Tenant | None, actor: Actor, activity: str, targets: list[Target], **options) -> AuditEvent:
    """Write one audit row (call inside the transaction of the change it records; inside an
    :func:`audit_batch` the row is inserted with the block's others when the block ends)."""
    event = audit_event(tenant=tenant, actor=actor, activity=activity, targets=targets, **options)
    rows = _batch.get()
    if rows is not None:
        rows.append(event)
    else:
        _insert([event])
    return event
