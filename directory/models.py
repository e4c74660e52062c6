import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .validators import validate_domain_name, validate_hex_colour, validate_logo_size

GUEST_UPN_MARKER = "#EXT#"


class TenantOwnedQuerySet(models.QuerySet):
    def for_tenants(self, tenants):
        """Rows of the given tenants (a queryset, ids or instances)."""
        return self.filter(tenant__in=tenants)


# --- Tenants ----------------------------------------------------------------------------------


class Tenant(models.Model):
    class Configuration(models.TextChoices):
        WORKFORCE = "workforce", _("Workforce")
        EXTERNAL = "external", _("External")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=256)
    slug = models.SlugField(
        _("short name"), max_length=63, unique=True, help_text=_("Used in the tenant's web addresses: /t/<short name>/")
    )
    initial_domain = models.CharField(
        _("initial domain"), max_length=253, unique=True, validators=[validate_domain_name]
    )
    configuration = models.CharField(
        _("configuration"), max_length=16, choices=Configuration.choices, default=Configuration.WORKFORCE
    )
    privacy_statement_url = models.URLField(_("privacy statement URL"), blank=True, max_length=500)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("initial_domain"), name="tenant_initial_domain_ci_unique")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.initial_domain = (self.initial_domain or "").strip().lower()
        super().save(*args, **kwargs)


