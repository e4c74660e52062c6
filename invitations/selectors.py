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


# --- the inactive-guests report (admin console) ------------------------------------------------------


def inactive_guests(*, tenant: Tenant, cutoff):
    """The tenant's guests (not deleted) inactive since before ``cutoff``: last signed in before it, or,
    never signed in, invited before it; most inactive first. Each row carries its groups and apps counts
    and who invited it (the latest invitation's inviter); prefetch the sponsors. One query per page on the
    (tenant, coalesce(last sign-in, created), id) index of guests, plus one for the page's sponsors."""
    from django.db.models import Count, F, IntegerField, OuterRef, Prefetch, Subquery, Value
    from django.db.models.functions import Coalesce

    from directory.models import AppRoleAssignment, Group, User

    def count(queryset):
        return Coalesce(Subquery(queryset.order_by().values("user_id").annotate(n=Count("*")).values("n")[:1],
                                 output_field=IntegerField()), Value(0))

    latest = Invitation.objects.filter(invited_user=OuterRef("pk")).order_by("-created_at")
    return (User.objects.filter(tenant=tenant, user_type=User.UserType.GUEST, deleted_at__isnull=True)
            .alias(inactive_since=Coalesce("last_sign_in_at", "created_at"))
            .filter(inactive_since__lt=cutoff)
            .annotate(inactive_from=F("inactive_since"),
                      group_count=count(Group.members.through.objects.filter(user_id=OuterRef("pk"))),
                      app_count=count(AppRoleAssignment.objects.filter(user_id=OuterRef("pk"))),
                      invited_by_name=Subquery(latest.values("invited_by__display_name")[:1]),
                      invited_by_email=Subquery(latest.values("invited_by_account__email")[:1]),
                      invited_at=Subquery(latest.values("created_at")[:1]))
            .prefetch_related(Prefetch("sponsors", queryset=User.objects.filter(deleted_at__isnull=True).only(
                "pk", "display_name", "mail", "user_principal_name").order_by("display_name")))
            .only("pk", "tenant_id", "display_name", "user_principal_name", "mail", "last_sign_in_at", "created_at",
                  "external_user_state", "account_enabled")
            .order_by("inactive_since", "pk"))
