"""Every write to the directory. Keyword-only, ``actor=`` first, one audit row per change, atomic.

Services validate as well as write (``full_clean`` on every instance), so the admin console, the API,
the CLI and the workers all get the same precise :class:`ValidationError` for bad input.
"""

import logging
import secrets
import uuid
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .audit import Change, Target, audit
from .models import (
    Account,
    Application,
    AppRoleAssignment,
    Branding,
    Domain,
    Group,
    OutboxMessage,
    Role,
    RoleAssignment,
    Tenant,
    User,
)
from .tokens import revoke_account_tokens, revoke_client_tokens

logger = logging.getLogger(__name__)

CATEGORY_USERS = "UserManagement"
CATEGORY_GROUPS = "GroupManagement"
CATEGORY_APPS = "ApplicationManagement"
CATEGORY_ROLES = "RoleManagement"
CATEGORY_DIRECTORY = "DirectoryManagement"


# --- helpers ----------------------------------------------------------------------------------


def guest_user_principal_name(*, email: str, tenant: Tenant) -> str:
    """Entra's guest UPN: ``ann_proseware.com#EXT#@tailwind.example`` for ann@proseware.com."""
    local_domain = email.strip().lower().replace("@", "_")
    return f"{local_domain}#EXT#@{tenant.initial_domain}"


def ensure_same_tenant(tenant: Tenant, objects: Iterable[models.Model], *, field: str) -> None:
    """Refuse links across tenants; the message does not say whose the foreign object is."""
    for obj in objects:
        if obj is not None and obj.tenant_id != tenant.pk:
            raise ValidationError({field: _("“%(obj)s” is not in this tenant.") % {"obj": obj}})


def validate_user_principal_name(user: User) -> None:
    """A member's UPN must end in one of its tenant's domains; a guest's is the #EXT# form."""
    upn = user.user_principal_name or ""
    if upn.count("@") != 1 or upn.startswith("@") or upn.endswith("@"):
        raise ValidationError({"user_principal_name": _("Enter a user principal name like ann@contoso.com.")})
    domain = upn.rsplit("@", 1)[1].lower()
    tenant = user.tenant
    external = user.user_type == User.UserType.GUEST or bool(user.external_user_state)
    if external and "#EXT#" in upn:
        if domain != tenant.initial_domain:
            raise ValidationError({"user_principal_name": _("A guest's user principal name ends in @%(domain)s.")
                                   % {"domain": tenant.initial_domain}})
        return
    if "#" in upn:
        raise ValidationError({"user_principal_name": _("Only external users have #EXT# in their user principal name.")})
    if domain != tenant.initial_domain and not tenant.domains.filter(name=domain, is_verified=True).exists():
        raise ValidationError({"user_principal_name": _(
            "“%(domain)s” is not a verified domain of this tenant. Use @%(initial)s or add and verify the domain."
        ) % {"domain": domain, "initial": tenant.initial_domain}})


def _apply(instance: models.Model, changes: dict[str, Any]) -> list[Change]:
    applied = []
    for name, new in changes.items():
        old = getattr(instance, name)
        if old != new:
            applied.append(Change(name, old, new))
            setattr(instance, name, new)
    return applied


def _validate_and_save(instance: models.Model) -> None:
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        # A concurrent write won the race for a unique value that full_clean() had seen free.
        raise ValidationError(_("This conflicts with an object that was saved at the same time.")) from exc


def _set_m2m(*, instance, field: str, new: Iterable[models.Model], tenant: Tenant) -> Change | None:
    new = list(new)
    ensure_same_tenant(tenant, new, field=field)
    manager = getattr(instance, field)
    old_ids = set(manager.values_list("pk", flat=True))
    new_ids = {o.pk for o in new}
    if old_ids == new_ids:
        return None
    manager.set(new)
    return Change(field, sorted(map(str, old_ids)), sorted(map(str, new_ids)))


