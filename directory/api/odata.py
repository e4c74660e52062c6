"""The OData subset Graph clients use: $filter, $select, $orderby, $top, $count, $skiptoken.

Every query option is parsed against the resource's declared properties and turned into a Django
query; nothing is evaluated in Python. Anything else answers 400 ``Request_UnsupportedQuery``.
"""

import dataclasses
import datetime
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core import signing
from django.db import connections
from django.db.models import CharField, F, Func, Q, QuerySet, Value
from django.db.models.functions import Lower
from django.http import QueryDict
from django.utils.dateparse import parse_datetime

from ..lookups import Bytewise
from .errors import bad_request, unsupported_query

MAX_TOP = 999
DEFAULT_TOP = 100
MAX_FILTER_LENGTH = 2000
MAX_FILTER_DEPTH = 12
MAX_IN_VALUES = 15  # Graph's limit for `in`
SKIPTOKEN_SALT = "graph.skiptoken"
#: $count with ConsistencyLevel: eventual counts exactly up to this many rows, and above it answers the
#: planner's estimate (Graph's advanced-query counts are eventually consistent, i.e. approximate).
EXACT_COUNT_LIMIT = 10_000

# Case-insensitive text compiles to lower(column) = lower(value), the expression the unique indexes
# (tenant, lower(user_principal_name)), (tenant, lower(mail)) … are built on; Django's iexact compiles
# to UPPER(column) = UPPER(value) on PostgreSQL, which no index serves. ``field__lower`` is the transform
# (registered in directory.lookups, with ``field__lower__bytewise``).


class NotIndexed(Func):
    """``(x || '')``: the same text, the same collation and the same order as ``x``, but an expression no
    index is built on, so the planner cannot answer an ORDER BY on it by walking an index."""

    template = "(%(expressions)s || '')"
    output_field = CharField()


#: ``Prop.constant`` of a property whose value depends on the object (every property but a few).
VARIES = type("Varies", (), {"__repr__": lambda self: "VARIES"})()


@dataclass(frozen=True)
class Prop:
    """One Graph property: its JSON name, where it lives in the ORM, and what may be done with it."""

    name: str
    field: str | None = None  # ORM path; None for a computed property
    type: str = "string"  # string | bool | guid | datetime | int | enum | collection | object
    filter: bool = False
    sort: bool = False
    default: bool = True  # part of the default property set
    blank_is_null: bool = False  # '' in the database reads as null
    choices: tuple[str, ...] = ()
    get: Callable[[Any], Any] | None = None  # how to read it from an object
    #: As a sort key: lower(value) by code point (``Bytewise``) instead of the database's collation; only
    #: the order a prefix filter gets (:func:`prefix_order`).
    bytewise: bool = False
    #: The related rows ``get`` reads (a ``prefetch_related`` lookup), fetched for a page only when the
    #: property is selected (:meth:`Resource.prefetches`).
    prefetch: str | None = None
    #: The value every object has (a group's ``securityEnabled`` is always true here): filterable without a
    #: column, a comparison with it holds for every row or for none.
    constant: Any = VARIES

    def value_of(self, obj) -> Any:
        if self.constant is not VARIES:
            return self.constant
        if self.get is not None:
            return self.get(obj)
        value = obj
        for part in (self.field or self.name).split("__"):
            value = getattr(value, part)
        if self.blank_is_null and value == "":
            return None
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, datetime.datetime):
            return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return value


@dataclass(frozen=True)
class Resource:
    odata_type: str  # "microsoft.graph.user"
    props: tuple[Prop, ...]
    default_order: tuple[str, ...] = ("id",)
    id_field: str = "pk"
    only_fields: tuple[str, ...] = field(default=())
    #: Its first default-order property, when it has an index on (tenant, lower(x) COLLATE "C", id): a
    #: startswith on it without $orderby is then read in that index's order (:func:`prefix_order`).
    prefix_order: bool = False

    def prop(self, name: str) -> Prop | None:
        return _props(self).get(name.lower())

    def chosen(self, select: list[Prop] | None = None) -> list[Prop]:
        """The properties a representation holds: ``select``, or the default set."""
        return select or [p for p in self.props if p.default]

    def prefetches(self, select: list[Prop] | None = None) -> list[str]:
        """The ``prefetch_related`` lookups the chosen properties read: none for a page without them (the
        users' identities cost a statement and ~2 ms for 100 users, for a property Graph does not return
        by default)."""
        return list(dict.fromkeys(p.prefetch for p in self.chosen(select) if p.prefetch))

    def represent(self, obj, select: list[Prop] | None = None) -> dict:
        chosen = self.chosen(select)
        data = {p.name: p.value_of(obj) for p in chosen}
        if "id" not in data:
            data = {"id": str(obj.pk), **data}
        return data


