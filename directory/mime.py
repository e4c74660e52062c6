"""The bytes of an outbox e-mail, as Django's SMTP backend would send them, without Python's e-mail generator
for the common shape.

Django builds a message as ``email.message()`` (``SafeMIMEText``/``SafeMIMEMultipart``) and flattens it
with ``BytesGenerator``: every header goes through ``email.header.Header`` twice (Django's check, then the
compat32 folding), a regular expression is compiled for each boundary, and each address is parsed by
``email._header_value_parser``. For an invitation that is most of the worker's CPU per mail.

:func:`outbox_mime` writes the same bytes directly when the message has the shape the outbox builds
(a text body, text alternatives, To/Cc/From/Subject, ``Message-ID``/``Date``/``X-…`` headers, utf-8);
a header value is handed to ``Header`` and the compat32 folding only when it is not short plain ASCII.
Anything else (attachments, Reply-To, other headers, other charsets, another ``EmailMessage`` class, and
every value Django refuses) goes through Django's own path, unchanged. tests/directory/test_mime.py
holds the fast bytes equal to Django's over a generated corpus.
"""

import functools
import random
import re
import sys
from email import policy as email_policy
from email import quoprimime
from email.errors import MessageError
from email.utils import formatdate, make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.message import RFC5322_EMAIL_LINE_LENGTH_LIMIT, forbid_multi_line_headers, sanitize_address
from django.core.mail.utils import DNS_NAME

__all__ = ["envelope_address", "fast_message_bytes", "outbox_mime"]

# compat32 as BytesGenerator(linesep="\r\n") folds a header: for the values that are not plain.
_fold_binary = email_policy.compat32.clone(linesep="\r\n").fold_binary

# A value compat32 writes unchanged on one line: printable ASCII words separated by single spaces
# (Header drops a trailing space, splits lines at controls such as \x0c, folds at 78 characters).
_PLAIN = re.compile(r"[!-~]+(?: [!-~]+)*")
_LINE = 78

# An address sanitize_address() returns unchanged: a dot-atom local part and an ASCII domain, bare or
# after a display name of plain atoms. "=" and "?" are left out so that nothing reads as an encoded word.
_ATOM = r"[A-Za-z0-9!#$%&'*+/^_`{|}~-]+"
_ADDR_SPEC = rf"{_ATOM}(?:\.{_ATOM})*@[A-Za-z0-9-]{{1,63}}(?:\.[A-Za-z0-9-]{{1,63}})*"
_PLAIN_ADDRESS = re.compile(rf"{_ADDR_SPEC}|{_ATOM}(?: {_ATOM})* <{_ADDR_SPEC}>")

_NEWLINES = re.compile(rb"\r\n|\r|\n")  # the generator's NLCRE: every line end becomes CRLF
_TEXT_SUBTYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
_KNOWN_EXTRA = frozenset({"message-id", "date"})  # besides X- headers


class _NotFast(Exception):
    """The message is outside what the fast path writes exactly: Django's path builds it."""


def outbox_mime(email: EmailMessage) -> tuple[str, list[str], bytes]:
    """Envelope sender, envelope recipients and the message bytes (CRLF line ends): what Django's SMTP
    backend computes with ``sanitize_address``, ``email.recipients()`` and
    ``email.message().as_bytes(linesep="\\r\\n")``, and raising what it raises."""
    encoding = email.encoding or settings.DEFAULT_CHARSET
    from_email = envelope_address(email.from_email, encoding)
    recipients = [envelope_address(address, encoding) for address in email.recipients()]
    data = fast_message_bytes(email)
    if data is None:
        data = email.message().as_bytes(linesep="\r\n")
    return from_email, recipients, data


def envelope_address(address, encoding: str) -> str:
    """``sanitize_address(address, encoding)``, without parsing an address it would return unchanged."""
    if isinstance(address, str) and len(address) <= 76 and _PLAIN_ADDRESS.fullmatch(address):
        return address
    return sanitize_address(address, encoding)


def fast_message_bytes(email: EmailMessage) -> bytes | None:
    """The bytes Django would generate for ``email`` (but for the boundary and the Date), or None when
    the message is not one the fast path writes exactly (then Django's path builds it, or raises)."""
    try:
        return _message_bytes(email)
    except (_NotFast, ValueError, MessageError):
        # ValueError: BadHeaderError, an invalid address, a body utf-8 cannot encode. Django's path
        # raises the same error in its own order, or builds what this path does not handle.
        return None