class Domain(models.Model):
    """A custom domain of a tenant. Verified domains are how guests from this tenant are recognised."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="domains")
    name = models.CharField(_("domain"), max_length=253, validators=[validate_domain_name])
    is_verified = models.BooleanField(_("verified"), default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="domain_name_ci_unique")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.name = (self.name or "").strip().lower()
        super().save(*args, **kwargs)


class Branding(models.Model):
    """Company branding for one locale ('' is the default that applies to every locale)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="brandings")
    locale = models.CharField(_("locale"), max_length=10, blank=True, help_text=_("Empty for the default."))
    banner_logo = models.ImageField(
        _("banner logo"), upload_to="branding/", blank=True, validators=[validate_logo_size]
    )
    background_color = models.CharField(
        _("background colour"), max_length=7, blank=True, validators=[validate_hex_colour]
    )
    accent_color = models.CharField(_("accent colour"), max_length=7, blank=True, validators=[validate_hex_colour])
    sign_in_page_text = models.TextField(_("sign-in page text"), max_length=1024, blank=True)
    username_hint_text = models.CharField(_("username hint"), max_length=64, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = _("branding")
        constraints = [models.UniqueConstraint("tenant", "locale", name="branding_tenant_locale_unique")]

    def __str__(self) -> str:
        return f"{self.tenant} ({self.locale or 'default'})"


# --- People -----------------------------------------------------------------------------------


class AccountManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("An account needs an e-mail address")
        account = self.model(email=self.normalize_email(email).lower(), **extra)
        # set_password(None) stores an *unusable* password; never a blank one.
        account.set_password(password)
        account.save(using=self._db)
        return account

    def with_email(self, email: str):
        """Addresses are stored lower-cased, so an exact match uses the unique index."""
        return self.filter(email=(email or "").strip().lower())

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class Account(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: one per human, whatever the tenants they belong to."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=256, blank=True)
    is_staff = models.BooleanField(
        _("staff"), default=False, help_text=_("May open the admin console (it shows only tenants where they hold a role).")
    )
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(default=timezone.now, editable=False)

    objects = AccountManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("account")
        constraints = [models.UniqueConstraint(Lower("email"), name="account_email_ci_unique")]

    def __str__(self) -> str:
        return self.email

    def clean(self):
        super().clean()
        self.email = (self.email or "").strip().lower()

    def get_full_name(self) -> str:
        return self.display_name or self.email

    def get_short_name(self) -> str:
        return self.display_name or self.email


class UserQuerySet(TenantOwnedQuerySet):
    def active(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)

    def guests(self):
        return self.filter(user_type=User.UserType.GUEST)

    def with_mail(self, email: str):
        """Case-insensitive match on mail through the (tenant, lower(mail)) index."""
        return self.alias(mail_lower=Lower("mail")).filter(mail_lower=(email or "").strip().lower()).exclude(mail="")

    def members(self):
        return self.filter(user_type=User.UserType.MEMBER)


class User(models.Model):
    """What a person is in one tenant: a member or a guest (Graph's ``user``)."""

    class UserType(models.TextChoices):
        MEMBER = "Member", _("Member")
        GUEST = "Guest", _("Guest")

    class ExternalUserState(models.TextChoices):
        PENDING_ACCEPTANCE = "PendingAcceptance", _("Pending acceptance")
        ACCEPTED = "Accepted", _("Accepted")

    class CreationType(models.TextChoices):
        INVITATION = "Invitation", _("Invitation")
        LOCAL_ACCOUNT = "LocalAccount", _("Local account")
        EMAIL_VERIFIED = "EmailVerified", _("E-mail verified")
        SELF_SERVICE_SIGN_UP = "SelfServiceSignUp", _("Self-service sign-up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="users")
    account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="tenant_users",
        help_text=_("The person who signs in as this user; empty until a guest redeems an invitation."),
    )
    user_type = models.CharField(_("user type"), max_length=8, choices=UserType.choices, default=UserType.MEMBER)
    user_principal_name = models.CharField(_("user principal name"), max_length=256)
    mail = models.EmailField(_("mail"), max_length=254, blank=True)
    other_mails = models.JSONField(_("other mails"), default=list, blank=True)
    display_name = models.CharField(_("display name"), max_length=256)
    given_name = models.CharField(_("first name"), max_length=64, blank=True)
    surname = models.CharField(_("last name"), max_length=64, blank=True)
    job_title = models.CharField(_("job title"), max_length=128, blank=True)
    company_name = models.CharField(_("company name"), max_length=64, blank=True)
    account_enabled = models.BooleanField(_("account enabled"), default=True)
    external_user_state = models.CharField(
        _("external user state"), max_length=20, choices=ExternalUserState.choices, blank=True
    )
    external_user_state_changed_at = models.DateTimeField(_("external user state changed"), null=True, blank=True)
    creation_type = models.CharField(_("creation type"), max_length=20, choices=CreationType.choices, blank=True)
    sponsors = models.ManyToManyField(
        "self", symmetrical=False, related_name="sponsored_users", blank=True, verbose_name=_("sponsors")
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)

    objects = UserQuerySet.as_manager()

    RESTORE_WINDOW_DAYS = 30

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("user_principal_name"), name="user_tenant_upn_ci_unique",
                violation_error_message=_("A user with this user principal name already exists in this tenant."),
            ),
            models.UniqueConstraint(
                "tenant", Lower("mail"), condition=~Q(mail=""), name="user_tenant_mail_ci_unique",
                violation_error_message=_("A user with this mail address already exists in this tenant."),
            ),
            models.UniqueConstraint(
                "tenant", "account", condition=Q(account__isnull=False), name="user_tenant_account_unique",
                violation_error_message=_("This account already has a user object in this tenant."),
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "user_type", "display_name"], name="user_tenant_type_idx"),
            models.Index(fields=["tenant", "deleted_at"], name="user_tenant_deleted_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.user_principal_name}>"

    @property
    def is_guest(self) -> bool:
        return self.user_type == self.UserType.GUEST

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class UserIdentity(models.Model):
    """One way a user signs in (Graph's ``objectIdentity``)."""

    class SignInType(models.TextChoices):
        EMAIL_ADDRESS = "emailAddress", _("E-mail address")
        USER_NAME = "userName", _("User name")
        USER_PRINCIPAL_NAME = "userPrincipalName", _("User principal name")
        FEDERATED = "federated", _("Federated")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="identities")
    sign_in_type = models.CharField(max_length=32, choices=SignInType.choices)
    issuer = models.CharField(max_length=256)
    issuer_assigned_id = models.CharField(max_length=256, blank=True)

    class Meta:
        verbose_name_plural = _("user identities")
        constraints = [
            models.UniqueConstraint(
                "user", "sign_in_type", "issuer", "issuer_assigned_id", name="user_identity_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sign_in_type} @ {self.issuer}"


# --- Groups and applications ------------------------------------------------------------------


class Group(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="groups")
    display_name = models.CharField(_("name"), max_length=256)
    description = models.TextField(_("description"), max_length=1024, blank=True)
    members_can_join = models.BooleanField(
        _("members may join themselves"), default=False,
        help_text=_("People of this tenant may add themselves from the access panel."),
    )
    owners = models.ManyToManyField(User, related_name="owned_groups", blank=True, verbose_name=_("owners"))
    members = models.ManyToManyField(User, related_name="member_of", blank=True, verbose_name=_("members"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("display_name"), name="group_tenant_name_ci_unique",
                violation_error_message=_("A group with this name already exists in this tenant."),
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class Application(models.Model):
    """An enterprise application (Graph's ``servicePrincipal``) that the access panel launches."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    app_id = models.UUIDField(_("application id"), default=uuid.uuid4, unique=True, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="applications")
    display_name = models.CharField(_("name"), max_length=256)
    description = models.TextField(_("description"), max_length=1024, blank=True)
    launch_url = models.URLField(_("launch URL"), max_length=500, blank=True)
    logo = models.ImageField(_("logo"), upload_to="apps/", blank=True, validators=[validate_logo_size])
    owners = models.ManyToManyField(User, related_name="owned_applications", blank=True, verbose_name=_("owners"))
    assignment_required = models.BooleanField(
        _("assignment required"), default=True,
        help_text=_("Only assigned users and groups may open it."),
    )
    visible_to_users = models.BooleanField(_("shown in the access panel"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "id"]
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("display_name"), name="application_tenant_name_ci_unique",
                violation_error_message=_("An application with this name already exists in this tenant."),
            )
        ]

    def __str__(self) -> str:
        return self.display_name


class AppRoleAssignment(models.Model):
    """An application assigned to a user or to a group (Graph's ``appRoleAssignment``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="app_assignments")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(User, on_delete=models.CASCADE, null=True, blank=True, related_name="app_assignments")
    group = models.ForeignKey(Group, on_delete=models.CASCADE, null=True, blank=True, related_name="app_assignments")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, group__isnull=True) | Q(user__isnull=True, group__isnull=False),
                name="app_assignment_one_principal",
                violation_error_message=_("Assign the application to a user or to a group, not both."),
            ),
            models.UniqueConstraint(
                "application", "user", condition=Q(user__isnull=False), name="app_assignment_user_unique",
                violation_error_message=_("This user is already assigned to the application."),
            ),
            models.UniqueConstraint(
                "application", "group", condition=Q(group__isnull=False), name="app_assignment_group_unique",
                violation_error_message=_("This group is already assigned to the application."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application} → {self.user or self.group}"


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


# --- Audit ------------------------------------------------------------------------------------


class AuditEvent(models.Model):
    """One entry of the directory audit log (Graph's ``directoryAudit``). Written, never changed."""

    class Result(models.TextChoices):
        SUCCESS = "success", _("Success")
        FAILURE = "failure", _("Failure")
        TIMEOUT = "timeout", _("Timeout")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="audit_events")
    activity_date_time = models.DateTimeField(_("date"), default=timezone.now, db_index=True)
    activity_display_name = models.CharField(_("activity"), max_length=256)
    category = models.CharField(_("category"), max_length=64)
    operation_type = models.CharField(_("operation"), max_length=32, blank=True)
    logged_by_service = models.CharField(_("service"), max_length=64, default="Core Directory")
    correlation_id = models.UUIDField(_("correlation id"), default=uuid.uuid4)
    initiated_by = models.JSONField(_("initiated by"), default=dict)
    initiated_by_account = models.ForeignKey(
        Account, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    initiated_by_user_id = models.UUIDField(null=True, blank=True, db_index=True)
    result = models.CharField(_("result"), max_length=16, choices=Result.choices, default=Result.SUCCESS)
    result_reason = models.CharField(_("result reason"), max_length=512, blank=True)
    target_resources = models.JSONField(_("targets"), default=list)
    additional_details = models.JSONField(_("additional details"), default=list, blank=True)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-activity_date_time"]
        indexes = [models.Index(fields=["tenant", "-activity_date_time"], name="audit_tenant_time_idx")]

    def __str__(self) -> str:
        return f"{self.activity_display_name} ({self.activity_date_time:%Y-%m-%d %H:%M})"


# --- Outbox -----------------------------------------------------------------------------------


class OutboxMessage(models.Model):
    """An e-mail, written in the caller's transaction and delivered by a worker exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Gave up")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, null=True, blank=True, related_name="outbox")
    dedupe_key = models.CharField(
        max_length=200, null=True, blank=True, unique=True,
        help_text=_("The same key is never queued twice (for example invitation:<id>:initial)."),
    )
    from_email = models.CharField(_("from"), max_length=320)
    to = models.JSONField(_("to"), default=list)
    cc = models.JSONField(_("cc"), default=list, blank=True)
    subject = models.CharField(_("subject"), max_length=998)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    created_at = models.DateTimeField(_("queued"), default=timezone.now, editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outbox message")
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]

    def __str__(self) -> str:
        return self.subject


# --- API clients ------------------------------------------------------------------------------


class AppRegistration(models.Model):
    """An API client of one tenant: an OAuth client (allauth's IdP) plus the Graph application
    permissions an admin granted it. Its secret is stored hashed and expires."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="app_registrations")
    client = models.OneToOneField("allauth_idp_oidc.Client", on_delete=models.CASCADE, related_name="app_registration")
    display_name = models.CharField(_("name"), max_length=256)
    application_permissions = models.JSONField(_("application permissions"), default=list, blank=True)
    delegated_permissions = models.JSONField(_("delegated permissions"), default=list, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    secret_expires_at = models.DateTimeField(_("secret expires"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = TenantOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["display_name", "id"]
        verbose_name = _("app registration")

    def __str__(self) -> str:
        return self.display_name

    @property
    def secret_expired(self) -> bool:
        return self.secret_expires_at is not None and self.secret_expires_at <= timezone.now()
