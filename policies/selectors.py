from django.db.models import QuerySet

from directory.compiled import CompiledQuery
from directory.models import Account, Group, Tenant, User
from directory.tenant_cache import TenantCache

from . import evaluators
from .models import CollaborationSettings, CrossTenantAccessDefault
from .models.cross_tenant import default_redemption_configuration


def collaboration_settings_for(tenant: Tenant) -> CollaborationSettings:
    """The tenant's settings; a tenant that never changed them gets the defaults (not saved).

    Always read from the database: the reverse one-to-one cache on ``tenant`` would keep a stale
    answer (even "none yet") for as long as the instance lives."""
    found = _settings_row.run("settings", tenant=tenant.pk)
    return found[0] if found else CollaborationSettings(tenant=tenant)


#: ``CollaborationSettings.objects.filter(tenant_id=…).first()``, compiled once per process (every
#: invitation reads it: directory/compiled.py).
_settings_row = CompiledQuery(lambda key, *, tenant: CollaborationSettings.objects.filter(tenant_id=tenant)
                              .order_by("pk")[:1])


def redemption_configuration_for(tenant: Tenant) -> dict:
    """The tenant's ``invitationRedemptionIdentityProviderConfiguration`` (Entra's order when none is saved)."""
    value = (CrossTenantAccessDefault.objects.filter(tenant_id=tenant.pk)
             .values_list("invitation_redemption_identity_provider_configuration", flat=True).first())
    return value or default_redemption_configuration()


def _load_collaboration_settings(tenant_id) -> CollaborationSettings:
    found = CollaborationSettings.objects.filter(tenant_id=tenant_id).first()
    return found if found is not None else CollaborationSettings(tenant_id=tenant_id)


#: The tenant's settings, kept per process until they change (directory/tenant_cache.py).
collaboration_settings_cache = TenantCache("collaboration-settings", _load_collaboration_settings)
collaboration_settings_cache.watch(CollaborationSettings)


def collaboration_settings_of(tenant_id) -> CollaborationSettings:
    """The tenant's settings for a read that decides what to show (who sees whom, who sees the Invite
    page): no query while they are unchanged. The copy is shared by the process: read it, never save it;
    services that change or enforce the settings read :func:`collaboration_settings_for`."""
    return collaboration_settings_cache.get(tenant_id)


def code_sign_in_allowed(*, account: Account, tenant: Tenant | None = None) -> bool:
    """Whether ``account`` may sign in with an e-mailed code: on ``tenant``'s sign-in page, or on the
    platform-wide code page (``tenant=None``). The one rule both pages apply.

    An account with a password (a member) may use a code wherever its password would do: anywhere on
    the platform, and on the pages of tenants where it is an enabled user. An account without one (a
    guest who redeemed by code) only through a tenant where it is an enabled user and that accepts
    e-mail one-time passcodes: as in Entra, switching OTP off stops new OTP redemptions and locks the
    tenant's existing OTP guests out; they come back when it is switched on again (or when an admin
    resets their redemption)."""
    has_password = account.has_usable_password()
    if has_password and tenant is None:
        return True
    users = User.objects.active().filter(account=account, account_enabled=True)
    if tenant is not None:
        users = users.filter(tenant=tenant)
    if not has_password:
        # Tenants without a settings row have the defaults (OTP on).
        users = users.exclude(tenant__collaboration_settings__email_otp_enabled=False)
    return users.exists()


def users_visible_to(viewer: User) -> QuerySet[User]:
    """The directory users ``viewer`` may read: everyone for members (and for guests with member-level
    access); for other guests, only themselves."""
    users = User.objects.active().filter(tenant_id=viewer.tenant_id)
    if viewer.is_guest and not evaluators.guest_sees_directory(collaboration_settings_of(viewer.tenant_id)):
        return users.filter(pk=viewer.pk)
    return users


def groups_visible_to(viewer: User) -> QuerySet[Group]:
    """Members (and guests with member-level access) see every group; other guests their own groups."""
    groups = Group.objects.filter(tenant_id=viewer.tenant_id)
    if viewer.is_guest and not evaluators.guest_sees_directory(collaboration_settings_of(viewer.tenant_id)):
        return groups.filter(members=viewer)
    return groups


def group_members_visible_to(viewer: User, group: Group) -> QuerySet[User]:
    """Members of ``group`` that ``viewer`` may see: none for restricted guests, and none of a group a
    limited guest is not in."""
    members = group.members.filter(deleted_at__isnull=True)
    if not viewer.is_guest:
        return members
    settings = collaboration_settings_of(viewer.tenant_id)
    if evaluators.guest_sees_directory(settings):
        return members
    if evaluators.guest_sees_group_members(settings) and group.members.filter(pk=viewer.pk).exists():
        return members
    return members.filter(pk=viewer.pk)


class GuestAccessLevelRule:
    """The guest access level as the directory's visibility rule (registered in ``PoliciesConfig.ready``)."""

    users_visible_to = staticmethod(users_visible_to)
    groups_visible_to = staticmethod(groups_visible_to)
    group_members_visible_to = staticmethod(group_members_visible_to)


def code_guest_entry_refusal(request, tenant: Tenant, user: User) -> str | None:
    """The access panel's entry rule: a person whose session was proven by an e-mailed code enters only
    tenants where ``code_sign_in_allowed`` holds (switching one-time passcodes off locks the tenant's OTP
    guests out at once, whichever tenant's page they signed in on)."""
    from django.utils.translation import gettext as _

    from directory.signin import last_sign_in_method

    if last_sign_in_method(request) != "code" or code_sign_in_allowed(account=request.user, tenant=tenant):
        return None
    return _("%(org)s no longer accepts sign-in with a one-time passcode. Ask the person who invited you.") % {
        "org": tenant.name}


