"""Authentication methods (second factors): registration, challenge, removal and reset.

A method is a django-otp device plus an :class:`~directory.models.AuthenticationMethod` row that names
the tenant it was registered in; it counts there only (DESIGN §6). Failed answers are counted on the
device row under a row lock (django-otp's exponential back-off), so parallel guesses cannot slip past it.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, urlencode

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from ..actors import Actor
from ..audit import Change, Target, audit, register_activities
from ..models import AuthenticationMethod, User
from ..passkeys import TenantWebAuthnHelper
from ..selectors import authentication_methods_of as methods_of
from ._common import authorize
from .users import ensure_may_manage

register_activities("UserManagement", {
    "User registered security info": "Add",
    "User deleted security info": "Delete",
    "Admin deleted security info": "Delete",
    "Admin required re-registration of security info": "Update",
    "User failed MFA challenge": "Other",
})

BACKUP_CODE_COUNT = 10
TOTP_DIGITS = 6
_TOTP_SHAPE = re.compile(r"^\d{6}$")


class MfaThrottled(Exception):
    """Too many wrong answers lately: the person waits ``seconds`` before trying again."""

    def __init__(self, seconds: int):
        super().__init__(seconds)
        self.seconds = seconds


def _authorize_for(actor: Actor, user: User) -> bool:
    """Is ``actor`` acting on its own methods? Others need UserAuthenticationMethod.ReadWrite.All."""
    if actor.user is not None and actor.user.pk == user.pk:
        authorize(actor, "UserAuthenticationMethod.ReadWrite", tenant=user.tenant)
        return True
    authorize(actor, "UserAuthenticationMethod.ReadWrite.All", tenant=user.tenant)
    ensure_may_manage(actor, user)
    return False


def _require_account(user: User):
    if user.account_id is None:
        raise ValidationError(_("This user has not signed in yet, so it has no authentication methods."))
    return user.account


class PasskeyRefused(Exception):
    """A passkey answer or registration that does not verify; ``message`` says why, for the person."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _passkeys_of(user: User):
    from django_otp_webauthn.models import WebAuthnCredential

    return WebAuthnCredential.objects.filter(method__account_id=user.account_id, method__tenant_id=user.tenant_id)


def _webauthn_errors():
    from django_otp_webauthn.exceptions import OTPWebAuthnApiError
    from webauthn.helpers.exceptions import WebAuthnException

    return (OTPWebAuthnApiError, WebAuthnException, ValueError, KeyError, TypeError)


def _summary(user: User) -> list[str]:
    return sorted(str(kind) for kind in methods_of(user).values_list("kind", flat=True))


def totp_new_key() -> str:
    """A fresh TOTP secret (hex, 160 bits) for a registration to offer; nothing is stored yet."""
    return random_hex(20)


def totp_config_url(*, key: str, user: User) -> str:
    """The otpauth:// URI an authenticator app scans: issuer = the tenant, account = the UPN."""
    secret = base64.b32encode(bytes.fromhex(key)).decode().rstrip("=")
    issuer = user.tenant.name
    return (f"otpauth://totp/{quote(issuer)}:{quote(user.user_principal_name)}"
            f"?{urlencode({'secret': secret, 'issuer': issuer, 'digits': TOTP_DIGITS}, quote_via=quote)}")


@transaction.atomic
def totp_register(*, actor: Actor, user: User, key: str, token: str, name: str = "") -> AuthenticationMethod:
    """Register an authenticator app for ``user`` once it answered ``token`` for ``key`` (proof that the
    app holds the secret). The code used cannot be used again to sign in."""
    _authorize_for(actor, user)
    account = _require_account(user)
    token = (token or "").strip().replace(" ", "")
    totp = TOTP(bytes.fromhex(key), digits=TOTP_DIGITS)
    if not _TOTP_SHAPE.match(token) or not totp.verify(int(token), tolerance=1):
        raise ValidationError({"token": _("That code is not right. Enter the current code from the app.")})
    before = _summary(user)
    device = TOTPDevice.objects.create(user=account, name=name or "Authenticator app", key=key,
                                       digits=TOTP_DIGITS, confirmed=True, last_t=totp.t())
    method = AuthenticationMethod.objects.create(account=account, tenant=user.tenant,
                                                 kind=AuthenticationMethod.Kind.TOTP,
                                                 display_name=name or _("Authenticator app"), totp_device=device)
    audit(tenant=user.tenant, actor=actor, activity="User registered security info",
          targets=[Target(user, [Change("StrongAuthenticationMethod", before, _summary(user))])],
          details={"method": "softwareOath"})
    return method


