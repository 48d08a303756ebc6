"""Datasette plugin for fdatrack: facets and filters on the JSON-array columns that stay fast at 100,000 letters.

Datasette 0.65's array facet copies every row of the filtered table (`select distinct j.value, inner.*`,
body text included) before counting: 17 s at 100,000 letters, so the facet timed out on every table page.
Its `__arraycontains` filter runs json_each over every row. For letters.violation_types and
letters.product_categories both read letter_array_values instead (one row per value, kept by triggers:
db/schema.py m012), through its unique (col, value, letter_rowid) index:

- facet counts: `select value, count(*) from letter_array_values where col = … [and letter_rowid in (the
  filtered letters)] group by value`;
- `?violation_types__arraycontains=X`: `letters.rowid in (select letter_rowid from letter_array_values
  where col = 'violation_types' and value = X)`.

Any other table or column keeps Datasette's own SQL, except that the array facet counts without copying
the rows (`count(distinct rowid)` over json_each of the one column, which SQLite reads from an index).

Filtered pages (a filter, a search) read letter_facets (db/schema.py m016: one short row per letter with the
columns the facets, filters and default sort use, keyed by letters.rowid, kept by triggers) instead of the long
letters rows, whose text (6,000 characters on average) puts every row on pages of its own. Datasette's count,
its column facets and its page of rows on `letters` become the same SQL over `letter_facets as letters`:

- `select count(*) from letters where W` → `... from letter_facets as letters where W`;
- `select c as value, count(*) ... from (select … from letters where W) …` → the inner select over letter_facets;
- `select … from letters where W order by O limit N` → the N rowids picked in letter_facets (a subquery in FROM, so
  that W cannot reach a letters row), then those N rows.

The seven default facets of a filtered page (kind, regulator, issuing_office, exosome_related, year and the two
arrays) are counted in one pass: one group by over the filtered short rows (a few hundred combinations), kept for
the request and summed per facet in Python, in Datasette's order (most letters first, then by value); an array
counts as letter_array_values holds it (each text value of a JSON array, once per letter). Any other facet of a
filtered page is its own SQL over letter_facets (the array ones grouped by array first), or Datasette's.

SQLite decides whether that is possible: when W, the facet's column or O names a column letter_facets does not
have (a filter on `company`, `?_sort=company`, `?_facet=company`), or the file predates m016, the rewritten SQL
does not compile ("no such column"/"no such table") and Datasette's own SQL runs instead. What SQLite would compile
over letter_facets with another meaning is never rewritten (_rewritable_where, _plain_names): a "double-quoted" name
that is no column of both (SQLite reads it as a string), letter_facets' own letter_rowid, a comment, anything after
the condition at W's top level (GROUP BY, UNION …: ?sql= and canned queries pass here too), and for the rows a select
list or ORDER BY that is not plain names (an alias, DISTINCT, `order by 1`). The counts and rows are the same either way (letter_facets holds copies
of those columns, kept by triggers); only where SQLite reads them changes. tests/test_datasette_speed.py compares
every count, facet and page with plain SQL over `letters`.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import re
import sqlite3

import datasette.database
import datasette.facets
from datasette import hookimpl
from datasette.filters import Filters, TemplatedFilter
from datasette.utils import escape_sqlite

from db.site import DB_NAME, LETTER_FACETS_COLUMNS

TABLE = "letters"
ARRAY_COLUMNS = ("violation_types", "product_categories")  # db/schema.py ARRAY_VALUE_COLUMNS
VALUES_TABLE = "letter_array_values"
SHORT_TABLE = "letter_facets"  # db/schema.py m016
PRIMARY_KEY = "slug"  # letters' (Datasette's tie-breaker for ?_next=)
_FROM_TABLE = re.compile(rf"^\s*select .*? from {TABLE}\b(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


def _indexed(table: str | None, column: str) -> bool:
    return table == TABLE and column in ARRAY_COLUMNS


class ArrayValuesFacet(datasette.facets.ArrayFacet):
    """Datasette's array facet, counting from letter_array_values for the letters' array columns."""

    def _facet_sql(self, column: str, limit: int) -> list[str] | None:
        if not _indexed(self.table, column):
            return None
        match = _FROM_TABLE.match(self.sql)
        if not match:
            return None
        rest = match.group("rest").strip()
        if rest and _rewritable_where(rest):
            # the filtered letters' short rows, grouped by their array (a few hundred distinct arrays), each array
            # read as letter_array_values holds it: its text values, each once. letter_array_values if m016 is missing.
            array = "case when json_valid(g.arr) and json_type(g.arr) = 'array' then g.arr else '[]' end"
            return [
                f"select value, sum(n) as count from (select distinct g.arr, g.n, j.value from (select {column} as arr, "
                f"count(*) as n from {SHORT_TABLE} as {TABLE} {rest} group by {column}) g, json_each({array}) j "
                f"where j.type = 'text') group by value order by count desc, value limit {limit}",
                f"select value, count(*) as count from {VALUES_TABLE} where col = '{column}' and letter_rowid in "
                f"(select {TABLE}.rowid from {TABLE} {rest}) group by value order by count(*) desc, value limit {limit}",
            ]
        if rest:
            return [
                f"select value, count(*) as count from {VALUES_TABLE} where col = '{column}' and letter_rowid in "
                f"(select {TABLE}.rowid from {TABLE} {rest}) group by value order by count(*) desc, value limit {limit}"
            ]
        return [
            f"select value, count(*) as count from {VALUES_TABLE} where col = '{column}' "
            f"group by value order by count(*) desc, value limit {limit}"
        ]

    async def facet_results(self):
        configs = self.get_configs()
        column_sql = {}
        for source_and_config in configs:
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            column_sql[column] = self._facet_sql(column, self.get_facet_size() + 1)
        # Datasette builds the facet's links and labels around its SQL: swap only the SQL it runs
        original_execute = self.ds.execute

        async def execute(database, sql, params=None, **kwargs):
            for column, fast in column_sql.items():
                if fast and "deduped_array_items" in sql and f"[inner].{escape_sqlite(column)}" in sql:
                    db = self.ds.get_database(database)
                    where = _FROM_TABLE.match(self.sql).group("rest").strip()
                    limit = self.get_facet_size() + 1
                    grouped = await _facet_from_groups(db, where, params, column, limit, **kwargs)
                    if grouped is not None:
                        return grouped
                    return await _run_first_that_compiles(db, fast, params, **kwargs)
            return await original_execute(database, sql, params, **kwargs)

        self.ds = _ExecuteProxy(self.ds, execute)
        try:
            return await super().facet_results()
        finally:
            self.ds = self.ds._wrapped


class _ExecuteProxy:
    """The Datasette instance with one method, execute, replaced (for one facet's queries)."""

    def __init__(self, wrapped, execute):
        self._wrapped = wrapped
        self.execute = execute

    def __getattr__(self, name):
        return getattr(self._wrapped, name)


class ArrayContainsFilter(TemplatedFilter):
    """`column__arraycontains=value`: through letter_array_values for the letters' array columns."""

    def where_clause(self, table, column, value, param_counter):
        if _indexed(table, column):
            return (
                f"{TABLE}.rowid in (select letter_rowid from {VALUES_TABLE} where col = '{column}' "
                f"and value = :p{param_counter})"
            ), value
        return super().where_clause(table, column, value, param_counter)


_default = Filters._filters_by_key["arraycontains"]
_fast = ArrayContainsFilter(_default.key, _default.display, _default.sql_template, _default.human_template)
Filters._filters = [(_fast if f is _default else f) for f in Filters._filters]
Filters._filters_by_key = {**Filters._filters_by_key, "arraycontains": _fast}
# datasette.facets' own register_facet_classes hook reads this name when Datasette asks for the facet classes
datasette.facets.ArrayFacet = ArrayValuesFacet


# --- filtered pages: the short rows (letter_facets) instead of the long ones --------------------------------

_SELECT_LIST = r"[\w\s,\[\]\"]+?"  # Datasette's column list: names, quoted or bracketed, no expressions
_COUNT = re.compile(rf"^\s*select\s+count\(\*\)\s+from\s+{TABLE}\s+(?P<where>where\s.+)$", re.IGNORECASE | re.DOTALL)
_COLUMN_FACET = re.compile(
    rf"^\s*select\s+(?P<col>\w+|\[\w+\])\s+as\s+value,\s*count\(\*\)\s+as\s+count\s+from\s+\(\s*select\s+{_SELECT_LIST}"
    rf"\s+from\s+{TABLE}\s+(?P<where>where\s.+?)\s*\)\s*where\s+(?P=col)\s+is\s+not\s+null\s+group\s+by\s+(?P=col)\s+"
    r"order\s+by\s+count\s+desc,\s*value\s+limit\s+(?P<limit>\d+)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ROWS = re.compile(
    rf"^\s*select\s+(?P<cols>{_SELECT_LIST})\s+from\s+{TABLE}\s+(?P<where>where\s.+)\s+order\s+by\s+"
    r"(?P<order>[\w\s,\[\]\"]+?)\s+limit\s+(?P<limit>\d+)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_SHORT = f"{SHORT_TABLE} as {TABLE}"
# letters' columns that letter_facets copies (its own key, letter_rowid, is no column of letters)
SHORT_COLUMNS = {"rowid", *LETTER_FACETS_COLUMNS}
# SQL read as SQLite reads it: string literals, quoted names, comments, words (names and keywords), the rest
_TOKEN = re.compile(
    r"""(?P<string>'(?:[^']|'')*')|(?P<dq>"(?:[^"]|"")*")|(?P<br>\[[^\]]*\])|(?P<bt>`(?:[^`]|``)*`)"""
    r"""|(?P<comment>--|/\*)|(?P<param>[:@$?]\w*)|(?P<number>0[xX][0-9a-fA-F]+|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)|(?P<word>[^\W\d]\w*)|(?P<space>\s+)"""
    r"""|(?P<other>.)""",
    re.DOTALL,
)
_NAME_KINDS = ("dq", "br", "bt", "word")
# names only letter_facets or the rewritten SQL have: over letters they fail to compile or, "quoted", are strings
_OWN_NAMES = {"letter_rowid", "picked_rowid"}
# at the top level of a WHERE these would end it: what follows is no longer a condition on one letter
_ENDS_WHERE = {"group", "having", "window", "union", "intersect", "except", "order", "limit", "offset"}
_ORDER_WORDS = {"asc", "desc", "collate", "nulls", "first", "last"}


def _tokens(sql: str) -> list[tuple[str, str]] | None:
    """(kind, text) of each token but spaces; None for SQL the check cannot read (an unclosed quote)."""
    tokens = []
    for m in _TOKEN.finditer(sql):
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind == "other" and m.group() in "'\"[`":
            return None
        tokens.append((kind, m.group()))
    return tokens


def _name(kind: str, text: str) -> str:
    if kind == "dq":
        return text[1:-1].replace('""', '"').lower()
    if kind == "bt":
        return text[1:-1].replace("``", "`").lower()
    if kind == "br":
        return text[1:-1].lower()
    return text.lower()


def _names_mean_the_same(tokens: list[tuple[str, str]]) -> bool:
    """Every name reads the same over letter_facets as over letters: no "quoted" name that is not a column of both
    (SQLite reads a "name" that is no column as a string: `"company" like '%x%'` would compile over letter_facets and
    mean something else), and no letter_rowid but in Datasette's own `select letter_rowid from letter_array_values`
    (the arraycontains filter above). A bare, [bracketed] or "table"."column" unknown name fails to compile instead
    (Datasette's arraynotcontains reads `json_each("letters"."violation_types")`)."""
    for i, (kind, text) in enumerate(tokens):
        if kind not in _NAME_KINDS:
            continue
        name = _name(kind, text)
        dotted = (i > 0 and tokens[i - 1][1] == ".") or (i + 1 < len(tokens) and tokens[i + 1][1] == ".")
        if kind in ("dq", "bt") and name not in SHORT_COLUMNS and not dotted:  # "t"."c" is always a name
            return False
        if name in _OWN_NAMES:
            around = [t[1].lower() for t in tokens[max(i - 1, 0) : i + 3]]
            if name != "letter_rowid" or around != ["select", "letter_rowid", "from", VALUES_TABLE]:
                return False
    return True


def _rewritable_where(where: str) -> bool:
    """A WHERE (Datasette's, with any ?_where=) that means the same over letter_facets: no comment (the check reads
    no SQL inside one, and a quote in a comment would make it misread what follows), names as
    _names_mean_the_same, and nothing after the condition at its top level (a GROUP BY, a compound select's
    second SELECT and its ORDER BY, which the rewrite would apply to the short rows' pick)."""
    tokens = _tokens(where)
    if tokens is None or any(kind == "comment" for kind, _ in tokens) or not _names_mean_the_same(tokens):
        return False
    depth = 0
    for kind, text in tokens:
        if kind == "other" and text == "(":
            depth += 1
        elif kind == "other" and text == ")":
            depth -= 1
            if depth < 0:
                return False
        elif depth == 0 and kind == "word" and text.lower() in _ENDS_WHERE:
            return False
    return depth == 0


def _plain_names(sql: str, words: set[str] = frozenset()) -> bool:
    """A select list or an ORDER BY of plain names (each result column one name, so no alias that ORDER BY could
    read, no DISTINCT, no ordinal `order by 1`): the outer select reads them from letters as Datasette's does."""
    tokens = _tokens(sql)
    if tokens is None or not _names_mean_the_same(tokens):
        return False
    item: list[str] = []
    for kind, text in [*tokens, ("other", ",")]:
        if kind == "other" and text == ",":
            names = [t for t in item if t.lower() not in words]
            if len(names) != 1:
                return False
            item = []
        elif kind in _NAME_KINDS:
            item.append(text)
        else:
            return False
    return True


def short_rows_sql(sql: str) -> str | None:
    """Datasette's SQL for a filtered letters page, over letter_facets; None for any other SQL."""
    if m := _COUNT.match(sql):
        if _rewritable_where(m["where"]):
            return f"select count(*) from {_SHORT} {m['where']}"
    elif m := _COLUMN_FACET.match(sql):
        col = m["col"]
        if _rewritable_where(m["where"]):
            return (
                f"select {col} as value, count(*) as count from (select * from {_SHORT} {m['where']}) "
                f"where {col} is not null group by {col} order by count desc, value limit {m['limit']}"
            )
    elif m := _ROWS.match(sql):
        order, limit = m["order"], m["limit"]
        if _rewritable_where(m["where"]) and _plain_names(m["cols"]) and _plain_names(order, _ORDER_WORDS):
            if PRIMARY_KEY not in {_name(kind, text) for kind, text in _tokens(order) if kind in _NAME_KINDS}:
                # Datasette orders a first page by the sort column alone, the next ones (?_next=) by it and then the
                # primary key: equal values in the key's order on the first page too, or a run of them cut by the
                # page's end loses or repeats letters on the next page
                order = f"{order}, {PRIMARY_KEY}"
            # The pick is a subquery in FROM, beside letters: from a subquery in WHERE (or a CTE used there) SQLite
            # would read a column letter_facets does not have from the outer query's letters row (a correlated
            # reference) instead of refusing to compile it.
            # NOT INDEXED: the page is picked from a scan of the short rows (10-20 ms at 100,000), never through
            # m018's grouping index, which would read 100,000 rows by rowid for a filter that keeps most of them.
            # The rowid (INTEGER PRIMARY KEY) still serves a search's `rowid in (...)`.
            return (
                f"select {m['cols']} from (select {TABLE}.rowid as picked_rowid from {_SHORT} not indexed {m['where']} "
                f"order by {order} limit {limit}) as picked join {TABLE} on {TABLE}.rowid = picked.picked_rowid "
                f"order by {order} limit {limit}"
            )
    return None


_NOT_THERE = ("no such column", "no such table")


async def _run_first_that_compiles(db, candidates: list[str], params, **kwargs):
    """The first SQL of `candidates` that compiles against this file (the last one always runs)."""
    for sql in candidates[:-1]:
        try:
            return await _original_db_execute(db, sql, params, **{**kwargs, "log_sql_errors": False})
        except sqlite3.OperationalError as exc:
            if not str(exc).startswith(_NOT_THERE):
                raise
    return await _original_db_execute(db, candidates[-1], params, **kwargs)


# Datasette may load this file more than once in a process (one module per Datasette instance): wrap the original once
_original_db_execute = getattr(
    datasette.database.Database, "_fdatrack_original_execute", datasette.database.Database.execute
)
datasette.database.Database._fdatrack_original_execute = _original_db_execute


async def _execute(self, sql, params=None, *args, **kwargs):
    if self.name == DB_NAME and not args:
        grouped = await _column_facet_from_groups(self, sql, params, **kwargs)
        if grouped is not None:
            return grouped
    short = short_rows_sql(sql) if self.name == DB_NAME and not args else None
    if short is None:
        return await _original_db_execute(self, sql, params, *args, **kwargs)
    return await _run_first_that_compiles(self, [short, sql], params, **kwargs)


# --- the facets of one page in one pass ------------------------------------------------------------------------

# A filtered letters page's default facets are counted together: one group by over the filtered short rows (a few
# hundred combinations of these columns), summed per facet here, instead of one pass over the filtered rows per
# facet. An array column counts as letter_array_values holds it: each text value of a JSON array, once per letter.
GROUPED_FACETS = ("kind", "regulator", "issuing_office", "exosome_related", "year", *ARRAY_COLUMNS)
_GROUPS_SQL = (
    f"select {', '.join(GROUPED_FACETS)}, count(*) from {_SHORT} {{where}} group by {', '.join(GROUPED_FACETS)}"
)
# The groups computed for this request, by (where, params); None outside a request (asgi_wrapper below). One
# variable per process: Datasette runs this file again for each instance, but keeps the hooks of the first run.
_page_groups: contextvars.ContextVar[dict | None] = getattr(datasette.database, "_fdatrack_page_groups", None) or (
    contextvars.ContextVar("fdatrack_page_groups", default=None)
)
datasette.database._fdatrack_page_groups = _page_groups


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_groups(scope, receive, send):
            token = _page_groups.set({})
            try:
                await app(scope, receive, send)
            finally:
                _page_groups.reset(token)

        return with_groups

    return wrap


def _sqlite_order(value) -> tuple:
    """SQLite's order of values of different types (numbers, then text, then blobs); text in BINARY order."""
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value.encode("utf-8"))
    return (3, value)


def _not_json(constant: str):
    raise ValueError(f"{constant} is not JSON")  # json_valid() refuses NaN and Infinity


def _array_values(text) -> set[bytes]:
    """The values letter_array_values holds for one array column's text (m012): its text items, once each, as the
    bytes SQLite's json_each gives (a lone surrogate escape as its 3 bytes, no valid UTF-8; text cut at a \\u0000)."""
    if not isinstance(text, str):
        return set()
    try:  # SQLite's JSON functions read text up to a NUL
        items = json.loads(text.split("\0", 1)[0], parse_constant=_not_json)
    except ValueError:
        return set()
    if not isinstance(items, list):
        return set()
    return {v.encode("utf-8", "surrogatepass").split(b"\0", 1)[0] for v in items if isinstance(v, str)}


async def _column_facet_from_groups(db, sql: str, params, **kwargs):
    """Datasette's column facet on a filtered letters page, from the page's groups; None to run it as SQL."""
    m = _COLUMN_FACET.match(sql) if _page_groups.get() is not None else None
    if not m:
        return None
    return await _facet_from_groups(db, m["where"], params, m["col"], int(m["limit"]), **kwargs)


async def _page_groups_rows(db, where: str, params, **kwargs) -> list[tuple] | None:
    """The filtered letters' groups of GROUPED_FACETS values with their counts; None where letter_facets is missing."""
    try:
        result = await _original_db_execute(
            db, _GROUPS_SQL.format(where=where), params, **{**kwargs, "log_sql_errors": False}
        )
    except sqlite3.OperationalError as exc:
        if not str(exc).startswith(_NOT_THERE):
            raise
        return None
    return [tuple(row) for row in result.rows]


async def _facet_from_groups(db, where: str, params, column: str, limit: int, **kwargs):
    """One facet (value, count; most letters first, then by value) from the page's groups; None to run its SQL."""
    groups = _page_groups.get()
    if groups is None or column not in GROUPED_FACETS or not where or not _rewritable_where(where):
        return None
    key = (where, tuple(sorted(params.items())) if isinstance(params, dict) else tuple(params or ()))
    if key not in groups:
        # Datasette computes a page's facets concurrently: the first one to ask runs the group by, the others
        # await the same task (without it, each of them ran it: three times 200 ms at 100,000 letters)
        groups[key] = asyncio.ensure_future(_page_groups_rows(db, where, params, **kwargs))
    rows = await groups[key]
    if rows is None:
        return None
    position = GROUPED_FACETS.index(column)
    if any(isinstance(row[position], str) and "\ufffd" in row[position] for row in rows):
        # maybe text that is no valid UTF-8, which Datasette reads with U+FFFD for each bad byte: values SQLite
        # tells apart (and orders by their bytes) would read the same here; SQLite's own group by counts them
        return None
    counts: dict = {}
    for row in rows:
        values = _array_values(row[position]) if column in ARRAY_COLUMNS else [row[position]]
        for value in values:
            if value is not None:
                counts[value] = counts.get(value, 0) + row[-1]
    # an array's values are SQLite's bytes: ordered as text by them, read as Datasette reads text (invalid UTF-8
    # replaced)
    order = (lambda v: (2, v)) if column in ARRAY_COLUMNS else _sqlite_order
    shown = (lambda v: v.decode("utf-8", "replace")) if column in ARRAY_COLUMNS else (lambda v: v)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], order(item[0])))[:limit]
    return datasette.database.Results(
        [{"value": shown(value), "count": count} for value, count in ordered], False, [("value",), ("count",)]
    )


datasette.database.Database.execute = _execute
