"""The one authorization table: which role (and member, guest, owner) holds which capability.

Capabilities are named like Microsoft Graph's permissions, so an app's granted application
permissions, a delegated token's scopes and a person's roles are compared in one vocabulary. The
admin console's areas, the API's permission checks, the access panel and the services all ask this
module; nothing else maps a role to what it may do (``tests/directory/test_authz.py`` greps for
strays).

Decisions taken after Entra's built-in role definitions (``docs/architecture.md`` lists them):

- Reading the audit log (``AuditLog.Read.All``) belongs to the Global and Security Administrators
  (Entra: Security Administrator, Security Reader, Reports Reader, Global Reader, Global
  Administrator). User, Groups, Application and Identity Governance Administrators do not read it,
  in the console or through the API.
- The external collaboration settings (``Policy.ReadWrite.Authorization``) are changed by the
  Global and Security Administrators, in the console and through the API.
- A person reads and changes their own authentication methods (``UserAuthenticationMethod.ReadWrite``,
  members and guests alike); other people's only the Global Administrator (Entra's Authentication
  Administrators do not exist here yet).
- Conditional access, named locations and terms of use (``Policy.Read/ReadWrite.ConditionalAccess``,
  ``Agreement.Read/ReadWrite.All``) belong to the Global and Security Administrators (Entra: also the
  Conditional Access Administrator, which this deployment does not have). Every member holds
  ``Policy.Read.All``, so reading conditional access asks for a role as well (``policies.selectors.
  may_read_conditional_access``).
- Cross-tenant access settings (``Policy.ReadWrite.CrossTenantAccess``) are changed by the Global and
  Security Administrators (Entra's least-privileged role for them is the Security Administrator).
- Access reviews (``AccessReview.Read.All`` / ``AccessReview.ReadWrite.All``) are created and managed by
  the Global and Identity Governance Administrators; decisions belong to the reviewers each item names,
  whatever their roles (:data:`ACCESS_REVIEW_REVIEWER_SCOPES`, ``entitlements.selectors.may_review``).
- Identity providers (``IdentityProvider.Read.All`` / ``IdentityProvider.ReadWrite.All``) are read and
  changed by the Global and Security Administrators (Entra: External Identity Provider Administrator,
  which this deployment does not have); members do not read them.
- Only the Global Administrator assigns roles and changes the organization (domains, branding).
- A role that manages users manages only holders of roles it outranks or equals (Entra's "who can
  perform sensitive actions"): see :data:`MANAGEABLE_ROLES`.
"""

from collections.abc import Iterable

from .models import Role

R = Role

# -- the capabilities ---------------------------------------------------------------------------

READ_ALL = frozenset({
    "User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Application.Read.All", "Policy.Read.All",
    "Directory.Read.All", "Organization.Read.All", "RoleManagement.Read.Directory",
})
USER_WRITE = frozenset({"User.ReadWrite.All", "User.Invite.All", "User.EnableDisableAccount.All"})
GROUP_WRITE = frozenset({"Group.ReadWrite.All", "GroupMember.ReadWrite.All", "Group.Create"})
APP_WRITE = frozenset({"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"})
POLICY_WRITE = frozenset({"Policy.ReadWrite.Authorization"})
#: Conditional access and terms of use. Graph's delegated rule applies: a token's scope is not enough,
#: the signed-in user also needs a role that reads or manages them (Security or Global Administrator).
CONDITIONAL_ACCESS_WRITE = frozenset({"Policy.ReadWrite.ConditionalAccess", "Policy.Read.ConditionalAccess",
                                      "Agreement.ReadWrite.All", "Agreement.Read.All"})
