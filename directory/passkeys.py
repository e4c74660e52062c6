"""Passkeys and security keys (WebAuthn), through django-otp-webauthn's helper, per tenant.

django-otp-webauthn brings the credential model (a django-otp device of the account) and the WebAuthn
ceremonies (py_webauthn). Its own views sign people in by themselves (passwordless, or marking the whole
session "verified"); here a passkey is a second factor counted per tenant like the other methods
(DESIGN §6), so only its helper is used, from ``directory.services.mfa`` and ``directory.mfa.views``:

- the relying party is this deployment: its id is ``SITE_URL``'s host name and the origin ``SITE_URL``'s
  (``OTP_WEBAUTHN_RP_ID`` / ``OTP_WEBAUTHN_ALLOWED_ORIGINS`` override them);
- the user handle given to the authenticator is derived from the account and the tenant, so the passkey
  of one tenant never replaces another tenant's on the same authenticator, and the name shown is the
  person's user principal name there;
- only the tenant's own passkeys are excluded at registration and allowed at the challenge.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django_otp_webauthn.helpers import WebAuthnHelper
from webauthn.helpers.structs import PublicKeyCredentialUserEntity, ResidentKeyRequirement


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: tuple[str, ...]


def relying_party() -> RelyingParty:
    """This deployment as WebAuthn's relying party, from the settings at the time of asking."""
    site = urlsplit(settings.SITE_URL)
    rp_id = getattr(settings, "OTP_WEBAUTHN_RP_ID", "") or (site.hostname or "localhost")
    origins = tuple(getattr(settings, "OTP_WEBAUTHN_ALLOWED_ORIGINS_OVERRIDE", ()) or ()) or (
        f"{site.scheme}://{site.netloc}",)
    return RelyingParty(id=rp_id, name=getattr(settings, "OTP_WEBAUTHN_RP_NAME", "") or "B2B Portal",
                        origins=origins)


def relying_party_id(request=None) -> str:
    """``OTP_WEBAUTHN_RP_ID_CALLABLE``: the package asks it where its own code runs."""
    return relying_party().id


def user_handle(user) -> bytes:
    """A stable, opaque handle for (account, tenant): 32 bytes, no personal data in it."""
    return hashlib.sha256(f"{user.account_id}:{user.tenant_id}:{settings.SECRET_KEY[:16]}".encode()).digest()


class TenantWebAuthnHelper(WebAuthnHelper):
    """django-otp-webauthn's helper for one tenant's user (``user``: a ``directory.User``)."""

    def __init__(self, *, user, rp: RelyingParty | None = None, credentials=None):
        super().__init__(request=None)
        self.user = user
        self.rp = rp or relying_party()
        self.credentials = credentials  # queryset of this tenant's WebAuthnCredential rows of the account

    def get_relying_party_domain(self) -> str:
        return self.rp.id

    def get_relying_party_name(self) -> str:
        return self.rp.name

    def get_allowed_origins(self) -> list[str]:
        return list(self.rp.origins)

    def get_discoverable_credentials_preference(self) -> ResidentKeyRequirement:
        return ResidentKeyRequirement.PREFERRED

    def get_user_entity(self, user) -> PublicKeyCredentialUserEntity:
        tenant_user = self.user
        return PublicKeyCredentialUserEntity(id=user_handle(tenant_user), name=tenant_user.user_principal_name,
                                             display_name=tenant_user.display_name or tenant_user.user_principal_name)

    def _descriptors(self):
        from django_otp_webauthn.models import as_credential_descriptors

        return as_credential_descriptors(self.credentials) if self.credentials is not None else []

    def get_generate_registration_options_kwargs(self, *, user) -> dict:
        kwargs = super().get_generate_registration_options_kwargs(user=user)
        kwargs["exclude_credentials"] = self._descriptors()
        return kwargs

    def get_generate_authentication_options_kwargs(self, *, user=None, require_user_verification: bool) -> dict:
        kwargs = super().get_generate_authentication_options_kwargs(
            user=None, require_user_verification=require_user_verification)
        kwargs["allow_credentials"] = self._descriptors()
        return kwargs
