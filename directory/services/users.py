"""Users: members and guests of one tenant."""

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from allauth.account.models import EmailAddress
from allauth.idp.oidc.models import Client
from django.contrib.admin.models import LogEntry
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from ..actors import Actor, require_actor
from ..audit import Change, Target, audit, audit_event, audit_save, insert_with_audit
from ..models import Account, DeletedObject, Tenant, User, UserIdentity
from ..tokens import revoke_account_tokens, revoke_accounts_tokens
from ._common import (
    _apply,
    _inserting,
    _set_m2m,
    _validate_and_save,
    authorize,
    ensure_same_tenant,
    guest_user_principal_name,
    validate_sponsors,
    validate_user_principal_name,
)


def ensure_may_manage(actor: Actor, user: User) -> None:
    """Privileged users are protected from less privileged ones: a User Administrator cannot block,
    delete, reset or change a Global Administrator (the admin console, the API and the services)."""
    if not actor.may_manage_user(user):
        raise PermissionDenied(_("%(user)s holds a more privileged role than you; only an administrator with "
                                 "that role or a higher one may change them.") % {"user": user.display_name})


@transaction.atomic
def user_create(
    *, actor: Actor, tenant: Tenant, display_name: str, user_principal_name: str,
    sponsors: Iterable[User] = (), password: str | None = None, force_password_change: bool = False,
    force_password_change_with_mfa: bool = False, **fields,
) -> User:
    """Create a user object. A member given a ``password`` gets an account that signs in with its UPN; with
    ``force_password_change`` (Graph's forceChangePasswordNextSignIn) its first entry anywhere is choosing its
    own password, after MFA with ``force_password_change_with_mfa`` (directory/password_change.py)."""
    authorize(actor, "User.ReadWrite.All", tenant=tenant)
    user = User(tenant=tenant, display_name=display_name, user_principal_name=user_principal_name.strip(), **fields)
    validate_user_principal_name(user)
    if password is not None and user.account_id is None:
        if user.user_type != User.UserType.MEMBER:
            raise ValidationError({"password": _("Guests sign in with their own identity; they get no password.")})
        user.full_clean()  # a duplicate user in this tenant is reported as such, before the address is checked
        try:
            user.account = _member_account(
                email=user.user_principal_name, password=password, display_name=display_name,
                change_required=force_password_change or force_password_change_with_mfa,
                change_requires_mfa=force_password_change_with_mfa)
        except ValidationError:
            # A concurrent create of the same user may have taken the address a moment ago: its row is
            # committed now, so the duplicate is reported as such (not as someone else's sign-in).
            user.full_clean()
            raise
    sponsors = list(sponsors)
    validate_sponsors(user, sponsors)
    _validate_and_save(user)
    _set_m2m(instance=user, field="sponsors", new=sponsors, tenant=tenant)
    audit(tenant=tenant, actor=actor, activity="Add user",
          targets=[Target(user, [Change("userType", None, user.user_type)])])
    return user


def build_guest_user(*, tenant: Tenant, email: str, display_name: str, user_type: str, now=None
                     ) -> tuple[User, UserIdentity]:
    """The (unsaved) user object and e-mail identity an invitation creates for ``email``: one builder for
    the single invite and bulk jobs alike."""
    now = now or timezone.now()
    user = User(
        tenant=tenant, user_type=user_type, display_name=((display_name or "").strip() or email.split("@")[0])[:256],
        user_principal_name=guest_user_principal_name(email=email, tenant=tenant), mail=email,
        creation_type=User.CreationType.INVITATION, external_user_state=User.ExternalUserState.PENDING_ACCEPTANCE,
        external_user_state_changed_at=now,
    )
    identity = UserIdentity(user=user, sign_in_type=UserIdentity.SignInType.EMAIL_ADDRESS,
                            issuer=tenant.initial_domain, issuer_assigned_id=email)
    return user, identity


def guest_user_create(*, actor: Actor, tenant: Tenant, email: str, display_name: str = "",
                      user_type: str = User.UserType.GUEST, sponsors: Iterable[User] = ()) -> User:
    """Create the external user an invitation brings in (needs ``User.Invite.All``; the invitation
    service checks the tenant's guest invite settings first). Its writes are one transaction: the
    savepoint (or transaction) its insert opens, with no second one around it."""
    authorize(actor, "User.Invite.All", tenant=tenant)
    user, identity = build_guest_user(tenant=tenant, email=email, display_name=display_name, user_type=user_type)
    validate_user_principal_name(user)
    sponsors = list(sponsors)
    ensure_same_tenant(tenant, sponsors, field="sponsors")
    with _inserting(user, loaded=("tenant",)):
        insert_with_audit(identity)  # with the audit rows when the caller batches them (one statement on PostgreSQL)
        if sponsors:  # a new user has none to compare with: add, without reading the empty set first
            user.sponsors.add(*sponsors)
        audit(tenant=tenant, actor=actor, activity="Add user",
              targets=[Target(user, [Change("userType", None, user.user_type)])])
    return user


def _member_account(*, email: str, password: str, display_name: str, change_required: bool = False,
                    change_requires_mfa: bool = False) -> Account:
    """A new account for a new member, signing in with ``email`` and ``password``.

    Refused when the address is already someone's on the platform (an account, or a guest invited by
    some tenant who has not redeemed yet): a tenant that creates a member with a password it chose must
    never get hold of that person's identity (their sign-in, the invitations waiting for them)."""
    from django.contrib.auth.password_validation import validate_password

    email = email.strip().lower()
    taken = Account.objects.with_email(email).exists() or EmailAddress.objects.filter(email__iexact=email).exists()
    if taken:
        raise _address_taken(email)
    invited = User.objects.with_mail(email).filter(
        external_user_state=User.ExternalUserState.PENDING_ACCEPTANCE, account__isnull=True, deleted_at__isnull=True)
    if invited.exists():
        raise ValidationError({"user_principal_name": ValidationError(_(
            "%(email)s has an invitation waiting from another organization; a member with a password cannot be "
            "created for it until that invitation is redeemed or withdrawn.") % {"email": email},
            code="invitation_pending")})
    account = Account(email=email, display_name=display_name, password_change_required=change_required,
                      password_change_requires_mfa=change_requires_mfa)
    validate_password(password, account)
    account.set_password(password)
    try:
        with transaction.atomic():  # a savepoint: a concurrent insert of the same address fails here, alone
            account.save()
            # The tenant vouches for addresses on its own verified domains (proven by DNS): no confirmation mail.
            EmailAddress.objects.create(user=account, email=account.email, verified=True, primary=True)
    except IntegrityError as exc:  # taken by a concurrent request since the check above
        raise _address_taken(email) from exc
    return account


def _address_taken(email: str) -> ValidationError:
    return ValidationError({"user_principal_name": ValidationError(_(
        "%(email)s already signs in on this platform; a member with a new password cannot be created for it. "
        "Use another address, or create the user without a password.") % {"email": email},
        code="account_exists")})


@transaction.atomic
def user_update(*, actor: Actor, user: User, changes: dict[str, Any]) -> User:
    """Change a user. Blocking or unblocking sign-in alone needs ``User.EnableDisableAccount.All``;
    anything else ``User.ReadWrite.All``; privileged users only by those who outrank them."""
    changes = dict(changes)
    only_enabled = set(changes) <= {"account_enabled"}
    authorize(actor, "User.EnableDisableAccount.All" if only_enabled else "User.ReadWrite.All", tenant=user.tenant_id)
    user = User.objects.select_for_update().get(pk=user.pk)
    if set(changes) - {"sponsors"}:
        ensure_may_manage(actor, user)
    sponsors = changes.pop("sponsors", None)
    if "external_user_state" in changes and changes["external_user_state"] != user.external_user_state:
        changes["external_user_state_changed_at"] = timezone.now()
    applied = _apply(user, changes)
    if applied:
        validate_user_principal_name(user, check_alias="user_principal_name" in changes)
        _validate_and_save(user)
    if sponsors is not None:
        sponsors = list(sponsors)
        validate_sponsors(user, sponsors)
        change = _set_m2m(instance=user, field="sponsors", new=sponsors, tenant=user.tenant)
        if change:
            applied.append(change)
    if applied:
        audit(tenant=user.tenant, actor=actor, activity="Update user", targets=[Target(user, applied)])
    if not user.account_enabled and user.account_id:
        revoke_account_tokens(account_id=user.account_id, tenant=user.tenant)
    return user


@transaction.atomic
def user_delete(*, actor: Actor, user: User) -> User:
    """Soft delete: the user can be restored for 30 days, then the purge sweep removes it. Nobody
    deletes themselves, and privileged users are deleted only by those who outrank them."""
    authorize(actor, "User.ReadWrite.All", tenant=user.tenant_id)
    user = User.objects.select_for_update().get(pk=user.pk)
    if actor.user is not None and actor.user.pk == user.pk:
        raise ValidationError(_("You cannot delete yourself."), code="delete_self")
    ensure_may_manage(actor, user)
    if user.deleted_at is None:
        user.deleted_at = timezone.now()
        user.save(update_fields=["deleted_at", "updated_at"])
        audit(tenant=user.tenant, actor=actor, activity="Delete user",
              targets=[Target(user, [Change("deleted", False, True)])])
    if user.account_id:
        revoke_account_tokens(account_id=user.account_id, tenant=user.tenant)
    return user


@transaction.atomic
def user_restore(*, actor: Actor, user: User) -> User:
    authorize(actor, "User.ReadWrite.All", tenant=user.tenant_id)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.deleted_at is None:
        return user
    if user.deleted_at < timezone.now() - timedelta(days=User.RESTORE_WINDOW_DAYS):
        raise ValidationError(_("Deleted users can be restored for %(days)s days only.")
                              % {"days": User.RESTORE_WINDOW_DAYS})
    user.deleted_at = None
    user.save(update_fields=["deleted_at", "updated_at"])
    audit(tenant=user.tenant, actor=actor, activity="Restore user",
          targets=[Target(user, [Change("deleted", True, False)])])
    return user


@transaction.atomic
def user_delete_permanently(*, actor: Actor, user: User) -> None:
    """Remove a deleted user now (Graph's permanent delete of a deleted item), before the 30 days are
    over. Only a deleted user can be removed so; privileged users only by those who outrank them.
    /users/delta reports it removed (a tombstone), and the account it signed in with goes too when
    nothing else needs it (:func:`_accounts_left_behind`), so that its address is free again."""
    authorize(actor, "User.ReadWrite.All", tenant=user.tenant_id)
    user = User.objects.select_for_update().filter(pk=user.pk, deleted_at__isnull=False).first()
    if user is None:  # not deleted (first delete it), or removed by a concurrent call
        raise User.DoesNotExist("No deleted user with this id.")
    ensure_may_manage(actor, user)
    accounts = _accounts_left_behind([user])
    audit(tenant=user.tenant, actor=actor, activity="Hard delete user", targets=[_hard_delete_target(user, accounts)])
    DeletedObject.record(tenant_id=user.tenant_id, object_type="user", object_ids=[user.pk])  # /users/delta
    user.delete()
    _delete_accounts(accounts)


def users_purge_deleted(*, actor: Actor, now=None) -> int:
    """Remove users deleted more than 30 days ago (set-based; run by beat as the system): what
    :func:`user_delete_permanently` does for one (tombstones for /users/delta, the accounts nothing else
    needs removed with them), in a fixed number of queries per batch."""
    require_actor(actor)
    if not actor.is_platform:
        raise PermissionDenied(_("Only the platform purges deleted users."))
    cutoff = (now or timezone.now()) - timedelta(days=User.RESTORE_WINDOW_DAYS)
    purged = 0
    due = User.objects.filter(deleted_at__lt=cutoff).select_related("tenant")
    for tenant_id in due.values_list("tenant_id", flat=True).distinct():
        with transaction.atomic():
            # of=self: lock the users only, not their tenant's row (which every insert for the tenant shares)
            rows = list(due.filter(tenant_id=tenant_id).select_for_update(skip_locked=True, of=("self",))[:1000])
            if not rows:
                continue
            tenant = rows[0].tenant
            accounts = _accounts_left_behind(rows)
            audit(tenant=tenant, actor=actor.in_tenant(tenant), activity="Hard delete user",
                  targets=[_hard_delete_target(u, accounts) for u in rows])
            DeletedObject.record(tenant_id=tenant.pk, object_type="user", object_ids=[u.pk for u in rows])  # delta
            User.objects.filter(pk__in=[u.pk for u in rows]).delete()
            _delete_accounts(accounts)
            purged += len(rows)
    return purged


def _accounts_left_behind(users: list[User]) -> dict[Any, Account]:
    """The accounts of ``users`` (about to be removed for good) that nothing else needs, by id: removed
    with them, so that a permanently deleted user's address signs in nowhere and is free again (Graph
    frees a purged user's UPN). Kept, conservatively, when the account is platform staff or a superuser,
    holds Django groups or permissions (console roles), owns an OAuth client (its app registration would
    go with it), has admin-log history, or is referenced by any other user object of any tenant,
    soft-deleted ones included (it may be restored). Call inside the removing transaction, before the
    users are deleted: the accounts are locked first (in id order), which waits for any transaction that
    is pointing a user at one of them (its foreign-key check holds a share lock on the row), and only
    then checked, so a concurrent redemption either is seen here or fails afterwards. Two queries."""
    account_ids = sorted({u.account_id for u in users if u.account_id is not None})
    if not account_ids:
        return {}
    list(Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk").values_list("pk", flat=True))
    leaving = [u.pk for u in users]
    needed = (
        Exists(User.objects.filter(account=OuterRef("pk")).exclude(pk__in=leaving))
        | Exists(Account.groups.through.objects.filter(account=OuterRef("pk")))
        | Exists(Account.user_permissions.through.objects.filter(account=OuterRef("pk")))
        | Exists(Client.objects.filter(owner=OuterRef("pk")))
        | Exists(LogEntry.objects.filter(user=OuterRef("pk")))
    )
    orphans = (Account.objects.filter(pk__in=account_ids, is_staff=False, is_superuser=False)
               .exclude(needed).only("pk", "email"))
    return {account.pk: account for account in orphans}


def _hard_delete_target(user: User, accounts: dict[Any, Account]) -> Target:
    """The audit target of a user removed for good; its account's removal shows as ``account``: the
    address → null."""
    account = accounts.get(user.account_id)
    return Target(user, [Change("account", account.email, None)] if account is not None else [])


def _delete_accounts(accounts: dict[Any, Account]) -> None:
    """Remove the accounts :func:`_accounts_left_behind` chose, after their users: their e-mail addresses,
    social and federated identities, MFA devices, passkeys and API tokens go with them (cascades); sign-in
    and audit rows keep their copied names (their link is set null). Sessions signed in as them no longer
    find their account and end."""
    if accounts:
        Account.objects.filter(pk__in=list(accounts)).delete()


# --- set-based forms of block and delete, for sweeps -----------------------------------------------------


def _many(actor: Actor, tenant: Tenant, user_ids, capability: str, **filters) -> list[User]:
    authorize(actor, capability, tenant=tenant.pk)
    users = list(User.objects.select_for_update().filter(tenant=tenant, pk__in=list(user_ids), **filters)
                 .order_by("pk"))
    if not actor.is_platform:
        for user in users:
            ensure_may_manage(actor, user)
    return users


def users_block_many(*, actor: Actor, tenant: Tenant, user_ids, reason: str = "") -> list[User]:
    """Block sign-in for many users of ``tenant`` at once, in the caller's transaction: what
    :func:`user_update` does for ``account_enabled=False`` (an "Update user" row each, their tokens for
    the tenant's apps revoked; the panel refuses a blocked user's session), in a fixed number of queries.
    Users already blocked or deleted are skipped; returns the users it blocked."""
    users = _many(actor, tenant, user_ids, "User.EnableDisableAccount.All", account_enabled=True,
                  deleted_at__isnull=True)
    if not users:
        return []
    now = timezone.now()
    User.objects.filter(pk__in=[u.pk for u in users]).update(account_enabled=False, updated_at=now)
    details = {"reason": reason} if reason else None
    initiator = actor.initiated_by()
    events = []
    for user in users:
        user.account_enabled = False
        events.append(audit_event(tenant=tenant, actor=actor, initiator=initiator, when=now, activity="Update user",
                                  targets=[Target(user, [Change("account_enabled", True, False)])], details=details))
    audit_save(events)
    revoke_accounts_tokens(account_ids={u.account_id for u in users}, tenant=tenant)
    return users


def users_delete_many(*, actor: Actor, tenant: Tenant, user_ids, reason: str = "") -> list[User]:
    """Soft delete many users of ``tenant`` at once, in the caller's transaction: what :func:`user_delete`
    does (restorable for 30 days, a "Delete user" row each, tokens revoked) in a fixed number of queries.
    Users already deleted are skipped; returns the users it deleted."""
    users = _many(actor, tenant, user_ids, "User.ReadWrite.All", deleted_at__isnull=True)
    if actor.user is not None:
        users = [u for u in users if u.pk != actor.user.pk]  # nobody deletes themselves
    if not users:
        return []
    now = timezone.now()
    User.objects.filter(pk__in=[u.pk for u in users]).update(deleted_at=now, updated_at=now)
    details = {"reason": reason} if reason else None
    initiator = actor.initiated_by()
    events = []
    for user in users:
        user.deleted_at = now
        events.append(audit_event(tenant=tenant, actor=actor, initiator=initiator, when=now, activity="Delete user",
                                  targets=[Target(user, [Change("deleted", False, True)])], details=details))
    audit_save(events)
    revoke_accounts_tokens(account_ids={u.account_id for u in users}, tenant=tenant)
    return users
