"""Enterprise applications (Graph's servicePrincipal) and who is assigned to them."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..actors import Actor
from ..audit import Target, audit
from ..models import Application, AppRoleAssignment, Group, Tenant, User
from ._common import _apply, _set_m2m, _validate_and_save, authorize, ensure_same_tenant


@transaction.atomic
def application_create(
    *, actor: Actor, tenant: Tenant, display_name: str, owners: Iterable[User] = (), **fields,
) -> Application:
    authorize(actor, "Application.ReadWrite.All", tenant=tenant)
    app = Application(tenant=tenant, display_name=display_name, **fields)
    _validate_and_save(app)
    _set_m2m(instance=app, field="owners", new=owners, tenant=tenant)
    audit(tenant=tenant, actor=actor, activity="Add service principal", targets=[Target(app)])
    return app


@transaction.atomic
def application_update(*, actor: Actor, application: Application, changes: dict[str, Any]) -> Application:
    authorize(actor, "Application.ReadWrite.All", obj=application)
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
        audit(tenant=app.tenant, actor=actor, activity="Update service principal", targets=[Target(app, applied)])
    return app


@transaction.atomic
def application_delete(*, actor: Actor, application: Application) -> None:
    authorize(actor, "Application.ReadWrite.All", obj=application)
    audit(tenant=application.tenant, actor=actor, activity="Remove service principal", targets=[Target(application)])
    application.delete()


@transaction.atomic
def app_assignment_create(
    *, actor: Actor, application: Application, user: User | None = None, group: Group | None = None
) -> AppRoleAssignment:
    authorize(actor, "AppRoleAssignment.ReadWrite.All", obj=application)
    if (user is None) == (group is None):
        raise ValidationError(_("Assign the application to a user or to a group, not both."))
    ensure_same_tenant(application.tenant, [user or group], field="user" if user else "group")
    assignment = AppRoleAssignment(tenant=application.tenant, application=application, user=user, group=group)
    _validate_and_save(assignment)
    principal = user or group
    audit(tenant=application.tenant, actor=actor, activity="Add app role assignment to " +
          ("user" if user else "group"),
          targets=[Target(application), Target(principal)])
    return assignment


@transaction.atomic
def app_assignment_delete(*, actor: Actor, assignment: AppRoleAssignment) -> None:
    authorize(actor, "AppRoleAssignment.ReadWrite.All", obj=assignment.application)
    principal = assignment.user or assignment.group
    audit(tenant=assignment.tenant, actor=actor, activity="Remove app role assignment from " +
          ("user" if assignment.user_id else "group"),
          targets=[Target(assignment.application), Target(principal)])
    assignment.delete()
