"""The audit trail: every service that changes state calls :func:`audit` inside its transaction."""

import contextvars
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from .models import Account, AuditEvent, Tenant, User

_correlation_id: contextvars.ContextVar[uuid.UUID | None] = contextvars.ContextVar("correlation_id", default=None)
# The API app acting in this request (an app-only token has no account to name as the actor).
_acting_app: contextvars.ContextVar = contextvars.ContextVar("acting_app", default=None)


def set_acting_app(app) -> None:
    _acting_app.set(app)


def current_correlation_id() -> uuid.UUID:
    value = _correlation_id.get()
    return value if value is not None else uuid.uuid4()


def set_correlation_id(value: uuid.UUID | None) -> contextvars.Token:
    return _correlation_id.set(value)


class CorrelationIdMiddleware:
    """Gives every request one correlation id, shared by all audit rows it writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.correlation_id = uuid.uuid4()
        token = set_correlation_id(request.correlation_id)
        app_token = _acting_app.set(None)
        try:
            return self.get_response(request)
        finally:
            _correlation_id.reset(token)
            _acting_app.reset(app_token)


@dataclass(frozen=True)
class Change:
    property: str
    old: Any
    new: Any


@dataclass
class Target:
    obj: models.Model
    changes: list[Change] = field(default_factory=list)

    def as_graph(self) -> dict:
        obj = self.obj
        return {
            "id": str(obj.pk),
            "type": _graph_type(obj),
            "displayName": getattr(obj, "display_name", None) or getattr(obj, "name", None) or str(obj),
            "userPrincipalName": getattr(obj, "user_principal_name", None),
            "modifiedProperties": [
                {"displayName": c.property, "oldValue": _json_value(c.old), "newValue": _json_value(c.new)}
                for c in self.changes
            ],
        }


def _graph_type(obj: models.Model) -> str:
    return {
        "User": "User",
        "Group": "Group",
        "Application": "ServicePrincipal",
        "Tenant": "Directory",
    }.get(type(obj).__name__, "Other")


def _json_value(value: Any) -> str | None:
    # Graph carries old and new values as JSON text.
    if value is None:
        return None
    if isinstance(value, models.Model):
        value = str(value.pk)
    elif isinstance(value, (set, frozenset, tuple)):
        value = sorted(str(v) for v in value)
    elif hasattr(value, "name") and hasattr(value, "url"):  # a FieldFile
        value = value.name or ""
    return json.dumps(value, default=str, ensure_ascii=False)


def initiated_by(*, tenant: Tenant | None, actor: Account | None) -> dict:
    if actor is None:
        app = _acting_app.get()
        if app is not None:
            return {"app": {"appId": str(app.client_id), "displayName": app.display_name,
                            "servicePrincipalId": str(app.pk), "servicePrincipalName": app.display_name}}
        return {"app": {"displayName": "B2B Portal", "servicePrincipalName": "system"}}
    tenant_user = None
    if tenant is not None:
        tenant_user = (
            User.objects.filter(tenant=tenant, account=actor).only("id", "user_principal_name").first()
        )
    return {
        "user": {
            "id": str(tenant_user.pk if tenant_user else actor.pk),
            "displayName": actor.display_name or actor.email,
            "userPrincipalName": tenant_user.user_principal_name if tenant_user else actor.email,
            "ipAddress": None,
        }
    }


def audit(
    *,
    tenant: Tenant | None,
    actor: Account | None,
    activity: str,
    category: str,
    operation_type: str,
    targets: list[Target],
    result: str = AuditEvent.Result.SUCCESS,
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    initiator = initiated_by(tenant=tenant, actor=actor)
    return AuditEvent.objects.create(
        tenant=tenant,
        initiated_by_user_id=(initiator.get("user") or {}).get("id"),
        activity_display_name=activity,
        category=category,
        operation_type=operation_type,
        correlation_id=current_correlation_id(),
        initiated_by=initiator,
        initiated_by_account=actor,
        result=result,
        result_reason=reason[:512],
        target_resources=[t.as_graph() for t in targets],
        additional_details=[{"key": k, "value": str(v)} for k, v in (details or {}).items()],
    )
