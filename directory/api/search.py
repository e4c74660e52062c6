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

import contextlib
import json
import re
import time

from django.db import DatabaseError, connection, connections
from django.db.models import BooleanField, F, Func, Q, QuerySet

from . import odata
from .errors import bad_request, unsupported_query
from .odata import Prop, Resource

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
    """``<document of column> @@ to_tsquery('simple', '<w1>:* <-> <w2>:*')`` (PostgreSQL).

    ``prefiltered`` (:func:`_prefiltered`, for a walk that tests row after row) puts a test ~10 times cheaper
    than the document before it, one that every match passes: ``lower(column) LIKE '%w%'`` for each word.
    Only for words of ASCII letters and digits, which the text search parser keeps whole: a lexeme that
    starts with such a word holds it, and a lexeme is a piece of ``lower(column)`` with separators turned
    into spaces, which such a word has none of."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, words: list[str], prefiltered: bool = False):
        super().__init__(F(column))
        self.column, self.words, self.prefiltered = column, words, prefiltered

    def as_sql(self, compiler, connection, **extra):
        column_sql, column_params = compiler.compile(self.source_expressions[0])
        sql = SEARCH_DOCUMENT.format(column=column_sql) + " @@ to_tsquery('simple'::regconfig, %s)"
        params = (*column_params, " <-> ".join(f"'{word}':*" for word in self.words))
        if self.prefiltered and all(_ASCII_WORD.fullmatch(word) for word in self.words):
            likes = " AND ".join(f"lower({column_sql}) LIKE %s" for _word in self.words)
            sql = f"({likes} AND {sql})"
            params = (*[p for word in self.words for p in (*column_params, f"%{word}%")], *params)
        return sql, params


_ASCII_WORD = re.compile(r"[a-z0-9]+")


def _prefiltered(condition: Q) -> Q:
    """``condition`` with each words match prefiltered (:class:`_WordsMatch`): the same rows."""
    children = []
    for child in condition.children:
        if isinstance(child, Q):
            child = _prefiltered(child)
        elif isinstance(child, _WordsMatch):
            child = _WordsMatch(child.column, child.words, prefiltered=True)
        children.append(child)
    return Q.create(children, connector=condition.connector, negated=condition.negated)


def _words_condition(column: str, words: list[str]) -> Q:
    if connection.vendor == "postgresql":
        return Q(_WordsMatch(column, words))
    condition = Q()
    for word in words:  # a scan: the start of the value or of a word after a separator
        found = Q(**{f"{column}__istartswith": word})
        for separator in " " + SEPARATORS + "'":
            found |= Q(**{f"{column}__icontains": separator + word})
        condition &= found
    return condition


def _prefix_condition(column: str, term: str) -> Q:
    # lower(column) LIKE 'term%' (escaped): the expression of the (tenant_id, lower(column) text_pattern_ops) index
    # (``column__lower``: the transform directory.api.odata registers)
    return Q(**{f"{column}__lower__startswith": term.lower()})


def _clause(resource: Resource, text: str) -> Q:
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
        return _words_condition(column, words[:16])
    if not term.strip():
        raise bad_request(f"The search term for '{prop}' is empty.")
    return _prefix_condition(column, term.strip())


def parse_search(resource: Resource, text: str, consistency_level: str) -> Q:
    """A ``$search`` value as a condition, or a Graph 400."""
    if consistency_level.lower() != "eventual":
        raise unsupported_query("$search needs the request header ConsistencyLevel: eventual.")
    if len(text) > MAX_SEARCH_LENGTH:
        raise bad_request(f"$search is longer than {MAX_SEARCH_LENGTH} characters.")
    if "\x00" in text:
        raise bad_request("$search contains a NUL character.")
    # "a" AND "b" OR "c" → [[a, b], [c]]: AND binds tighter than OR.
    groups: list[list[Q]] = [[]]
    pos, expect_clause = 0, True
    while pos < len(text):
        if expect_clause:
            match = _CLAUSE.match(text, pos)
            if match is None:
                raise bad_request("Syntax error: $search takes quoted clauses like \"displayName:ann\", joined "
                                  "by AND or OR.")
            groups[-1].append(_clause(resource, match["clause"]))
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
    condition = Q()
    for group in groups:
        conjunction = Q()
        for part in group:
            conjunction &= part
        condition |= conjunction
    return condition


def apply_search(queryset, resource: Resource, text: str, consistency_level: str):
    """``queryset`` narrowed by a ``$search`` value, or a Graph 400 when it cannot be."""
    return queryset.filter(parse_search(resource, text, consistency_level))


#: Without the planner's estimates (SQLite): rows of the list order a search page walks, at most, before it
#: sorts the matches instead.
WALK_ROWS = 2000
#: A row walked in list order costs about this many matches read from the search index and sorted (a random
#: heap read and a test each, against the bitmap's page-ordered reads). Measured at 1,000,000 users: first
#: ~14 µs a row walked against ~3 µs a match sorted; on a faster machine, with the walk's substring test
#: and the sort on keys (2026-11-26), ~1.2 µs a row walked (~2.8 µs for a word the test cannot take)
#: against ~0.55 µs a match sorted. 4 lies between: a walk that fails costs at most about twice the sort.
WALK_COST = 4


#: The planner's estimates change only when the table is analysed: the same search (a typeahead's repeated
#: prefixes) reuses them for a while in this process instead of asking again. They choose a plan only;
#: the rows are the same whichever plan runs.
ESTIMATES_SECONDS = 300
ESTIMATES_KEPT = 2048
_ESTIMATES: dict[tuple, tuple[float, tuple[float, float] | None]] = {}


def _estimates(queryset: QuerySet, condition: Q) -> tuple[float, float] | None:
    """The planner's estimates of (rows in ``queryset``, rows of it matching ``condition``): one EXPLAIN,
    nothing executed, kept ``ESTIMATES_SECONDS`` per query; PostgreSQL only (None elsewhere). Its search
    estimates come from the text search statistics of the GIN index's expression (most common lexemes,
    prefixes included)."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    both = queryset.order_by().values_list("pk").union(
        queryset.filter(condition).order_by().values_list("pk"), all=True)
    sql, params = both.query.sql_with_params()
    key = (queryset.db, sql, tuple(str(p) for p in params))
    now = time.monotonic()
    cached = _ESTIMATES.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    children = plan[0]["Plan"].get("Plans") or []
    if plan[0]["Plan"]["Node Type"] != "Append" or len(children) != 2:
        estimates = None
    else:
        estimates = float(children[0]["Plan Rows"]), float(children[1]["Plan Rows"])
    if len(_ESTIMATES) >= ESTIMATES_KEPT:
        _ESTIMATES.clear()
    _ESTIMATES[key] = (now + ESTIMATES_SECONDS, estimates)
    return estimates


