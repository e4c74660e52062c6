"""Telling a guest's sponsors what happens to the guest (lifecycle and review notices).

Sponsors are responsible for their guests (Entra: "users … responsible for this guest user's privileges
and for keeping the guest user's information and access up to date"), so the lifecycle (blocked,
removed) and access reviews mail them. Apps register the kinds of notice they send and the templates
that say it (:func:`register_sponsor_notice`); :func:`notify_sponsors` decides who gets one (the guest's
sponsors that are not deleted and have a mailbox) and writes the mail into the outbox, in the caller's
transaction, in each sponsor's language and the tenant's branding.
"""

from collections.abc import Iterable

from ..emails import SponsorNotices
from ..models import OutboxMessage, Tenant, User
from .outbox import outbox_message, outbox_publish

#: kind → template prefix (``directory/email/sponsor_blocked`` → ``…_en.txt``, ``…_subject_de.txt``, …).
SPONSOR_NOTICES: dict[str, str] = {
    "blocked": "directory/email/sponsor_blocked",
    "removed": "directory/email/sponsor_removed",
}


def register_sponsor_notice(kind: str, template: str) -> None:
    """Add a kind of sponsor notice (an app's ``AppConfig.ready`` or services module calls this)."""
    existing = SPONSOR_NOTICES.get(kind)
    if existing is not None and existing != template:
        raise ValueError(f"Sponsor notice {kind!r} is registered twice, differently")
    SPONSOR_NOTICES[kind] = template


def _mailbox(user: User) -> str:
    address = user.mail or user.user_principal_name
    return "" if "#EXT#" in address else address  # an external user without mail has no mailbox here


def notify_sponsors_many(users: Iterable[User], kind: str, contexts: dict | None = None, *,
                         dedupe: str = "") -> int:
    """Mail the sponsors of each of ``users`` the notice ``kind`` (``contexts``: extra template context
    by user id, e.g. the removal date). Four queries and one insert whatever the number of guests; a
    message per (guest, sponsor), deduplicated on ``dedupe`` (say, the time of the event) so a sweep that
    runs twice mails once. Returns the number of messages written."""
    render = SponsorNotices(SPONSOR_NOTICES[kind])
    users = [u for u in users]
    if not users:
        return 0
    contexts = contexts or {}
    links = list(User.sponsors.through.objects.filter(
        from_user_id__in=[u.pk for u in users], to_user__deleted_at__isnull=True).values_list(
        "from_user_id", "to_user_id"))
    if not links:
        return 0
    sponsors = {s.pk: s for s in User.objects.filter(pk__in={s for _g, s in links}).only(
        "pk", "display_name", "mail", "user_principal_name", "preferred_language", "tenant_id")}
    by_id = {u.pk: u for u in users}
    tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={u.tenant_id for u in users}).prefetch_related(
        "brandings")}
    keys = {f"sponsor:{kind}:{guest_id}:{sponsor_id}:{dedupe}" for guest_id, sponsor_id in links}
    sent = set(OutboxMessage.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", flat=True))
    messages = []
    for guest_id, sponsor_id in links:
        guest, sponsor = by_id[guest_id], sponsors[sponsor_id]
        key = f"sponsor:{kind}:{guest_id}:{sponsor_id}:{dedupe}"
        address = _mailbox(sponsor)
        if not address or key in sent:
            continue
        tenant = tenants[guest.tenant_id]
        content = render(guest=guest, recipient=sponsor, tenant=tenant, context=contexts.get(guest_id, {}))
        messages.append(outbox_message(tenant=tenant, to=[address], dedupe_key=key, **content))
    OutboxMessage.objects.bulk_create(messages)
    outbox_publish([m.pk for m in messages])
    return len(messages)


def notify_sponsors(user: User, kind: str, context: dict | None = None, *, dedupe: str = "") -> int:
    """Mail ``user``'s sponsors the notice ``kind`` (see :func:`notify_sponsors_many`)."""
    return notify_sponsors_many([user], kind, {user.pk: context or {}}, dedupe=dedupe)
