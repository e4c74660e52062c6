"""Cross-tenant access settings where Entra enforces them: at invitation, at redemption, and at every entry
into a tenant or an app (the directory's access evaluator and the access panel's entry rule).

Who the partner is: a guest's **home tenant** is the platform tenant where the same account is a member (not
itself invited). A guest without one (e-mailed code, social or federated IdP) is not an Entra-tenant user:
cross-tenant settings do not apply to them here, as in Entra. A partner on another deployment is checked
through :func:`decision_for_external` by the federation's sign-in, which knows the issuer and tenant id.

Costs: the home user's lookup is one query, the two tenants' settings two more (both defaults, both
partner entries), the home user's groups one more, and only when a setting names a group.
"""

from __future__ import annotations

import uuid

from django.db.models import F, Q
from django.utils.translation import gettext as _

from directory.access import SESSION_KEY, AccessDecision, AccessRequest, mark_satisfied, satisfied_at
from directory.compiled import CompiledQuery
from directory.models import Account, Group, Tenant, User

from .evaluators.collaboration import Decision
from .evaluators.cross_tenant import (
    CrossTenantDecision,
    EffectiveSettings,
    effective_settings,
    evaluate_b2b,
    evaluate_cross_tenant,
)
from .models import CrossTenantAccessDefault, CrossTenantAccessPartner


def settings_toward(tenant_id, partner_tenant_id, issuer: str = "") -> EffectiveSettings:
    """``tenant_id``'s effective settings toward one external organization (its entry's, else the default's)."""
    default = CrossTenantAccessDefault.objects.filter(tenant_id=tenant_id).first() or CrossTenantAccessDefault()
    partner = CrossTenantAccessPartner.objects.filter(tenant_id=tenant_id, issuer=issuer,
                                                      partner_tenant_id=partner_tenant_id).first()
    return effective_settings(default, partner)


def _both_sides(resource_id, home_id) -> tuple[EffectiveSettings, EffectiveSettings]:
    """Both tenants' settings toward each other, in two queries (both defaults, both partner entries)."""
    defaults = {d.tenant_id: d for d in CrossTenantAccessDefault.objects.filter(tenant_id__in=[resource_id, home_id])}
    partners = {p.tenant_id: p for p in CrossTenantAccessPartner.objects.filter(
        Q(tenant_id=resource_id, partner_tenant_id=home_id) | Q(tenant_id=home_id, partner_tenant_id=resource_id),
        issuer="")}
    return tuple(effective_settings(defaults.get(t) or CrossTenantAccessDefault(), partners.get(t))
                 for t in (resource_id, home_id))


def home_user_of(account_id, *, besides_tenant_id=None) -> User | None:
    """The member user of ``account_id`` in its home tenant on this platform (None: no home here)."""
    if account_id is None:
        return None
    users = (User.objects.active().filter(account_id=account_id, user_type=User.UserType.MEMBER)
             .exclude(creation_type=User.CreationType.INVITATION).select_related("tenant").order_by("created_at"))
    if besides_tenant_id is not None:
        users = users.exclude(tenant_id=besides_tenant_id)
    return users.first()


def _uses_groups(*settings: dict) -> bool:
    return any(t.get("targetType") == "group" for s in settings
               for t in ((s or {}).get("usersAndGroups") or {}).get("targets") or [])


def decision_for(*, resource_tenant: Tenant, home_user: User, app_id=None) -> CrossTenantDecision:
    """Both sides for a person of a platform tenant (``home_user``) coming into ``resource_tenant``."""
    resource, home = _both_sides(resource_tenant.pk, home_user.tenant_id)
    groups = ()
    if _uses_groups(resource.inbound, home.outbound):
        groups = tuple(str(g) for g in home_user.member_of.values_list("pk", flat=True))
    return evaluate_cross_tenant(resource=resource, home=home, user_id=str(home_user.pk), group_ids=groups,
                                 app_id=str(app_id) if app_id else None, resource_name=resource_tenant.name,
                                 home_name=home_user.tenant.name)


