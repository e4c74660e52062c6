"""The publisher side of the outbox: e-mail is a row written in the caller's transaction and published
after commit; :mod:`directory.delivery` sends it."""

from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..actors import Actor, require_actor
from ..audit import Change, Target, audit
from ..models import OutboxMessage, Tenant
from ..queue import wake_on_commit

#: Woken after every write (one task for a burst of messages): directory/tasks.py, directory/queue.py.
DRAIN_TASK = "directory.outbox_drain"


def outbox_message(
    *, to: list[str], subject: str, body_text: str, body_html: str = "", cc: list[str] | None = None,
    tenant: Tenant | None = None, dedupe_key: str | None = None, from_email: str | None = None,
    secrets: Iterable[str] = (),
) -> OutboxMessage:
    """The (unsaved) message: :func:`outbox_enqueue` saves one, bulk jobs ``bulk_create`` many and
    publish them with :func:`outbox_publish`. ``secrets``: the strings in the bodies that are credentials
    (an invitation link's token, a sign-in code); the stored copy loses them once the message is sent."""
    return OutboxMessage(
        tenant=tenant, to=list(to), cc=list(cc or []), subject=subject[:998], body_text=body_text,
        body_html=body_html, dedupe_key=dedupe_key, from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        secrets=sorted({str(s) for s in secrets if s}),
    )


def outbox_enqueue(**fields) -> OutboxMessage:
    """Write an e-mail into the outbox, in the caller's transaction; a worker sends it after commit.

    Takes :func:`outbox_message`'s arguments. A ``dedupe_key`` that is already queued returns the
    existing message instead of a second one.
    """
    dedupe_key = fields.get("dedupe_key")
    if dedupe_key:
        existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing:
            return existing
    message = outbox_message(**fields)
    message.save(force_insert=True)
    wake_on_commit(DRAIN_TASK)
    return message


def outbox_publish(message_ids: list) -> None:
    """After commit, have messages written without :func:`outbox_enqueue` (``bulk_create``, SQL) delivered."""
    if message_ids:
        wake_on_commit(DRAIN_TASK)


@transaction.atomic
def outbox_retry_now(*, actor: Actor, messages: Iterable[OutboxMessage]) -> int:
    """Make failed or waiting messages due again (audited). Platform mail (no tenant) is the
    operator's; a tenant's mail needs ``Outbox.ReadWrite.All`` there."""
    require_actor(actor)
    messages = [m for m in messages if m.status != OutboxMessage.Status.SENT]
    for message in messages:
        if message.tenant_id is None and not actor.is_platform:
            raise PermissionDenied(_("Only the platform operator resends platform mail."))
        if message.tenant_id is not None:
            actor.require("Outbox.ReadWrite.All", tenant=message.tenant_id)
    ids = [m.pk for m in messages]
    updated = OutboxMessage.objects.filter(pk__in=ids).exclude(status=OutboxMessage.Status.SENT).update(
        status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    by_tenant: dict = {}
    for message in messages:
        by_tenant.setdefault(message.tenant_id, []).append(message)
    for rows in by_tenant.values():
        tenant = rows[0].tenant
        audit(tenant=tenant, actor=actor.in_tenant(tenant) if tenant else actor, activity="Send outbox messages again",
              targets=[Target(m, [Change("status", m.status, OutboxMessage.Status.PENDING)]) for m in rows])
    if ids:
        wake_on_commit(DRAIN_TASK)
    return updated
