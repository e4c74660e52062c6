"""Signing in with an external identity: another deployment, an OpenID Connect or SAML identity provider,
Google or Microsoft. The one flow every federation protocol ends in (DESIGN §6).

A protocol's callback (``policies.federation`` for OIDC, the SAML assertion consumer, …) checks the
response it received and hands the verified claims here:

    account = sign_in_federated(request, tenant=tenant, issuer=..., subject=..., email=...,
                                email_verified=..., amr=[...], home_tenant_id=...)   # FederationRefused
    return federated_login_response(request, account, redirect_url=next_url)

The rules, in one place:

- an identity is the issuer's subject, (``issuer``, ``sub``): known ones sign in as their account, whatever
  their e-mail claim says today;
- a first-time identity links to the account with its address **only** when the issuer says the address
  is verified; an unverified claim never links to an existing account and never creates one;
- with a verified address and no account, a guest account is created (no password: it signs in here only
  through its identity provider, or by e-mailed code where a tenant allows);
- the sign-in is recorded in allauth's authentication records (method ``socialaccount``, so the sign-in log
  says "federated") with the issuer, the partner's tenant id and the partner's ``amr`` (e.g. "mfa"), where
  the policies' inbound trust reads them (:func:`federated_sign_in_of`);
- allauth then logs the account in: its login stages run (conditional access at sign-in writes the
  sign-in log's row), as for a password or a code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from allauth.account import app_settings as account_settings
from allauth.account.internal.flows.login import get_authentication_records, perform_login, record_authentication
from allauth.account.models import EmailAddress, Login
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Account, FederatedIdentity, Tenant, User

#: allauth's name for a sign-in through an external identity (directory.signin maps it to "federated").
METHOD = "socialaccount"


class FederationRefused(Exception):
    """The external identity may not sign in here; ``code`` for machines, ``message`` for the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FederatedSignIn:
    """What this session's last federated sign-in told: who vouched for it and how the person signed in
    there (``amr``), and when (POSIX time)."""

    issuer: str
    subject: str
    home_tenant_id: str
    amr: tuple[str, ...]
    at: float


def _clean_claims(issuer: str, subject: str, email: str, amr: Iterable[str]) -> tuple[str, str, str, tuple[str, ...]]:
    issuer = (issuer or "").strip().rstrip("/")
    subject = (subject or "").strip()
    email = (email or "").strip().lower()
    if not issuer or not subject or len(issuer) > 500 or len(subject) > 255 or "\x00" in issuer + subject:
        raise FederationRefused("invalid_identity", _("The identity provider's answer names no valid identity."))
    try:
        validate_email(email)
    except ValidationError:
        raise FederationRefused("invalid_email", _(
            "The identity provider did not send a valid e-mail address for you.")) from None
    clean_amr = tuple(sorted({str(m)[:32] for m in (amr or ()) if isinstance(m, str) and m}))
    return issuer, subject, email, clean_amr


def _link_or_create(*, issuer: str, subject: str, email: str, email_verified: bool, display_name: str,
                    home_tenant_id: str) -> Account:
    now = timezone.now()
    identity = FederatedIdentity.objects.select_related("account").filter(issuer=issuer, subject=subject).first()
    if identity is not None:
        FederatedIdentity.objects.filter(pk=identity.pk).update(email=email, home_tenant_id=home_tenant_id,
                                                               last_sign_in_at=now)
        return identity.account
    if not email_verified:
        # Never on an unverified claim: anyone may type any address into their own identity provider.
        raise FederationRefused("email_not_verified", _(
            "Your identity provider did not confirm that %(email)s is yours, so it cannot be used to sign in "
            "here. Ask your administrator to have the address verified.") % {"email": email})
    with transaction.atomic():
        account = Account.objects.with_email(email).select_for_update().first()
        if account is None:
            try:
                with transaction.atomic():
                    account = Account.objects.create_user(email, None, display_name=(display_name or "")[:256])
            except IntegrityError:  # created a moment ago by a concurrent sign-in
                account = Account.objects.with_email(email).get()
        EmailAddress.objects.update_or_create(user=account, email=account.email,
                                              defaults={"verified": True, "primary": True})
        try:
            with transaction.atomic():
                FederatedIdentity.objects.create(account=account, issuer=issuer, subject=subject, email=email,
                                                 home_tenant_id=home_tenant_id, last_sign_in_at=now)
        except IntegrityError:  # the same identity linked by a concurrent sign-in
            account = FederatedIdentity.objects.select_related("account").get(issuer=issuer, subject=subject).account
    return account


def sign_in_federated(request: HttpRequest, *, tenant: Tenant, issuer: str, subject: str, email: str,
                      email_verified: bool, display_name: str = "", amr: Iterable[str] = (),
                      home_tenant_id: str = "") -> Account:
    """The account the external identity (``issuer``, ``subject``) signs in as, recorded as this session's
    proof (see the module's rules). Raises :class:`FederationRefused`; a refusal of a person known in
    ``tenant`` goes into its sign-in log. Call :func:`federated_login_response` next."""
    issuer, subject, email, amr = _clean_claims(issuer, subject, email, amr)
    home_tenant_id = (home_tenant_id or "").strip()[:64]
    try:
        account = _link_or_create(issuer=issuer, subject=subject, email=email, email_verified=email_verified,
                                  display_name=display_name, home_tenant_id=home_tenant_id)
        if not account.is_active:
            raise FederationRefused("account_disabled", _("Your account is disabled."))
    except FederationRefused as refusal:
        _log_refusal(request, tenant=tenant, email=email, refusal=refusal)
        raise
    record_authentication(request, account, method=METHOD, provider=issuer, uid=subject, issuer=issuer,
                          amr=list(amr), home_tenant_id=home_tenant_id, tenant=str(tenant.pk))
    return account


def federated_login_response(request: HttpRequest, account: Account, *, redirect_url: str) -> HttpResponse:
    """Log ``account`` in through allauth (its login stages, then the session) and answer where it goes
    next: ``redirect_url``, or a stage's page (a block, a requirement)."""
    login = Login(user=account, redirect_url=redirect_url, email=account.email,
                  email_verification=account_settings.EmailVerificationMethod.NONE)  # the IdP verified it
    return perform_login(request, login)


def federated_sign_in_of(request: HttpRequest, account) -> FederatedSignIn | None:
    """This session's latest federated sign-in of ``account`` (None: it signed in some other way)."""
    if account is None or getattr(request, "session", None) is None:
        return None
    for record in reversed(get_authentication_records(request, account)):
        if record.get("method") == METHOD and record.get("issuer"):
            return FederatedSignIn(issuer=record["issuer"], subject=record.get("uid", ""),
                                   home_tenant_id=record.get("home_tenant_id", ""),
                                   amr=tuple(record.get("amr") or ()), at=float(record.get("at") or 0))
    return None


def _log_refusal(request: HttpRequest, *, tenant: Tenant, email: str, refusal: FederationRefused) -> None:
    from .access import AccessDecision, AccessRequest
    from .net import client_ip
    from .services.signins import sign_in_event_record

    account = Account.objects.with_email(email).first()
    user = User.objects.active().filter(tenant=tenant, account=account).first() if account is not None else None
    if user is None:
        return  # nothing to tell this tenant about a stranger
    sign_in_event_record(
        access_request=AccessRequest(tenant=tenant, user=user, account=account, ip=client_ip(request),
                                     user_agent=request.META.get("HTTP_USER_AGENT", "")[:512],
                                     authentication_methods=frozenset({"federated"}), now=timezone.now()),
        decision=AccessDecision(blocked=True, reason=refusal.message), failure_reason=refusal.message)
