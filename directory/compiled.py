"""Querysets compiled to SQL once per process and shape, then only bound and run.

Django compiles a queryset's SQL on every evaluation. For the access panel's two reads on every page (the
person's organizations, My Apps' tiles) compiling cost several times what PostgreSQL took to answer
(bench/panel.py: ~4–10 ms of Python against well under 1 ms of database), the reason the panel missed its
speed goal. :class:`CompiledQuery` builds the queryset once per *shape* with stand-in ids, remembers the SQL,
which parameters are those ids, the column converters and how rows become objects — Django's own
``ModelIterable`` / ``ValuesIterable`` steps — and later runs the same SQL with the real ids.

The contract with ``build``: the SQL must depend only on the shape key and the ids it is given (they are
UUIDs, and nothing else may vary between calls of one shape). Anything else that changes the query
(a search term, a viewer-dependent rule) belongs in the key, or on the ORM path. ``texts`` (strings, such
as an e-mail address) are bound the same way, provided the queryset passes them to the database as
given (an exact match on a value, not inside a LIKE pattern): the plan refuses one it cannot find.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from types import MethodType

from django.db import connections
from django.db.models import Field, Model, QuerySet, sql
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLInsertCompiler


@dataclass(frozen=True)
class _Plan:
    sql: str
    slots: tuple  # per parameter: (id name, as given) for a stand-in id, else (None, the constant)
    converters: tuple  # ((position, (converter, …), expression), …)
    model: type | None  # None: rows are dicts (a values() queryset)
    names: tuple  # values(): the columns' names
    init_list: tuple  # models: the model's columns (attnames), from model_start to model_end
    model_start: int
    model_end: int
    klass_info: dict | None
    select: list | None
    annotation_col_map: dict


def _matches(param, stand_in: uuid.UUID) -> str | None:
    """How a stand-in id appears among the parameters: as the UUID (PostgreSQL) or as its hex (SQLite)."""
    if param == stand_in:
        return "uuid"
    if param == stand_in.hex:
        return "hex"
    if param == str(stand_in):
        return "str"
    return None


class CompiledQuery:
    """``build(key, **ids) -> QuerySet`` compiled once per (database, key); :meth:`run` binds ``ids``."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._plans: dict = {}

    def _plan(self, alias: str, key: Hashable, names: tuple[str, ...], texts: tuple[str, ...] = ()) -> _Plan:
        stand_ins = {name: uuid.uuid4() for name in names}
        text_stand_ins = {name: f"stand-in-{uuid.uuid4().hex}" for name in texts}
        queryset = self.build(key, **stand_ins, **text_stand_ins)
        query = queryset.query
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        slots = []
        found = set()
        for param in params:
            slot = (None, param)
            for name, stand_in in text_stand_ins.items():
                if param == stand_in:
                    slot = (name, "text")
                    found.add(name)
            for name, stand_in in stand_ins.items():
                form = _matches(param, stand_in)
                if form is not None:
                    slot = (name, form)
                    found.add(name)
                    break
            slots.append(slot)
        if found != set(names) | set(texts):
            raise ValueError(f"the compiled query does not use {sorted(set(names) | set(texts) - found)}")
        converters = compiler.get_converters([s[0] for s in compiler.select])
        values = queryset._iterable_class.__name__ == "ValuesIterable"
        if values and any(alias is None for _expr, _sql, alias in compiler.select):
            raise ValueError("a values() query whose columns are not all named")
        klass_info = compiler.klass_info
        select_fields = klass_info["select_fields"] if klass_info and not values else []
        start, end = (select_fields[0], select_fields[-1] + 1) if select_fields else (0, 0)
        return _Plan(
            sql=sql, slots=tuple(slots),
            converters=tuple((pos, tuple(convs), expr) for pos, (convs, expr) in converters.items()),
            model=None if values else queryset.model,
            names=tuple(alias for _expr, _sql, alias in compiler.select) if values else (),
            init_list=tuple(f[0].target.attname for f in compiler.select[start:end]),
            model_start=start, model_end=end, klass_info=None if values else klass_info,
            select=None if values else compiler.select, annotation_col_map=dict(compiler.annotation_col_map or {}))

    def run(self, key: Hashable, *, using: str = "default", texts: dict[str, str] | None = None,
            **ids: uuid.UUID) -> list:
        """The rows for ``ids`` and ``texts`` (model instances with their ``select_related`` objects and
        annotations, or dicts for a ``values()`` queryset)."""
        connection = connections[using]
        texts = texts or {}
        plan_key = (connection.vendor, using, key, tuple(sorted(ids)), tuple(sorted(texts)))
        plan = self._plans.get(plan_key)
        if plan is None:
            plan = self._plans[plan_key] = self._plan(using, key, tuple(sorted(ids)), tuple(sorted(texts)))
        params = []
        for name, given in plan.slots:
            if name is None:
                params.append(given)
            elif given == "text":
                params.append(texts[name])
            else:
                value = ids[name] if isinstance(ids[name], uuid.UUID) else uuid.UUID(str(ids[name]))
                params.append(value if given == "uuid" else value.hex if given == "hex" else str(value))
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.converters:
            converted = []
            for row in rows:
                row = list(row)
                for pos, convs, expression in plan.converters:
                    value = row[pos]
                    for converter in convs:
                        value = converter(value, expression, connection)
                    row[pos] = value
                converted.append(row)
            rows = converted
        if plan.model is None:
            return [dict(zip(plan.names, row, strict=True)) for row in rows]
        populators = get_related_populators(plan.klass_info, plan.select, using)
        objects = []
        for row in rows:
            obj = plan.model.from_db(using, plan.init_list, row[plan.model_start:plan.model_end])
            for populator in populators:
                populator.populate(row, obj)
            for name, pos in plan.annotation_col_map.items():
                setattr(obj, name, row[pos])
            objects.append(obj)
        return objects