def passkey_registration_options(*, actor: Actor, user: User) -> tuple[dict, dict]:
    """WebAuthn's creation options for a new passkey of ``user`` in its tenant (for the browser) and the
    state to keep until the answer comes (in the session): the challenge. The tenant's own passkeys are
    excluded, so an authenticator is not registered twice here."""
    _authorize_for(actor, user)
    account = _require_account(user)
    return TenantWebAuthnHelper(user=user, credentials=_passkeys_of(user)).register_begin(user=account)


@transaction.atomic
def passkey_register(*, actor: Actor, user: User, state: dict | None, credential, name: str = "") -> AuthenticationMethod:
    """Register the passkey the browser created for ``state``'s challenge (attestation verified by
    py_webauthn: origin, relying party, challenge, signature). Raises :class:`PasskeyRefused`."""
    _authorize_for(actor, user)
    account = _require_account(user)
    if not isinstance(state, dict) or not state.get("challenge") or not isinstance(credential, dict):
        raise PasskeyRefused(_("The passkey request expired. Try again."))
    before = _summary(user)
    helper = TenantWebAuthnHelper(user=user, credentials=_passkeys_of(user))
    try:
        with transaction.atomic():  # a refused answer leaves no half-saved credential
            device = helper.register_complete(user=account, state=state, data=credential)
    except _webauthn_errors() as exc:
        raise PasskeyRefused(_("This passkey could not be registered. Try again.")) from exc
    name = (name or "").replace("\x00", "").strip()[:64] or _("Passkey")
    device.name = name
    device.save(update_fields=["name"])
    method = AuthenticationMethod.objects.create(account=account, tenant=user.tenant,
                                                 kind=AuthenticationMethod.Kind.PASSKEY,
                                                 display_name=name, webauthn_credential=device)
    audit(tenant=user.tenant, actor=actor, activity="User registered security info",
          targets=[Target(user, [Change("StrongAuthenticationMethod", before, _summary(user))])],
          details={"method": "fido2"})
    return method


def passkey_authentication_options(*, actor: Actor, user: User) -> tuple[dict, dict]:
    """WebAuthn's request options listing ``user``'s passkeys in its tenant only, and the state to keep."""
    _authorize_for(actor, user)
    _require_account(user)
    return TenantWebAuthnHelper(user=user, credentials=_passkeys_of(user)).authenticate_begin(
        user=None, require_user_verification=False)


def passkey_verify(*, actor: Actor, user: User, state: dict | None, credential) -> AuthenticationMethod | None:
    """Check a passkey's answer to ``state``'s challenge: the method it belongs to (one of ``user``'s in
    this tenant; its signature counter moves on), or None (the failure is audited). A signature cannot be
    guessed, so there is no back-off as for codes."""
    _authorize_for(actor, user)
    _require_account(user)
    method = None
    if isinstance(state, dict) and state.get("challenge") and isinstance(credential, dict):
        helper = TenantWebAuthnHelper(user=user, credentials=_passkeys_of(user))
        try:
            with transaction.atomic():
                device = helper.authenticate_complete(user=user.account, state=state, data=credential)
                method = (AuthenticationMethod.objects.filter(webauthn_credential=device, account_id=user.account_id,
                                                              tenant_id=user.tenant_id).first())
                if method is None:  # the account's passkey, but registered in another tenant: it does not count
                    raise ValueError("passkey of another tenant")
                AuthenticationMethod.objects.filter(pk=method.pk).update(last_used_at=timezone.now())
        except _webauthn_errors():
            method = None
    if method is None:
        with transaction.atomic():
            audit(tenant=user.tenant, actor=actor, activity="User failed MFA challenge",
                  targets=[Target(user)], result="failure", reason="Invalid passkey assertion")
    return method


