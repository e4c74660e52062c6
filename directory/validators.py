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


_MAIL_NICKNAME = re.compile(r'[!-~]{1,64}')
_MAIL_NICKNAME_FORBIDDEN = set('@()\\[]";:<>,')


def validate_mail_nickname(value: str) -> None:
    """Graph's mailNickname (users and groups): ASCII letters, digits and punctuation other than
    @ ( ) \\ [ ] " ; : < > , and no spaces; at most 64."""
    if not isinstance(value, str) or not _MAIL_NICKNAME.fullmatch(value) or set(value) & _MAIL_NICKNAME_FORBIDDEN:
        raise ValidationError(
            _("A mail nickname may contain ASCII letters, digits and punctuation other than @ ( ) \\ [ ] \" ; : < > , "
              "and no spaces (at most 64 characters)."), code="invalid_mail_nickname")


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


# --- user profile properties (Graph's user resource) ---------------------------------------------

#: ISO 3166-1 alpha-2, the codes Graph's usageLocation takes.
_ISO_3166_ALPHA_2 = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT
BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH
ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT
HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS
LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI
NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG
SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_COUNTRY_CODES = frozenset(_ISO_3166_ALPHA_2.split())


def validate_usage_location(value: str) -> None:
    if value and value.upper() not in ISO_COUNTRY_CODES:
        raise ValidationError(_("“%(value)s” is not a two-letter country code (ISO 3166), like US or DE."),
                              code="invalid_usage_location", params={"value": value[:10]})


# A language tag as Graph's preferredLanguage takes it: en, en-US, zh-Hant-TW.
validate_language_tag = RegexValidator(
    r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*\Z", _("Enter a language tag like en-US."), code="invalid_language"
)

MAX_BUSINESS_PHONES = 1  # Graph: "only one number can be set for this property"


def validate_business_phones(value) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value):
        raise ValidationError(_("Business phones are a list of phone numbers of at most 64 characters."),
                              code="invalid_business_phones")
    if len(value) > MAX_BUSINESS_PHONES:
        raise ValidationError(_("Only one business phone number can be set."), code="too_many_business_phones")


MAX_OTHER_MAILS = 20


def validate_other_mails(value) -> None:
    """Graph's otherMails: a list of e-mail addresses (at most 20), each given once. They are matched when a
    redemption is reset to another address, so each must be an address."""
    from django.core.validators import validate_email

    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValidationError(_("Other e-mail addresses are a list of addresses."), code="invalid_other_mails")
    if len(value) > MAX_OTHER_MAILS:
        raise ValidationError(_("At most %(max)s other e-mail addresses can be set.") % {"max": MAX_OTHER_MAILS},
                              code="too_many_other_mails")
    for address in value:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(_("“%(value)s” is not an e-mail address.") % {"value": address[:100]},
                                  code="invalid_other_mails") from None
    lowered = [address.lower() for address in value]
    if len(set(lowered)) != len(lowered):
        repeated = next(address for i, address in enumerate(value) if address.lower() in lowered[:i])
        raise ValidationError(_("“%(value)s” is listed twice.") % {"value": repeated[:100]},
                              code="duplicate_other_mails")


def validate_visible_name(value) -> None:
    """A display name shows something: not only spaces or invisible characters (zero-width, direction marks)."""
    if isinstance(value, str) and not any(ch.isprintable() and not ch.isspace() for ch in value):
        raise ValidationError(_("A name must show at least one visible character."), code="invisible_name")