def decision_for_external(*, resource_tenant: Tenant, issuer: str, tenant_id, user_id: str | None,
                          group_ids=(), app_id=None) -> CrossTenantDecision:
    """The resource side only, for a person of a tenant on another deployment (``issuer``): that deployment
    checks its outbound side before its identity provider answers."""
    resource = settings_toward(resource_tenant.pk, tenant_id, issuer.rstrip("/"))
    return evaluate_cross_tenant(resource=resource, home=None, user_id=user_id, group_ids=group_ids,
                                 app_id=str(app_id) if app_id else None, resource_name=resource_tenant.name)


def decision_for_guest(*, tenant: Tenant, user, app_id=None, account=None) -> CrossTenantDecision | None:
    """The decision for ``user`` (a tenant's directory user) entering ``tenant``; None when the person has
    no home tenant on this platform (cross-tenant settings do not apply). With the signed-in ``account``
    at hand, an account without a password (a guest who redeemed by code) is known to have none without a
    query: a home tenant here is where the account signs in with its password (as redemption discovers it)."""
    if user is None or getattr(user, "user_type", None) != User.UserType.GUEST:
        return None
    if account is not None and account.pk == user.account_id and not account.has_usable_password():
        return None
    home_user = home_user_of(user.account_id, besides_tenant_id=tenant.pk)
    if home_user is None:
        return None
    return decision_for(resource_tenant=tenant, home_user=home_user, app_id=app_id)


def _partner_tenant_id(value: str):
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def decision_for_federated(*, tenant: Tenant, user, federation, app_id=None) -> CrossTenantDecision | None:
    """The resource side for a guest who signed in at a tenant of another deployment (the federation record
    names its issuer and tenant id); None when the identity provider named no tenant (OIDC, SAML, social:
    no Entra tenant, as in Entra, so cross-tenant settings do not apply)."""
    if user is None or getattr(user, "user_type", None) != User.UserType.GUEST or federation is None:
        return None
    partner_id = _partner_tenant_id(federation.home_tenant_id)
    if partner_id is None:
        return None
    return decision_for_external(resource_tenant=tenant, issuer=federation.issuer, tenant_id=partner_id,
                                 user_id=None, app_id=app_id)


def cross_tenant_access_evaluator(request: AccessRequest) -> AccessDecision:
    """The directory's access evaluator: blocks, with the reason, when the resource's inbound or the home
    tenant's outbound settings refuse the person (or the app)."""
    application = request.application
    app_id = getattr(application, "app_id", None)
    if request.federation is not None:
        decision = decision_for_federated(tenant=request.tenant, user=request.user, federation=request.federation,
                                          app_id=app_id)
    else:
        decision = decision_for_guest(tenant=request.tenant, user=request.user, account=request.account,
                                      app_id=app_id)
    if decision is None or decision.allowed:
        return AccessDecision()
    return AccessDecision(blocked=True, reason=decision.reason)


def credit_trusted_mfa(request, *, tenant: Tenant, user, account) -> None:
    """The directory's session credit (``directory.access.register_session_credit``), run before every
    evaluation of an entry (sign-in stage, panel, app launch, token, console), where the block itself
    happens with its reason: where ``tenant`` trusts MFA from the guest's home tenant and this session met
    MFA there, it counts here too, so the conditional access "require MFA" check (one rule,
    ``policies.evaluators.conditional_access``) finds it met. The home tenant is on this platform (its
    session's met MFA) or on another deployment (its ID token's ``amr`` said "mfa")."""
    if (user is None or getattr(user, "user_type", None) != User.UserType.GUEST or account is None
            or getattr(account, "pk", None) != user.account_id):
        return
    from directory.federation import federated_sign_in_of

    federation = federated_sign_in_of(request, account)
    if federation is not None:
        mark_trusted_partner_mfa(request.session, tenant=tenant, federation=federation)
    elif account.has_usable_password():
        mark_trusted_mfa(request.session, tenant=tenant, user=user)


