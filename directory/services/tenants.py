"""Tenants, their domains and their branding."""

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..actors import Actor, ActorKind, require_actor
from ..audit import Change, Target, audit
from ..domain_proof import DomainProofUnavailable, has_proof, is_public_mail_domain, new_verification_token
from ..models import Branding, Domain, Tenant
from ..signals import tenant_created
from ._common import _apply, _validate_and_save, authorize

# Changing these moves the tenant's web addresses and guest UPNs: the platform operator's call.
_OPERATOR_ONLY = {"slug", "initial_domain"}


@transaction.atomic
def tenant_create(*, actor: Actor, name: str, slug: str, initial_domain: str, **fields) -> Tenant:
    """Create a tenant (the platform operator's job)."""
    if require_actor(actor).kind != ActorKind.OPERATOR:
        raise PermissionDenied(_("Only the platform operator creates tenants."))
    tenant = Tenant(name=name, slug=slug, initial_domain=initial_domain.strip().lower(), **fields)
    _validate_and_save(tenant)
    audit(tenant=tenant, actor=actor, activity="Create company", targets=[Target(tenant)])
    tenant_created.send(sender=Tenant, tenant=tenant)
    return tenant


@transaction.atomic
def tenant_update(*, actor: Actor, tenant: Tenant, changes: dict[str, Any]) -> Tenant:
    authorize(actor, "Organization.ReadWrite.All", tenant=tenant)
    if set(changes) & _OPERATOR_ONLY and actor.kind != ActorKind.OPERATOR:
        raise PermissionDenied(_("Only the platform operator changes a tenant's short name or initial domain."))
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if "initial_domain" in changes:
        changes["initial_domain"] = changes["initial_domain"].strip().lower()
    applied = _apply(tenant, changes)
    if applied:
        _validate_and_save(tenant)
        audit(tenant=tenant, actor=actor, activity="Update company settings", targets=[Target(tenant, applied)])
    return tenant


#: The tenant's self-service group settings (Entra: Groups > General); see docs/self-service.md.
GROUP_SETTINGS = ("groups_self_service_enabled", "members_can_create_security_groups", "owners_manage_join_requests")


@transaction.atomic
def tenant_group_settings_update(*, actor: Actor, tenant: Tenant, changes: dict[str, Any]) -> Tenant:
    """Change the self-service group settings. They are part of the authorization policy (Graph's
    ``defaultUserRolePermissions.allowedToCreateSecurityGroups``), so they take the capability that changes
    it, ``Policy.ReadWrite.Authorization``, in the console and through the API alike."""
    authorize(actor, "Policy.ReadWrite.Authorization", tenant=tenant)
    unknown = set(changes) - set(GROUP_SETTINGS)
    if unknown:
        raise ValidationError(_("Not a group setting: %(names)s") % {"names": ", ".join(sorted(unknown))})
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    applied = _apply(tenant, {k: bool(v) for k, v in changes.items()})
    if applied:
        tenant.save(update_fields=[c.property for c in applied])
        audit(tenant=tenant, actor=actor, activity="Update company settings", targets=[Target(tenant, applied)])
    return tenant


def _ensure_claimable(name: str, *, tenant_id, field: str = "name") -> None:
    """Refuse a public mail domain, and a domain another tenant holds verified."""
    if is_public_mail_domain(name):
        raise ValidationError({field: ValidationError(
            _("“%(domain)s” is a public mail domain: anyone can have an address there, so no organization can add "
              "or verify it.") % {"domain": name}, code="public_mail_domain")})
    if Domain.objects.filter(name__iexact=name, is_verified=True).exclude(tenant_id=tenant_id).exists():
        raise ValidationError({field: ValidationError(
            _("Another organization has already verified “%(domain)s”.") % {"domain": name},
            code="verified_elsewhere")})


@transaction.atomic
def domain_add(*, actor: Actor, tenant: Tenant, name: str, is_verified: bool = False) -> Domain:
    """Add a domain, unverified: the admin then publishes its TXT record and calls :func:`domain_verify`.
    Only the platform operator may add one verified at once (``is_verified``)."""
    authorize(actor, "Domain.ReadWrite.All", tenant=tenant)
    if is_verified and actor.kind != ActorKind.OPERATOR:
        raise PermissionDenied(_("A domain is verified by its DNS record (or by the platform operator), not by "
                                 "ticking a box."))
    name = name.strip().lower()
    domain = Domain(tenant=tenant, name=name, is_verified=is_verified,
                    verified_at=timezone.now() if is_verified else None)
    domain.full_clean(validate_constraints=False)  # a malformed name is reported as such first
    _ensure_claimable(name, tenant_id=tenant.pk)
    _validate_and_save(domain)
    audit(tenant=tenant, actor=actor, activity="Add unverified domain" if not is_verified else "Add verified domain",
          targets=[Target(tenant, [Change("domain", None, domain.name)])])
    return domain