#: Cross-tenant access settings (Entra: Security Administrator).
CROSS_TENANT_WRITE = frozenset({"Policy.ReadWrite.CrossTenantAccess"})
#: Identity providers guests sign in with (Entra: External Identity Provider Administrator).
IDENTITY_PROVIDER_WRITE = frozenset({"IdentityProvider.ReadWrite.All", "IdentityProvider.Read.All"})
AUDIT_READ = frozenset({"AuditLog.Read.All"})
ORGANIZATION_WRITE = frozenset({"Organization.ReadWrite.All", "Domain.ReadWrite.All"})
ROLE_WRITE = frozenset({"RoleManagement.ReadWrite.Directory"})
ENTITLEMENT_READ = frozenset({"EntitlementManagement.Read.All"})
ENTITLEMENT_WRITE = frozenset({"EntitlementManagement.ReadWrite.All"})
#: Access reviews: created and managed by Identity Governance Administrators (Entra); decided only by the
#: reviewers each decision item names (see :data:`ACCESS_REVIEW_REVIEWER_SCOPES`), administrators included.
ACCESS_REVIEW_WRITE = frozenset({"AccessReview.ReadWrite.All"})
OUTBOX = frozenset({"Outbox.ReadWrite.All"})  # the portal's own mail queue; not a Graph permission

#: Every capability there is, with what it lets its holder do.
CAPABILITIES: dict[str, str] = {
    "User.Read": "Read your own profile.",
    "User.ReadWrite": "Read and update your own profile (display name, preferred language).",
    "User.Read.All": "Read all users' full profiles.",
    "User.ReadWrite.All": "Read and write all users' full profiles.",
    "User.Invite.All": "Invite guest users to the organization.",
    "User.EnableDisableAccount.All": "Enable and disable user accounts.",
    "Group.Read.All": "Read all groups.",
    "Group.Create": "Create groups (members: where the tenant lets members create security groups).",
    "Group.ReadWrite.All": "Read and write all groups.",
    "GroupMember.Read.All": "Read group memberships.",
    "GroupMember.ReadWrite.All": "Read and write group memberships.",
    "Application.Read.All": "Read applications.",
    "Application.ReadWrite.All": "Read and write all applications.",
    "AppRoleAssignment.ReadWrite.All": "Manage app role assignments.",
    "Policy.Read.All": "Read your organization's policies.",
    "Policy.ReadWrite.Authorization": "Read and write your organization's authorization policy.",
    "Policy.ReadWrite.CrossTenantAccess": "Read and write your organization's cross-tenant access policies.",
    "Policy.Read.ConditionalAccess": "Read your organization's conditional access policies and named locations.",
    "Policy.ReadWrite.ConditionalAccess": "Read and write your organization's conditional access policies and "
                                          "named locations.",
    "Agreement.Read.All": "Read terms of use and their acceptances.",
    "Agreement.ReadWrite.All": "Read and write terms of use.",
    "AuditLog.Read.All": "Read audit log data.",
    "IdentityProvider.Read.All": "Read your organization's identity providers.",
    "IdentityProvider.ReadWrite.All": "Read and write your organization's identity providers.",
    "Directory.Read.All": "Read directory data.",
    "Directory.ReadWrite.All": "Read and write directory data.",
    "Organization.Read.All": "Read organization information.",
    "Organization.ReadWrite.All": "Read and write organization information (branding).",
    "Domain.ReadWrite.All": "Read and write domains.",
    "RoleManagement.Read.Directory": "Read directory role assignments.",
    "RoleManagement.ReadWrite.Directory": "Assign and remove directory roles.",
    "Outbox.ReadWrite.All": "Read the organization's outgoing mail and send it again.",
    "UserAuthenticationMethod.ReadWrite": "Read and write your own authentication methods.",
    "UserAuthenticationMethod.ReadWrite.All": "Read and write all users' authentication methods.",
    "EntitlementManagement.Read.All": "Read all entitlement management resources (catalogs, access packages, "
                                      "policies, requests, assignments, connected organizations).",
    "EntitlementManagement.ReadWrite.All": "Read and write all entitlement management resources.",
    "AccessReview.Read.All": "Read all access reviews (definitions, instances, decisions).",
    "AccessReview.ReadWrite.All": "Read, create, change, stop and apply access reviews.",
}

