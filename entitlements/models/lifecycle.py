"""The external-user lifecycle: which guests entitlement management governs, and who is blocked, waiting
to be removed from the tenant."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Tenant, User


class ExternalUserLifecycle(models.Model):
    """One guest's place in the external-user lifecycle (one row per guest, made when needed).

    ``governed``: entitlement management brought the guest in (its silent invitation made the user
    object), so the tenant's ``externalUserLifecycleAction`` applies once their last assignment ends
    (Entra: "only users brought in by entitlement management"). ``blocked_at`` set and ``removed_at``
    empty: the guest was blocked by the lifecycle (or by an access review) and is removed from the
    tenant (the directory's soft delete) at ``delete_after_at`` unless they are unblocked first
    (``delete_after_at`` empty: blocked only, never removed). ``access_ended_at``: see the field."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="lifecycle")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    governed = models.BooleanField(_("brought in by entitlement management"), default=False)
    blocked_at = models.DateTimeField(_("blocked"), null=True, blank=True)
    delete_after_at = models.DateTimeField(_("removal due"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=256, blank=True)
    removed_at = models.DateTimeField(_("removed"), null=True, blank=True)
    #: When a governed guest's assignment last ended (set by ``assignments_revoke``, the one place access
    #: ends); the block sweep acts on it once and clears it, so a guest an administrator unblocks is not
    #: blocked again until another assignment ends.
    access_ended_at = models.DateTimeField(_("access ended"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("external user lifecycle")
        indexes = [
            # The removal sweep: WHERE delete_after_at <= now AND blocked AND not removed yet.
            models.Index(fields=["delete_after_at"], name="lifecycle_removal_due_idx",
                         condition=Q(blocked_at__isnull=False, removed_at__isnull=True,
                                     delete_after_at__isnull=False)),
            # The block sweep: governed guests whose access ended and who are not blocked yet.
            models.Index(fields=["access_ended_at"], name="lifecycle_block_due_idx",
                         condition=Q(governed=True, blocked_at__isnull=True, removed_at__isnull=True,
                                     access_ended_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} · {'blocked' if self.blocked_at else 'active'}"

    @property
    def is_pending_removal(self) -> bool:
        return self.blocked_at is not None and self.removed_at is None
