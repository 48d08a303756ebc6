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
"""

from __future__ import annotations

import re

import datasette.facets
from datasette.filters import Filters, TemplatedFilter
from datasette.utils import escape_sqlite

TABLE = "letters"
ARRAY_COLUMNS = ("violation_types", "product_categories")  # db/schema.py ARRAY_VALUE_COLUMNS
VALUES_TABLE = "letter_array_values"
_FROM_TABLE = re.compile(rf"^\s*select .*? from {TABLE}\b(?P<rest>.*)$", re.IGNORECASE | re.DOTALL)


def _indexed(table: str | None, column: str) -> bool:
    return table == TABLE and column in ARRAY_COLUMNS


class ArrayValuesFacet(datasette.facets.ArrayFacet):
    """Datasette's array facet, counting from letter_array_values for the letters' array columns."""

    def _facet_sql(self, column: str, limit: int) -> str | None:
        if not _indexed(self.table, column):
            return None
        match = _FROM_TABLE.match(self.sql)
        if not match:
            return None
        rest = match.group("rest").strip()
        within = f" and letter_rowid in (select {TABLE}.rowid from {TABLE} {rest})" if rest else ""
        return (
            f"select value, count(*) as count from {VALUES_TABLE} where col = '{column}'{within} "
            f"group by value order by count(*) desc, value limit {limit}"
        )

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
                    return await original_execute(database, fast, params, **kwargs)
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