# Graph's umbrella permissions imply the specific ones.
IMPLIED: dict[str, frozenset[str]] = {
    "Directory.Read.All": READ_ALL - {"Policy.Read.All"},
    "Directory.ReadWrite.All": (READ_ALL - {"Policy.Read.All"}) | USER_WRITE | GROUP_WRITE | APP_WRITE,
    "User.ReadWrite.All": frozenset({"User.Read.All", "User.Invite.All", "User.EnableDisableAccount.All"}),
    "User.ReadWrite": frozenset({"User.Read"}),
    "Group.ReadWrite.All": frozenset({"Group.Read.All", "GroupMember.Read.All", "GroupMember.ReadWrite.All",
                                      "Group.Create"}),
    "GroupMember.ReadWrite.All": frozenset({"GroupMember.Read.All", "Group.Read.All"}),
    "Application.ReadWrite.All": frozenset({"Application.Read.All"}),
    "Policy.ReadWrite.Authorization": frozenset({"Policy.Read.All"}),
    "Policy.ReadWrite.ConditionalAccess": frozenset({"Policy.Read.All", "Policy.Read.ConditionalAccess"}),
    "Policy.ReadWrite.CrossTenantAccess": frozenset({"Policy.Read.All"}),
    "Agreement.ReadWrite.All": frozenset({"Agreement.Read.All"}),
    "IdentityProvider.ReadWrite.All": frozenset({"IdentityProvider.Read.All"}),
    "Organization.ReadWrite.All": frozenset({"Organization.Read.All"}),
    "RoleManagement.ReadWrite.Directory": frozenset({"RoleManagement.Read.Directory"}),
    "EntitlementManagement.ReadWrite.All": frozenset({"EntitlementManagement.Read.All"}),
    "AccessReview.ReadWrite.All": frozenset({"AccessReview.Read.All"}),
}

#: What each built-in role may do in its tenant.
ROLE_CAPABILITIES: dict[Role, frozenset[str]] = {
    R.GLOBAL_ADMINISTRATOR: frozenset(CAPABILITIES),
    R.USER_ADMINISTRATOR: READ_ALL | USER_WRITE | GROUP_WRITE,
    R.GROUPS_ADMINISTRATOR: READ_ALL | GROUP_WRITE,
    R.APPLICATION_ADMINISTRATOR: READ_ALL | APP_WRITE,
    R.SECURITY_ADMINISTRATOR: READ_ALL | POLICY_WRITE | AUDIT_READ | CONDITIONAL_ACCESS_WRITE | CROSS_TENANT_WRITE
                              | IDENTITY_PROVIDER_WRITE,
    R.IDENTITY_GOVERNANCE_ADMINISTRATOR: READ_ALL | ENTITLEMENT_WRITE | ACCESS_REVIEW_WRITE,
    R.GUEST_INVITER: frozenset({"User.Invite.All"}),
}

#: Default user permissions. Members read the directory, may ask to invite (the invitation service
#: still asks the tenant's settings) and may ask to create groups (``group_create`` still asks the
#: tenant's ``members_can_create_security_groups``); guests read what their guest access level shows.
#: Both update their own profile (what Entra lets a user change about themselves: the access panel's My
#: Account) and their own authentication methods, and, where external, leave (``directory.leave``).
MEMBER_CAPABILITIES = READ_ALL | {"User.Read", "User.ReadWrite", "User.Invite.All", "Group.Create",
                                  "UserAuthenticationMethod.ReadWrite"}
GUEST_CAPABILITIES = frozenset({"User.Read", "User.ReadWrite", "User.Read.All", "Group.Read.All",
                                "GroupMember.Read.All", "User.Invite.All", "Organization.Read.All",
                                "UserAuthenticationMethod.ReadWrite"})

#: What an owner may do to the group or application it owns, whatever its roles.
OWNER_CAPABILITIES: dict[str, frozenset[str]] = {
    "group": frozenset({"Group.ReadWrite.All", "GroupMember.ReadWrite.All"}),
    "application": frozenset({"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"}),
}

#: Who decides a self-service request (a group join request, a request for an application): the group's
#: owners, or the application's approvers (its owners when it names none), and whoever holds this
#: capability on the thing asked for (administrators). See ``Actor.may_decide``.
DECIDE_CAPABILITY: dict[str, str] = {"group": "GroupMember.ReadWrite.All",
                                     "application": "AppRoleAssignment.ReadWrite.All"}

