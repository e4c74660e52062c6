"""Glue to allauth's sign-in flows, in one place (allauth is pinned to 65.x in pyproject.toml)."""

from allauth.account.internal.flows.login import get_authentication_records
from allauth.account.internal.flows.login_by_code import LoginCodeVerificationProcess
from allauth.core import ratelimit
from django.http import HttpRequest

from .models import Account


class TooManyCodes(Exception):
    """Codes were requested too often for this address or from this client."""


def start_code_sign_in(request: HttpRequest, *, account: Account | None, email: str) -> None:
    """E-mail a one-time sign-in code to ``email`` (through the outbox) and keep the pending sign-in in
    the session; allauth's confirm page takes the code. With ``account=None`` nothing is sent, but the
    response is the same, so strangers cannot tell known addresses from unknown ones.

    Rate-limited exactly like allauth's own "request a code" form (per client and per address), for
    known and unknown addresses alike."""
    if not ratelimit.consume(request, action="request_login_code", key=email.lower()):
        raise TooManyCodes
    LoginCodeVerificationProcess.initiate(request=request, user=account, email=email)


def last_sign_in_method(request: HttpRequest) -> str:
    """How the current session's account last proved itself: "code", "password", "socialaccount", …"""
    records = get_authentication_records(request, request.user)
    return records[-1].get("method", "") if records else ""


def session_authenticated_at(request: HttpRequest) -> float | None:
    """When the current session's account last proved itself (a POSIX time), or None when unknown."""
    records = get_authentication_records(request, request.user)
    times = [r.get("at") for r in records if isinstance(r.get("at"), (int, float))]
    return max(times) if times else None


def session_predates(request: HttpRequest, user) -> bool:
    """Does this session's sign-in come before ``user.sign_in_sessions_valid_from`` (set when the tenant
    reset the user's redemption)? Then it does not count for ``user``: the person proves it again. A
    session whose sign-in time is unknown counts as older."""
    valid_from = getattr(user, "sign_in_sessions_valid_from", None)
    if valid_from is None:
        return False
    authenticated_at = session_authenticated_at(request)
    return authenticated_at is None or authenticated_at < valid_from.timestamp()
