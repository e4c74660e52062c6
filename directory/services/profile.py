"""What a person does to their own user object in a tenant: update their profile, leave the organization.

Called by the access panel's My Account (and by anything else that acts for the person themselves); an
admin changing someone else uses :func:`directory.services.users.user_update` / ``user_delete``.
"""

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import authz
from ..actors import Actor, ActorKind, require_actor
from ..audit import Change, Target, audit
from ..emails import guest_left_message
from ..leave import leave_decision
from ..models import User
from ..tokens import revoke_account_tokens
from ._common import _apply, _validate_and_save
from .outbox import outbox_enqueue

#: What Entra lets a user change about themselves here (My Account > profile): the rest is the admin's.
SELF_SERVICE_FIELDS = frozenset({"display_name", "preferred_language"})


def _require_self(actor: Actor, user: User) -> None:
    require_actor(actor)
    if actor.kind != ActorKind.USER or actor.user is None or actor.user.pk != user.pk:
        raise PermissionDenied(_("Only the person themselves may do this."))
    actor.require("User.ReadWrite", tenant=user.tenant_id)


@transaction.atomic
def user_profile_update(*, actor: Actor, user: User, changes: dict) -> User:
    """Change one's own display name or preferred language (audited as Entra's "Update user", old → new)."""
    _require_self(actor, user)
    refused = set(changes) - SELF_SERVICE_FIELDS
    if refused:
        raise PermissionDenied(_("You cannot change %(fields)s yourself; ask an administrator.")
                               % {"fields": ", ".join(sorted(refused))})
    changes = {name: (value or "").strip() for name, value in changes.items()}
    if "display_name" in changes and not changes["display_name"]:
        raise ValidationError({"display_name": _("Enter a display name.")})
    user = User.objects.select_for_update().select_related("tenant").get(pk=user.pk)
    applied = _apply(user, changes)
    if applied:
        _validate_and_save(user)
        audit(tenant=user.tenant, actor=actor, activity="Update user", targets=[Target(user, applied)])
    return user


@transaction.atomic
def user_leave_organization(*, actor: Actor, user: User) -> User:
    """An external user leaves ``user.tenant`` (Entra's My Account > Organizations > Leave).

    Allowed only as :func:`directory.leave.leave_decision` says (the tenant's leave switch, its privacy
    statement, an enabled external user). The user object is soft-deleted, restorable by an admin for
    30 days with its memberships and assignments, then purged by the sweep; the tokens it holds there
    are revoked; the tenant's user administrators are told by e-mail, each in their language."""
    _require_self(actor, user)
    user = User.objects.select_for_update().select_related("tenant").get(pk=user.pk)
    decision = leave_decision(user)
    if not decision:
        raise ValidationError(decision.reason, code=decision.code)
    now = timezone.now()
    user.deleted_at = now
    user.save(update_fields=["deleted_at", "updated_at"])
    audit(tenant=user.tenant, actor=actor, activity="Delete user",
          targets=[Target(user, [Change("deleted", False, True)])],
          details={"reason": "The user left the organization (self-service leave)"})
    if user.account_id:
        revoke_account_tokens(account_id=user.account_id, tenant=user.tenant)
    _tell_admins_guest_left(user, restore_until=now + timedelta(days=User.RESTORE_WINDOW_DAYS))
    return user


def _tell_admins_guest_left(guest: User, *, restore_until) -> None:
    """One outbox message per admin who may restore the guest (the roles holding ``User.ReadWrite.All``)."""
    admins = (User.objects.active().filter(tenant_id=guest.tenant_id, account_enabled=True,
                                           role_assignments__role__in=authz.roles_with("User.ReadWrite.All"))
              .exclude(pk=guest.pk).distinct().order_by("id"))
    for admin in admins:
        address = admin.mail or admin.user_principal_name
        if "#EXT#" in address:
            continue  # an external admin without a mail address has no mailbox here
        outbox_enqueue(to=[address], tenant=guest.tenant,
                       dedupe_key=f"guest-left:{guest.pk}:{guest.deleted_at.isoformat()}:{admin.pk}",
                       **guest_left_message(guest=guest, recipient=admin, restore_until=restore_until))