#: Privileged roles a user-managing role may act on (block, delete, reset, change). Everyone may act
#: on users without a role. Entra: a User Administrator manages Groups Administrators, Guest
#: Inviters and other User Administrators, not Global, Application, Security or Identity Governance
#: Administrators.
MANAGEABLE_ROLES: dict[Role, frozenset[Role]] = {
    R.GLOBAL_ADMINISTRATOR: frozenset(Role),
    R.USER_ADMINISTRATOR: frozenset({R.USER_ADMINISTRATOR, R.GROUPS_ADMINISTRATOR, R.GUEST_INVITER}),
}

#: Admin console areas: (capability to read, capability to manage).
ADMIN_AREAS: dict[str, tuple[str, str | None]] = {
    "tenant": ("Organization.Read.All", "Organization.ReadWrite.All"),
    "user": ("User.Read.All", "User.ReadWrite.All"),
    "group": ("Group.Read.All", "Group.ReadWrite.All"),
    "application": ("Application.Read.All", "Application.ReadWrite.All"),
    "role": ("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory"),
    "audit": ("AuditLog.Read.All", None),
    "policy": ("Policy.Read.All", "Policy.ReadWrite.Authorization"),
    "conditional_access": ("Policy.Read.ConditionalAccess", "Policy.ReadWrite.ConditionalAccess"),
    "terms_of_use": ("Agreement.Read.All", "Agreement.ReadWrite.All"),
    "cross_tenant": ("Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess"),
    "identity_provider": ("IdentityProvider.Read.All", "IdentityProvider.ReadWrite.All"),
    "invitation": ("User.Read.All", "User.Invite.All"),
    "outbox": ("Outbox.ReadWrite.All", "Outbox.ReadWrite.All"),
    "signin": ("AuditLog.Read.All", None),
    "authmethod": ("UserAuthenticationMethod.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"),
    "entitlement": ("EntitlementManagement.Read.All", "EntitlementManagement.ReadWrite.All"),
    "access_review": ("AccessReview.Read.All", "AccessReview.ReadWrite.All"),
}

#: A reviewer (any user a decision item names: owner, chosen user, sponsor, manager, the person
#: themselves) decides that item, and only that one, whatever their roles: in the access panel, or through
#: Graph with a delegated token carrying one of these scopes (app-only tokens never decide).
ACCESS_REVIEW_REVIEWER_SCOPES = frozenset({"AccessReview.Read.All", "AccessReview.ReadWrite.All"})

# -- entitlement management: the per-catalog roles ---------------------------------------------------

#: Entra's catalog roles (role definition ids as values), given per catalog (``CatalogRoleAssignment``).
CATALOG_OWNER = "ae79f266-94d4-4dab-b730-feca7e132178"
CATALOG_READER = "44272f93-9762-48e8-af59-1b5351b1d6b3"
ACCESS_PACKAGE_MANAGER = "7f480852-ebdc-47d4-87de-0d8498384a83"
ACCESS_PACKAGE_ASSIGNMENT_MANAGER = "e2182095-804a-4656-ae11-64734e9b7ae5"

#: What each catalog role may do inside its catalog (Entra's entitlement-management-delegate):
#: ``read`` the catalog and all it holds; ``catalog`` change it and its resources (an owner adds a
#: resource only with rights on it too); ``packages`` create and change packages and policies;
#: ``assignments`` assign directly and remove. Holders of ``EntitlementManagement.ReadWrite.All`` in
#: the tenant may do all of it in every catalog, ``EntitlementManagement.Read.All`` may read.
CATALOG_ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    CATALOG_OWNER: frozenset({"read", "catalog", "packages", "assignments"}),
    CATALOG_READER: frozenset({"read"}),
    ACCESS_PACKAGE_MANAGER: frozenset({"read", "packages", "assignments"}),
    ACCESS_PACKAGE_ASSIGNMENT_MANAGER: frozenset({"read", "assignments"}),
}