@transaction.atomic
def backup_codes_create(*, actor: Actor, user: User) -> tuple[AuthenticationMethod, list[str]]:
    """New backup codes for ``user`` (the old ones stop working); returns them once, to show."""
    _authorize_for(actor, user)
    account = _require_account(user)
    before = _summary(user)
    for old in methods_of(user).filter(kind=AuthenticationMethod.Kind.BACKUP_CODES).select_related("static_device"):
        old.static_device.delete()  # cascades to the method
    device = StaticDevice.objects.create(user=account, name="Backup codes", confirmed=True)
    codes = [StaticToken.random_token() for _i in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    method = AuthenticationMethod.objects.create(account=account, tenant=user.tenant,
                                                 kind=AuthenticationMethod.Kind.BACKUP_CODES,
                                                 display_name=_("Backup codes"), static_device=device)
    audit(tenant=user.tenant, actor=actor, activity="User registered security info",
          targets=[Target(user, [Change("StrongAuthenticationMethod", before, _summary(user))])],
          details={"method": "backupCodes"})
    return method, codes


@transaction.atomic
def authentication_method_delete(*, actor: Actor, user: User, method: AuthenticationMethod,
                                 recently_verified: bool = False) -> None:
    """Remove one of ``user``'s methods. The person removing their last one must have answered MFA
    moments ago (``recently_verified``), so a stolen session cannot strip the second factor."""
    own = _authorize_for(actor, user)
    if method.account_id != user.account_id or method.tenant_id != user.tenant_id:
        raise AuthenticationMethod.DoesNotExist
    methods = list(methods_of(user).select_for_update())
    if own and len(methods) == 1 and not recently_verified:
        raise PermissionDenied(_("Verify your identity again before you remove your last method."))
    before = _summary(user)
    method.device.delete()
    audit(tenant=user.tenant, actor=actor,
          activity="User deleted security info" if own else "Admin deleted security info",
          targets=[Target(user, [Change("StrongAuthenticationMethod", before, _summary(user))])],
          details={"method": method.kind})


@transaction.atomic
def authentication_methods_reset(*, actor: Actor, user: User) -> int:
    """Require ``user`` to register MFA again: every method that counts in its tenant is removed, and
    sessions signed in before now stop counting there (the next MFA prompt registers afresh).
    Returns how many methods were removed."""
    authorize(actor, "UserAuthenticationMethod.ReadWrite.All", tenant=user.tenant)
    ensure_may_manage(actor, user)
    before = _summary(user)
    methods = list(methods_of(user).select_related("totp_device", "static_device", "webauthn_credential"))
    for method in methods:
        method.device.delete()
    now = timezone.now()
    User.objects.filter(pk=user.pk).update(sign_in_sessions_valid_from=now)
    user.sign_in_sessions_valid_from = now
    audit(tenant=user.tenant, actor=actor, activity="Admin required re-registration of security info",
          targets=[Target(user, [Change("StrongAuthenticationMethod", before, [])])])
    return len(methods)


def mfa_verify(*, actor: Actor, user: User, token: str, strength: str = "mfa") -> AuthenticationMethod | None:
    """Check ``token`` against ``user``'s methods of ``strength``: the method it matched, or None (the
    failure is counted and audited). Raises :class:`MfaThrottled` while the back-off runs."""
    _authorize_for(actor, user)
    token = (token or "").strip().replace(" ", "").replace("-", "")
    kind = AuthenticationMethod.Kind.TOTP if _TOTP_SHAPE.match(token) else AuthenticationMethod.Kind.BACKUP_CODES
    with transaction.atomic():
        candidates = [m for m in methods_of(user).filter(kind=kind).select_related("totp_device", "static_device")
                      if strength in m.strengths]
        for method in candidates:
            # the row lock makes "count the failure / reset the count" one step per device
            device = type(method.device).objects.select_for_update().get(pk=method.device.pk)
            allowed, info = device.verify_is_allowed()
            if not allowed:
                locked_until = (info or {}).get("locked_until")
                wait = int((locked_until - timezone.now()).total_seconds()) + 1 if locked_until else 1
                raise MfaThrottled(max(wait, 1))
            if device.verify_token(token):
                AuthenticationMethod.objects.filter(pk=method.pk).update(last_used_at=timezone.now())
                return method
    with transaction.atomic():
        audit(tenant=user.tenant, actor=actor, activity="User failed MFA challenge",
              targets=[Target(user)], result="failure", reason="Invalid verification code")
    return None
