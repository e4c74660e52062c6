"""What the self-service pages share: turning a refused service call into a message."""

import uuid

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.utils.translation import gettext as _


def run(request, call, *, success: str = "", redirect_to: str):
    """Call a service; show its refusal or validation error as a message, then redirect (POST → GET)."""
    try:
        call()
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You do not have permission to do this."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if success:
            messages.success(request, success)
    return HttpResponseRedirect(redirect_to)


def uuid_or_none(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None