def _walk(queryset: QuerySet, condition: Q, order: list[tuple[Prop, bool]], fields: list[str], id_field: str,
          rows: int, limit: int) -> list:
    """The key values (``fields``) of the first ``limit`` matches among the first ``rows`` rows of the list
    order: ``SELECT … FROM (the first rows in order, with their sort keys, LIMIT rows) WHERE condition
    ORDER BY those keys LIMIT limit``. The inner LIMIT bounds the walk of the order index; the outer one
    stops it as soon as the page is full, and ordering on the subquery's own key columns lets PostgreSQL
    keep its order instead of sorting what it walked. Django has no FROM-subquery: the outer query is
    compiled on the model's table and that table's name is given to the subquery (the search condition
    names only that table's columns)."""
    model = queryset.model
    connection = connections[queryset.db]
    quote = connection.ops.quote_name
    keys = {f"walk_key{i}": expression for i, expression in enumerate(odata.ordering_for(order, id_field)[:-1])}
    inner = queryset.annotate(**{name: term.expression for name, term in keys.items()})
    inner = inner.order_by(*[f"{'-' if term.descending else ''}{name}" for name, term in keys.items()], id_field)
    inner_sql, inner_params = inner[:rows].query.sql_with_params()
    outer = model._base_manager.using(queryset.db).filter(_prefiltered(condition)).order_by().values_list(*fields)
    outer_sql, outer_params = outer.query.sql_with_params()
    table = quote(model._meta.db_table)
    head, sep, tail = outer_sql.partition(f" FROM {table} ")
    if not sep or f" FROM {table} " in tail or " JOIN " in tail:
        raise ValueError("the search condition must name only the listed table's columns")
    order_by = [f"{table}.{quote(name)} {'DESC' if term.descending else 'ASC'}" for name, term in keys.items()]
    order_by.append(f"{table}.{quote(model._meta.pk.column)} ASC")
    sql = f"{head} FROM ({inner_sql}) AS {table} {tail} ORDER BY {', '.join(order_by)} LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, (*inner_params, *outer_params))
        found = cursor.fetchall()
    to_id = model._meta.pk.to_python  # as the ORM would give it (SQLite returns a UUID's hex string)
    return [(*row[:-1], to_id(row[-1])) for row in found]


