"""People: the platform-wide Account and the per-tenant User."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..validators import (
    validate_business_phones,
    validate_language_tag,
    validate_mail_nickname,
    validate_other_mails,
    validate_usage_location,
    validate_visible_name,
)
from .base import TenantOwnedQuerySet
from .tenants import Tenant


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
    #: Graph's passwordProfile.forceChangePasswordNextSignIn (…WithMfa: MFA first): the person signs in with the
    #: password an administrator chose, then must choose their own before entering anything (directory.passwords).
    password_change_required = models.BooleanField(_("must change password at next sign-in"), default=False)
    password_change_requires_mfa = models.BooleanField(_("must pass MFA before changing it"), default=False)

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

    def of_account(self, *, tenant, account):
        """The (non-deleted) user object ``account`` has in ``tenant``: at most one (a constraint)."""
        if account is None or not account.is_authenticated or tenant is None:
            return None
        return self.active().filter(tenant=tenant, account=account).select_related("tenant", "account").first()


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
    other_mails = models.JSONField(_("other mails"), default=list, blank=True, validators=[validate_other_mails])
    display_name = models.CharField(_("display name"), max_length=256, validators=[validate_visible_name])
    #: Graph's mailNickname (required when the API creates a member; only a name: no mailbox here).
    mail_nickname = models.CharField(_("mail nickname"), max_length=64, blank=True, validators=[validate_mail_nickname])
    given_name = models.CharField(_("first name"), max_length=64, blank=True)
    surname = models.CharField(_("last name"), max_length=64, blank=True)
    job_title = models.CharField(_("job title"), max_length=128, blank=True)
    company_name = models.CharField(_("company name"), max_length=64, blank=True)
    # Profile properties provisioning scripts set (Graph's lengths; rules in directory.validators).
    department = models.CharField(_("department"), max_length=64, blank=True)
    office_location = models.CharField(_("office location"), max_length=128, blank=True)
    usage_location = models.CharField(
        _("usage location"), max_length=2, blank=True, validators=[validate_usage_location],
        help_text=_("Two-letter country code (ISO 3166), like US or DE."))
    mobile_phone = models.CharField(_("mobile phone"), max_length=64, blank=True)
    business_phones = models.JSONField(_("business phones"), default=list, blank=True,
                                       validators=[validate_business_phones])
    preferred_language = models.CharField(_("preferred language"), max_length=35, blank=True,
                                          validators=[validate_language_tag], help_text=_("A language tag, like en-US."))
    employee_id = models.CharField(_("employee id"), max_length=16, blank=True)
    employee_type = models.CharField(_("employee type"), max_length=64, blank=True,
                                     help_text=_("For example Employee, Contractor, Consultant or Vendor."))
    city = models.CharField(_("city"), max_length=128, blank=True)
    country = models.CharField(_("country or region"), max_length=128, blank=True)
    account_enabled = models.BooleanField(_("account enabled"), default=True)
    external_user_state = models.CharField(
        _("external user state"), max_length=20, choices=ExternalUserState.choices, blank=True
    )
    external_user_state_changed_at = models.DateTimeField(_("external user state changed"), null=True, blank=True)
    creation_type = models.CharField(_("creation type"), max_length=20, choices=CreationType.choices, blank=True)
    #: Graph's signInSessionsValidFromDateTime: a sign-in made before this does not count in this tenant
    #: (set when the redemption is reset; see directory.signin.session_predates).
    sign_in_sessions_valid_from = models.DateTimeField(
        _("sign-in sessions valid from"), null=True, blank=True, editable=False)
    #: Graph's signInActivity.lastSignInDateTime (kept by directory.services.signins, at most once a minute).
    last_sign_in_at = models.DateTimeField(_("last sign-in"), null=True, blank=True, editable=False)
    sponsors = models.ManyToManyField(
        "self", symmetrical=False, related_name="sponsored_users", blank=True, verbose_name=_("sponsors")
    )
    #: Graph's manager (set with PUT …/manager/$ref); always a user of the same tenant (the service checks).
    manager = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="direct_reports",
        verbose_name=_("manager"), editable=False,
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
            models.Index(fields=["tenant", "updated_at", "id"], name="user_tenant_changed_idx"),  # /users/delta
            # inactive-user reports: $filter=signInActivity/lastSignInDateTime le …
            models.Index(fields=["tenant", "last_sign_in_at"], name="user_tenant_last_signin_idx"),
            # … and userType eq 'Guest' and signInActivity/lastSignInDateTime le … (Graph's inactive guests)
            models.Index(fields=["tenant", "user_type", "last_sign_in_at"], name="user_tenant_type_signin_idx"),
            # the console's inactive-guests report: inactive since the last sign-in, or since the invitation
            # for a guest who never signed in; most inactive first
            models.Index(models.F("tenant"), Coalesce("last_sign_in_at", "created_at"), models.F("id"),
                         name="user_guest_inactive_idx", condition=Q(user_type="Guest", deleted_at__isnull=True)),
            # Graph lists: ORDER BY lower(display_name), id with keyset paging (directory/api/odata.py)
            models.Index(models.F("tenant"), Lower("display_name"), models.F("id"), name="user_tenant_name_order_idx",
                         condition=Q(deleted_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.user_principal_name}>"

    def clean(self):
        super().clean()
        self.usage_location = (self.usage_location or "").upper()  # Graph answers "US" for "us"

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
