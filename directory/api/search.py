"""Graph's ``$search`` on directory objects: ``$search="displayName:ann" OR "mail:ann@"``.

What matches (the same rules Graph documents for directory objects):

- ``displayName`` and ``description`` are *tokenized*: the value is split into words at spaces and at
  ``. _ - @`` (and at other punctuation), and the search term, split the same way, must match the
  start of consecutive words, in order, case-insensitively. "displayName:ann" matches "Ann Smith",
  "Mary-Ann" and "anna.lee"; "displayName:ann sm" matches "Ann Smith" but not "Smith, Ann".
- ``mail`` and ``userPrincipalName`` match from the start of the whole value, case-insensitively
  (Graph's startsWith behaviour for other properties): "mail:ann" matches "ann.lee@contoso.com",
  not "joann@contoso.com".

Clauses are combined with ``AND`` and ``OR`` (``AND`` binds tighter; no parentheses, no ``NOT``), each
clause in double quotes. The request must carry ``ConsistencyLevel: eventual``.

On PostgreSQL both kinds run on an index (migration 0006_search_indexes creates them on the very same
expressions): words through a GIN index on a ``to_tsvector('simple', …)`` document queried with a prefix
phrase ``to_tsquery('simple', 'ann:* <-> sm:*')``; value prefixes through a btree on
``(tenant_id, lower(column) text_pattern_ops)`` queried with ``lower(column) LIKE 'ann%'``. SQLite (the
development default) has neither: there a word is found with LIKE on the value's start or after a
separator, and the words of one term need not be adjacent.
"""

import re

from django.db import connection
from django.db.models import BooleanField, F, Func, Q
from django.db.models.functions import Lower

from .errors import bad_request, unsupported_query
from .odata import Resource

MAX_SEARCH_LENGTH = 1000
MAX_CLAUSES = 10

# The text search document of a column; must stay identical to migration 0006_search_indexes.
SEPARATORS = "._-@/:+<>&"
SEARCH_DOCUMENT = "to_tsvector('simple'::regconfig, translate(lower({column}), '" + SEPARATORS + "', '"
SEARCH_DOCUMENT += " " * len(SEPARATORS) + "'))"

WORDS, PREFIX = "words", "prefix"
#: Graph type → {property: (ORM column, how it matches)}. Only what the model stores.
SEARCHABLE = {
    "microsoft.graph.user": {
        "displayName": ("display_name", WORDS),
        "mail": ("mail", PREFIX),
        "userPrincipalName": ("user_principal_name", PREFIX),
    },
    "microsoft.graph.group": {
        "displayName": ("display_name", WORDS),
        "description": ("description", WORDS),
    },
}

_CLAUSE = re.compile(r'\s*"(?P<clause>[^"]*)"\s*')
_OPERATOR = re.compile(r"\s*(?P<op>AND|OR)\s*")
_WORD = re.compile(r"[^\W_]+")


class _WordsMatch(Func):
    """``<document of column> @@ to_tsquery('simple', '<w1>:* <-> <w2>:*')`` (PostgreSQL)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, query: str):
        super().__init__(F(column))
        self.query = query

    def as_sql(self, compiler, connection, **extra):
        column_sql, params = compiler.compile(self.source_expressions[0])
        sql = SEARCH_DOCUMENT.format(column=column_sql) + " @@ to_tsquery('simple'::regconfig, %s)"
        return sql, (*params, self.query)


def _words_condition(column: str, words: list[str]) -> Q:
    if connection.vendor == "postgresql":
        return Q(_WordsMatch(column, " <-> ".join(f"'{word}':*" for word in words)))
    condition = Q()
    for word in words:  # a scan: the start of the value or of a word after a separator
        found = Q(**{f"{column}__istartswith": word})
        for separator in " " + SEPARATORS + "'":
            found |= Q(**{f"{column}__icontains": separator + word})
        condition &= found
    return condition


def _prefix_condition(column: str, term: str) -> Q:
    # lower(column) LIKE 'term%' (escaped): the expression of the (tenant_id, lower(column) text_pattern_ops) index
    return Q(**{f"search_{column}_lower__startswith": term.lower()})


def _clause(resource: Resource, text: str) -> tuple[Q, str | None]:
    name, colon, term = text.partition(":")
    if not colon:
        raise bad_request(f"Syntax error: the search clause \"{text[:60]}\" must be \"property:term\".")
    fields = SEARCHABLE.get(resource.odata_type, {})
    prop = next((p for p in fields if p.lower() == name.strip().lower()), None)
    if prop is None:
        raise unsupported_query(f"Search on '{name.strip()[:60]}' is not supported; search "
                                f"{', '.join(fields) or 'nothing'} here.")
    column, how = fields[prop]
    if how == WORDS:
        words = _WORD.findall(term.lower())
        if not words:
            raise bad_request(f"The search term for '{prop}' holds no letter or digit.")
        return _words_condition(column, words[:16]), None
    if not term.strip():
        raise bad_request(f"The search term for '{prop}' is empty.")
    return _prefix_condition(column, term.strip()), column


def apply_search(queryset, resource: Resource, text: str, consistency_level: str):
    """``queryset`` narrowed by a ``$search`` value, or a Graph 400 when it cannot be."""
    if consistency_level.lower() != "eventual":
        raise unsupported_query("$search needs the request header ConsistencyLevel: eventual.")
    if len(text) > MAX_SEARCH_LENGTH:
        raise bad_request(f"$search is longer than {MAX_SEARCH_LENGTH} characters.")
    if "\x00" in text:
        raise bad_request("$search contains a NUL character.")
    # "a" AND "b" OR "c" → [[a, b], [c]]: AND binds tighter than OR.
    groups: list[list[Q]] = [[]]
    prefixed: set[str] = set()
    pos, expect_clause = 0, True
    while pos < len(text):
        if expect_clause:
            match = _CLAUSE.match(text, pos)
            if match is None:
                raise bad_request("Syntax error: $search takes quoted clauses like \"displayName:ann\", joined "
                                  "by AND or OR.")
            condition, column = _clause(resource, match["clause"])
            groups[-1].append(condition)
            if column:
                prefixed.add(column)
        else:
            match = _OPERATOR.match(text, pos)
            if match is None:
                raise bad_request(f"Syntax error: expected AND or OR at position {pos} of $search.")
            if match["op"] == "OR":
                groups.append([])
        pos, expect_clause = match.end(), not expect_clause
    if expect_clause:
        raise bad_request("Syntax error: $search is empty or ends with AND or OR.")
    if sum(len(g) for g in groups) > MAX_CLAUSES:
        raise bad_request(f"$search takes at most {MAX_CLAUSES} clauses.")
    queryset = queryset.alias(**{f"search_{column}_lower": Lower(column) for column in prefixed})
    condition = Q()
    for group in groups:
        conjunction = Q()
        for part in group:
            conjunction &= part
        condition |= conjunction
    return queryset.filter(condition)
