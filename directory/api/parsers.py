import json
import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .errors import GraphError

_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_constants(value):
    raise ValueError(f"{value} is not valid JSON")


def _lone_surrogate_in(data) -> bool:
    """Whether any key or string in ``data`` holds a UTF-16 surrogate. JSON's "\\ud800" escape decodes to
    one when it is not half of a pair: Python keeps it, but it is not a character, and every encoder
    after us (the database driver, the e-mail, the response) fails on it."""
    pending = [data]
    while pending:  # a loop, not recursion: the parser already allowed the nesting, so must we
        value = pending.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return False


def loads_json(text: str):
    """``json.loads`` for what clients send: no NaN/Infinity, no lone surrogates. Raises ValueError with a
    message fit for the client (RecursionError when nested deeper than the interpreter's stack)."""
    data = json.loads(text, parse_constant=_no_constants)
    if _lone_surrogate_in(data):
        raise ValueError("a string holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not a character")
    return data


class GraphJSONParser(JSONParser):
    """JSON bodies only, at most API_MAX_BODY_BYTES, an object at the top level, no NaN/Infinity, no lone
    surrogates."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.API_MAX_BODY_BYTES
        length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        if length > limit:
            raise GraphError(413, "Request_EntityTooLarge", f"The body is larger than {limit} bytes.")
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise GraphError(413, "Request_EntityTooLarge", f"The body is larger than {limit} bytes.")
        if not raw.strip():
            return {}
        try:
            data = loads_json(raw.decode("utf-8"))
        except RecursionError:  # nesting deeper than the interpreter's stack: not a body we take
            raise ParseError("the body is nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(str(exc)[:200]) from None
        if not isinstance(data, dict):
            raise ParseError("the body must be a JSON object")
        return data