# --- inserts -------------------------------------------------------------------------------------

#: (alias, vendor, model, fields, rows, on_conflict) → the INSERT's SQL, as Django's compiler wrote it.
_INSERTS: dict = {}


def insert_statement(model: type[Model], fields: Sequence[Field], rows: Sequence[Model], *, using: str,
                     on_conflict=None) -> tuple[str, tuple]:
    """One ``INSERT … VALUES (…), (…)`` of ``rows`` (no RETURNING), as ``InsertQuery``'s compiler writes it,
    its SQL compiled once per process and shape (model, fields, number of rows, ``on_conflict``); later rows
    of that shape only get their values, prepared as the compiler prepares them (``pre_save``, then
    ``get_db_prep_save``). A value that is an expression, or a field whose placeholder depends on its value,
    goes through the compiler every time.

    The rows are always one ``VALUES`` list, never PostgreSQL's ``UNNEST`` of arrays that Django uses for
    bulk inserts: for the few rows of one request the arrays' client-side quoting (every JSON value escaped
    again as an array element) cost more than the planning ``UNNEST`` saved; with prepared statements (the
    default, settings ``DB_PREPARED_STATEMENTS``) each shape is planned once per connection anyway. Meant for
    a handful of rows."""
    connection = connections[using]
    fields = tuple(fields)
    key = (using, connection.vendor, model, fields, len(rows), on_conflict)
    statement = _INSERTS.get(key)
    if statement is not None:
        params = _insert_params(fields, rows, connection)
        if params is not None:
            return statement, params
    query = sql.InsertQuery(model, on_conflict=on_conflict)
    query.insert_values(list(fields), list(rows))
    compiler = query.get_compiler(connection=connection)
    # The generic VALUES assembly, not the backend's (PostgreSQL's UNNEST; the same SQL elsewhere).
    compiler.assemble_as_sql = MethodType(SQLInsertCompiler.assemble_as_sql, compiler)
    statements = compiler.as_sql()
    if len(statements) != 1:
        raise ValueError("insert_statement() needs a database that inserts several rows in one statement")
    statement, params = statements[0]
    plain = fields and not any(hasattr(field, "get_placeholder") for field in fields) and not any(
        hasattr(getattr(obj, field.attname), "resolve_expression") for obj in rows for field in fields)
    if plain and statement.count("%s") == len(params):  # only a statement of plain placeholders is kept
        _INSERTS.setdefault(key, statement)
    return statement, params


def _insert_params(fields: tuple[Field, ...], rows: Sequence[Model], connection) -> tuple | None:
    """The compiler's parameters for ``rows``, row by row (None when a value needs the compiler)."""
    params = []
    for obj in rows:
        for field in fields:
            value = field.pre_save(obj, True)
            if hasattr(value, "resolve_expression"):
                return None
            value = field.get_db_prep_save(value, connection=connection)
            if hasattr(value, "as_sql"):
                return None
            params.append(value)
    return tuple(params)


#: psycopg keeps how it split a statement on its placeholders (an LRU of 128 statements) only for statements of
#: at most 50 parameters; the invitation's one insert (the guest's identity, the invitation, its e-mail and the
#: audit rows: 92) was split again on every call, 0.3 ms of the POST's CPU (bench/README.md). Few statements
#: of this project have more; those are the few shapes :func:`insert_statement` keeps.
PSYCOPG_CACHED_STATEMENT_PARAMS = 128


def let_psycopg_cache_larger_statements() -> None:
    """Raise psycopg's parameter limit for its statement cache (a module constant it reads on every call; no
    public setting exists). A psycopg without it is left as it is."""
    try:
        from psycopg import _queries
    except ImportError:  # no psycopg (SQLite only) or a version that moved it
        return
    if getattr(_queries, "MAX_CACHED_STATEMENT_PARAMS", None) is not None:
        _queries.MAX_CACHED_STATEMENT_PARAMS = max(_queries.MAX_CACHED_STATEMENT_PARAMS,
                                                   PSYCOPG_CACHED_STATEMENT_PARAMS)
