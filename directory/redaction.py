"""Secrets in stored mail: a message names the secrets it carries (an invitation's link token, a sign-in
code) when it is written; once it is delivered they are stripped from the stored copy, and the console
never shows them, sent or not. Marked at enqueue time, so nothing is guessed by pattern."""

from collections.abc import Iterable

from django.utils.html import escape

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (and its HTML-escaped form) replaced by ``[redacted]``."""
    if not text:
        return text
    # Longest first, so a secret that contains another is removed whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
        escaped = str(escape(secret))
        if escaped != secret:
            text = text.replace(escaped, REDACTED)
    return text
