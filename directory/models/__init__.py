"""The directory's models, one family per module (re-exported here, so
``from directory.models import User`` keeps working)."""
from .app_registrations import AppRegistration
from .audit import AuditEvent, AuditKey
from .base import GUEST_UPN_MARKER, TenantOwnedQuerySet
from .federation import FederatedIdentity
from .mfa import AuthenticationMethod
from .objects import Application, AppRoleAssignment, Group, ManagedAccess
from .outbox import OutboxBody, OutboxMessage
from .people import Account, AccountManager, User, UserIdentity, UserQuerySet
from .requests import SelfServiceRequest
from .roles import Role, RoleAssignment
from .signins import SignInEvent
from .tenants import Branding, Domain, Tenant
from .tombstones import DeletedObject

__all__ = [
    "GUEST_UPN_MARKER",
    "Account",
    "AccountManager",
    "AppRegistration",
    "AppRoleAssignment",
    "Application",
    "AuditEvent",
    "AuditKey",
    "AuthenticationMethod",
    "Branding",
    "DeletedObject",
    "Domain",
    "FederatedIdentity",
    "Group",
    "ManagedAccess",
    "OutboxBody",
    "OutboxMessage",
    "Role",
    "RoleAssignment",
    "SelfServiceRequest",
    "SignInEvent",
    "Tenant",
    "TenantOwnedQuerySet",
    "User",
    "UserIdentity",
    "UserQuerySet",
]
