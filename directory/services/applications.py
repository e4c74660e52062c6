"""Enterprise applications (Graph's servicePrincipal) and who is assigned to them."""

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..actors import Actor
from ..audit import Target, audit
from ..models import Application, AppRoleAssignment, Group, ManagedAccess, Tenant, User
from ._common import _apply, _set_m2m, _validate_and_save, authorize, ensure_same_tenant

MAX_APPROVERS = 10  # Entra: up to 10 individual approvers of self-service access


def _check_self_service(app: Application, approvers: list[User] | None) -> None:
    """The self-service group and approvers belong to the app's tenant; at most 10 approvers."""
    if app.self_service_group_id is not None:
        ensure_same_tenant(app.tenant, [app.self_service_group], field="self_service_group")
    if approvers is not None and len(approvers) > MAX_APPROVERS:
        raise ValidationError({"self_service_approvers": _("At most %(n)s approvers.") % {"n": MAX_APPROVERS}})


@transaction.atomic
def application_create(
    *, actor: Actor, tenant: Tenant, display_name: str, owners: Iterable[User] = (),
    self_service_approvers: Iterable[User] = (), **fields,
) -> Application:
    authorize(actor, "Application.ReadWrite.All", tenant=tenant)
    app = Application(tenant=tenant, display_name=display_name, **fields)
    approvers = list(self_service_approvers)
    _check_self_service(app, approvers)
    _validate_and_save(app)
    _set_m2m(instance=app, field="owners", new=owners, tenant=tenant)
    _set_m2m(instance=app, field="self_service_approvers", new=approvers, tenant=tenant)
    audit(tenant=tenant, actor=actor, activity="Add service principal", targets=[Target(app)])
    return app


@transaction.atomic
def application_update(*, actor: Actor, application: Application, changes: dict[str, Any]) -> Application:
    authorize(actor, "Application.ReadWrite.All", obj=application)
    app = Application.objects.select_for_update().get(pk=application.pk)
    changes = dict(changes)
    relations = {name: list(changes.pop(name)) for name in ("owners", "self_service_approvers") if name in changes}
    applied = _apply(app, changes)
    _check_self_service(app, relations.get("self_service_approvers"))
    if applied:
        _validate_and_save(app)
    for name, new in relations.items():
        change = _set_m2m(instance=app, field=name, new=new, tenant=app.tenant)
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
    *, actor: Actor, application: Application, user: User | None = None, group: Group | None = None,
    managed: bool = False,
) -> AppRoleAssignment:
    """Assign ``application`` to a user or a group. ``managed``: held for an access package
    (:class:`~directory.models.ManagedAccess`); assigning directly what a package gave makes it direct
    (it then outlives the package) instead of failing as a duplicate."""
    authorize(actor, "AppRoleAssignment.ReadWrite.All", obj=application)
    if (user is None) == (group is None):
        raise ValidationError(_("Assign the application to a user or to a group, not both."))
    ensure_same_tenant(application.tenant, [user or group], field="user" if user else "group")
    if user is not None and not managed and ManagedAccess.of(ManagedAccess.Kind.APP, application, user).delete()[0]:
        existing = AppRoleAssignment.objects.filter(application=application, user=user).first()
        if existing is not None:
            audit(tenant=application.tenant, actor=actor, activity="Add app role assignment to user",
                  targets=[Target(application), Target(user)])
            return existing
    assignment = AppRoleAssignment(tenant=application.tenant, application=application, user=user, group=group)
    _validate_and_save(assignment)
    if managed and user is not None:
        ManagedAccess.objects.create(tenant_id=application.tenant_id, user=user, kind=ManagedAccess.Kind.APP,
                                     application=application)
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
    if assignment.user_id:
        ManagedAccess.objects.filter(kind=ManagedAccess.Kind.APP, application_id=assignment.application_id,
                                     user_id=assignment.user_id).delete()
    assignment.delete()


@transaction.atomic
def app_assignments_remove_many(*, actor: Actor, application: Application, users: list[User],
                                reason: str = "") -> set:
    """Remove these users' assignments to the application at once (an access review's denials): one delete
    and one audit insert whatever their number; the ids of those who were assigned."""
    from ..audit import audit_event, audit_save

    authorize(actor, "AppRoleAssignment.ReadWrite.All", obj=application)
    rows = AppRoleAssignment.objects.filter(application=application, user_id__in=[u.pk for u in users])
    removed = set(rows.values_list("user_id", flat=True))
    rows.delete()
    initiator = actor.initiated_by()
    audit_save([audit_event(tenant=application.tenant, actor=actor, initiator=initiator,
                            activity="Remove app role assignment from user", targets=[Target(application), Target(u)],
                            details={"reason": reason} if reason else None)
                for u in users if u.pk in removed])
    return removed