def mark_trusted_partner_mfa(session, *, tenant: Tenant, federation) -> bool:
    """A partner deployment's "mfa" (its ID token's ``amr``) counts as MFA met in ``tenant``, at the time of
    that sign-in, when ``tenant``'s inbound trust toward that partner (issuer + tenant id) accepts MFA.
    Asks the database only when the partner said "mfa"."""
    if "mfa" not in federation.amr:
        return False
    partner_id = _partner_tenant_id(federation.home_tenant_id)
    if partner_id is None:
        return False
    if satisfied_at(session, tenant).get("mfa", 0) >= federation.at:
        return False
    if not settings_toward(tenant.pk, partner_id, federation.issuer.rstrip("/")).inbound_trust.get("isMfaAccepted"):
        return False
    mark_satisfied(session, tenant, "mfa", at=federation.at)
    return True


def mark_trusted_mfa(session, *, tenant: Tenant, user) -> bool:
    """Copy the home tenant's met "mfa" (and authentication strengths) into ``tenant`` when its inbound trust
    accepts MFA from the guest's home tenant, with the time it was met there (sign-in frequency still ages
    it). Returns whether anything counted. Asks the database only when the home tenant's session met MFA."""
    def mfa_kind(requirement: str) -> bool:
        return requirement == "mfa" or requirement.startswith("authenticationStrength:")

    store = session.get(SESSION_KEY) or {}
    if not any(key != str(tenant.pk) and any(mfa_kind(r) for r in met) for key, met in store.items()):
        return False
    home_user = home_user_of(getattr(user, "account_id", None), besides_tenant_id=tenant.pk)
    if home_user is None or not settings_toward(tenant.pk, home_user.tenant_id).inbound_trust.get("isMfaAccepted"):
        return False
    home_met = satisfied_at(session, home_user.tenant)
    here = satisfied_at(session, tenant)
    counted = False
    for requirement, at in home_met.items():
        if mfa_kind(requirement) and here.get(requirement, 0) < at:
            mark_satisfied(session, tenant, requirement, at=at)
            counted = True
    return counted


#: The code of an allowing invitation decision where both tenants redeem automatically (Entra then sends no
#: invitation e-mail, only the notice).
AUTOMATIC_REDEMPTION = "automatic_redemption"


def invitation_decision(*, tenant: Tenant, email: str) -> Decision:
    """At invitation (beside the domain allow/block list) and again at redemption: when the address belongs
    to a member of a tenant on this platform, both tenants' settings must let that person come in. Allowed
    with the code :data:`AUTOMATIC_REDEMPTION` when both tenants redeem automatically."""
    return invitation_decisions(tenant=tenant, emails=[email])[email.strip().lower()]


def _home_users(tenant_id, emails):
    """The members of other tenants here whose accounts have these addresses (their home tenants), oldest
    first."""
    return (User.objects.active().filter(account__email__in=emails, user_type=User.UserType.MEMBER)
            .exclude(creation_type=User.CreationType.INVITATION).exclude(tenant_id=tenant_id)
            .select_related("tenant").annotate(account_email=F("account__email")).order_by("created_at"))


_home_users_compiled = CompiledQuery(lambda key, *, tenant, email: _home_users(tenant, [email]))
#: Whether anyone here signs in with this address: most invitees do not, and this one-index read settles it
#: for them (the members' query joins three tables and costs PostgreSQL several times more: bench/README.md).
_account_compiled = CompiledQuery(lambda key, *, email: Account.objects.filter(email=email).values("id")[:1])