# --- conditional access ---------------------------------------------------------------------------------

CONDITIONAL_ACCESS_READ = ("Policy.Read.ConditionalAccess", "Policy.Read.All", "Policy.ReadWrite.ConditionalAccess")


def may_read_conditional_access(actor) -> bool:
    """Graph's rule for reading conditional access: an app with one of the read permissions; a person (also
    through a delegated token carrying one) only with a role that reads it (Security or Global
    Administrator). Every member holds ``Policy.Read.All`` here, and a member must not read the tenant's
    exclusions."""
    from directory.actors import ActorKind

    if not actor.can_any(CONDITIONAL_ACCESS_READ, tenant=actor.tenant):
        return False
    if actor.kind == ActorKind.USER:
        return bool(actor.role_capabilities & {"Policy.Read.ConditionalAccess", "Policy.ReadWrite.ConditionalAccess"})
    return True


def what_if(*, actor, user: User | None, resource: str, application_id: str | None = None, ip=None,
            country: str | None = None, platform: str | None = None, client_app_type: str = "browser",
            external_tenant_id: str | None = None, external_user_type: str | None = None):
    """What If: [(policy, PolicyResult)] for the tenant's enabled and report-only policies, for a sign-in
    described by an admin, decided by the same evaluator as real sign-ins (nothing counts as already met).
    The country comes from the IP address when only the address is given. Needs
    ``Policy.Read.ConditionalAccess`` (or ``Policy.Read.All``)."""
    from django.core.exceptions import PermissionDenied

    from .access import guest_type_of, membership, tenant_policy_set
    from .evaluators.conditional_access import SignInContext, evaluate_conditional_access
    from .geo import country_of
    from .models import ConditionalAccessPolicy

    tenant = actor.tenant
    if not may_read_conditional_access(actor):
        raise PermissionDenied
    policy_set = tenant_policy_set(tenant.pk)
    groups = roles = frozenset()
    home = None
    if user is not None:
        groups, roles, home = membership(user, groups=True, roles=True, home=True)
    context = SignInContext(
        user_id=str(user.pk) if user is not None else None,
        guest_type=external_user_type or guest_type_of(user),
        external_tenant_id=external_tenant_id or home, group_ids=groups, role_ids=roles, resource=resource,
        application_id=application_id, ip=ip, country=country or country_of(ip), platform=platform,
        client_app_type=client_app_type, satisfied_at={}, now=0.0)
    live = tuple(p for p in policy_set.policies if p.state != "disabled")
    decision = evaluate_conditional_access(live, policy_set.locations, context)
    policies = {str(p.pk): p for p in ConditionalAccessPolicy.objects.filter(tenant=tenant)}
    return [(policies[r.id], r) for r in decision.policy_results if r.id in policies]


def guest_leave_refusal(user: User) -> str | None:
    """The directory's leave rule (``directory.leave``): why ``user`` may not leave, as the tenant's External
    user leave setting says, or None."""
    decision = evaluators.evaluate_guest_leave(collaboration_settings_for(user.tenant))
    return None if decision else decision.reasons[0]


#: Google routes these domains when its identity provider names none (Entra: gmail.com, googlemail.com).
GOOGLE_DOMAINS = ("gmail.com", "googlemail.com")


def identity_providers_of(tenant: Tenant) -> list:
    """The tenant's identity providers, by name; one query, remembered on the ``tenant`` instance for the
    rest of the request (the redemption order asks once per kind)."""
    from .models import IdentityProvider

    cached = tenant.__dict__.get("_identity_providers")
    if cached is None:
        cached = list(IdentityProvider.objects.filter(tenant_id=tenant.pk).order_by("kind", "display_name"))
        tenant.__dict__["_identity_providers"] = cached
    return cached


def identity_provider_for_email(*, tenant: Tenant, email: str, kind: str):
    """The tenant's identity provider of ``kind`` whose domains include the address's domain (Google's
    default domains when it names none), or None."""
    domain = (email or "").rpartition("@")[2].strip().lower()
    if not domain:
        return None
    for idp in identity_providers_of(tenant):
        if idp.kind != kind:
            continue
        domains = [d.lower() for d in (idp.domains or [])] or (list(GOOGLE_DOMAINS) if kind == "google" else [])
        if domain in domains:
            return idp
    return None
# --- SAML/WS-Fed domain federation ----------------------------------------------------------------


def saml_federations_visible_to(actor) -> QuerySet:
    """The tenant's SAML/WS-Fed configurations for someone who may read identity providers; nothing for
    anyone else (each tenant sees only its own)."""
    from .models import ExternalDomainFederation

    tenant = getattr(actor, "tenant", None)
    if tenant is None or not actor.can("IdentityProvider.Read.All", tenant=tenant):
        return ExternalDomainFederation.objects.none()
    return ExternalDomainFederation.objects.filter(tenant=tenant)


def saml_federation_for_email(*, tenant: Tenant, email: str):
    """The tenant's SAML/WS-Fed configuration federating ``email``'s domain, or None (one query on the
    (tenant, name) index). Only the exact domain matches, as in Entra."""
    from .models import ExternalDomainFederation

    domain = (email or "").rpartition("@")[2].strip().lower().rstrip(".")
    if not domain:
        return None
    return ExternalDomainFederation.objects.filter(tenant=tenant, domains__name=domain).first()
