from directory.models import Tenant

from .models import Invitation
from .tokens import token_hash


def invitation_for_token(*, tenant: Tenant, raw_token: str) -> Invitation | None:
    """The invitation this link's secret belongs to, in this tenant only (else None)."""
    if not raw_token or len(raw_token) > 100:
        return None
    return (
        Invitation.objects.filter(tenant=tenant, token_hash=token_hash(raw_token))
        .select_related("tenant", "invited_user", "invited_by")
        .first()
    )


def pending_invitation_for(*, tenant: Tenant, email: str) -> Invitation | None:
    """The newest redeemable invitation for this address whose guest has not redeemed yet."""
    return (
        Invitation.objects.redeemable()
        .filter(tenant=tenant, invited_email=email.strip().lower(), invited_user__account__isnull=True)
        .select_related("tenant", "invited_user", "invited_by")
        .order_by("-created_at")
        .first()
    )
