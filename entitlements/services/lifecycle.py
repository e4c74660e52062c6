"""The external-user lifecycle: block a guest's sign-in now, remove them from the tenant later.

Entitlement management applies the tenant's ``externalUserLifecycleAction`` to the guests it brought in
once their last assignment ends; an access review that denies a guest may "block sign-in for 30 days,
then remove". Both call :func:`block_then_delete`. Blocking is the directory's own (``accountEnabled``
false: audited, the guest's tokens for the tenant's apps revoked, the panel refuses their session);
removal is the directory's soft delete (restorable for 30 days), done by a beat sweep when it is due.
A new assignment before then undoes the block (:func:`unblock_if_pending`).
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from directory.actors import Actor, require_actor
from directory.audit import Change, Target, audit, audit_event, audit_save, register_activities
from directory.models import Tenant, User
from directory.services import (
    notify_sponsors,
    notify_sponsors_many,
    user_update,
    users_block_many,
    users_delete_many,
)

from ..models import Assignment, EntitlementSettings, ExternalUserLifecycle

register_activities("UserManagement", {
    "Schedule removal of external user": "Update", "Cancel removal of external user": "Update",
})

BATCH = 500
REMOVAL_REASON = "External user lifecycle: blocked, then removed"
BLOCK_REASON = "External user lifecycle: the last access package assignment ended"
#: What sponsors read (in their language) when the lifecycle blocks their guest.
BLOCK_NOTICE = gettext_lazy("Their last access package assignment ended.")
A = EntitlementSettings.LifecycleAction


def _require_platform(actor: Actor) -> Actor:
    require_actor(actor)
    if not actor.is_platform:
        raise PermissionDenied(_("Only the platform runs the external-user lifecycle."))
    return actor


@transaction.atomic
def block_then_delete(*, actor: Actor, user: User, reason: str, delete_after: timedelta | None) -> None:
    """Block ``user``'s sign-in now and record that they are removed from the tenant ``delete_after``
    from now (``None``: blocked only, never removed). Needs ``User.EnableDisableAccount.All`` (the
    directory's block decides; privileged users only by those who outrank them). Guests only. A guest
    already waiting for removal keeps their date (Entra: edits do not move scheduled deletions)."""
    actor = require_actor(actor).in_tenant(user.tenant)
    if not user.is_guest:
        raise ValidationError(_("Only external users are blocked and removed by the external-user lifecycle."),
                              code="not_external")
    if delete_after is not None and delete_after < timedelta(0):
        raise ValidationError({"delete_after": _("The time before removal cannot be negative.")})
    user = user_update(actor=actor, user=user, changes={"account_enabled": False})
    row, _created = ExternalUserLifecycle.objects.select_for_update().get_or_create(
        user=user, defaults={"tenant_id": user.tenant_id})
    if row.is_pending_removal:
        return
    now = timezone.now()
    row.blocked_at, row.removed_at, row.reason = now, None, str(reason or "")[:256]
    row.delete_after_at = now + delete_after if delete_after is not None else None
    row.save(update_fields=["blocked_at", "removed_at", "reason", "delete_after_at"])
    audit(tenant=user.tenant, actor=actor, activity="Schedule removal of external user",
          targets=[Target(user, [Change("deletionScheduledDateTime", None, row.delete_after_at)])],
          details={"reason": row.reason})
    notify_sponsors(user, "blocked", {"reason": reason, "delete_after": row.delete_after_at},
                    dedupe=row.blocked_at.isoformat())


@transaction.atomic
def unblock_if_pending(*, actor: Actor, user: User) -> bool:
    """Give a guest blocked by the lifecycle their sign-in back and cancel their removal (a new
    assignment came before the removal). A guest blocked by an administrator, removed already, or not
    blocked is left alone: False."""
    actor = require_actor(actor).in_tenant(user.tenant)
    row = (ExternalUserLifecycle.objects.select_for_update()
           .filter(user_id=user.pk, blocked_at__isnull=False, removed_at__isnull=True).first())
    if row is None or User.objects.filter(pk=user.pk, deleted_at__isnull=False).exists():
        return False
    user = user_update(actor=actor, user=user, changes={"account_enabled": True})
    old = row.delete_after_at
    row.blocked_at = row.delete_after_at = None
    row.reason = ""
    row.save(update_fields=["blocked_at", "delete_after_at", "reason"])
    audit(tenant=user.tenant, actor=actor, activity="Cancel removal of external user",
          targets=[Target(user, [Change("deletionScheduledDateTime", old, None)])])
    return True


def external_users_remove_due(*, actor: Actor, now=None, batch: int = BATCH) -> int:
    """Remove (soft delete) the blocked guests whose removal is due: set-based batches taken with
    ``FOR UPDATE SKIP LOCKED``, each batch one transaction (a killed worker loses only its open batch;
    two sweeps at once share the work). A guest an administrator enabled again meanwhile is not removed
    (their block is over); one deleted already counts as removed."""
    _require_platform(actor)
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(ExternalUserLifecycle.objects.select_for_update(skip_locked=True)
                        .filter(blocked_at__isnull=False, removed_at__isnull=True, delete_after_at__lte=now)
                        .order_by("delete_after_at").values_list("user_id", "tenant_id", "blocked_at")[:batch])
            if not rows:
                return total
            blocked_at = {r[0]: r[2] for r in rows}
            rows = [r[:2] for r in rows]
            state = dict(User.objects.filter(pk__in=[r[0] for r in rows]).values_list(
                "pk", "account_enabled"))
            enabled = [pk for pk, _t in rows if state.get(pk)]
            due: dict = {}
            for pk, tenant_id in rows:
                if pk in state and not state[pk]:
                    due.setdefault(tenant_id, []).append(pk)
            for tenant in Tenant.objects.filter(pk__in=list(due)):
                removed = users_delete_many(actor=actor.in_tenant(tenant), tenant=tenant, user_ids=due[tenant.pk],
                                            reason=REMOVAL_REASON)
                total += len(removed)
                restore_until = now + timedelta(days=User.RESTORE_WINDOW_DAYS)
                notify_sponsors_many(removed, "removed", {
                    u.pk: {"blocked_at": blocked_at[u.pk], "restore_until": restore_until} for u in removed},
                    dedupe=f"{now:%Y%m%d}")
            ExternalUserLifecycle.objects.filter(user_id__in=[pk for pk, _t in rows if pk not in enabled]).update(
                removed_at=now)
            ExternalUserLifecycle.objects.filter(user_id__in=enabled).update(blocked_at=None, delete_after_at=None)


def external_users_block_due(*, actor: Actor, now=None, batch: int = BATCH) -> int:
    """Apply each tenant's ``externalUserLifecycleAction`` to the guests entitlement management brought in
    whose assignment ended (``access_ended_at``) and who hold no active assignment now: block sign-in
    (``blockSignIn``), and with ``blockSignInAndDelete`` schedule their removal after the tenant's
    ``durationUntilExternalUserDeletedAfterBlocked``; their sponsors are mailed. Set-based batches taken
    with ``FOR UPDATE SKIP LOCKED``, one transaction each; every row taken is settled (acted on, or let
    go: access again, deleted, a member, or ``none``), so a second run finds nothing to do."""
    _require_platform(actor)
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            rows = dict(ExternalUserLifecycle.objects.select_for_update(skip_locked=True)
                        .filter(governed=True, blocked_at__isnull=True, removed_at__isnull=True,
                                access_ended_at__isnull=False, access_ended_at__lte=now)
                        .order_by("access_ended_at").values_list("user_id", "tenant_id")[:batch])
            if not rows:
                return total
            holding = set(Assignment.objects.filter(target_id__in=list(rows), state__in=Assignment.ACTIVE_STATES)
                          .values_list("target_id", flat=True))
            guests = set(User.objects.filter(pk__in=list(rows), user_type=User.UserType.GUEST,
                                             deleted_at__isnull=True).values_list("pk", flat=True))
            settings = {s.tenant_id: s for s in EntitlementSettings.objects.filter(tenant_id__in=set(rows.values()))}
            due: dict = {}
            for pk, tenant_id in rows.items():
                action = settings[tenant_id].external_user_lifecycle_action if tenant_id in settings else \
                    EntitlementSettings._meta.get_field("external_user_lifecycle_action").default
                if pk in guests and pk not in holding and action != A.NONE:
                    due.setdefault(tenant_id, []).append(pk)
            ExternalUserLifecycle.objects.filter(user_id__in=list(rows)).update(access_ended_at=None)
            for tenant in Tenant.objects.filter(pk__in=list(due)):
                total += _block(actor.in_tenant(tenant), tenant, due[tenant.pk], settings.get(tenant.pk), now)


def _block(actor: Actor, tenant: Tenant, user_ids: list, settings: EntitlementSettings | None, now) -> int:
    settings = settings or EntitlementSettings(tenant=tenant)
    users_block_many(actor=actor, tenant=tenant, user_ids=user_ids, reason=BLOCK_REASON)  # skips those blocked
    delete_after = None
    if settings.external_user_lifecycle_action == A.BLOCK_SIGN_IN_AND_DELETE:
        delete_after = now + settings.duration_until_external_user_deleted_after_blocked
    ExternalUserLifecycle.objects.filter(user_id__in=user_ids).update(
        blocked_at=now, delete_after_at=delete_after, reason=BLOCK_REASON)
    users = list(User.objects.filter(pk__in=user_ids).only(
        "pk", "tenant_id", "display_name", "user_principal_name", "mail", "other_mails"))
    initiator = actor.initiated_by()
    audit_save([audit_event(tenant=tenant, actor=actor, initiator=initiator, when=now,
                            activity="Schedule removal of external user",
                            targets=[Target(u, [Change("deletionScheduledDateTime", None, delete_after)])],
                            details={"reason": BLOCK_REASON}) for u in users])
    notify_sponsors_many(users, "blocked", {u.pk: {"reason": BLOCK_NOTICE, "delete_after": delete_after}
                                            for u in users}, dedupe=now.isoformat())
    return len(users)
