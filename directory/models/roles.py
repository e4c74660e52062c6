"""Directory roles and who holds them."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .base import TenantOwnedQuerySet
from .people import User
from .tenants import Tenant


class Role(models.TextChoices):
    """Tenant-scoped directory roles; values are Entra's role template ids."""

    GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10", _("Global Administrator")
    USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1", _("User Administrator")
    GUEST_INVITER = "95e79109-95c0-4d8e-aee3-d01accf2d47b", _("Guest Inviter")
    APPLICATION_ADMINISTRATOR = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", _("Application Administrator")
    GROUPS_ADMINISTRATOR = "fdd7a751-b60b-444a-984c-02652fe8fa1c", _("Groups Administrator")
    SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d", _("Security Administrator")
    IDENTITY_GOVERNANCE_ADMINISTRATOR = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e", _(
        "Identity Governance Administrator"
    )


class RoleAssignment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="role_assignments")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_assignments")
    role = models.CharField(_("role"), max_length=36, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "user", "role", name="role_assignment_unique",
                violation_error_message=_("This user already holds this role."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.user}"
