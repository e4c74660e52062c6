"""The sign-in log: one row per interactive sign-in, tenant or app entry and token issuance."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.utils import timezone

from ..access import AccessDecision, AccessRequest
from ..actors import Actor, require_actor
from ..audit import current_correlation_id
from ..models import SignInEvent, User

#: signInActivity is kept to the minute: a busy person's every page does not rewrite their row.
LAST_SIGN_IN_RESOLUTION = timedelta(minutes=1)


def sign_in_result(decision: AccessDecision) -> str:
    if decision.blocked:
        return SignInEvent.Result.FAILURE
    if decision.requirements:
        return SignInEvent.Result.INTERRUPTED
    return SignInEvent.Result.SUCCESS


def _conditional_access_status(decision: AccessDecision) -> str:
    enforced = [r for r in decision.policy_results if not r.result.startswith("reportOnly")
                and r.result not in ("notApplied", "notEnabled")]
    if not enforced:
        return SignInEvent.ConditionalAccessStatus.NOT_APPLIED
    if decision.blocked or any(r.result == "failure" for r in enforced):
        return SignInEvent.ConditionalAccessStatus.FAILURE
    return SignInEvent.ConditionalAccessStatus.SUCCESS


def _home_tenant_id(req: AccessRequest):
    """Where the person is a member: the resource tenant for its members, else their member record's."""
    user, account = req.user, req.account
    if user is not None and not user.is_guest:
        return user.tenant_id
    if account is None:
        return None
    return (User.objects.filter(account=account, user_type=User.UserType.MEMBER, deleted_at__isnull=True)
            .values_list("tenant_id", flat=True).first())


#: Entra's code for a wrong password (AADSTS50126).
INVALID_CREDENTIALS = 50126


def sign_in_event_record(*, access_request: AccessRequest, decision: AccessDecision, is_interactive: bool = True,
                         failure_reason: str = "", country: str = "", error_code: int | None = None) -> SignInEvent:
    """Write the sign-in log's row for one evaluation (a log, like the audit trail: no actor decides
    whether it is written), and keep the user's ``signInActivity`` current with one set-based UPDATE."""
    req = access_request
    user, account, app = req.user, req.account, req.application
    result = SignInEvent.Result.FAILURE if error_code else sign_in_result(decision)
    now = req.now or timezone.now()
    mfa_used = any(m in ("totp", "backupCode", "passkey") for m in req.authentication_methods)
    event = SignInEvent.objects.create(
        created_at=now, tenant=req.tenant, user=user, account=account,
        home_tenant_id=_home_tenant_id(req),
        user_principal_name=getattr(user, "user_principal_name", "") or getattr(account, "email", "") or "",
        user_display_name=getattr(user, "display_name", "") or "",
        application=app, app_display_name=getattr(app, "display_name", "") or "",
        resource=req.resource, ip_address=req.ip, country=(country or decision.country or "")[:16],
        client_app_used=req.client_app_type,
        user_agent=(req.user_agent or "")[:512], is_interactive=is_interactive, result=result,
        error_code=error_code or SignInEvent.ERROR_CODES[result],
        failure_reason=(failure_reason or decision.reason or (
            "Strong authentication is required." if result == SignInEvent.Result.INTERRUPTED else ""))[:512],
        authentication_methods=sorted(req.authentication_methods),
        authentication_requirement="multiFactorAuthentication" if mfa_used else "singleFactorAuthentication",
        conditional_access_status=_conditional_access_status(decision),
        applied_policies=[r.as_graph() | {"result": r.result} for r in decision.policy_results],
        correlation_id=current_correlation_id(),
    )
    if user is not None and result == SignInEvent.Result.SUCCESS and is_interactive:
        User.objects.filter(Q(last_sign_in_at__isnull=True) | Q(last_sign_in_at__lt=now - LAST_SIGN_IN_RESOLUTION),
                            pk=user.pk).update(last_sign_in_at=now)
    return event


def sign_in_events_purge(*, actor: Actor, now=None) -> int:
    """Delete sign-in log rows older than SIGN_IN_LOG_RETENTION_DAYS (Entra keeps 30 days); one set-based
    DELETE, run by beat as the system. Returns how many rows went."""
    require_actor(actor)
    if not actor.is_platform:
        raise PermissionDenied("Only the platform purges the sign-in log.")
    days = int(getattr(settings, "SIGN_IN_LOG_RETENTION_DAYS", 30))
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = SignInEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted
