"""Helpers every directory service uses: validation, change tracking, tenant checks."""

import contextlib
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connections, models, router, transaction
from django.db.models.constants import OnConflict
from django.utils.translation import gettext as _

from ..actors import Actor, require_actor
from ..audit import Change, apply_changes
from ..compiled import insert_statement
from ..models import Tenant, User


def authorize(actor: Actor, capability: str, *, tenant=None, obj=None) -> Actor:
    """Refuse (PermissionDenied) unless ``actor`` holds ``capability`` in the tenant (or, as its
    owner, on ``obj``). Every directory service calls it before it reads or writes anything."""
    require_actor(actor).require(capability, tenant=tenant, obj=obj)
    return actor


def guest_user_principal_name(*, email: str, tenant: Tenant) -> str:
    """Entra's guest UPN: ``ann_proseware.com#EXT#@tailwind.example`` for ann@proseware.com."""
    local_domain = email.strip().lower().replace("@", "_")
    return f"{local_domain}#EXT#@{tenant.initial_domain}"


def ensure_same_tenant(tenant: Tenant, objects: Iterable[models.Model], *, field: str) -> None:
    """Refuse links across tenants; the message does not say whose the foreign object is."""
    for obj in objects:
        if obj is not None and obj.tenant_id != tenant.pk:
            raise ValidationError({field: _("“%(obj)s” is not in this tenant.") % {"obj": obj}})


#: Graph's user resource: the alias (before the @) of a user principal name takes only A–Z a–z 0–9 ' . - _ ! # ^ ~
#: (no accented letters, no spaces), at most 64 of them, with no '.' first, last or twice in a row.
_UPN_ALIAS = re.compile(r"(?=.{1,64}$)[A-Za-z0-9'\-_!#^~]+(?:\.[A-Za-z0-9'\-_!#^~]+)*")


def validate_user_principal_name(user: User, *, check_alias: bool = True) -> None:
    """A member's UPN must end in one of its tenant's domains; a guest's is the #EXT# form. The alias of a UPN
    written by hand must use Graph's characters (``check_alias``: callers that keep an existing UPN pass False, so
    that a user created before this rule can still be changed)."""
    upn = user.user_principal_name or ""
    if upn.count("@") != 1 or upn.startswith("@") or upn.endswith("@"):
        raise ValidationError({"user_principal_name": _("Enter a user principal name like ann@contoso.com.")})
    alias, domain = upn.rsplit("@", 1)
    domain = domain.lower()
    if check_alias and "#EXT#" not in upn and not _UPN_ALIAS.fullmatch(alias):
        raise ValidationError({"user_principal_name": _(
            "The part of a user principal name before the @ may have at most 64 characters, only letters A–Z, "
            "digits and ' . - _ ! # ^ ~ (no spaces or accented letters), and no '.' first, last or twice in a row.")})
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


_apply = apply_changes  # directory/audit.py: what really changed, old → new


def _validate_and_save(instance: models.Model) -> None:
    instance.full_clean()
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as exc:
        # A concurrent write won the race for a unique value that full_clean() had seen free. Its row is
        # committed now (the insert waited for it), so checking again names the value that is taken.
        try:
            instance.validate_unique()
            instance.validate_constraints()
        except ValidationError as precise:
            raise precise from exc
        raise ValidationError(_("This conflicts with an object that was saved at the same time.")) from exc


def _insert_unless_taken(instance: models.Model) -> bool:
    """INSERT the new row unless a unique key of it is taken (``ON CONFLICT DO NOTHING``, SQLite's ``INSERT
    OR IGNORE``): True when it was inserted. A refused insert leaves the transaction usable, so no
    savepoint is needed around it (two round trips fewer than ``save()`` in ``atomic()``). Fields get
    their pre-save values (auto_now) as in ``save()``; no model signals are sent. The statement's SQL is
    compiled once per model (:func:`directory.compiled.insert_statement`)."""
    model = type(instance)
    using = router.db_for_write(model, instance=instance)
    fields = [f for f in model._meta.local_concrete_fields if not f.generated]
    statement, params = insert_statement(model, fields, [instance], using=using, on_conflict=OnConflict.IGNORE)
    with connections[using].cursor() as cursor:
        cursor.execute(statement, params)
        inserted = cursor.rowcount == 1
    if inserted:
        instance._state.adding, instance._state.db = False, using
    return inserted


@contextlib.contextmanager
def _inserting(instance: models.Model, *, loaded: tuple[str, ...] = ()):
    """Insert a new row, then run the block, in one transaction (the caller's when there is one, with no
    savepoint of its own): like :func:`_validate_and_save`, without the checks that cost one query each
    before every insert. Uniqueness and the model's constraints are the database's to enforce; only
    when it refuses the row (nothing written) are the same checks run, for the precise message.
    ``loaded`` names foreign keys set to objects the caller has loaded, whose existence needs no query.
    Other foreign keys are still checked first: PostgreSQL would only refuse them at commit. The model's
    other constraints (not null, lengths) are checked by ``full_clean`` first; only unique keys are left
    to the database, which refuses them without aborting the transaction."""
    instance.full_clean(exclude=list(loaded), validate_unique=False, validate_constraints=False)
    with transaction.atomic(savepoint=False):
        inserted = _insert_unless_taken(instance)
        if inserted:
            yield instance
    if not inserted:  # outside the block: nothing was written, the caller's transaction stays usable
        try:
            instance.validate_unique()
            instance.validate_constraints()
        except ValidationError as precise:
            raise precise from None
        raise ValidationError(_("This conflicts with an object that was saved at the same time."))


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


MAX_SPONSORS = 5  # Entra's limit of sponsors per user


def validate_sponsors(user, sponsors) -> None:
    """The sponsor rules every path keeps (the console's form and page, sponsors/$ref, user_update): a user
    never sponsors itself, a deleted user sponsors nobody, at most :data:`MAX_SPONSORS` sponsors."""
    sponsors = list(sponsors)
    if user.pk is not None and any(s.pk == user.pk for s in sponsors):
        raise ValidationError({"sponsors": _("A user cannot sponsor itself.")}, code="own_sponsor")
    if any(s.deleted_at is not None for s in sponsors):
        raise ValidationError({"sponsors": _("A deleted user cannot sponsor a guest.")}, code="deleted_sponsor")
    if len(sponsors) > MAX_SPONSORS:
        raise ValidationError({"sponsors": _("A guest can have at most %(max)s sponsors.") % {"max": MAX_SPONSORS}},
                              code="too_many_sponsors")
