"""The overview on the admin console's home page: for each tenant the viewer may read, a few cards
(guests by state, invitations, bulk jobs, undelivered mail), each with links to its list.

A card belongs to the app whose data it counts; apps register theirs from ``AppConfig.ready()``
(the directory cannot import the apps above it, DESIGN §3). A card counts for *all* shown tenants
in a fixed number of queries, so the page costs the same with one tenant or fifty.

"Recent actions" on the same page are the services' audit rows (:class:`~directory.models.AuditEvent`),
not Django's ``LogEntry``: every write in this console goes through a service that audits it (the
invitation form, bulk uploads and actions included), while ``LogEntry`` only knows the stock
add/change/delete forms and would miss most of what admins do here.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from ..models import AuditEvent, OutboxMessage, Tenant, User
from .base import tenants_with

MAX_TENANTS = 12  # an operator with hundreds of tenants gets the first ones by name and a link to the rest


@dataclass(frozen=True)
class OverviewCard:
    key: str
    title: str
    area: str  # shown in the tenants where the viewer may read this console area
    template: str  # rendered with ``data`` (what ``collect`` returned for the tenant) and ``tenant``
    collect: Callable[[list], dict]  # tenant ids -> {tenant id: data}, in a fixed number of queries
    order: int = 100


_CARDS: dict[str, OverviewCard] = {}


def register_overview_card(card: OverviewCard) -> None:
    _CARDS[card.key] = card


def changelist_url(name: str, tenant, **params) -> str:
    return f"{reverse(f'admin:{name}_changelist')}?{urlencode({**params, 'tenant': str(tenant.pk)})}"


def overview_for(request) -> dict:
    """{"tenants": [{"tenant", "cards": [{"card", "data"}]}], "more": n}, for the viewer of ``request``."""
    if request.user.is_superuser:
        readable = {card.key: None for card in _CARDS.values()}  # None: every tenant
    else:
        readable = {card.key: tenants_with(request, card.area, manage=False) for card in _CARDS.values()}
    every = None if any(ids is None for ids in readable.values()) else set().union(*readable.values())
    tenants_qs = Tenant.objects.order_by("name")
    if every is not None:
        tenants_qs = tenants_qs.filter(pk__in=every)
    tenants = list(tenants_qs[: MAX_TENANTS + 1])
    more = len(tenants) > MAX_TENANTS
    tenants = tenants[:MAX_TENANTS]
    shown = [t.pk for t in tenants]
    cards = sorted(_CARDS.values(), key=lambda c: (c.order, c.key))
    data = {}
    for card in cards:
        ids = shown if readable[card.key] is None else [pk for pk in shown if pk in readable[card.key]]
        data[card.key] = card.collect(ids) if ids else {}
    return {
        "tenants": [
            {"tenant": tenant, "cards": [{"card": card, "data": data[card.key][tenant.pk]} for card in cards
                                         if tenant.pk in data[card.key]]}
            for tenant in tenants
        ],
        "more": more,
    }


def recent_actions(request, limit: int = 10) -> list[AuditEvent]:
    """The latest audit rows of the tenants whose audit log the viewer may read; without that right,
    the viewer's own actions."""
    events = AuditEvent.objects.select_related("tenant")
    if not request.user.is_superuser:
        ids = tenants_with(request, "audit", manage=False)
        events = events.filter(tenant__in=ids) if ids else events.filter(initiated_by_account=request.user)
    return list(events.order_by("-activity_date_time")[:limit])


# --- the directory's own cards -------------------------------------------------------------------


def _guests(ids) -> dict:
    counts = {pk: {"pending": 0, "accepted": 0, "disabled": 0} for pk in ids}
    rows = (User.objects.guests().active().filter(tenant__in=ids).values("tenant_id")
            .annotate(pending=Count("pk", filter=Q(external_user_state=User.ExternalUserState.PENDING_ACCEPTANCE)),
                      accepted=Count("pk", filter=Q(external_user_state=User.ExternalUserState.ACCEPTED)),
                      disabled=Count("pk", filter=Q(account_enabled=False))))
    for row in rows:
        counts[row["tenant_id"]] = {k: row[k] for k in ("pending", "accepted", "disabled")}
    for pk, values in counts.items():
        values["total"] = values["pending"] + values["accepted"]
        values["tenant_id"] = pk
    return counts


def _mail(ids) -> dict:
    counts = {pk: {"waiting": 0, "failed": 0} for pk in ids}
    rows = (OutboxMessage.objects.filter(tenant__in=ids).exclude(status=OutboxMessage.Status.SENT)
            .values("tenant_id").annotate(waiting=Count("pk", filter=Q(status=OutboxMessage.Status.PENDING)),
                                          failed=Count("pk", filter=Q(status=OutboxMessage.Status.FAILED))))
    for row in rows:
        counts[row["tenant_id"]] = {"waiting": row["waiting"], "failed": row["failed"]}
    return counts


register_overview_card(OverviewCard("guests", _("Guests"), "user", "admin/overview/guests.html", _guests, order=10))
register_overview_card(OverviewCard("mail", _("Undelivered mail"), "outbox", "admin/overview/mail.html", _mail,
                                    order=90))