def invitation_decisions(*, tenant: Tenant, emails) -> dict[str, Decision]:
    """:func:`invitation_decision` for many addresses (keyed lower-cased) in at most four queries, whatever
    their number: bulk invitations check a chunk at once."""
    emails = {e.strip().lower() for e in emails}
    result = dict.fromkeys(emails, Decision.allow())
    homes: dict = {}
    accounts: dict = {}
    if len(emails) == 1:  # one invitation: the same queries, compiled once per process
        email = next(iter(emails))
        if not _account_compiled.run("account", texts={"email": email}):
            return result  # no account with this address: not a member of any tenant here
        users = _home_users_compiled.run("homes", tenant=tenant.pk, texts={"email": email})
    else:
        users = _home_users(tenant.pk, emails)
    for user in users:
        homes.setdefault(user.account_id, user)
        accounts[user.account_id] = user.account_email
    if not homes:
        return result
    home_ids = {u.tenant_id for u in homes.values()}
    defaults = {d.tenant_id: d for d in CrossTenantAccessDefault.objects.filter(tenant_id__in=home_ids | {tenant.pk})}
    partners = {(p.tenant_id, p.partner_tenant_id): p for p in CrossTenantAccessPartner.objects.filter(
        Q(tenant_id=tenant.pk, partner_tenant_id__in=home_ids) | Q(tenant_id__in=home_ids, partner_tenant_id=tenant.pk),
        issuer="")}
    sides = {h: (effective_settings(defaults.get(tenant.pk) or CrossTenantAccessDefault(), partners.get((tenant.pk, h))),
                 effective_settings(defaults.get(h) or CrossTenantAccessDefault(), partners.get((h, tenant.pk))))
             for h in home_ids}
    groups: dict = {}
    if any(_uses_groups(r.inbound, h.outbound) for r, h in sides.values()):
        links = Group.members.through.objects.filter(user_id__in=[u.pk for u in homes.values()])
        for user_id, group_id in links.values_list("user_id", "group_id"):
            groups.setdefault(user_id, []).append(str(group_id))
    for account_id, home_user in homes.items():
        resource, home = sides[home_user.tenant_id]
        decision = evaluate_cross_tenant(resource=resource, home=home, user_id=str(home_user.pk),
                                         group_ids=groups.get(home_user.pk, ()), resource_name=tenant.name,
                                         home_name=home_user.tenant.name)
        if decision.allowed:
            if decision.automatic_redemption:  # both switches on: the invitation e-mail is suppressed
                result[accounts[account_id]] = Decision(True, (), AUTOMATIC_REDEMPTION)
            continue
        names = {"home": home_user.tenant.name, "org": tenant.name}
        if decision.inbound.allowed:
            refusal = Decision.deny("cross_tenant_outbound_blocked", _(
                "%(home)s does not allow its users to collaborate with %(org)s (cross-tenant access settings).") % names)
        else:
            refusal = Decision.deny("cross_tenant_inbound_blocked", _(
                "%(org)s's cross-tenant access settings do not allow users from %(home)s.") % names)
        result[accounts[account_id]] = refusal
    return result


def automatic_redemption(*, tenant: Tenant, account_id) -> bool:
    """Consent is skipped only when the resource's inbound and the home's outbound automatic redemption
    are both on (the notice e-mail is still sent)."""
    home_user = home_user_of(account_id, besides_tenant_id=tenant.pk)
    if home_user is None:
        return False
    return decision_for(resource_tenant=tenant, home_user=home_user).automatic_redemption


def federation_outbound_refusal(*, home_user: User, partner: dict) -> str | None:
    """This deployment as a partner deployment's identity provider (``directory.federation_clients``): may
    ``home_user`` go to the partner's tenant (issuer + tenant id), by its home tenant's **outbound**
    settings toward that organization? The reason when not, for the other deployment to show."""
    partner_id = _partner_tenant_id(partner.get("tenant_id", ""))
    if partner_id is None:
        return _("Your organization does not know this partner organization.")
    home = settings_toward(home_user.tenant_id, partner_id, str(partner.get("issuer", "")).rstrip("/"))
    groups = ()
    if _uses_groups(home.outbound):
        groups = tuple(str(g) for g in home_user.member_of.values_list("pk", flat=True))
    decision = evaluate_b2b(home.outbound, user_id=str(home_user.pk), group_ids=groups, direction="outbound",
                            organization=partner.get("name") or _("this organization"))
    return None if decision.allowed else next(iter(decision.reasons), _("Your organization does not allow this."))