@transaction.atomic
def domain_update(*, actor: Actor, domain: Domain, changes: dict[str, Any]) -> Domain:
    """Rename a domain (it becomes unverified, with a new token) or un-verify it. Verifying goes through
    :func:`domain_verify` (DNS proof) or :func:`domain_mark_verified` (the operator)."""
    authorize(actor, "Domain.ReadWrite.All", tenant=domain.tenant_id)
    changes = dict(changes)
    if changes.get("is_verified") and not domain.is_verified:
        if set(changes) != {"is_verified"}:
            raise ValidationError(_("Save the domain first, then verify it."), code="verify_separately")
        return domain_mark_verified(actor=actor, domain=domain)
    domain = Domain.objects.select_for_update().get(pk=domain.pk)
    if "name" in changes:
        changes["name"] = changes["name"].strip().lower()
        if changes["name"] != domain.name:
            _ensure_claimable(changes["name"], tenant_id=domain.tenant_id)
            changes.update(is_verified=False, verified_at=None, verification_token=new_verification_token())
    if changes.get("is_verified") is False:
        changes["verified_at"] = None
    applied = _apply(domain, changes)
    if applied:
        _validate_and_save(domain)
        audit(tenant=domain.tenant, actor=actor, activity="Update domain",
              targets=[Target(domain, [c for c in applied if c.property != "verification_token"])])
    return domain


def domain_verify(*, actor: Actor, domain: Domain, resolver=None) -> Domain:
    """Verify ``domain`` by its DNS TXT record ``b2bportal-verification=<token>`` (the token is this
    tenant's, for this domain). ``resolver``: a ``dns.resolver.Resolver`` (default: settings.DNS_RESOLVER,
    else the system's). Raises ValidationError when the record is not there or the DNS does not answer."""
    authorize(actor, "Domain.ReadWrite.All", tenant=domain.tenant_id)
    domain = Domain.objects.get(pk=domain.pk)
    if domain.is_verified:
        return domain
    _ensure_claimable(domain.name, tenant_id=domain.tenant_id, field="domain")
    try:  # outside the transaction: no row stays locked while the DNS is asked
        found = has_proof(domain.name, domain.verification_token, resolver=resolver)
    except DomainProofUnavailable:
        raise ValidationError(_("The DNS did not answer for %(domain)s. Try again in a few minutes.")
                              % {"domain": domain.name}, code="dns_unavailable") from None
    if not found:
        raise ValidationError(_("No TXT record “%(record)s” was found on %(domain)s. Add it at your DNS provider; "
                                "changes can take a while to show.") % {"record": domain.txt_record,
                                                                        "domain": domain.name},
                              code="proof_not_found")
    return _mark_verified(actor=actor, domain=domain, method="DNS TXT record")


def domain_mark_verified(*, actor: Actor, domain: Domain) -> Domain:
    """The platform operator vouches for ``domain`` by hand (for example after checking it another way)."""
    if require_actor(actor).kind != ActorKind.OPERATOR:
        raise PermissionDenied(_("Only the platform operator verifies a domain by hand; publish its DNS record "
                                 "and verify it instead."))
    _ensure_claimable(domain.name, tenant_id=domain.tenant_id, field="domain")
    return _mark_verified(actor=actor, domain=domain, method="platform operator")


@transaction.atomic
def _mark_verified(*, actor: Actor, domain: Domain, method: str) -> Domain:
    domain = Domain.objects.select_for_update().select_related("tenant").get(pk=domain.pk)
    if domain.is_verified:
        return domain
    domain.is_verified = True
    domain.verified_at = timezone.now()
    _validate_and_save(domain)  # the partial unique index settles a race between two tenants
    audit(tenant=domain.tenant, actor=actor.in_tenant(domain.tenant), activity="Verify domain",
          targets=[Target(domain, [Change("isVerified", False, True)])], details={"method": method})
    return domain


@transaction.atomic
def domain_remove(*, actor: Actor, domain: Domain) -> None:
    authorize(actor, "Domain.ReadWrite.All", tenant=domain.tenant_id)
    tenant = domain.tenant
    audit(tenant=tenant, actor=actor, activity="Remove domain",
          targets=[Target(tenant, [Change("domain", domain.name, None)])])
    domain.delete()


@transaction.atomic
def branding_save(*, actor: Actor, branding: Branding, changes: dict[str, Any] | None = None) -> Branding:
    """Create a branding (``branding.pk`` unset) or apply ``changes`` to an existing one."""
    authorize(actor, "Organization.ReadWrite.All", tenant=branding.tenant_id)
    if branding.pk is None or not Branding.objects.filter(pk=branding.pk).exists():
        _validate_and_save(branding)
        applied = [Change("locale", None, branding.locale or "default")]
        operation = "Add"
    else:
        branding = Branding.objects.select_for_update().get(pk=branding.pk)
        applied = _apply(branding, changes or {})
        if not applied:
            return branding
        _validate_and_save(branding)
        operation = "Update"
    audit(tenant=branding.tenant, actor=actor, activity="Update company branding", operation_type=operation,
          targets=[Target(branding.tenant, applied)])
    return branding


@transaction.atomic
def branding_delete(*, actor: Actor, branding: Branding) -> None:
    authorize(actor, "Organization.ReadWrite.All", tenant=branding.tenant_id)
    audit(tenant=branding.tenant, actor=actor, activity="Delete company branding",
          targets=[Target(branding.tenant, [Change("locale", branding.locale, None)])])
    branding.delete()
