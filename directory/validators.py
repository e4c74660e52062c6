import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _

# RFC 1123 host names: labels of letters, digits and inner hyphens, a top-level label of letters.
_DOMAIN_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    re.IGNORECASE,  # domains are case-insensitive; models store them lower-cased
)


def validate_domain_name(value: str) -> None:
    if not isinstance(value, str) or not _DOMAIN_RE.match(value):
        raise ValidationError(
            _("“%(value)s” is not a valid domain name (for example contoso.com)."),
            code="invalid_domain",
            params={"value": value},
        )


validate_hex_colour = RegexValidator(
    r"^#[0-9A-Fa-f]{6}$", _("Enter a colour as #RRGGBB, for example #0F6CBD."), code="invalid_colour"
)


def validate_logo_size(file) -> None:
    from django.conf import settings

    if file and file.size > settings.LOGO_MAX_BYTES:
        raise ValidationError(
            _("The logo is %(size)s KB; at most %(max)s KB is allowed."),
            code="logo_too_large",
            params={"size": file.size // 1024, "max": settings.LOGO_MAX_BYTES // 1024},
        )
