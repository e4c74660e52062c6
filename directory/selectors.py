"""Reads that more than one interface needs, tenant-scoped, with their joins done once."""

from django.db.models import Exists, OuterRef, Q, QuerySet

from .models import Account, Application, AppRoleAssignment, Role, RoleAssignment, Tenant, User

ADMIN_ROLES = frozenset(Role)


def user_for_account(*, tenant: Tenant, account: Account) -> User | None:
    """The tenant's user object for a signed-in account (None when it has none, or it is deleted)."""
    if not account.is_authenticated:
        return None
    return User.objects.active().filter(tenant=tenant, account=account).first()


def applications_for_user(*, user: User, include_hidden: bool = False) -> QuerySet[Application]:
    """The apps this user may open in its tenant: assigned directly or through a group.

    One query, however many apps, groups and memberships there are.
    """
    assigned = AppRoleAssignment.objects.filter(application=OuterRef("pk")).filter(
        Q(user=user) | Q(group__members=user)
    )
    apps = Application.objects.filter(tenant_id=user.tenant_id).filter(Exists(assigned))
    if not include_hidden:
        apps = apps.filter(visible_to_users=True)
    return apps.order_by("display_name", "id")


def user_can_open_application(*, user: User, application: Application) -> bool:
    if user.tenant_id != application.tenant_id or user.deleted_at or not user.account_enabled:
        return False
    if not application.assignment_required:
        return True
    return applications_for_user(user=user, include_hidden=True).filter(pk=application.pk).exists()


def tenant_roles_for_account(*, account: Account) -> dict:
    """{tenant_id: {Role, …}} for every tenant where the account's (non-deleted) user holds a role."""
    roles: dict = {}
    if not account.is_authenticated:
        return roles
    rows = RoleAssignment.objects.filter(
        user__account=account, user__deleted_at__isnull=True, user__account_enabled=True
    ).values_list("tenant_id", "role")
    for tenant_id, role in rows:
        roles.setdefault(tenant_id, set()).add(Role(role))
    return roles
