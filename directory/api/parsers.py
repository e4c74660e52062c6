import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from .errors import GraphError


class GraphJSONParser(JSONParser):
    """JSON bodies only, at most API_MAX_BODY_BYTES, an object at the top level, no NaN/Infinity."""

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

        def no_constants(value):
            raise ValueError(f"{value} is not valid JSON")

        try:
            data = json.loads(raw.decode("utf-8"), parse_constant=no_constants)
        except RecursionError:  # nesting deeper than the interpreter's stack: not a body we take
            raise ParseError("the body is nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(str(exc)[:200]) from None
        if not isinstance(data, dict):
            raise ParseError("the body must be a JSON object")
        return data
