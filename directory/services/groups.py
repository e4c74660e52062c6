"""Groups, their members and owners. Owners manage what they own, whatever their roles."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from ..actors import Actor
from ..audit import Target, audit
from ..models import DeletedObject, Group, ManagedAccess, Tenant, User
from ._common import _apply, _set_m2m, _validate_and_save, authorize, ensure_same_tenant


def group_create_allowed(*, actor: Actor, tenant: Tenant) -> bool:
    """May ``actor`` create a group in ``tenant`` (the rule :func:`group_create` applies)?"""
    if not actor.can("Group.Create", tenant=tenant):
        return False
    return actor.can("Group.ReadWrite.All", tenant=tenant) or tenant.members_can_create_security_groups


@transaction.atomic
def group_create(
    *, actor: Actor, tenant: Tenant, display_name: str,
    owners: Iterable[User] = (), members: Iterable[User] = (), **fields,
) -> Group:
    """Create a group. Administrators (``Group.ReadWrite.All``) always; members (``Group.Create``) where
    the tenant lets members create security groups (Graph's ``allowedToCreateSecurityGroups``), and
    then, as in Entra's My Groups, the creator is the group's owner."""
    authorize(actor, "Group.Create", tenant=tenant)
    if not actor.can("Group.ReadWrite.All", tenant=tenant):
        if not group_create_allowed(actor=actor, tenant=tenant):
            raise PermissionDenied(_("This organization does not let members create groups."))
        owners = [actor.user, *(o for o in owners if o != actor.user)]
    group = Group(tenant=tenant, display_name=display_name, **fields)
    _validate_and_save(group)
    _set_m2m(instance=group, field="owners", new=owners, tenant=tenant)
    _set_m2m(instance=group, field="members", new=members, tenant=tenant)
    audit(tenant=tenant, actor=actor, activity="Add group",
          targets=[Target(group)])
    return group


@transaction.atomic
def group_update(*, actor: Actor, group: Group, changes: dict[str, Any]) -> Group:
    authorize(actor, "Group.ReadWrite.All", obj=group)
    group = Group.objects.select_for_update().get(pk=group.pk)
    changes = dict(changes)
    relations = {name: changes.pop(name) for name in ("owners", "members") if name in changes}
    applied = _apply(group, changes)
    if applied:
        _validate_and_save(group)
    for name, new in relations.items():
        change = _set_m2m(instance=group, field=name, new=new, tenant=group.tenant)
        if change:
            applied.append(change)
            # Whoever the new list leaves out holds nothing for a package any more either.
            kind = ManagedAccess.Kind.MEMBER if name == "members" else ManagedAccess.Kind.OWNER
            ManagedAccess.objects.filter(group=group, kind=kind).exclude(user_id__in=change.new).delete()
    if applied:
        audit(tenant=group.tenant, actor=actor, activity="Update group", targets=[Target(group, applied)])
    return group


@transaction.atomic
def group_delete(*, actor: Actor, group: Group) -> None:
    """Delete a group (for good: groups are not soft-deleted). Of two concurrent deletes one wins; the
    other finds no group (``Group.DoesNotExist``)."""
    authorize(actor, "Group.ReadWrite.All", obj=group)
    group = _locked(group)
    audit(tenant=group.tenant, actor=actor, activity="Delete group", targets=[Target(group)])
    DeletedObject.record(tenant_id=group.tenant_id, object_type="group", object_ids=[group.pk])  # /groups/delta
    group.delete()


def _locked(group: Group) -> Group:
    """The group's row, locked until the transaction ends (writers of one group queue up behind it)."""
    locked = Group.objects.select_for_update().filter(pk=group.pk).select_related("tenant").first()
    if locked is None:
        raise Group.DoesNotExist("The group was deleted.")
    return locked


def _group_link(*, actor: Actor, group: Group, user: User, relation: str, add: bool, managed: bool = False) -> bool:
    """Add or remove ``user`` as a member or owner of ``group``; a no-op (and no audit) when nothing
    changes. Whether something changed is decided under a lock on the group's row, so of two
    concurrent identical calls exactly one changes something (and returns True). A direct add of a
    membership held only for entitlement management makes it direct (it then outlives the package)."""
    authorize(actor, "GroupMember.ReadWrite.All" if relation == "members" else "Group.ReadWrite.All", obj=group)
    group = _locked(group)
    manager = getattr(group, relation)
    present = manager.filter(pk=user.pk).exists()
    kind = ManagedAccess.Kind.MEMBER if relation == "members" else ManagedAccess.Kind.OWNER
    noun = "member" if relation == "members" else "owner"
    if add and present:
        if managed or not ManagedAccess.of(kind, group, user).delete()[0]:
            return False
        activity = f"Add {noun} to group"
    elif add == present:
        return False
    elif add:
        ensure_same_tenant(group.tenant, [user], field=relation)
        manager.add(user)
        if managed:
            ManagedAccess.objects.create(tenant_id=group.tenant_id, user=user, kind=kind, group=group)
        activity = f"Add {noun} to group"
    else:
        manager.remove(user)
        ManagedAccess.of(kind, group, user).delete()
        activity = f"Remove {noun} from group"
    audit(tenant=group.tenant, actor=actor, activity=activity, targets=[Target(group), Target(user)])
    return True


@transaction.atomic
def group_member_add(*, actor: Actor, group: Group, user: User, managed: bool = False) -> bool:
    """True when ``user`` became a member, or a member held only for entitlement management became one
    held directly; False when nothing changed. ``managed``: the membership is held for an access package
    (:class:`~directory.models.ManagedAccess`), so the package's end may take it away again."""
    return _group_link(actor=actor, group=group, user=user, relation="members", add=True, managed=managed)


@transaction.atomic
def group_member_remove(*, actor: Actor, group: Group, user: User) -> bool:
    return _group_link(actor=actor, group=group, user=user, relation="members", add=False)


@transaction.atomic
def group_owner_add(*, actor: Actor, group: Group, user: User, managed: bool = False) -> bool:
    return _group_link(actor=actor, group=group, user=user, relation="owners", add=True, managed=managed)


@transaction.atomic
def group_owner_remove(*, actor: Actor, group: Group, user: User) -> bool:
    return _group_link(actor=actor, group=group, user=user, relation="owners", add=False)


@transaction.atomic
def group_members_remove_many(*, actor: Actor, group: Group, users: list[User], reason: str = "") -> set:
    """Remove these users from the group's members at once (an access review's denials): one delete and
    one audit insert whatever their number; the ids of those who were members (the others are skipped)."""
    authorize(actor, "GroupMember.ReadWrite.All", obj=group)
    group = _locked(group)
    rows = Group.members.through.objects.filter(group_id=group.pk, user_id__in=[u.pk for u in users])
    removed = set(rows.values_list("user_id", flat=True))
    rows.delete()
    _audit_many(actor, group.tenant, "Remove member from group", group, [u for u in users if u.pk in removed], reason)
    return removed


def _audit_many(actor: Actor, tenant, activity: str, obj, users: list[User], reason: str) -> None:
    from ..audit import audit_event, audit_save

    initiator = actor.initiated_by()
    audit_save([audit_event(tenant=tenant, actor=actor, initiator=initiator, activity=activity,
                            targets=[Target(obj), Target(user)], details={"reason": reason} if reason else None)
                for user in users])