def _message_bytes(email: EmailMessage) -> bytes:
    if type(email) not in (EmailMessage, EmailMultiAlternatives):
        raise _NotFast  # a subclass may build its message differently
    if (email.encoding or settings.DEFAULT_CHARSET) != "utf-8" or email.content_subtype != "plain":
        raise _NotFast
    if email.attachments or email.reply_to or not isinstance(email.body, str):
        raise _NotFast
    alternatives = getattr(email, "alternatives", ())
    if alternatives and email.alternative_subtype != "alternative":
        raise _NotFast
    extra = email.extra_headers
    for name in extra:
        lowered = name.lower() if isinstance(name, str) else ""
        if lowered not in _KNOWN_EXTRA and not (lowered.startswith("x-") and _HEADER_NAME.fullmatch(name)):
            raise _NotFast

    # The headers in Django's order (EmailMessage.message()).
    headers = [_header("Subject", email.subject), _header("From", email.from_email)]
    if email.to:
        headers.append(_header("To", ", ".join(str(v) for v in email.to)))
    if email.cc:
        headers.append(_header("Cc", ", ".join(str(v) for v in email.cc)))
    lowered_names = {name.lower() for name in extra}
    if "date" not in lowered_names:
        headers.append(_header("Date", formatdate(localtime=settings.EMAIL_USE_LOCALTIME)))
    if "message-id" not in lowered_names:
        headers.append(_header("Message-ID", make_msgid(domain=DNS_NAME)))
    for name, value in extra.items():
        headers.append(_header(name, value))
    head = "".join(headers).encode("ascii")

    if not alternatives:
        part_head, body = _text_part(email.body or "", "plain")
        return part_head + head + b"\r\n" + body

    parts = []
    if email.body:
        parts.append(_text_part(email.body, "plain"))
    for content, mimetype in alternatives:
        basetype, _, subtype = mimetype.partition("/") if isinstance(mimetype, str) else ("", "", "")
        if basetype != "text" or not isinstance(content, str) or not _TEXT_SUBTYPE.fullmatch(subtype):
            raise _NotFast
        parts.append(_text_part(content, subtype))
    texts = [part_head + b"\r\n" + body for part_head, body in parts]
    boundary = _boundary(texts)
    delimiter = b"\r\n--" + boundary + b"\r\n"
    return b"".join((
        b'Content-Type: multipart/alternative;\r\n boundary="', boundary, b'"\r\nMIME-Version: 1.0\r\n', head,
        b"\r\n--", boundary, b"\r\n", delimiter.join(texts), b"\r\n--", boundary, b"--\r\n",
    ))


def _header(name: str, value) -> str:
    """One header line as SafeMIME*.__setitem__ stores it and compat32 folds it."""
    value = str(value)  # may be lazy
    if len(name) + 2 + len(value) <= _LINE and _PLAIN.fullmatch(value):
        return f"{name}: {value}\r\n"
    if "\n" in value or "\r" in value:
        raise _NotFast  # Django raises BadHeaderError
    return _encoded_header(name, value)


@functools.lru_cache(maxsize=256)
def _encoded_header(name: str, value: str) -> str:
    """Django's encoding and compat32's folding of a value that is not plain: a pure function of the two,
    kept for the values that repeat from mail to mail (a tenant's invitation subject, ~70 µs to fold)."""
    name, value = forbid_multi_line_headers(name, value, "utf-8")
    return _fold_binary(name, value).decode("ascii")


def _text_part(text: str, subtype: str) -> tuple[bytes, bytes]:
    """The headers and the body of ``SafeMIMEText(text, subtype, "utf-8")`` as BytesGenerator writes them."""
    data = text.encode("utf-8")
    if _has_long_line(text, data):
        # Django's utf8_charset_qp (Charset.body_encode over the utf-8 bytes as latin-1 code points).
        encoding = b"quoted-printable"
        data = quoprimime.body_encode(data.decode("latin-1")).encode("ascii")
    else:
        encoding = b"7bit" if data.isascii() else b"8bit"
    head = b'Content-Type: text/%s; charset="utf-8"\r\nMIME-Version: 1.0\r\nContent-Transfer-Encoding: %s\r\n' % (
        subtype.encode("ascii"), encoding)
    return head, _NEWLINES.sub(b"\r\n", data) if b"\r" in data else data.replace(b"\n", b"\r\n")


def _has_long_line(text: str, data: bytes) -> bool:
    """SafeMIMEText.set_payload's test for quoted-printable. str.splitlines() also splits at \\x0b, \\x0c,
    \\x1c-\\x1e, \\x85, \\u2028 and \\u2029, so its lines are never longer than the bytes' lines: when
    no line of the bytes is too long, no line of the text is."""
    if len(data) <= RFC5322_EMAIL_LINE_LENGTH_LIMIT:
        return False
    if max(map(len, data.splitlines())) <= RFC5322_EMAIL_LINE_LENGTH_LIMIT:
        return False
    return any(len(line.encode(errors="surrogateescape")) > RFC5322_EMAIL_LINE_LENGTH_LIMIT
               for line in text.splitlines())


def _boundary(texts: list[bytes]) -> bytes:
    """A boundary like email.generator's (15 "=", 19 random digits, "=="), that no part contains."""
    while True:
        # Not a secret: it only has to differ from the parts' lines, as email.generator's does.
        boundary = b"===============%019d==" % random.randrange(sys.maxsize)  # noqa: S311
        if not any(b"--" + boundary in text for text in texts):
            return boundary
