"""A user's single links to other users: its manager and its sponsors (Graph's ``$ref`` writes)."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..actors import Actor
from ..audit import Change, Target, audit
from ..models import User
from ._common import authorize, ensure_same_tenant, validate_sponsors
from .users import ensure_may_manage


def _locked(user: User) -> User:
    locked = User.objects.select_for_update().filter(pk=user.pk, deleted_at__isnull=True).select_related(
        "tenant").first()
    if locked is None:
        raise User.DoesNotExist("The user was deleted.")
    return locked


@transaction.atomic
def user_set_manager(*, actor: Actor, user: User, manager: User | None) -> bool:
    """Set (or, with None, remove) ``user``'s manager: a user of the same tenant, never itself.
    True when something changed. A privileged user's manager is changed only by those who outrank it."""
    authorize(actor, "User.ReadWrite.All", tenant=user.tenant_id)
    user = _locked(user)
    ensure_may_manage(actor, user)
    if manager is not None:
        ensure_same_tenant(user.tenant, [manager], field="manager")
        if manager.pk == user.pk:
            raise ValidationError({"manager": _("A user cannot be its own manager.")}, code="own_manager")
    if user.manager_id == (manager.pk if manager else None):
        return False
    change = Change("manager", str(user.manager_id) if user.manager_id else None,
                    str(manager.pk) if manager else None)
    user.manager = manager
    user.save(update_fields=["manager", "updated_at"])
    audit(tenant=user.tenant, actor=actor, activity="Update user", targets=[Target(user, [change])])
    return True


def _sponsor_link(*, actor: Actor, user: User, sponsor: User, add: bool) -> bool:
    authorize(actor, "User.ReadWrite.All", tenant=user.tenant_id)
    user = _locked(user)  # concurrent adds of one sponsor queue up here: exactly one adds it
    present = user.sponsors.filter(pk=sponsor.pk).exists()
    if add == present:
        return False
    old = sorted(str(pk) for pk in user.sponsors.values_list("pk", flat=True))
    if add:
        ensure_same_tenant(user.tenant, [sponsor], field="sponsors")
        validate_sponsors(user, [*user.sponsors.filter(deleted_at__isnull=True), sponsor])
        user.sponsors.add(sponsor)
        new = sorted([*old, str(sponsor.pk)])
    else:
        user.sponsors.remove(sponsor)
        new = [pk for pk in old if pk != str(sponsor.pk)]
    audit(tenant=user.tenant, actor=actor, activity="Update user",
          targets=[Target(user, [Change("sponsors", old, new)])])
    return True


@transaction.atomic
def user_sponsor_add(*, actor: Actor, user: User, sponsor: User) -> bool:
    """Add a sponsor; False (nothing changed) when it already is one."""
    return _sponsor_link(actor=actor, user=user, sponsor=sponsor, add=True)


@transaction.atomic
def user_sponsor_remove(*, actor: Actor, user: User, sponsor: User) -> bool:
    return _sponsor_link(actor=actor, user=user, sponsor=sponsor, add=False)