_PROP_CACHE: dict[int, dict[str, Prop]] = {}


def _props(resource: Resource) -> dict[str, Prop]:
    key = id(resource)
    if key not in _PROP_CACHE:
        _PROP_CACHE[key] = {p.name.lower(): p for p in resource.props}
    return _PROP_CACHE[key]


# --- $filter ----------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
      | (?P<guid>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"startswith", "endswith"}


@dataclass
class _Tok:
    kind: str
    value: str


def _tokenize(text: str) -> list[_Tok]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise unsupported_query(f"Invalid filter clause: unexpected text at position {pos}.")
        kind = match.lastgroup
        tokens.append(_Tok(kind, match.group(kind)))
        pos = match.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    def __init__(self, resource: Resource, text: str):
        self.resource = resource
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise unsupported_query("Invalid filter clause: it ends too early.")
        self.pos += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok.value.lower() != value:
            raise unsupported_query(f"Invalid filter clause: expected '{value}', found '{tok.value}'.")

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "name" and tok.value.lower() == word:
            self.pos += 1
            return True
        return False

    def parse(self) -> Q:
        q = self.expr()
        if self.peek() is not None:
            raise unsupported_query(f"Invalid filter clause: unexpected '{self.peek().value}'.")
        return q

    def expr(self) -> Q:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise unsupported_query("The filter is nested too deeply.")
        q = self.conjunction()
        while self.keyword("or"):
            q = q | self.conjunction()
        self.depth -= 1
        return q

    def conjunction(self) -> Q:
        q = self.unary()
        while self.keyword("and"):
            q = q & self.unary()
        return q

    def unary(self) -> Q:
        if self.keyword("not"):
            return ~self.unary()
        tok = self.peek()
        if tok is not None and tok.value == "(":
            self.take()
            q = self.expr()
            self.expect(")")
            return q
        if tok is not None and tok.kind == "name" and tok.value.lower() in _FUNCTIONS:
            nxt = self.peek(1)
            if nxt is not None and nxt.value == "(":
                return self.function()
        return self.comparison()

    def property(self) -> Prop:
        tok = self.take()
        if tok.kind != "name":
            raise unsupported_query(f"Invalid filter clause: expected a property, found '{tok.value}'.")
        prop = self.resource.prop(tok.value)
        if prop is None:
            raise bad_request(f"Could not find a property named '{tok.value}' on type "
                              f"'{self.resource.odata_type}'.")
        if not prop.filter or (prop.field is None and prop.constant is VARIES):
            raise unsupported_query(f"Filtering on '{prop.name}' is not supported.")
        return prop

    def function(self) -> Q:
        name = self.take().value.lower()
        self.expect("(")
        prop = self.property()
        self.expect(",")
        value = self.literal(prop)
        self.expect(")")
        if prop.type != "string" or not isinstance(value, str):
            raise unsupported_query(f"{name} works on text properties only.")
        lookup = "startswith" if name == "startswith" else "endswith"
        if not _indexed_text(prop):
            return Q(**{f"{prop.field}__i{lookup}": value})
        # lower(column) LIKE 'value%' (the value lower-cased by the database too, and its % and _ escaped):
        # served by the text_pattern_ops indexes on lower(column) (migration 0007).
        return Q(**{f"{prop.field}__lower__{lookup}": _lower(value)})

    def comparison(self) -> Q:
        prop = self.property()
        op_tok = self.take()
        op = op_tok.value.lower()
        if op == "in":
            self.expect("(")
            values = [self.literal(prop)]
            while self.peek() is not None and self.peek().value == ",":
                self.take()
                values.append(self.literal(prop))
            self.expect(")")
            if len(values) > MAX_IN_VALUES:
                raise unsupported_query(f"'in' takes at most {MAX_IN_VALUES} values.")
            q = Q()
            for value in values:
                q |= _equals(prop, value)
            return q if values else Q(pk__in=[])
        if op not in _COMPARE:
            raise unsupported_query(f"Invalid filter clause: unsupported operator '{op_tok.value}'.")
        value = self.literal(prop)
        if op == "eq":
            return _equals(prop, value)
        if op == "ne":
            return ~_equals(prop, value)
        if (value is None or prop.type in ("bool", "enum", "guid", "collection") or prop.constant is not VARIES
                or (prop.type == "string" and not _indexed_text(prop))):
            raise unsupported_query(f"'{op}' is not supported on '{prop.name}'.")
        lookup = {"gt": "gt", "ge": "gte", "lt": "lt", "le": "lte"}[op]
        if prop.type == "string":
            # Case-insensitive like eq, startswith and $orderby: lower(column) >= lower(value), the
            # expression the (tenant, lower(x), id) list indexes are built on.
            return Q(**{f"{prop.field}__lower__{lookup}": _lower(value)})
        return Q(**{f"{prop.field}__{lookup}": value})

    def literal(self, prop: Prop):
        tok = self.take()
        if tok.kind == "name" and tok.value.lower() == "null":
            return None
        if prop.type == "bool":
            if tok.kind == "name" and tok.value.lower() in ("true", "false"):
                return tok.value.lower() == "true"
            raise bad_request(f"'{prop.name}' compares with true or false.")
        if prop.type == "datetime":
            try:
                value = parse_datetime(tok.value) if tok.kind == "datetime" else None
            except ValueError:  # well formed but impossible, like 2026-02-30T10:00:00Z
                value = None
            if value is None:
                raise bad_request(f"'{prop.name}' compares with a date and time like 2026-01-31T12:00:00Z.")
            return value
        if prop.type == "int":
            if tok.kind != "number" or "." in tok.value:
                raise bad_request(f"'{prop.name}' compares with a whole number.")
            return int(tok.value)
        if prop.type == "guid":
            raw = tok.value[1:-1] if tok.kind == "string" else tok.value
            try:
                return uuid.UUID(raw)
            except ValueError:
                raise bad_request(f"'{raw[:40]}' is not a valid GUID.") from None
        if tok.kind != "string":
            raise bad_request(f"'{prop.name}' compares with a quoted string.")
        value = tok.value[1:-1].replace("''", "'")
        if prop.type == "enum" and prop.choices and value not in prop.choices and value != "unknownFutureValue":
            raise bad_request(f"'{value[:40]}' is not a valid value for '{prop.name}'.")
        return value


