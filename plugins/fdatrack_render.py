"""Datasette plugin for fdatrack (`fdatrack serve` loads this folder with --plugins-dir).

Search snippets: the `search` canned query returns plain text with the matching words between
<mark> and </mark>. Here that text is HTML-escaped first and only those exact marks become tags,
so a letter quoting `<script>` or `onerror=` markup is shown as text, whatever SQL produced it.
"""

from datasette import hookimpl
from markupsafe import Markup, escape

DB_NAME = "fda_letters"
SNIPPET_COLUMN = "snippet"


def highlight(text: str) -> Markup:
    """Escaped text with its <mark>…</mark> pairs, and nothing else, kept as HTML."""
    escaped = str(escape(text))
    return Markup(escaped.replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>"))


# Evidence is shown whole: Datasette cuts every other cell at truncate_cells_html (300) characters, which
# cut proving sentences (and the list of them in exosome_letters) in half.
WHOLE_COLUMNS = {(None, "evidence"), ("letter_tags", "quote")}


def whole_text(text: str) -> Markup:
    """Escaped text, its line breaks kept, never truncated."""
    return Markup('<span class="whole-text" style="white-space: pre-wrap">{}</span>').format(escape(text))


@hookimpl
def render_cell(value, column, table, database):
    if database != DB_NAME or not isinstance(value, str):
        return None
    if table is None and column == SNIPPET_COLUMN:
        return highlight(value)
    if (table, column) in WHOLE_COLUMNS:
        return whole_text(value)
    return None


# Datasette 0.65 prints every column's description above a table; with ~50 documented columns of
# `letters` that pushes the rows below the fold. Folded into <details>, they are one click away
# (and still in each column header's menu).
FOLD_COLUMN_DESCRIPTIONS = """
document.querySelectorAll("dl.column-descriptions").forEach(function (dl) {
  var details = document.createElement("details");
  var summary = document.createElement("summary");
  summary.textContent = "What each column means (" + dl.querySelectorAll("dt").length + " columns)";
  dl.parentNode.insertBefore(details, dl);
  details.appendChild(summary);
  details.appendChild(dl);
});
"""


# The columns the letters table page shows by default (templates/_table-table-fda_letters-letters.html, through
# extra_template_vars); "all columns" (?_nocol=raw_html) and any ?_col=/?_nocol= show what they ask for.
READER_COLUMNS = (
    "slug",
    "company",
    "kind",
    "date",
    "letter_issue_date",
    "posted_date",
    "issuing_office",
    "exosome_related",
    "violation_types",
    "product_categories",
    "subject",
    "title",
)


@hookimpl
def extra_template_vars(database, table):
    if database == DB_NAME and table == "letters":
        return {"letters_reader_columns": list(READER_COLUMNS)}
    return None


@hookimpl
def extra_body_script(template, database):
    if database == DB_NAME and (template == "table.html" or template.startswith("table-")):
        return FOLD_COLUMN_DESCRIPTIONS
    return None
