"""Who acts: every service takes ``actor: Actor`` and asks it what it may do.

An actor is one of four kinds:

- ``user``: a person acting in one tenant through their user object there, interactively (admin
  console, access panel) or through an app with a delegated token (``app`` and ``scopes`` set);
  a person signed in who has no user object in the tenant yet (a guest redeeming) is a ``user``
  actor with ``user=None`` and no capabilities;
- ``app``: an app registration acting on its own (client credentials);
- ``system``: the platform acting for one tenant (workers, sweeps, the grants of a redemption);
- ``operator``: the platform operator (a superuser in the console, or the command line).

There is no anonymous actor and no ``None``: a service that is handed anything but an ``Actor``
refuses (:func:`directory.authz` decides the rest). The audit row's ``initiatedBy`` comes from here.
"""

from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from . import authz
from .models import Account, AppRegistration, Role, Tenant, User

PLATFORM_NAME = "B2B Portal"


class ActorKind(StrEnum):
    USER = "user"
    APP = "app"
    SYSTEM = "system"
    OPERATOR = "operator"


@dataclass(frozen=True, eq=False)
class Actor:
    kind: ActorKind
    tenant: Tenant | None = None
    account: Account | None = None
    user: User | None = None
    app: AppRegistration | None = None
    #: Delegated tokens: the scopes the token carries (∩ the app's delegated permissions).
    scopes: frozenset[str] | None = None
    reason: str = ""
    ip: str | None = None
    #: The user's role values when the caller read them with the user (the panel's organizations query).
    known_roles: frozenset[str] | None = None

    # -- construction
    @classmethod
    def for_user(cls, user: User, *, app: AppRegistration | None = None, scopes=None, ip: str | None = None,
                 roles=None):
        """A person acting through their user object (with ``app``: through a delegated token). ``roles``:
        the user's role values, when the caller read them already (else :attr:`roles` asks once)."""
        return cls(ActorKind.USER, tenant=user.tenant, account=user.account, user=user, app=app,
                   scopes=frozenset(scopes) if scopes is not None else None, ip=ip,
                   known_roles=frozenset(roles) if roles is not None else None)

    @classmethod
    def for_account(cls, account: Account, tenant: Tenant | None, *, ip: str | None = None) -> "Actor":
        """A signed-in person in ``tenant``: the operator when a superuser, else their user object there
        (none yet, for a guest who is redeeming: such an actor may do nothing but redeem)."""
        user = User.objects.of_account(tenant=tenant, account=account)
        if account.is_active and account.is_superuser:
            return cls(ActorKind.OPERATOR, tenant=tenant, account=account, user=user, ip=ip)
        return cls(ActorKind.USER, tenant=tenant, account=account, user=user, ip=ip)

    @classmethod
    def for_app(cls, app: AppRegistration, *, ip: str | None = None) -> "Actor":
        return cls(ActorKind.APP, tenant=app.tenant, app=app, ip=ip)

    @classmethod
    def system(cls, tenant: Tenant | None, reason: str) -> "Actor":
        return cls(ActorKind.SYSTEM, tenant=tenant, reason=reason)

    @classmethod
    def operator(cls, account: Account | None = None, *, tenant: Tenant | None = None) -> "Actor":
        return cls(ActorKind.OPERATOR, tenant=tenant, account=account)

    def in_tenant(self, tenant: Tenant) -> "Actor":
        """The same actor acting in ``tenant`` (the operator and system move; others stay put)."""
        if self.kind in (ActorKind.OPERATOR, ActorKind.SYSTEM):
            return Actor(self.kind, tenant=tenant, account=self.account, reason=self.reason, ip=self.ip)
        return self

    # -- what it is
    @property
    def is_app_only(self) -> bool:
        return self.kind == ActorKind.APP

    @property
    def delegated(self) -> bool:
        return self.kind == ActorKind.USER and self.app is not None

    @property
    def is_guest(self) -> bool:
        return self.user is not None and self.user.is_guest

    @property
    def is_platform(self) -> bool:
        return self.kind in (ActorKind.OPERATOR, ActorKind.SYSTEM)

    @cached_property
    def roles(self) -> frozenset[Role]:
        """The directory roles the actor's user holds (none when blocked or deleted)."""
        user = self.user
        if user is None or user.pk is None or user.deleted_at or not user.account_enabled:
            return frozenset()
        if self.known_roles is not None:
            return frozenset(Role(r) for r in self.known_roles)
        return frozenset(Role(r) for r in user.role_assignments.values_list("role", flat=True))

    @property
    def role_capabilities(self) -> frozenset[str]:
        """What the actor's directory roles alone grant (the default user permissions aside)."""
        return authz.role_capabilities(self.roles) if self.kind == ActorKind.USER else frozenset()

    @cached_property
    def capabilities(self) -> frozenset[str]:
        """Graph-named capabilities in the actor's tenant (see :mod:`directory.authz`)."""
        if self.kind in (ActorKind.OPERATOR, ActorKind.SYSTEM):
            return frozenset(authz.CAPABILITIES)
        if self.kind == ActorKind.APP:
            app = self.app
            if app is None or not app.enabled:
                return frozenset()
            return authz.expand(app.application_permissions)
        user = self.user
        if user is None or user.deleted_at or not user.account_enabled:
            return frozenset()
        caps = authz.user_capabilities(is_guest=user.is_guest, roles=self.roles)
        if self.app is not None:  # delegated: never more than the token and the app allow
            caps = caps & authz.expand(self.granted_scopes)
        return caps

    @property
    def granted_scopes(self) -> frozenset[str]:
        scopes = self.scopes or frozenset()
        if self.app is not None:
            scopes = scopes & set(self.app.delegated_permissions)
        return frozenset(scopes)

    # -- the API's vocabulary (request.auth is the actor)
    @property
    def permissions(self) -> frozenset[str]:
        return self.capabilities

    def has_any(self, permissions) -> bool:
        return bool(self.capabilities & set(permissions))

    @property
    def throttle_key(self) -> str:
        who = self.account.pk if self.account else "app"
        return f"{self.tenant.pk if self.tenant else '-'}:{self.app.pk if self.app else '-'}:{who}"

    # -- what it may do
    def acts_in(self, tenant_id) -> bool:
        if self.kind == ActorKind.OPERATOR:
            return True
        return self.tenant is not None and self.tenant.pk == tenant_id

    def can(self, capability: str, *, tenant=None, obj=None) -> bool:
        """May the actor use ``capability`` in ``tenant`` (or on ``obj``: an owner may act on what it
        owns with the owner capabilities, whatever its roles)?"""
        tenant_id = getattr(tenant, "pk", tenant) if tenant is not None else getattr(obj, "tenant_id", None)
        if tenant_id is None and self.tenant is not None:
            tenant_id = self.tenant.pk
        if not self.acts_in(tenant_id):
            return False
        if capability in self.capabilities:
            return True
        return obj is not None and self.owns(obj, capability)

    def can_any(self, capabilities, *, tenant=None, obj=None) -> bool:
        return any(self.can(c, tenant=tenant, obj=obj) for c in capabilities)

    def owns(self, obj, capability: str | None = None) -> bool:
        """Is the actor's user an owner of ``obj`` (a group or an application) who may use
        ``capability`` on it as its owner?"""
        kind = type(obj).__name__.lower()
        owner_caps = authz.OWNER_CAPABILITIES.get(kind)
        user = self.user
        if owner_caps is None or user is None or user.deleted_at or not user.account_enabled:
            return False
        if capability is not None and capability not in owner_caps:
            return False
        if self.app is not None and not (self.granted_scopes & owner_caps):
            return False  # delegated: the token must carry a write scope of this kind
        return obj.tenant_id == user.tenant_id and obj.owners.filter(pk=user.pk).exists()

    def may_decide(self, request) -> bool:
        """May the actor approve or deny a self-service request (``SelfServiceRequest``)? A group's
        owners and an application's approvers (its owners when it names none), and administrators
        holding the capability of :data:`authz.DECIDE_CAPABILITY` on what was asked for."""
        if request.application_id is not None:
            app = request.application
            if self.kind == ActorKind.USER and self.user is not None and self.app is None and self.capabilities and \
                    app.self_service_approvers.filter(pk=self.user.pk).exists():
                return True
            if app.self_service_approvers.exists() and not self.can(authz.DECIDE_CAPABILITY["application"],
                                                                    tenant=app.tenant_id):
                return False
            return self.can(authz.DECIDE_CAPABILITY["application"], obj=app)
        return self.can(authz.DECIDE_CAPABILITY["group"], obj=request.group)

    def require(self, capability: str, *, tenant=None, obj=None) -> None:
        if not self.can(capability, tenant=tenant, obj=obj):
            raise PermissionDenied(_("You do not have permission to do this."))

    def may_manage_user(self, target: User) -> bool:
        """Privileged users are protected from less privileged ones (block, delete, reset, roles)."""
        if self.is_platform:
            return True
        target_roles = target.role_assignments.values_list("role", flat=True)
        if self.kind == ActorKind.APP:
            return not target_roles.exists()  # Graph: apps may not manage users who hold roles
        if self.user is not None and target.pk == self.user.pk and not self.roles:
            return True
        return authz.may_manage_holder(self.roles, target_roles)

    # -- audit
    def initiated_by(self) -> dict:
        """Graph's ``initiatedBy``: the user, or the app, that acted."""
        if self.kind == ActorKind.APP and self.app is not None:
            app = self.app
            return {"app": {"appId": str(app.client_id), "displayName": app.display_name,
                            "servicePrincipalId": str(app.pk), "servicePrincipalName": app.display_name}}
        if self.account is not None:
            user = self.user
            return {"user": {
                "id": str(user.pk if user is not None else self.account.pk),
                "displayName": self.account.display_name or self.account.email,
                "userPrincipalName": user.user_principal_name if user is not None else self.account.email,
                "ipAddress": self.ip,
            }}
        name = "platform operator" if self.kind == ActorKind.OPERATOR else "system"
        app = {"displayName": PLATFORM_NAME, "servicePrincipalName": name}
        if self.reason:
            app["reason"] = self.reason
        return {"app": app}

    def __repr__(self) -> str:
        who = self.user or self.account or self.app or self.reason
        return f"<Actor {self.kind} {who!s} in {self.tenant!s}>"


def require_actor(actor) -> Actor:
    """Services call this first: an anonymous caller (``None``) or anything else is refused."""
    if not isinstance(actor, Actor):
        raise PermissionDenied(_("No one is acting: this needs a signed-in user, an app or the platform."))
    return actor