def _lower(value: str) -> Lower:
    """The value lower-cased by the database, with the same function as the column (Python's str.lower
    and SQLite's ASCII-only lower() differ on non-ASCII letters)."""
    return Lower(Value(value, output_field=CharField()))


def _indexed_text(prop: Prop) -> bool:
    """A text column of the resource's own table (lower() indexes exist only there); paths through a
    relation or into JSON keep Django's case-insensitive lookups."""
    return prop.type == "string" and prop.field is not None and "__" not in prop.field


def _equals(prop: Prop, value) -> Q:
    if prop.constant is not VARIES:  # every row or none
        return Q(pk__isnull=False) if value == prop.constant else Q(pk__in=[])
    if value is None:
        q = Q(**{f"{prop.field}__isnull": True})
        return q | Q(**{prop.field: ""}) if prop.blank_is_null else q
    if prop.type == "collection":
        return Q(**{f"{prop.field}__icontains": value})
    if prop.type == "string":
        if not _indexed_text(prop):
            return Q(**{f"{prop.field}__iexact": value})
        if value == "":
            return Q(**{prop.field: ""})
        q = Q(**{f"{prop.field}__lower": _lower(value)})
        # Redundant for a non-empty value, but it lets PostgreSQL use the partial unique index
        # (tenant, lower(mail)) WHERE mail <> ''.
        return q & ~Q(**{prop.field: ""}) if prop.blank_is_null else q
    return Q(**{prop.field: value})