# --- tenants ----------------------------------------------------------------------------------


@transaction.atomic
def tenant_create(*, actor: Account | None, name: str, slug: str, initial_domain: str, **fields) -> Tenant:
    tenant = Tenant(name=name, slug=slug, initial_domain=initial_domain.strip().lower(), **fields)
    _validate_and_save(tenant)
    audit(tenant=tenant, actor=actor, activity="Create company", category=CATEGORY_DIRECTORY,
          operation_type="Add", targets=[Target(tenant)])
    return tenant


@transaction.atomic
def tenant_update(*, actor: Account | None, tenant: Tenant, changes: dict[str, Any]) -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if "initial_domain" in changes:
        changes["initial_domain"] = changes["initial_domain"].strip().lower()
    applied = _apply(tenant, changes)
    if applied:
        _validate_and_save(tenant)
        audit(tenant=tenant, actor=actor, activity="Update company settings", category=CATEGORY_DIRECTORY,
              operation_type="Update", targets=[Target(tenant, applied)])
    return tenant


@transaction.atomic
def domain_add(*, actor: Account | None, tenant: Tenant, name: str, is_verified: bool = False) -> Domain:
    domain = Domain(tenant=tenant, name=name.strip().lower(), is_verified=is_verified)
    _validate_and_save(domain)
    audit(tenant=tenant, actor=actor, activity="Add unverified domain" if not is_verified else "Add verified domain",
          category=CATEGORY_DIRECTORY, operation_type="Add",
          targets=[Target(tenant, [Change("domain", None, domain.name)])])
    return domain


@transaction.atomic
def domain_update(*, actor: Account | None, domain: Domain, changes: dict[str, Any]) -> Domain:
    domain = Domain.objects.select_for_update().get(pk=domain.pk)
    applied = _apply(domain, changes)
    if applied:
        _validate_and_save(domain)
        activity = "Verify domain" if domain.is_verified else "Update domain"
        audit(tenant=domain.tenant, actor=actor, activity=activity, category=CATEGORY_DIRECTORY,
              operation_type="Update", targets=[Target(domain.tenant, applied)])
    return domain


@transaction.atomic
def domain_remove(*, actor: Account | None, domain: Domain) -> None:
    tenant = domain.tenant
    audit(tenant=tenant, actor=actor, activity="Remove domain", category=CATEGORY_DIRECTORY,
          operation_type="Delete", targets=[Target(tenant, [Change("domain", domain.name, None)])])
    domain.delete()


@transaction.atomic
def branding_save(*, actor: Account | None, branding: Branding, changes: dict[str, Any] | None = None) -> Branding:
    """Create a branding (``branding.pk`` unset) or apply ``changes`` to an existing one."""
    if branding.pk is None or not Branding.objects.filter(pk=branding.pk).exists():
        _validate_and_save(branding)
        applied = [Change("locale", None, branding.locale or "default")]
        operation = "Add"
    else:
        branding = Branding.objects.select_for_update().get(pk=branding.pk)
        applied = _apply(branding, changes or {})
        if not applied:
            return branding
        _validate_and_save(branding)
        operation = "Update"
    audit(tenant=branding.tenant, actor=actor, activity="Update company branding", category=CATEGORY_DIRECTORY,
          operation_type=operation, targets=[Target(branding.tenant, applied)])
    return branding


@transaction.atomic
def branding_delete(*, actor: Account | None, branding: Branding) -> None:
    audit(tenant=branding.tenant, actor=actor, activity="Delete company branding", category=CATEGORY_DIRECTORY,
          operation_type="Delete", targets=[Target(branding.tenant, [Change("locale", branding.locale, None)])])
    branding.delete()


# --- users ------------------------------------------------------------------------------------


_USER_M2M = ("sponsors",)


