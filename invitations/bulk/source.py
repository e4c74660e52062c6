"""Reading a bulk invite file: the uploaded bytes as text, the columns and the rows.

- UTF-8 text (with or without BOM), at most ``MAX_UPLOAD_BYTES``, at most ``MAX_ROWS`` rows.
- The first row names the columns (Entra's template, with its ``version:v1.0`` line, works as is).
  Only the e-mail address is required. Every column must be one this file format knows: an unknown
  or misspelt header is refused before any row runs (a dropped "send message" column once sent
  e-mails against the admin's intent), naming the column and the headers that are expected. The
  admin console, the API and the CLI all read files through :func:`parse_source`, so all refuse alike.
"""

import csv
import difflib
import io
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000

# Column -> accepted header names, compared without case, spaces, underscores and hyphens. Entra's
# template names its columns like "Email address to invite [inviteeEmail] Required": the name in
# brackets is what counts there.
COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("email", "emailaddress", "mail", "inviteeemail", "invitedemail", "invitedemailaddress",
              "inviteduseremailaddress", "emailaddresstoinvite"),
    "display_name": ("displayname", "name", "inviteddisplayname", "inviteduserdisplayname", "inviteedisplayname"),
    "redirect_url": ("redirecturl", "inviteredirecturl", "redirectionurl"),
    "send_message": ("sendmessage", "sendemail", "sendinvitationmessage", "sendinvitation"),
    "message_body": ("custommessage", "customizedmessagebody", "custominvitationmessage",
                     "customizedinvitationmessage", "message", "messagebody", "personalmessage"),
    "message_language": ("language", "messagelanguage"),
}
REQUIRED_COLUMNS = ("email",)
COLUMN_LABELS = {
    "email": "email", "display_name": "display name", "redirect_url": "redirect URL",
    "send_message": "send message", "message_body": "custom message", "message_language": "language",
}
_ALIASES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases}
#: The header row of the template the admin console offers for download (and what errors name).
TEMPLATE_HEADERS = ("email", "display name", "redirect URL", "send message", "custom message", "language")


@dataclass(frozen=True)
class SourceRow:
    number: int  # the row's number as a spreadsheet shows it (the header is row 1)
    values: dict[str, str]


@dataclass(frozen=True)
class ParsedSource:
    columns: dict[str, str]  # column -> header text as written in the file
    rows: list[SourceRow]


def decode_upload(data: bytes) -> str:
    """The uploaded bytes as text, or a ValidationError that says what is wrong with them."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is %(size)s MB; upload at most %(max)s MB.")
            % {"size": f"{len(data) / 1024 / 1024:.1f}", "max": MAX_UPLOAD_BYTES // 1024 // 1024}, code="too_large")
    if not data.strip():
        raise ValidationError(_("The file is empty."), code="empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _("The file is not UTF-8 text: line %(line)s has a byte (%(byte)s) that UTF-8 does not allow. Save it "
              "as “CSV UTF-8” and upload it again.")
            % {"line": data.count(b"\n", 0, exc.start) + 1, "byte": f"0x{data[exc.start]:02X}"},
            code="encoding") from None
    if "\x00" in text:
        raise ValidationError(_("The file is not a text file: it contains NUL characters."), code="not_text")
    return text


def _header_key(name: str) -> str:
    name = name.strip()
    if "[" in name and "]" in name.split("[", 1)[1]:
        name = name.split("[", 1)[1].split("]", 1)[0]
    return "".join(ch for ch in name.lower() if ch not in " _-\t")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def parse_source(text: str) -> ParsedSource:
    """The header and the data rows of a bulk invite file; ValidationError for a file we cannot use."""
    lines = text.lstrip("\ufeff").splitlines()
    first = next((line for line in lines if line.strip() and not line.lower().startswith("version:")), "")
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=_delimiter(first))
    header: list[str] | None = None
    index: dict[str, int] = {}
    rows: list[SourceRow] = []
    number = 0
    try:
        for record in reader:
            number += 1
            if not any(cell.strip() for cell in record):
                continue
            if header is None:
                if record[0].strip().lower().startswith("version:") and len(record[0].strip()) < 20:
                    continue  # Entra's template starts with "version:v1.0"
                header = record
                index = columns(header)
                continue
            if record[0].strip().lower().startswith("example:"):
                continue  # Entra's template may carry an example row; no address starts with "Example:"
            rows.append(SourceRow(number, {
                column: (record[i].strip() if i < len(record) else "") for column, i in index.items()}))
            if len(rows) > MAX_ROWS:
                raise ValidationError(_("The file has more than %(max)s rows; split it into smaller files.")
                                      % {"max": f"{MAX_ROWS:,}"}, code="too_many_rows")
    except csv.Error as exc:
        raise ValidationError(_("Row %(row)s cannot be read as CSV: %(error)s.")
                              % {"row": reader.line_num, "error": exc}, code="bad_csv") from None
    if header is None:
        raise ValidationError(_("The file is empty."), code="empty")
    if not rows:
        raise ValidationError(_("The file has a header but no rows to invite."), code="no_rows")
    return ParsedSource(columns={column: header[i].strip() for column, i in index.items()}, rows=rows)


def _expected() -> str:
    return ", ".join(TEMPLATE_HEADERS)


def _unknown_column(name: str) -> ValidationError:
    guess = difflib.get_close_matches(_header_key(name), list(_ALIASES), n=1, cutoff=0.6)
    hint = (_(" Did you mean “%(label)s”?") % {"label": COLUMN_LABELS[_ALIASES[guess[0]]]}) if guess else ""
    return ValidationError(
        _("The column “%(name)s” is not one this file can have, so nothing was invited.%(hint)s Expected headers: "
          "%(expected)s (only email is required), or the same names in Entra's bulk invite template with their "
          "code in brackets, such as “[sendEmail]”.")
        % {"name": name.strip()[:80], "hint": hint, "expected": _expected()}, code="unknown_column")


def columns(header: list[str]) -> dict[str, int]:
    """Column -> its position in ``header``; ValidationError for a missing, doubled or unknown column."""
    index: dict[str, int] = {}
    unknown: list[str] = []
    for position, name in enumerate(header):
        if not name.strip():
            continue  # a spreadsheet's trailing empty cells
        column = _ALIASES.get(_header_key(name))
        if column is None:
            unknown.append(name)
            continue
        if column in index:
            raise ValidationError(_("The columns “%(a)s” and “%(b)s” both mean %(column)s; keep one of them.")
                                  % {"a": header[index[column]].strip(), "b": name.strip(),
                                     "column": COLUMN_LABELS[column]}, code="duplicate_column")
        index[column] = position
    missing = [COLUMN_LABELS[c] for c in REQUIRED_COLUMNS if c not in index]
    if missing:
        found = ", ".join(f"“{name.strip()[:60]}”" for name in header[:6] if name.strip()) or _("nothing")
        raise ValidationError(
            _("The first row must name the columns; it has no %(missing)s column (found %(found)s). Expected "
              "columns: email (required), display name, redirect URL, send message, custom message — or Entra's "
              "bulk invite template.") % {"missing": ", ".join(missing), "found": found}, code="missing_columns")
    if unknown:  # after "missing": a file without a header row at all gets that message, not this one
        raise _unknown_column(unknown[0])
    return index