def parse_filter(resource: Resource, text: str) -> Q:
    if not text.strip():
        raise bad_request("$filter is empty.")
    if len(text) > MAX_FILTER_LENGTH:
        raise unsupported_query(f"The filter is longer than {MAX_FILTER_LENGTH} characters.")
    if "\x00" in text:
        raise bad_request("The filter contains a NUL character.")
    return _Parser(resource, text).parse()


# --- $select, $orderby, $top --------------------------------------------------------------------


def parse_select(resource: Resource, text: str | None) -> list[Prop] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or len(names) > 100:
        raise bad_request("$select needs between 1 and 100 property names.")
    chosen = []
    for name in names:
        prop = resource.prop(name)
        if prop is None:
            raise bad_request(f"Could not find a property named '{name[:60]}' on type '{resource.odata_type}'.")
        if prop not in chosen:
            chosen.append(prop)
    return chosen


def parse_orderby(resource: Resource, text: str | None) -> list[tuple[Prop, bool]]:
    if text is None:
        return []
    if not text.strip():
        raise bad_request("$orderby is empty.")
    order = []
    for clause in text.split(","):
        parts = clause.split()
        if not parts or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() not in ("asc", "desc")):
            raise unsupported_query(f"Invalid $orderby clause '{clause.strip()[:60]}'.")
        prop = resource.prop(parts[0])
        if prop is None or not prop.sort:
            raise unsupported_query(f"Sorting by '{parts[0][:60]}' is not supported.")
        order.append((prop, len(parts) == 2 and parts[1].lower() == "desc"))
    if len(order) > 3:
        raise unsupported_query("$orderby takes at most three properties.")
    return order


def parse_top(text: str | None) -> int:
    if text is None:
        return DEFAULT_TOP
    if not text.strip():
        raise bad_request("$top is empty: give a whole number between 1 and 999.")
    if not (text.isascii() and text.isdigit()):  # str.isdigit() alone takes "１" and "²"
        raise bad_request("$top must be a whole number between 1 and 999.")
    top = int(text)
    if not 1 <= top <= MAX_TOP:
        raise bad_request(f"Invalid page size specified: '{text[:10]}'. Must be between 1 and {MAX_TOP} inclusive.")
    return top


# --- the query string ---------------------------------------------------------------------------

#: OData's system query options, in their canonical spelling. Graph takes them without the "$" as well
#: ("Use query parameters": optional on beta and on a subset of v1.0); here on every route.
SYSTEM_OPTIONS = ("$filter", "$select", "$expand", "$orderby", "$top", "$skip", "$count", "$search", "$skiptoken",
                  "$format")
_UNPREFIXED = {name[1:]: name for name in SYSTEM_OPTIONS}
_EMPTY = {"$count": "$count must be true or false.", "$top": "$top is empty: give a whole number between 1 and 999."}


def option_name(key: str) -> str | None:
    """The canonical name of a query parameter that is an OData system query option (any "$" parameter, and
    the unprefixed names of SYSTEM_OPTIONS; case-insensitive, as OData's are), or None for another one."""
    if key.startswith("$"):
        return key.lower()
    return _UNPREFIXED.get(key.lower())


def system_options(query: QueryDict) -> QueryDict:
    """The query string with each system query option under its canonical name (``filter``, ``$Filter`` →
    ``$filter``), other parameters as they were. What every route refuses is a 400 here, once: an option
    given more than once (also as ``filter`` and ``$filter``) and an empty one (``$count=``)."""
    result = QueryDict(mutable=True)
    for key, values in query.lists():
        name = option_name(key)
        if name is None:
            result.setlist(key, values)
            continue
        if name in result or len(values) > 1:
            raise bad_request(f"Query option '{name[:40]}' was specified more than once, but it must be specified "
                              "at most once.")
        if not values[0].strip():
            raise bad_request(_EMPTY.get(name, f"{name[:40]} is empty."))
        result[name] = values[0]
    result._mutable = False
    return result


# --- keyset paging ------------------------------------------------------------------------------


def _order_key(order: list[tuple[Prop, bool]]) -> str:
    return ",".join(f"{p.name}{'~c' if p.bytewise else ''}:{int(desc)}" for p, desc in order)


def _json_value(value):
    if isinstance(value, datetime.datetime):
        return {"dt": value.isoformat()}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    return value


def _from_json(value):
    if isinstance(value, dict) and "dt" in value:
        return datetime.datetime.fromisoformat(value["dt"])
    if isinstance(value, dict) and "uuid" in value:
        return uuid.UUID(value["uuid"])
    return value


