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
        domain = mail_domain(domain)
        validate_email(f"{local}@{domain}")
    except ValidationError:
        raise ValidationError(_("“%(email)s” is not a valid e-mail address.") % {"email": email},
                              code="invalid_email") from None
    return f"{local}@{domain}".lower()


# A host name as DNS has it once IDNA has made it ASCII: letters, digits and inner hyphens; the top level either
# letters or an IDNA label (xn--…).
_ASCII_HOST = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")


def mail_domain(domain: str) -> str:
    """The domain of an address as mail servers and DNS see it, lower case: IDNA's mapping (full-width and other
    compatibility forms of letters, dots and digits become plain ones) and then its ASCII form. So
    "ｔａｉｌｗｉｎｄ．example" is "tailwind.example", and "fabrikäm.example" and "xn--fabrikm-bxa.example" are one
    domain. Every rule on an invitee's domain (the tenant's own domains, the allow or block list, cross-tenant
    settings, an existing guest or member with the address) compares this form: an address that reaches a
    mailbox must not slip past them by being written differently. A domain literal ("[127.0.0.1]") or a
    name without a dot is not a domain an invitation can go to."""
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_domain = ""
    if not _ASCII_HOST.fullmatch(ascii_domain):
        raise ValidationError(_("“%(domain)s” is not a domain name an invitation can be sent to.") % {"domain": domain},
                              code="invalid_domain")
    return ascii_domain


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