@transaction.atomic
def user_create(
    *, actor: Account | None, tenant: Tenant, display_name: str, user_principal_name: str,
    sponsors: Iterable[User] = (), password: str | None = None, **fields,
) -> User:
    """Create a user object. A member given a ``password`` gets an account that signs in with its UPN."""
    user = User(tenant=tenant, display_name=display_name, user_principal_name=user_principal_name.strip(), **fields)
    validate_user_principal_name(user)
    if password is not None and user.account_id is None:
        if user.user_type != User.UserType.MEMBER:
            raise ValidationError({"password": _("Guests sign in with their own identity; they get no password.")})
        user.account = _member_account(email=user.user_principal_name, password=password,
                                       display_name=display_name)
    _validate_and_save(user)
    _set_m2m(instance=user, field="sponsors", new=sponsors, tenant=tenant)
    audit(tenant=tenant, actor=actor, activity="Add user", category=CATEGORY_USERS, operation_type="Add",
          targets=[Target(user, [Change("userType", None, user.user_type)])])
    return user


def _member_account(*, email: str, password: str, display_name: str) -> Account:
    # The UPN's domain belongs to this tenant alone (domains are unique on the platform), so an
    # account with this address can only be this tenant's member; its password is never overwritten.
    account = Account.objects.with_email(email).first()
    if account is None:
        from django.contrib.auth.password_validation import validate_password

        account = Account(email=email.lower(), display_name=display_name)
        validate_password(password, account)
        account.set_password(password)
        account.save()
        # The tenant vouches for addresses on its own verified domains: no confirmation mail needed.
        EmailAddress.objects.create(user=account, email=account.email, verified=True, primary=True)
    return account


@transaction.atomic
def user_update(*, actor: Account | None, user: User, changes: dict[str, Any]) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    changes = dict(changes)
    sponsors = changes.pop("sponsors", None)
    if "external_user_state" in changes and changes["external_user_state"] != user.external_user_state:
        changes["external_user_state_changed_at"] = timezone.now()
    applied = _apply(user, changes)
    if applied:
        validate_user_principal_name(user)
        _validate_and_save(user)
    if sponsors is not None:
        change = _set_m2m(instance=user, field="sponsors", new=sponsors, tenant=user.tenant)
        if change:
            applied.append(change)
    if applied:
        audit(tenant=user.tenant, actor=actor, activity="Update user", category=CATEGORY_USERS,
              operation_type="Update", targets=[Target(user, applied)])
    if not user.account_enabled and user.account_id:
        revoke_account_tokens(account_id=user.account_id, tenant=user.tenant)
    return user


