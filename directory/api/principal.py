"""Who is calling the API, in which tenant, with which Graph permissions."""

from dataclasses import dataclass

from ..models import Account, AppRegistration, Role, Tenant, User

READ_ALL = {"User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Application.Read.All", "Policy.Read.All",
            "Directory.Read.All", "Organization.Read.All"}
USER_WRITE = {"User.ReadWrite.All", "User.Invite.All", "User.EnableDisableAccount.All"}
GROUP_WRITE = {"Group.ReadWrite.All", "GroupMember.ReadWrite.All"}
APP_WRITE = {"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"}
POLICY_WRITE = {"Policy.ReadWrite.Authorization"}
AUDIT_READ = {"AuditLog.Read.All"}

# What each directory role lets a signed-in user do through a delegated token.
ROLE_CAPABILITIES: dict[Role, set[str]] = {
    Role.GLOBAL_ADMINISTRATOR: READ_ALL | USER_WRITE | GROUP_WRITE | APP_WRITE | POLICY_WRITE | AUDIT_READ
    | {"Directory.ReadWrite.All"},
    Role.USER_ADMINISTRATOR: READ_ALL | USER_WRITE | GROUP_WRITE | AUDIT_READ,
    Role.GROUPS_ADMINISTRATOR: READ_ALL | GROUP_WRITE,
    Role.APPLICATION_ADMINISTRATOR: READ_ALL | APP_WRITE,
    Role.SECURITY_ADMINISTRATOR: READ_ALL | POLICY_WRITE | AUDIT_READ,
    Role.IDENTITY_GOVERNANCE_ADMINISTRATOR: READ_ALL | AUDIT_READ,
    Role.GUEST_INVITER: READ_ALL | {"User.Invite.All"},
}
# Default user permissions: members read the directory and may invite (the invitation service still
# asks the tenant's settings); guests read what their guest access level shows, and may ask to invite.
MEMBER_CAPABILITIES = READ_ALL | {"User.Invite.All", "User.Read"}
GUEST_CAPABILITIES = {"User.Read", "User.Read.All", "Group.Read.All", "GroupMember.Read.All", "User.Invite.All",
                      "Organization.Read.All"}

APPLICATION_PERMISSIONS = sorted(READ_ALL | USER_WRITE | GROUP_WRITE | APP_WRITE | POLICY_WRITE | AUDIT_READ
                                 | {"Directory.ReadWrite.All"})
DELEGATED_PERMISSIONS = sorted(set(APPLICATION_PERMISSIONS) | {"User.Read"})


@dataclass(frozen=True)
class Principal:
    tenant: Tenant
    app: AppRegistration
    permissions: frozenset[str]
    account: Account | None = None
    user: User | None = None  # the tenant's user object, for delegated tokens
    # Delegated: what the token and the app allow before the user's roles narrow it. An owner of a
    # group acts on that group with these, whatever its roles (DESIGN §5: owners act on what they own).
    scopes: frozenset[str] = frozenset()

    @property
    def delegated(self) -> bool:
        return self.account is not None

    @property
    def is_guest(self) -> bool:
        return self.user is not None and self.user.is_guest

    @property
    def throttle_key(self) -> str:
        who = self.account.pk if self.account else "app"
        return f"{self.tenant.pk}:{self.app.pk}:{who}"

    def has_any(self, permissions) -> bool:
        return bool(self.permissions & set(permissions))


def delegated_capabilities(user: User) -> set[str]:
    caps = set(GUEST_CAPABILITIES if user.is_guest else MEMBER_CAPABILITIES)
    for role in user.role_assignments.values_list("role", flat=True):
        caps |= ROLE_CAPABILITIES.get(Role(role), set())
    return caps
