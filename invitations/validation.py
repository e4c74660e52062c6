"""Input rules shared by the single invite, the bulk invite, the CLI and the API."""

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

# Graph: the address may not contain ~!#$%^&*()+=[]{}\/|;:"<>?, ; '.' and '-' are allowed except at the
# start or end of the local part; '_' anywhere.
_FORBIDDEN = set('~!#$%^&*()+=[]{}\\/|;:"<>?,\'` ')
MAX_EMAIL = 254


def normalize_invited_email(value: str) -> str:
    email = (value or "").strip()
    if not email:
        raise ValidationError(_("Enter the e-mail address to invite."), code="required")
    if len(email) > MAX_EMAIL:
        raise ValidationError(_("The e-mail address is longer than %(max)s characters.") % {"max": MAX_EMAIL},
                              code="too_long")
    if email.count("@") != 1:
        raise ValidationError(_("“%(email)s” is not a valid e-mail address.") % {"email": email}, code="invalid_email")
    local, domain = email.split("@")
    bad = sorted(set(local) & _FORBIDDEN)
    if bad:
        raise ValidationError(
            _("The e-mail address may not contain %(chars)s.") % {"chars": " ".join(bad)}, code="invalid_email")
    if local[:1] in ".-" or local[-1:] in ".-":
        raise ValidationError(_("The e-mail address may not start or end its name with '.' or '-'."),
                              code="invalid_email")
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError(_("“%(email)s” is not a valid e-mail address.") % {"email": email},
                              code="invalid_email") from None
    return f"{local}@{domain.lower()}".lower()


_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def validate_redirect_url(value: str) -> str:
    """An absolute http(s) URL with a host, checked on its parsed parts (no javascript:, no user info)."""
    url = (value or "").strip()
    if not url:
        raise ValidationError(_("Enter the address to send the guest to after redemption."), code="required")
    if len(url) > 2000 or _CONTROL.search(url):
        raise ValidationError(_("The redirect URL is not a valid web address."), code="invalid_url")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise ValidationError(_("The redirect URL is not a valid web address."), code="invalid_url") from None
    if parts.scheme.lower() not in {"https", "http"} or not parts.hostname:
        raise ValidationError(_("The redirect URL must start with https:// and name a host."), code="invalid_url")
    if parts.username or parts.password or "\\" in url:
        raise ValidationError(_("The redirect URL may not contain a user name or password."), code="invalid_url")
    del port
    return url
