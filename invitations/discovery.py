"""Which identity provider a guest redeems with, in Entra's order."""

from enum import StrEnum

from directory.models import Account, Tenant
from policies.selectors import collaboration_settings_for


class Provider(StrEnum):
    HOME_TENANT = "home_tenant"  # the address is a member account on this platform: sign in to it
    FEDERATED = "federated"  # a partner's SAML/OIDC IdP matched by domain (later issue)
    SOCIAL = "social"  # Google, Microsoft (later issue)
    EMAIL_OTP = "email_otp"  # a one-time passcode sent to the invited address
    NONE = "none"


def federated_provider_for(*, tenant: Tenant, email: str):
    """Where domain-matched federated IdPs slot in (the federation issue fills this in)."""
    return None


def discover_provider(*, tenant: Tenant, email: str) -> Provider:
    account = Account.objects.with_email(email).first()
    if account is not None and account.has_usable_password() and account.tenant_users.filter(
        user_type="Member", deleted_at__isnull=True
    ).exists():
        return Provider.HOME_TENANT
    if federated_provider_for(tenant=tenant, email=email) is not None:
        return Provider.FEDERATED
    if collaboration_settings_for(tenant).email_otp_enabled:
        return Provider.EMAIL_OTP
    return Provider.NONE
