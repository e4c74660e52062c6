"""Which directory roles may read and manage which parts of a tenant in the admin console."""

from .models import Role

R = Role
ALL_ROLES = frozenset(Role)
DIRECTORY_READERS = ALL_ROLES - {R.GUEST_INVITER}

# area -> (roles that may read, roles that may manage)
AREAS: dict[str, tuple[frozenset, frozenset]] = {
    "tenant": (DIRECTORY_READERS, frozenset({R.GLOBAL_ADMINISTRATOR})),
    "user": (ALL_ROLES, frozenset({R.GLOBAL_ADMINISTRATOR, R.USER_ADMINISTRATOR})),
    "group": (ALL_ROLES, frozenset({R.GLOBAL_ADMINISTRATOR, R.USER_ADMINISTRATOR, R.GROUPS_ADMINISTRATOR})),
    "application": (ALL_ROLES, frozenset({R.GLOBAL_ADMINISTRATOR, R.APPLICATION_ADMINISTRATOR})),
    "role": (DIRECTORY_READERS, frozenset({R.GLOBAL_ADMINISTRATOR})),
    "audit": (DIRECTORY_READERS, frozenset()),
    "policy": (DIRECTORY_READERS, frozenset({R.GLOBAL_ADMINISTRATOR})),
    "invitation": (DIRECTORY_READERS, frozenset({R.GLOBAL_ADMINISTRATOR, R.USER_ADMINISTRATOR, R.GUEST_INVITER})),
    "outbox": (frozenset({R.GLOBAL_ADMINISTRATOR}), frozenset()),
}


def tenants_with(roles_by_tenant: dict, area: str, *, manage: bool) -> set:
    """The ids of the tenants where these roles may read (or manage) ``area``."""
    readers, managers = AREAS[area]
    wanted = managers if manage else readers | managers
    return {tenant_id for tenant_id, roles in roles_by_tenant.items() if roles & wanted}