def skiptoken_scope(tenant_id, path: str, filter_text: str | None = None, search_text: str | None = None) -> str:
    """What a list's ``$skiptoken`` is bound to besides its order: the tenant, the route (the URL's path,
    which names the group of a /members page) and the query its position is a position in ($filter,
    $search). A token used anywhere else is the same 400 as a tampered one, as delta tokens are."""
    bound = json.dumps([str(tenant_id or ""), path, filter_text or "", search_text or ""])
    return hashlib.sha256(bound.encode()).hexdigest()[:32]


def make_skiptoken(order: list[tuple[Prop, bool]], obj, id_field: str, scope: str = "") -> str:
    values = [_json_value(_raw(obj, p.field)) for p, _desc in order] + [_json_value(_raw(obj, id_field))]
    return signing.dumps({"o": _order_key(order), "s": scope, "v": values}, salt=SKIPTOKEN_SALT, compress=True)


def _raw(obj, path: str):
    value = obj
    for part in path.split("__"):
        value = getattr(value, part)
    return value


def _key_lookup(prop: Prop | None, field_name: str) -> str:
    """The ORM path a sort key compares on: text sorts case-insensitively, like Graph's, on lower()."""
    if prop is not None and _indexed_text(prop):
        return f"{field_name}__lower__bytewise" if prop.bytewise else f"{field_name}__lower"
    return field_name


def _key_value(prop: Prop | None, value):
    return _lower(value) if prop is not None and _indexed_text(prop) and isinstance(value, str) else value


def _skiptoken_values(order: list[tuple[Prop, bool]], token: str, scope: str) -> list:
    try:
        data = signing.loads(token, salt=SKIPTOKEN_SALT)
        values = [_from_json(v) for v in data["v"]]
        assert data["o"] == _order_key(order) and data.get("s", "") == scope and len(values) == len(order) + 1
    except Exception:
        raise bad_request("The $skiptoken is not valid for this query.", "Request_BadRequest") from None
    return values


def _sort_keys(order: list[tuple[Prop, bool]], values: list, id_field: str) -> list[tuple[str, bool, Any]]:
    """(ORM lookup, descending, the value it compares with) for each key of (order..., id)."""
    keys = [(_key_lookup(p, p.field), desc, _key_value(p, values[i])) for i, (p, desc) in enumerate(order)]
    keys.append((id_field, False, values[-1]))
    return keys


def rows_after(order: list[tuple[Prop, bool]], values: list, id_field: str) -> Q:
    """Rows strictly after the row whose raw key values (order..., id) are ``values``, in the full
    ordering; with the redundant range on the first key that makes it an index range."""
    keys = _sort_keys(order, values, id_field)
    condition = Q()
    for index, (lookup, desc, value) in enumerate(keys):
        step = Q(**{f"{lookup}__{'lt' if desc else 'gt'}": value})
        for prior_lookup, _prior_desc, prior_value in keys[:index]:
            step &= Q(**{prior_lookup: prior_value})
        condition |= step
    # The same condition again as a range on the first key (redundant): the OR above is not an index
    # range, this is — so a page 100,000 rows deep starts where the index says instead of scanning to it.
    first_lookup, first_desc, first_value = keys[0]
    if len(keys) > 1:
        condition &= Q(**{f"{first_lookup}__{'lte' if first_desc else 'gte'}": first_value})
    return condition


def rows_up_to(order: list[tuple[Prop, bool]], values: list, id_field: str) -> Q:
    """The complement of ``rows_after``: rows up to and including that row, again with the redundant
    range on the first key (the other end of the index range)."""
    keys = _sort_keys(order, values, id_field)
    condition = Q(**{lookup: value for lookup, _desc, value in keys})
    for index, (lookup, desc, value) in enumerate(keys):
        step = Q(**{f"{lookup}__{'gt' if desc else 'lt'}": value})
        for prior_lookup, _prior_desc, prior_value in keys[:index]:
            step &= Q(**{prior_lookup: prior_value})
        condition |= step
    first_lookup, first_desc, first_value = keys[0]
    return condition & Q(**{f"{first_lookup}__{'gte' if first_desc else 'lte'}": first_value})