@transaction.atomic
def user_delete(*, actor: Account | None, user: User) -> User:
    """Soft delete: the user can be restored for 30 days, then the purge sweep removes it."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.deleted_at is None:
        user.deleted_at = timezone.now()
        user.save(update_fields=["deleted_at", "updated_at"])
        audit(tenant=user.tenant, actor=actor, activity="Delete user", category=CATEGORY_USERS,
              operation_type="Delete", targets=[Target(user, [Change("deleted", False, True)])])
    if user.account_id:
        revoke_account_tokens(account_id=user.account_id, tenant=user.tenant)
    return user


@transaction.atomic
def user_restore(*, actor: Account | None, user: User) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.deleted_at is None:
        return user
    if user.deleted_at < timezone.now() - timedelta(days=User.RESTORE_WINDOW_DAYS):
        raise ValidationError(_("Deleted users can be restored for %(days)s days only.")
                              % {"days": User.RESTORE_WINDOW_DAYS})
    user.deleted_at = None
    user.save(update_fields=["deleted_at", "updated_at"])
    audit(tenant=user.tenant, actor=actor, activity="Restore user", category=CATEGORY_USERS,
          operation_type="Update", targets=[Target(user, [Change("deleted", True, False)])])
    return user


def users_purge_deleted(*, now=None) -> int:
    """Remove users deleted more than 30 days ago (set-based; run by beat)."""
    cutoff = (now or timezone.now()) - timedelta(days=User.RESTORE_WINDOW_DAYS)
    purged = 0
    due = User.objects.filter(deleted_at__lt=cutoff).select_related("tenant")
    for tenant_id in due.values_list("tenant_id", flat=True).distinct():
        with transaction.atomic():
            rows = list(due.filter(tenant_id=tenant_id).select_for_update(skip_locked=True)[:1000])
            if not rows:
                continue
            audit(tenant=rows[0].tenant, actor=None, activity="Hard delete user", category=CATEGORY_USERS,
                  operation_type="Delete", targets=[Target(u) for u in rows])
            User.objects.filter(pk__in=[u.pk for u in rows]).delete()
            purged += len(rows)
    return purged


# --- groups -----------------------------------------------------------------------------------


@transaction.atomic
def group_create(
    *, actor: Account | None, tenant: Tenant, display_name: str,
    owners: Iterable[User] = (), members: Iterable[User] = (), **fields,
) -> Group:
    group = Group(tenant=tenant, display_name=display_name, **fields)
    _validate_and_save(group)
    _set_m2m(instance=group, field="owners", new=owners, tenant=tenant)
    _set_m2m(instance=group, field="members", new=members, tenant=tenant)
    audit(tenant=tenant, actor=actor, activity="Add group", category=CATEGORY_GROUPS, operation_type="Add",
          targets=[Target(group)])
    return group


@transaction.atomic
def group_update(*, actor: Account | None, group: Group, changes: dict[str, Any]) -> Group:
    group = Group.objects.select_for_update().get(pk=group.pk)
    changes = dict(changes)
    relations = {name: changes.pop(name) for name in ("owners", "members") if name in changes}
    applied = _apply(group, changes)
    if applied:
        _validate_and_save(group)
    for name, new in relations.items():
        change = _set_m2m(instance=group, field=name, new=new, tenant=group.tenant)
        if change:
            applied.append(change)
    if applied:
        audit(tenant=group.tenant, actor=actor, activity="Update group", category=CATEGORY_GROUPS,
              operation_type="Update", targets=[Target(group, applied)])
    return group


@transaction.atomic
def group_delete(*, actor: Account | None, group: Group) -> None:
    audit(tenant=group.tenant, actor=actor, activity="Delete group", category=CATEGORY_GROUPS,
          operation_type="Delete", targets=[Target(group)])
    group.delete()


def _group_link(*, actor: Account | None, group: Group, user: User, relation: str, add: bool) -> None:
    """Add or remove ``user`` as a member or owner of ``group``; a no-op (and no audit) when nothing
    changes."""
    manager = getattr(group, relation)
    present = manager.filter(pk=user.pk).exists()
    if add == present:
        return
    noun = "member" if relation == "members" else "owner"
    if add:
        ensure_same_tenant(group.tenant, [user], field=relation)
        manager.add(user)
        activity, operation = f"Add {noun} to group", "Assign"
    else:
        manager.remove(user)
        activity, operation = f"Remove {noun} from group", "Unassign"
    audit(tenant=group.tenant, actor=actor, activity=activity, category=CATEGORY_GROUPS,
          operation_type=operation, targets=[Target(group), Target(user)])


@transaction.atomic
def group_member_add(*, actor: Account | None, group: Group, user: User) -> None:
    _group_link(actor=actor, group=group, user=user, relation="members", add=True)


@transaction.atomic
def group_member_remove(*, actor: Account | None, group: Group, user: User) -> None:
    _group_link(actor=actor, group=group, user=user, relation="members", add=False)


@transaction.atomic
def group_owner_add(*, actor: Account | None, group: Group, user: User) -> None:
    _group_link(actor=actor, group=group, user=user, relation="owners", add=True)


@transaction.atomic
def group_owner_remove(*, actor: Account | None, group: Group, user: User) -> None:
    _group_link(actor=actor, group=group, user=user, relation="owners", add=False)


# --- applications -----------------------------------------------------------------------------


@transaction.atomic
def application_create(
    *, actor: Account | None, tenant: Tenant, display_name: str, owners: Iterable[User] = (), **fields,
) -> Application:
    app = Application(tenant=tenant, display_name=display_name, **fields)
    _validate_and_save(app)
    _set_m2m(instance=app, field="owners", new=owners, tenant=tenant)
    audit(tenant=tenant, actor=actor, activity="Add service principal", category=CATEGORY_APPS,
          operation_type="Add", targets=[Target(app)])
    return app


@transaction.atomic
def application_update(*, actor: Account | None, application: Application, changes: dict[str, Any]) -> Application:
    app = Application.objects.select_for_update().get(pk=application.pk)
    changes = dict(changes)
    owners = changes.pop("owners", None)
    applied = _apply(app, changes)
    if applied:
        _validate_and_save(app)
    if owners is not None:
        change = _set_m2m(instance=app, field="owners", new=owners, tenant=app.tenant)
        if change:
            applied.append(change)
    if applied:
        audit(tenant=app.tenant, actor=actor, activity="Update service principal", category=CATEGORY_APPS,
              operation_type="Update", targets=[Target(app, applied)])
    return app


@transaction.atomic
def application_delete(*, actor: Account | None, application: Application) -> None:
    audit(tenant=application.tenant, actor=actor, activity="Remove service principal", category=CATEGORY_APPS,
          operation_type="Delete", targets=[Target(application)])
    application.delete()


@transaction.atomic
def app_assignment_create(
    *, actor: Account | None, application: Application, user: User | None = None, group: Group | None = None
) -> AppRoleAssignment:
    if (user is None) == (group is None):
        raise ValidationError(_("Assign the application to a user or to a group, not both."))
    ensure_same_tenant(application.tenant, [user or group], field="user" if user else "group")
    assignment = AppRoleAssignment(tenant=application.tenant, application=application, user=user, group=group)
    _validate_and_save(assignment)
    principal = user or group
    audit(tenant=application.tenant, actor=actor, activity="Add app role assignment to " +
          ("user" if user else "group"), category=CATEGORY_APPS, operation_type="Assign",
          targets=[Target(application), Target(principal)])
    return assignment


@transaction.atomic
def app_assignment_delete(*, actor: Account | None, assignment: AppRoleAssignment) -> None:
    principal = assignment.user or assignment.group
    audit(tenant=assignment.tenant, actor=actor, activity="Remove app role assignment from " +
          ("user" if assignment.user_id else "group"), category=CATEGORY_APPS, operation_type="Unassign",
          targets=[Target(assignment.application), Target(principal)])
    assignment.delete()


# --- roles ------------------------------------------------------------------------------------


@transaction.atomic
def role_assign(*, actor: Account | None, user: User, role: Role | str) -> RoleAssignment:
    assignment = RoleAssignment(tenant=user.tenant, user=user, role=Role(role))
    _validate_and_save(assignment)
    audit(tenant=user.tenant, actor=actor, activity="Add member to role", category=CATEGORY_ROLES,
          operation_type="Assign", targets=[Target(user, [Change("role", None, Role(role).label)])])
    return assignment


@transaction.atomic
def role_unassign(*, actor: Account | None, assignment: RoleAssignment) -> None:
    audit(tenant=assignment.tenant, actor=actor, activity="Remove member from role", category=CATEGORY_ROLES,
          operation_type="Unassign",
          targets=[Target(assignment.user, [Change("role", assignment.get_role_display(), None)])])
    assignment.delete()


# --- outbox -----------------------------------------------------------------------------------


def outbox_enqueue(
    *, to: list[str], subject: str, body_text: str, body_html: str = "", cc: list[str] | None = None,
    tenant: Tenant | None = None, dedupe_key: str | None = None, from_email: str | None = None,
) -> OutboxMessage:
    """Write an e-mail into the outbox, in the caller's transaction; a worker sends it after commit.

    A ``dedupe_key`` that is already queued returns the existing message instead of a second one.
    """
    if dedupe_key:
        existing = OutboxMessage.objects.filter(dedupe_key=dedupe_key).first()
        if existing:
            return existing
    message = OutboxMessage.objects.create(
        tenant=tenant, to=list(to), cc=list(cc or []), subject=subject[:998], body_text=body_text,
        body_html=body_html, dedupe_key=dedupe_key, from_email=from_email or settings.DEFAULT_FROM_EMAIL,
    )
    message_id = message.pk

    def _publish() -> None:
        from .tasks import outbox_deliver_task

        try:
            outbox_deliver_task.delay(str(message_id))
        except Exception:  # the broker is down: the sweep will deliver it
            logger.warning("Could not publish outbox message %s; the sweep will send it", message_id)

    transaction.on_commit(_publish)
    return message


def outbox_deliver(*, message_id: uuid.UUID | str) -> bool:
    """Send one message unless it was sent already. Returns True when this call sent it.

    The row stays locked while it is sent, so a duplicated or retried task waits (or skips) and then
    finds it sent: a message is never sent twice by us.
    """
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxMessage.Status.PENDING)
            .first()
        )
        if message is None:
            return False
        now = timezone.now()
        message.attempts += 1
        message.last_attempt_at = now
        email = EmailMultiAlternatives(
            subject=message.subject, body=message.body_text, from_email=message.from_email,
            to=message.to, cc=message.cc, headers={"X-Portal-Message-Id": str(message.pk)},
        )
        if message.body_html:
            email.attach_alternative(message.body_html, "text/html")
        try:
            email.send(fail_silently=False)
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            backoff = settings.OUTBOX_RETRY_BASE_SECONDS * (2 ** min(message.attempts - 1, 8))
            message.next_attempt_at = now + timedelta(seconds=backoff)
            if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                message.status = OutboxMessage.Status.FAILED
            message.save(update_fields=["attempts", "last_attempt_at", "last_error", "next_attempt_at", "status"])
            logger.warning("Outbox message %s not delivered: %s", message.pk, message.last_error)
            return False
        message.status = OutboxMessage.Status.SENT
        message.sent_at = timezone.now()
        message.last_error = ""
        message.save(update_fields=["attempts", "last_attempt_at", "last_error", "status", "sent_at"])
        return True


def outbox_due_ids(*, now=None, limit: int = 500) -> list[str]:
    """Ids of pending messages whose next attempt is due."""
    now = now or timezone.now()
    return [
        str(pk)
        for pk in OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    ]


def outbox_retry_now(*, actor: Account | None, messages: Iterable[OutboxMessage]) -> int:
    """Admin action: make failed or waiting messages due again."""
    ids = [m.pk for m in messages if m.status != OutboxMessage.Status.SENT]
    updated = OutboxMessage.objects.filter(pk__in=ids).exclude(status=OutboxMessage.Status.SENT).update(
        status=OutboxMessage.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    for pk in ids:
        transaction.on_commit(lambda pk=pk: _publish_quietly(pk))
    return updated


def _publish_quietly(pk) -> None:
    from .tasks import outbox_deliver_task

    try:
        outbox_deliver_task.delay(str(pk))
    except Exception:
        logger.warning("Could not publish outbox message %s; the sweep will send it", pk)


# --- API app registrations --------------------------------------------------------------------


def _validate_permissions(names, allowed, field: str) -> list[str]:
    names = sorted(set(names))
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise ValidationError({field: _("Unknown permission: %(name)s") % {"name": unknown[0]}})
    return names


@transaction.atomic
def app_registration_create(
    *, actor: Account | None, tenant: Tenant, display_name: str, application_permissions=(),
    delegated_permissions=(), redirect_uris=(), secret_lifetime_days: int | None = 180,
):
    """Register an API client of ``tenant``. Returns (registration, client_id, secret): the secret is
    shown this once and stored only hashed."""
    from allauth.idp.oidc.models import Client

    from .api.principal import APPLICATION_PERMISSIONS, DELEGATED_PERMISSIONS
    from .models import AppRegistration

    if not display_name or len(display_name) > 256:
        raise ValidationError({"display_name": _("Give the app a name of at most 256 characters.")})
    app_perms = _validate_permissions(application_permissions, APPLICATION_PERMISSIONS, "application_permissions")
    del_perms = _validate_permissions(delegated_permissions, DELEGATED_PERMISSIONS, "delegated_permissions")
    client = Client(name=display_name[:100], type=Client.Type.CONFIDENTIAL, skip_consent=False)
    grants = [Client.GrantType.CLIENT_CREDENTIALS]
    if redirect_uris:
        grants += [Client.GrantType.AUTHORIZATION_CODE, Client.GrantType.REFRESH_TOKEN]
        client.set_redirect_uris(list(redirect_uris))
        client.set_response_types(["code"])
    client.set_grant_types(grants)
    client.set_scopes([".default", "openid", "profile", "email", *del_perms])
    client.set_default_scopes([".default"])
    secret = secrets.token_urlsafe(32)
    client.set_secret(secret)
    client.full_clean(exclude=["secret"])
    client.save()
    registration = AppRegistration.objects.create(
        tenant=tenant, client=client, display_name=display_name, application_permissions=app_perms,
        delegated_permissions=del_perms,
        secret_expires_at=timezone.now() + timedelta(days=secret_lifetime_days) if secret_lifetime_days else None,
    )
    audit(tenant=tenant, actor=actor, activity="Add application", category=CATEGORY_APPS, operation_type="Add",
          targets=[Target(registration, [Change("applicationPermissions", None, app_perms),
                                         Change("delegatedPermissions", None, del_perms)])])
    return registration, client.id, secret


@transaction.atomic
def app_registration_new_secret(*, actor: Account | None, registration, secret_lifetime_days: int | None = 180):
    """Replace the client secret (the old one stops working at once). Returns the new secret."""
    secret = secrets.token_urlsafe(32)
    client = registration.client
    client.set_secret(secret)
    client.save(update_fields=["secret"])
    registration.secret_expires_at = (timezone.now() + timedelta(days=secret_lifetime_days)
                                      if secret_lifetime_days else None)
    registration.save(update_fields=["secret_expires_at"])
    revoke_client_tokens(client_id=client.pk)  # tokens got with the old secret go with it
    audit(tenant=registration.tenant, actor=actor, activity="Update application – Certificates and secrets "
          "management", category=CATEGORY_APPS, operation_type="Update", targets=[Target(registration)])
    return secret


@transaction.atomic
def app_registration_update(*, actor: Account | None, registration, changes: dict[str, Any]):
    from .api.principal import APPLICATION_PERMISSIONS, DELEGATED_PERMISSIONS
    from .models import AppRegistration

    registration = AppRegistration.objects.select_for_update().get(pk=registration.pk)
    changes = dict(changes)
    if "application_permissions" in changes:
        changes["application_permissions"] = _validate_permissions(
            changes["application_permissions"], APPLICATION_PERMISSIONS, "application_permissions")
    if "delegated_permissions" in changes:
        changes["delegated_permissions"] = _validate_permissions(
            changes["delegated_permissions"], DELEGATED_PERMISSIONS, "delegated_permissions")
        client = registration.client
        client.set_scopes([".default", "openid", "profile", "email", *changes["delegated_permissions"]])
        client.save(update_fields=["scopes"])
    applied = _apply(registration, changes)
    if applied:
        registration.full_clean()
        registration.save()
        audit(tenant=registration.tenant, actor=actor, activity="Update application", category=CATEGORY_APPS,
              operation_type="Update", targets=[Target(registration, applied)])
    if not registration.enabled:
        revoke_client_tokens(client_id=registration.client_id)
    return registration