#: Entra's tenant-wide entitlement-management role "Catalog creator" (``roleManagement/entitlementManagement``,
#: directory scope "/"): its holders create catalogs and become the first owner of each; other catalogs stay
#: out of their sight (they hold no tenant-wide permission).
CATALOG_CREATOR = "ba92d953-d8e0-4e39-a797-0cbedb0a89e8"


def may_create_catalog(*, tenant_capabilities: Iterable[str], entitlement_roles: Iterable[str]) -> bool:
    """May someone create a catalog in a tenant: with the tenant-wide write permission, or as a catalog
    creator there."""
    return ("EntitlementManagement.ReadWrite.All" in set(tenant_capabilities)
            or CATALOG_CREATOR in {str(role) for role in entitlement_roles})


def catalog_capabilities(*, tenant_capabilities: Iterable[str], catalog_roles: Iterable[str]) -> frozenset[str]:
    """What someone may do in one catalog: everything with the tenant-wide write permission, reading
    with the tenant-wide read permission, and what their roles in the catalog give."""
    tenant_capabilities = set(tenant_capabilities)
    if "EntitlementManagement.ReadWrite.All" in tenant_capabilities:
        return frozenset({"read", "catalog", "packages", "assignments"})
    result: set[str] = {"read"} if "EntitlementManagement.Read.All" in tenant_capabilities else set()
    for role in catalog_roles:
        result |= CATALOG_ROLE_CAPABILITIES.get(str(role), frozenset())
    return frozenset(result)

#: What an app registration may be granted (application permissions) and may ask for on behalf of a
#: user (delegated permissions).
APPLICATION_PERMISSIONS = sorted(set(CAPABILITIES) - {"User.Read", "User.ReadWrite", "Outbox.ReadWrite.All",
                                                     "UserAuthenticationMethod.ReadWrite"})
DELEGATED_PERMISSIONS = sorted(set(APPLICATION_PERMISSIONS) | {"User.Read", "User.ReadWrite"})


def expand(capabilities: Iterable[str]) -> frozenset[str]:
    """The capabilities with everything their umbrella permissions imply."""
    result = set(capabilities)
    for name in list(result):
        result |= IMPLIED.get(name, frozenset())
    return frozenset(result)


def role_capabilities(roles: Iterable[Role | str]) -> frozenset[str]:
    caps: set[str] = set()
    for role in roles:
        caps |= ROLE_CAPABILITIES.get(Role(role), frozenset())
    return expand(caps)


def user_capabilities(*, is_guest: bool, roles: Iterable[Role | str]) -> frozenset[str]:
    """A person's capabilities in a tenant: the default user permissions and their roles'."""
    return expand((GUEST_CAPABILITIES if is_guest else MEMBER_CAPABILITIES) | role_capabilities(roles))


def console_capabilities(*, is_guest: bool, roles: Iterable[Role | str]) -> frozenset[str]:
    """What a role holder sees and does in the admin console: what they may read by default, and what
    their roles let them manage (the default right to ask to invite is the access panel's, not the
    console's)."""
    defaults = (GUEST_CAPABILITIES if is_guest else MEMBER_CAPABILITIES) - {"User.Invite.All"}
    return expand(defaults | role_capabilities(roles))


def may_manage_holder(actor_roles: Iterable[Role | str], target_roles: Iterable[Role | str]) -> bool:
    """May someone holding ``actor_roles`` manage (block, delete, reset, change roles of) a user who
    holds ``target_roles``?"""
    target = {Role(r) for r in target_roles}
    if not target:
        return True
    allowed: set[Role] = set()
    for role in actor_roles:
        allowed |= MANAGEABLE_ROLES.get(Role(role), frozenset())
    return target <= allowed


def area_capability(area: str, *, manage: bool) -> str | None:
    read, write = ADMIN_AREAS[area]
    return write if manage else read


def roles_with(capability: str) -> frozenset[Role]:
    """The roles whose holders may use ``capability`` in their tenant (e.g. whom to tell about a change)."""
    return frozenset(role for role in Role if capability in role_capabilities([role]))
