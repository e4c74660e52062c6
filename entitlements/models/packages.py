"""Access packages, what they grant, and the policies that say who may get them and how."""

import uuid

from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Group, Tenant

from .catalogs import Catalog, CatalogResource, ResourceRole


class AccessPackage(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="access_packages")
    catalog = models.ForeignKey(Catalog, on_delete=models.CASCADE, related_name="access_packages")
    display_name = models.CharField(_("name"), max_length=256)
    description = models.TextField(_("description"), max_length=1024, blank=True)
    #: Hidden packages are not listed in My Access; their link still works.
    is_hidden = models.BooleanField(_("hidden"), default=False)
    incompatible_packages = models.ManyToManyField("self", symmetrical=False, blank=True,
                                                   related_name="incompatible_with",
                                                   verbose_name=_("incompatible access packages"))
    incompatible_groups = models.ManyToManyField(Group, blank=True, related_name="+",
                                                 verbose_name=_("incompatible groups"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [models.UniqueConstraint("catalog", Lower("display_name"), name="package_catalog_name_ci_unique",
                                               violation_error_message=_("The catalog has a package of this name."))]
        indexes = [
            models.Index(models.F("tenant"), Lower("display_name"), models.F("id"), name="package_tenant_name_idx"),
            models.Index(fields=["catalog", "id"], name="package_catalog_idx"),
        ]

    def __str__(self) -> str:
        return self.display_name


class ResourceRoleScope(models.Model):
    """A resource role the package grants (Graph's ``accessPackageResourceRoleScope``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    package = models.ForeignKey(AccessPackage, on_delete=models.CASCADE, related_name="role_scopes")
    resource = models.ForeignKey(CatalogResource, on_delete=models.CASCADE, related_name="role_scopes")
    role = models.CharField(max_length=16, choices=ResourceRole.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint("package", "resource", "role", name="role_scope_unique",
                                               violation_error_message=_("The package grants this role already."))]

    def __str__(self) -> str:
        return f"{self.role} · {self.resource}"


class AssignmentPolicy(models.Model):
    """Who may request a package, with which approval, questions and expiration."""

    class TargetScope(models.TextChoices):
        NOT_SPECIFIED = "notSpecified", _("None (administrator direct assignments only)")
        SPECIFIC_DIRECTORY_USERS = "specificDirectoryUsers", _("Specific users and groups")
        SPECIFIC_CONNECTED_ORGANIZATION_USERS = ("specificConnectedOrganizationUsers",
                                                 _("Specific connected organizations"))
        ALL_MEMBER_USERS = "allMemberUsers", _("All members (excluding guests)")
        ALL_DIRECTORY_USERS = "allDirectoryUsers", _("All users (including guests)")
        ALL_CONFIGURED_CONNECTED_ORGANIZATION_USERS = ("allConfiguredConnectedOrganizationUsers",
                                                       _("All configured connected organizations"))
        ALL_EXTERNAL_USERS = "allExternalUsers", _("All users (all connected organizations and any new external users)")

    class ExpirationType(models.TextChoices):
        NOT_SPECIFIED = "notSpecified", _("Not specified")
        NO_EXPIRATION = "noExpiration", _("Never")
        AFTER_DATE_TIME = "afterDateTime", _("On date")
        AFTER_DURATION = "afterDuration", _("After a duration")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    package = models.ForeignKey(AccessPackage, on_delete=models.CASCADE, related_name="policies")
    display_name = models.CharField(_("name"), max_length=256)
    description = models.TextField(_("description"), max_length=1024, blank=True)
    allowed_target_scope = models.CharField(_("who may request"), max_length=48, choices=TargetScope.choices,
                                            default=TargetScope.NOT_SPECIFIED)
    #: Graph ``subjectSet``s: ``{"@odata.type": "#microsoft.graph.singleUser", "userId": …}``,
    #: ``groupMembers{groupId}``, ``connectedOrganizationMembers{connectedOrganizationId}``.
    specific_allowed_targets = models.JSONField(default=list, blank=True)
    # requestor settings
    enable_targets_to_self_add = models.BooleanField(_("enable new requests"), default=True)
    enable_targets_to_self_update = models.BooleanField(_("allow requestors to extend"), default=False)
    enable_targets_to_self_remove = models.BooleanField(_("allow requestors to give up access"), default=True)
    allow_custom_schedule = models.BooleanField(_("requestors may ask for a specific timeline"), default=False)
    # approval
    is_approval_required_for_add = models.BooleanField(_("require approval"), default=False)
    is_approval_required_for_update = models.BooleanField(_("require approval to extend"), default=False)
    is_requestor_justification_required = models.BooleanField(_("require requestor justification"), default=False)
    # expiration
    expiration_type = models.CharField(_("access expires"), max_length=16, choices=ExpirationType.choices,
                                       default=ExpirationType.AFTER_DURATION)
    expiration_end = models.DateTimeField(_("on date"), null=True, blank=True)
    expiration_duration = models.DurationField(_("after"), null=True, blank=True,
                                               default=timezone.timedelta(days=365))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = _("assignment policies")
        indexes = [models.Index(fields=["tenant", "created_at", "id"], name="policy_tenant_list_idx"),
                   models.Index(fields=["package", "created_at"], name="policy_package_idx")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def is_external(self) -> bool:
        T = self.TargetScope
        return self.allowed_target_scope in (T.SPECIFIC_CONNECTED_ORGANIZATION_USERS,
                                             T.ALL_CONFIGURED_CONNECTED_ORGANIZATION_USERS, T.ALL_EXTERNAL_USERS)


class ApprovalStage(models.Model):
    """One of up to three serial approval stages. Approver lists are Graph ``subjectSet``s
    (``singleUser``, ``groupMembers``, ``requestorManager``, ``internalSponsors``, ``externalSponsors``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    policy = models.ForeignKey(AssignmentPolicy, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField()
    duration_before_automatic_denial = models.DurationField(_("decision must be made in"),
                                                            default=timezone.timedelta(days=14))
    is_approver_justification_required = models.BooleanField(_("require approver justification"), default=False)
    is_escalation_enabled = models.BooleanField(_("forward to alternate approvers"), default=False)
    duration_before_escalation = models.DurationField(_("forward after"), null=True, blank=True)
    primary_approvers = models.JSONField(default=list, blank=True)
    fallback_primary_approvers = models.JSONField(default=list, blank=True)
    escalation_approvers = models.JSONField(default=list, blank=True)
    fallback_escalation_approvers = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["policy", "order"]
        constraints = [
            models.UniqueConstraint("policy", "order", name="approval_stage_order_unique"),
            models.CheckConstraint(condition=models.Q(order__gte=1, order__lte=3), name="approval_stage_at_most_3"),
        ]

    def __str__(self) -> str:
        return f"{self.policy} · stage {self.order}"


class Question(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Short or long text")
        MULTIPLE_CHOICE = "multipleChoice", _("Multiple choice")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    policy = models.ForeignKey(AssignmentPolicy, on_delete=models.CASCADE, related_name="questions")
    sequence = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    is_required = models.BooleanField(default=False)
    is_single_line = models.BooleanField(default=True)
    #: The question in the default language, and per language ``{"de": "…"}``.
    text = models.CharField(max_length=512)
    localizations = models.JSONField(default=dict, blank=True)
    #: Multiple choice: ``[{"actualValue": "a", "text": "…", "localizations": {"de": "…"}}]``.
    choices = models.JSONField(default=list, blank=True)
    allows_multiple_selection = models.BooleanField(default=False)

    class Meta:
        ordering = ["policy", "sequence", "id"]

    def __str__(self) -> str:
        return self.text

    def text_in(self, language: str) -> str:
        return self.localizations.get(language) or self.text
