"""Directory roles: only those who may manage roles assign them, and never above their own rank."""

from django.db import transaction

from ..actors import Actor
from ..audit import Change, Target, audit
from ..models import Role, RoleAssignment, User
from ._common import _validate_and_save, authorize
from .users import ensure_may_manage


@transaction.atomic
def role_assign(*, actor: Actor, user: User, role: Role | str) -> RoleAssignment:
    authorize(actor, "RoleManagement.ReadWrite.Directory", tenant=user.tenant_id)
    ensure_may_manage(actor, user)
    assignment = RoleAssignment(tenant=user.tenant, user=user, role=Role(role))
    _validate_and_save(assignment)
    audit(tenant=user.tenant, actor=actor, activity="Add member to role",
          targets=[Target(user, [Change("role", None, Role(role).label)])])
    return assignment


@transaction.atomic
def role_unassign(*, actor: Actor, assignment: RoleAssignment) -> None:
    authorize(actor, "RoleManagement.ReadWrite.Directory", tenant=assignment.tenant_id)
    ensure_may_manage(actor, assignment.user)
    audit(tenant=assignment.tenant, actor=actor, activity="Remove member from role",
          targets=[Target(assignment.user, [Change("role", assignment.get_role_display(), None)])])
    assignment.delete()