@contextlib.contextmanager
def _planned_for_the_term(using: str):
    """On PostgreSQL, the statements run inside are planned for this search term, on one core.

    - Not prepared: psycopg prepares a statement after its connection has run it ``DB_PREPARE_THRESHOLD``
      times, and PostgreSQL may then keep one generic plan for every term. How many rows a term matches
      decides a search's best plan, and a generic plan cannot know it: at 1,000,000 users it assumed 5,000
      matches for every term, and a term matching 4,000 took twice as long as with its own plan.
    - No parallel workers: there, starting two took longer than they saved (10.5 ms against 4.4 ms serial
      for the keys of 8,000 matches), and they take the cores that other requests need.
    Two statements more (the setting changed, then put back), each a round trip of well under a millisecond.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    preparing = hasattr(raw, "prepare_threshold")  # psycopg 3 (psycopg2 never prepares)
    threshold = raw.prepare_threshold if preparing else None
    if preparing:
        raw.prepare_threshold = None  # each statement unprepared, planned with its parameters
    # Inside a transaction the change is the transaction's own (a SET LOCAL before it is kept, and a
    # rollback undoes it); outside one it is the session's until it is put back.
    local = connection.in_atomic_block or not connection.get_autocommit()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('max_parallel_workers_per_gather'), "
                           "set_config('max_parallel_workers_per_gather', '0', %s)", [local])
            before = cursor.fetchone()[0]
        try:
            yield
        finally:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT set_config('max_parallel_workers_per_gather', %s, %s)", [before, local])
            except DatabaseError:  # an aborted transaction: its rollback undoes the change as well
                pass
    finally:
        if preparing:
            raw.prepare_threshold = threshold


def _sorted_matches(queryset: QuerySet, condition: Q, ordering: list, limit: int) -> list:
    """The first ``limit`` matches, sorted: the keys of every match sorted in a subquery, then only the page's
    rows read whole (``WHERE pk IN (SELECT pk … ORDER BY … LIMIT …)``). One statement; sorting whole rows
    took about twice as long (at 1,000,000 users, 4,000 matches: 2.5 ms for the keys against ~5 ms)."""
    keys = queryset.filter(condition).order_by(*ordering).values("pk")[:limit]
    return list(queryset.filter(pk__in=keys).order_by(*ordering))


def page(queryset: QuerySet, condition: Q, order: list[tuple[Prop, bool]], id_field: str, limit: int) -> list:
    """The first ``limit`` rows of ``queryset`` that match the search ``condition``, in (order..., id).

    Why not one ``ORDER BY … LIMIT``: the planner answers it either by walking the list order index and
    testing each row (fast when matches are everywhere; seconds when they are rare or all sort late: at
    1,000,000 users 136,000 rows read for a surname of 4,000 people, 7.9 s for a first name that sorts
    last) or by taking the matches from the search index and sorting them (fast for rare terms, a pass
    over the table for a term most rows match). It picks the walk assuming matches are spread evenly
    through the order, which names are not (one first name is one block of the order). So here:

    1. the planner's estimates of the rows (N) and of the matches (n): one EXPLAIN, nothing run;
    2. the walk may cost what sorting the matches costs: n / WALK_COST rows. If even an even spread
       of the matches would not fill the page within it (n²/WALK_COST < limit·N): the matches from
       the search index, sorted on an expression no index has (``ordering_for(by_index=False)``), so
       that no plan can walk the order, only their keys, then the page's rows read whole: one query
       (``_sorted_matches``);
    3. otherwise that walk, stopping when the page is full (``_walk``), which a common term fills at
       once; only if it did not fill the page, the matches after the last one it found, sorted as in
       2 (the rows it walked past did not match). A common term whose matches all sort late costs at
       most about twice the better plan, never a walk of the whole order.

    Same rows, same order and the same keyset as one ``ORDER BY … LIMIT`` (tests/api/test_search.py);
    at most four statements, each bounded, planned for the term on one core (``_planned_for_the_term``:
    two more, around them, on PostgreSQL). Without estimates (SQLite) the walk is ``WALK_ROWS`` long."""
    with _planned_for_the_term(queryset.db):
        return _page(queryset, condition, order, id_field, limit)


def _page(queryset: QuerySet, condition: Q, order: list[tuple[Prop, bool]], id_field: str, limit: int) -> list:
    ordering = odata.ordering_for(order, id_field)
    if len(order) != 1 or not odata.sorts_on_indexed_text(order):  # no order index to walk
        return list(queryset.filter(condition).order_by(*ordering)[:limit])
    sorted_matches = odata.ordering_for(order, id_field, by_index=False)
    estimates = _estimates(queryset, condition)
    if estimates is None:
        walk = max(WALK_ROWS, limit)
    else:
        rows, matches = estimates
        walk = int(matches / WALK_COST)
        if walk * matches < limit * rows:  # an even spread would not fill the page within the walk
            return _sorted_matches(queryset, condition, sorted_matches, limit)
        walk = max(walk, limit)
    fields = [prop.field for prop, _desc in order] + [id_field]
    walked = _walk(queryset, condition, order, fields, id_field, walk, limit)
    if len(walked) < limit:
        rest = queryset.filter(condition)
        if walked:
            rest = rest.filter(odata.rows_after(order, list(walked[-1]), id_field))
        walked += list(rest.order_by(*sorted_matches).values_list(*fields)[:limit - len(walked)])
    if not walked:
        return []
    by_id = {obj.pk: obj for obj in queryset.filter(pk__in=[row[-1] for row in walked])}
    return [by_id[row[-1]] for row in walked if row[-1] in by_id]