def apply_skiptoken(qs: QuerySet, order: list[tuple[Prop, bool]], token: str, id_field: str,
                    scope: str = "") -> QuerySet:
    """Rows strictly after the row the token names, in the full (order..., id) ordering. A token made for
    another ``scope`` (:func:`skiptoken_scope`) or another order is a 400."""
    return qs.filter(rows_after(order, _skiptoken_values(order, token, scope), id_field))


def bytewise_prefix(resource: Resource, condition: Q) -> Q | None:
    """For a list whose $filter holds (ANDed at the top) a startswith on the resource's first
    default-order property: the same prefix again on ``lower(x) COLLATE "C"``, a range of the (tenant,
    lower(x) COLLATE "C", id) index — the one index the users' name prefixes need (migration 0014 dropped
    the text_pattern_ops one it made redundant). None when there is none."""
    if not resource.prefix_order:
        return None
    prop = resource.prop(resource.default_order[0])
    if prop is None or not _indexed_text(prop):
        return None
    value = _top_level_value(condition, f"{prop.field}__lower__startswith")
    if value is None:
        return None
    return Q(**{f"{prop.field}__lower__bytewise__startswith": value})


def prefix_order(resource: Resource, condition: Q) -> tuple[Q, list[tuple[Prop, bool]]] | None:
    """For a list without $orderby whose $filter holds (ANDed at the top) a startswith on the resource's
    first default-order property: ``bytewise_prefix``, and ``lower(x) COLLATE "C"`` as the order —
    so that one index range on (tenant, lower(x) COLLATE "C", id) gives the page in order, whatever the
    prefix (issue 9: the planner had to choose between a prefix range plus a sort of every match and a
    walk of the list order filtering each row, seconds either way for a common or late prefix on a
    million users). Graph guarantees no order without $orderby; within a prefix the two orders differ
    only where characters after it sort differently by code point than in the database's collation."""
    prefix = bytewise_prefix(resource, condition)
    if prefix is None:
        return None
    prop = resource.prop(resource.default_order[0])
    return prefix, [(dataclasses.replace(prop, bytewise=True), False)]


def _top_level_value(condition: Q, lookup: str):
    """The value of ``lookup`` in ``condition`` where it must hold for every row (not under OR or NOT)."""
    if condition.negated or (condition.connector != Q.AND and len(condition.children) > 1):
        return None
    for child in condition.children:
        if isinstance(child, Q):
            found = _top_level_value(child, lookup)
            if found is not None:
                return found
        elif child[0] == lookup:
            return child[1]
    return None


def ordering_for(order: list[tuple[Prop, bool]], id_field: str, *, by_index: bool = True) -> list:
    """ORDER BY for (order..., id); text keys on lower(column), matching the (tenant, lower(display_name),
    id) indexes. ``by_index=False``: the same order on expressions no index has (``lower(x) || ''``),
    for a query whose rows must be found by its condition's index and then sorted (``search.page``)."""
    terms = []
    for prop, desc in order:
        expr = Lower(prop.field) if _indexed_text(prop) else F(prop.field)
        if prop.bytewise and _indexed_text(prop):
            expr = Bytewise(expr)
        if not by_index and _indexed_text(prop):
            expr = NotIndexed(expr)
        terms.append(expr.desc() if desc else expr.asc())
    return [*terms, id_field]


def sorts_on_indexed_text(order: list[tuple[Prop, bool]]) -> bool:
    """Is the first key a text column of the resource's table (the lists' order indexes are on those)?"""
    return bool(order) and _indexed_text(order[0][0])


# --- $count -------------------------------------------------------------------------------------


def count(queryset: QuerySet, *, estimate: bool) -> int:
    """The number of rows. With ``estimate`` (ConsistencyLevel: eventual), exact up to EXACT_COUNT_LIMIT
    (a count over at most that many rows) and otherwise PostgreSQL's planner estimate for the same
    query (EXPLAIN's row count), never below the limit. Without it, or on another database, exact."""
    if not estimate:
        return queryset.count()
    bounded = queryset.order_by()[: EXACT_COUNT_LIMIT + 1].count()
    if bounded <= EXACT_COUNT_LIMIT:
        return bounded
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return queryset.count()
    sql, params = queryset.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_COUNT_LIMIT + 1)
