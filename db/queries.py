"""The SQL behind Datasette: canned queries, Atom feeds (datasette-atom) and dashboard charts.

db/metadata.py writes these into datasette_metadata.yml. Every parameter is optional: Datasette
passes '' for one left empty, and each query says what '' means. Feeds return the columns
datasette-atom needs (atom_id, atom_title, atom_updated, atom_link, atom_content_html); their HTML
is built from escaped text only, so a document's own markup can never reach a feed reader as markup.
"""

from __future__ import annotations

from db import kinds
from db.schema import FIRM_EXPRESSION as FIRM
from db.columns import VIOLATION_LABELS
from db.site import DB_NAME, LISTING_PATH

FEED_SIZE = 50
FDA_LISTING_URL = "https://www.fda.gov" + LISTING_PATH


def html_escape(expr: str) -> str:
    """SQL expression: `expr` with & < > " ' escaped for HTML ('' when null)."""
    out = f"coalesce({expr}, '')"
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;")):
        out = f"replace({out}, '{char.replace(chr(39), chr(39) * 2)}', '{entity}')"
    return out


def _param(name: str, default) -> str:
    """SQL for a parameter with a default when left empty, as an integer."""
    return f"cast(coalesce(nullif(:{name}, ''), {default}) as integer)"


# The long lists (exosome_letters, awaiting_closeout, recent_changes, citing_cfr) show PAGE_SIZE rows a page (?page=2 for the
# next): 1,000 rows (Datasette's max_returned_rows) cost some 150 ms to render at 100,000 letters, and the SQL
# reads the long rows of the page's documents only.
# page=all gives every row (up to max_returned_rows), for a CSV or JSON export of the whole list; its offset is
# negative, which SQLite reads as 0.
PAGE_SIZE = 100
_LIMIT = f"(case when :page = 'all' then -1 else {PAGE_SIZE} end)"
_OFFSET = f"offset ({_param('page', 1)} - 1) * {PAGE_SIZE}"
PAGE = f"limit {_LIMIT} {_OFFSET}"


def url_path_segment(expr: str) -> str:
    """SQL expression: `expr` with the characters that end or split a URL path segment %-encoded."""
    out = expr
    for char, code in (("%", "%25"), (" ", "%20"), ("/", "%2F"), ("?", "%3F"), ("#", "%23")):
        out = f"replace({out}, '{char}', '{code}')"
    return out


# The document's page in this Datasette (/letter/<slug>, plugins/fdatrack_letter.py), absolute (feed
# readers do not resolve relative links reliably), from the address `fdatrack serve --base-url`
# configures (plugins/fdatrack_guard.py), never from the request's Host header, which any client can set.
ROW_URL = f"fdatrack_base_url() || '/letter/' || {url_path_segment('l.slug')}"
DOC_DATE = "l.date"  # letters.date: issue date, else the document's own date, else posted date
DOC_NAME = "coalesce(l.company, l.title, l.slug)"
VIOLATIONS_LIST = "(select group_concat(value, ', ') from json_each(l.violation_types))"


def _evidence(tag_filter: str = "") -> str:
    """SQL: the first proving sentence of the document's violation tags (optionally of one tag)."""
    return (
        "(select t.quote from letter_tags t where t.slug = l.slug and t.tag_kind = 'violation'"
        f"{tag_filter} order by t.start limit 1)"
    )


def _atom_content(evidence_sql: str, extra: str = "") -> str:
    """SQL building an entry's HTML: who, when, what, the proving sentence, links to fda.gov and the letter page."""
    return "\n  || ".join(
        [
            f"'<p><strong>' || {html_escape(DOC_NAME)} || '</strong>: ' || {html_escape('l.kind')}",
            f"', ' || {html_escape('l.issuing_office')} || ', dated ' || {html_escape(DOC_DATE)} || '</p>'",
            *([extra] if extra else []),
            f"'<p>Violation types: ' || {html_escape(VIOLATIONS_LIST)} || '</p>'",
            f"'<blockquote>' || {html_escape(evidence_sql)} || '</blockquote>'",
            f"'<p><a href=\"' || {html_escape('l.url')} || '\">Read it on fda.gov</a> · '",
            f"'<a href=\"' || {html_escape(ROW_URL)} || '\">Its page in fdatrack</a></p>'",
        ]
    )


# Each entry's author: the FDA office that issued the document (Atom requires one per entry or feed).
AUTHOR = "'U.S. FDA' || coalesce(', ' || l.issuing_office, '')"


def _feed(
    where: str,
    order: str,
    title_sql: str,
    updated_sql: str,
    link_sql: str,
    id_prefix: str,
    content_sql: str,
    empty_title: str,
) -> str:
    """A feed query: the newest matches, or one 'nothing yet' entry (datasette-atom fails on an empty feed)."""
    # `picked` orders on the sort keys alone; the entries' HTML (evidence subqueries, escaping) is then
    # built for those FEED_SIZE rows only, not for every match before the sort (100,000 letters, direct SQL: new_by_violation_type 462 → 107 ms, new_exosome_documents 194 → 27 ms).
    return f"""with picked as (
  select l.rowid as letter_rowid, l.slug, {updated_sql} as atom_updated,
    ({DOC_DATE} is null and l.posted_date is null) as undated
  from letters l
  where {where}
  order by undated, {order}
  limit {FEED_SIZE}
), hits as (
  select
    'tag:fdatrack,2026:{id_prefix}/' || l.slug as atom_id,
    {title_sql} as atom_title,
    {updated_sql} as atom_updated,
    {link_sql} as atom_link,
    {content_sql} as atom_content_html,
    {AUTHOR} as atom_author_name,
    l.slug, {DOC_NAME} as name, {DOC_DATE} as date, l.kind, l.url,
    p.undated
  from picked p join letters l on l.rowid = p.letter_rowid
  order by p.undated, {order}
)
select * from hits
union all
select 'tag:fdatrack,2026:{id_prefix}/none', '{empty_title}', '2000-01-01T00:00:00Z', '{FDA_LISTING_URL}',
  '<p>No document matches this feed yet.</p>', 'fdatrack', null, null, null, null, null, 0
where not exists (select 1 from hits)
order by undated, atom_updated desc"""


# A page of the matches picked on the date alone; the evidence is gathered for that page only.
EXOSOME_LETTERS = f"""with page as materialized (
  select l.rowid as letter_rowid, l.slug, {DOC_DATE} as date
  from letters l
  where l.exosome_related = 1
    and (:violation_type = '' or l.rowid in (select letter_rowid from letter_array_values where col = 'violation_types'
      and value = :violation_type))
    and (:year = '' or l.year = cast(:year as integer))
  order by date desc, l.slug
  {PAGE}
)
select
  l.slug, {DOC_NAME} as company, p.date, l.year, l.kind, l.regulator, l.issuing_office,
  l.violation_types, l.product_categories,
  (select group_concat(t.tag || ': ' || t.quote, char(10)) from letter_tags t
    where t.slug = l.slug and t.tag_kind = 'violation'
      and (:violation_type = '' or t.tag = :violation_type)) as evidence,
  l.url
from page p cross join letters l on l.rowid = p.letter_rowid
order by p.date desc, p.slug"""

EXOSOME_COUNTS = """select l.year, v.value as violation_type, count(*) as letters
from letters l, json_each(l.violation_types) v
where l.exosome_related = 1
group by l.year, v.value
order by l.year desc, letters desc"""

# Firms are matched on their name without case or punctuation ("Invitrx Therapeutics, Inc." is
# "Invitrx Therapeutics Inc."); MARCS-CMS numbers differ per case, so they cannot group a firm.
# One row per firm from letter_firms (m017: the count, dates and newest letter of each firm's warning and
# untitled letters, kept by triggers); `firm` links to firm_letters, which lists the firm's letters
# (plugins/fdatrack_letter.py). Grouping every letter here, and listing every slug of every firm, cost
# 42–110 ms of SQL and 10 MB of HTML (tens of thousands of links) at 100,000 letters.
_LETTER_KINDS = f"coalesce(kind, '{kinds.DEFAULT}') in {kinds.sql_list(kinds.LETTERS)}"
REPEAT_RECIPIENTS = f"""select company, firm, letters, first_letter, latest_letter, exosome_letters, latest_slug
from letter_firms
where letters >= {_param("min_letters", 2)}
order by letters desc, latest_letter desc"""

# The letters repeat_recipients counts for one firm, its name spelt any way (normalised as FIRM normalises
# company, so idx_letters_firm finds them).
FIRM_LETTERS = f"""select
  slug, company, letter_issue_date, kind, issuing_office, exosome_related, violation_types, url
from letters
where {FIRM} = {FIRM.replace("company", ":firm")}
  and company is not null and company != '' and {_LETTER_KINDS}
order by letter_issue_date desc, slug desc"""

AWAITING_CLOSEOUT = f"""select
  l.slug, l.company, l.letter_issue_date,
  cast(julianday('now') - julianday(l.letter_issue_date) as integer) as days_open,
  l.response_letter_date, l.issuing_office, l.exosome_related, l.violation_types, l.url
from letters l
where l.kind = '{kinds.WARNING_LETTER}'  -- not coalesce(): the index of m013 reads kind, close-out, delisted, date in order
  and l.closeout_letter_date is null
  and l.delisted_at is null
  and not exists (select 1 from letters c where c.parent_slug = l.slug and c.kind = 'closeout_letter')
  and julianday('now') - julianday(l.letter_issue_date) >= {_param("older_than_days", 0)}
  and (:exosome_only in ('', '0') or l.exosome_related = 1)
order by l.letter_issue_date, l.rowid  -- rowid: ties in a fixed order, still the index's order
{PAGE}"""

RECENT_CHANGES = f"""select
  v.seen_at, v.change, v.changed_fields, v.slug, coalesce(l.company, l.title) as company, l.kind,
  {DOC_DATE} as date, v.run_id, l.url
from letter_versions v
join letters l on l.slug = v.slug
where v.seen_at >= strftime('%Y-%m-%dT%H:%M:%S', 'now', '-' || {_param("days", 30)} || ' days')
order by v.seen_at desc, v.id desc
{PAGE}"""

# Each word of q must occur. fdatrack_fts_query (plugins/fdatrack_guard.py) drops quotes (no FTS5 syntax
# error can reach the user) and keeps the first 16 distinct words: snippet() runs as one SQLite
# instruction that the time limit cannot stop, and its cost grows with the number of terms.
# `snippet` is plain text with the matches between <mark> and </mark>; plugins/fdatrack_render.py
# escapes it and turns only those marks into tags in the HTML view.
SEARCH = f"""select
  l.slug, {DOC_NAME} as company, {DOC_DATE} as date, l.kind, l.exosome_related,
  snippet(letters_fts, -1, '<mark>', '</mark>', '…', 24) as snippet,
  l.url
from letters_fts
join letters l on l.rowid = letters_fts.rowid
where letters_fts match fdatrack_fts_query(:q)
order by rank
limit 100"""

# "1271.3", "21 CFR 1271", "21 C.F.R. § 1271.3(d)" and "part 211" all work; a section matches
# itself and its subsections (211 matches 211.100(a), not 2110).
_CFR_RANGE = (
    # a range of the citation index (the prefix before any '(' is the same in any case), then the exact test
    "c.citation >= w.prefix and c.citation < w.prefix || '/' and :section != '' "
    "and (c.citation like w.s or c.citation like w.s || '.%' or c.citation like w.s || '(%')"
)
CITING_CFR = f"""with wanted as (
  select s, substr(s, 1, instr(s || '(', '(') - 1) as prefix
  from (select case when s like '%CFR%' then s else '21 CFR ' || s end as s
    from (select trim(replace(replace(replace(replace(replace(upper(:section), 'C.F.R.', 'CFR'), '§', ''),
      'PART ', ''), '  ', ' '), '  ', ' ')) as s))
), dense as materialized (
  -- a section in 1 letter in 10 or more (counting citations, page by page): reading the letters newest first
  -- finds the page soonest; a rarer one: its letters from the citation index, sorted. One of the two selects
  -- below runs; the other has LIMIT 0, which SQLite checks before it reads anything.
  select (select count(*) from wanted w join citations c on c.citation >= w.prefix and c.citation < w.prefix || '/')
    * 10 >= (select coalesce(max(rowid), 0) from letters) * max(1, {_param("page", 1)}) as yes
), page as materialized (
  -- the page's documents, sorted on the date alone: the long rows are read for these only
  select * from (
    select l.rowid as letter_rowid, l.slug, l.letter_issue_date
    from letters l
    where exists (select 1 from wanted w join citations c on c.slug = l.slug and {_CFR_RANGE})
    order by l.letter_issue_date desc, l.slug
    limit (select case when yes then {_LIMIT} else 0 end from dense) {_OFFSET}
  )
  union all
  select * from (
    select l.rowid as letter_rowid, l.slug, l.letter_issue_date
    from letters l
    where l.slug in (select c.slug from wanted w join citations c on {_CFR_RANGE})
    order by l.letter_issue_date desc, l.slug
    limit (select case when yes then 0 else {_LIMIT} end from dense) {_OFFSET}
  )
)
select
  l.slug, l.company, l.letter_issue_date,
  (select group_concat(c.citation, '; ') from wanted w join citations c on c.slug = p.slug and {_CFR_RANGE})
    as citations,
  (select sum(c.count) from wanted w join citations c on c.slug = p.slug and {_CFR_RANGE}) as times_cited,
  l.exosome_related, l.violation_types, l.url
from page p cross join letters l on l.rowid = p.letter_rowid
order by p.letter_issue_date desc, p.slug"""

NEW_EXOSOME_FEED = _feed(
    where="l.exosome_related = 1",
    order="atom_updated desc, l.slug",
    title_sql=f"{DOC_NAME} || ' (' || coalesce(l.kind, 'document') || ', ' || coalesce({DOC_DATE}, '?') || ')'",
    updated_sql=f"coalesce(coalesce(l.posted_date, {DOC_DATE}) || 'T00:00:00Z', l.first_seen)",
    link_sql="l.url",
    id_prefix="exosome",
    content_sql=_atom_content(_evidence()),
    empty_title="No exosome-related documents yet",
)

# The feed-order index of m017 is read newest first, each document tested, until 50 match.
NEW_BY_VIOLATION_FEED = _feed(
    where="(:violation_type = '' and l.violation_types not in ('', '[]'))"
    " or l.rowid in (select letter_rowid from letter_array_values where col = 'violation_types'"
    " and value = :violation_type)",
    order="atom_updated desc, l.slug",
    title_sql=f"{DOC_NAME} || ' (' || coalesce({VIOLATIONS_LIST}, 'no violation type') || ', ' || coalesce({DOC_DATE}, '?') || ')'",
    updated_sql=f"coalesce(coalesce(l.posted_date, {DOC_DATE}) || 'T00:00:00Z', l.first_seen)",
    link_sql="l.url",
    id_prefix="violation",
    content_sql=_atom_content(_evidence(" and (:violation_type = '' or t.tag = :violation_type)")),
    empty_title="No documents of this violation type yet",
)

CLOSEOUT_DATE = "coalesce(l.closeout_letter_date, l.document_date)"
CLOSEOUTS_FEED = _feed(
    # One entry per close-out: the warning letter (it carries the charges), or the close-out document
    # itself when no stored letter names it.
    where=f"(l.closeout_letter_date is not null and coalesce(l.kind, '{kinds.DEFAULT}') != '{kinds.CLOSEOUT_LETTER}')"
    f" or (l.kind = '{kinds.CLOSEOUT_LETTER}' and not exists"
    " (select 1 from letters p where p.slug = l.parent_slug and p.closeout_letter_date is not null))",
    order="atom_updated desc, l.slug",
    title_sql=f"'Close-out: ' || {DOC_NAME} || ' (' || coalesce({CLOSEOUT_DATE}, '?') || ')'",
    updated_sql=f"coalesce({CLOSEOUT_DATE} || 'T00:00:00Z', l.last_seen)",
    link_sql="coalesce(l.closeout_letter_url, l.url)",
    id_prefix="closeout",
    content_sql=_atom_content(
        _evidence(),
        extra=f"'<p>Close-out letter dated ' || {html_escape(CLOSEOUT_DATE)} || ': <a href=\"' || "
        f"{html_escape('coalesce(l.closeout_letter_url, l.url)')} || '\">close-out letter on fda.gov</a></p>'",
    ),
    empty_title="No close-out letters yet",
)

_VIOLATION_HELP = "one of " + ", ".join(VIOLATION_LABELS)

# Same firm or product named by both regulators (issue 14). Names are compared without case, punctuation or a
# company suffix ("Regener-Eyes, LLC" is "regener-eyes"); a Health Canada notice matches an FDA document whose
# firm is its firm, or whose firm's whole name (5 characters or more) stands in its product or title as words.
_NORM = (
    "trim(replace(replace(replace(replace(replace(replace(replace(replace(' ' || lower({x}) || ' ', '.', ' '), "
    "',', ' '), ' llc ', ' '), ' inc ', ' '), ' ltd ', ' '), ' corp ', ' '), ' co ', ' '), '  ', ' '))"
)
# The Health Canada notices drive the join (CROSS JOIN keeps that order): with none, no FDA document is read.
# With some, each distinct company name is read from idx_letters_firm_cover (not from the long letters rows) and
# normalised once, the notices are matched against the names, and only the matched names' FDA documents are read,
# through the same index (100,000 FDA letters and 20 notices: 2,488 → 70 ms, same rows in the same order).
BOTH_REGULATORS = f"""with hc as materialized (
  select l.slug, l.kind, coalesce(l.company, l.title) as name, l.subject as product, l.date, l.url,
    {_NORM.format(x="l.company")} as firm,
    ' ' || {_NORM.format(x="coalesce(l.subject, '') || ' ' || l.title")} || ' ' as words
  from letters l where l.regulator = 'Health Canada'
), names as materialized (
  select company, {_NORM.format(x="company")} as firm
  from (select distinct company from letters indexed by idx_letters_firm_cover where company is not null)
  where exists (select 1 from hc)
), matched as materialized (
  select hc.*, names.company as fda_company, names.firm as fda_name
  from hc cross join names on (hc.firm is not null and hc.firm = names.firm)
    or (length(names.firm) >= 5 and instr(hc.words, ' ' || names.firm || ' ') > 0)
)
select m.fda_name as name, l.company as fda_firm, l.slug as fda_slug, l.kind as fda_kind, l.date as fda_date,
  m.slug as hc_slug, m.name as hc_title, m.product as hc_product, m.date as hc_date, l.url as fda_url,
  m.url as hc_url
from matched m cross join letters l on {FIRM.replace("company", "l.company")} = {FIRM.replace("company", "m.fda_company")}
  and l.company = m.fda_company and l.regulator = 'FDA'
order by name, hc_date desc, fda_date desc"""

CANNED_QUERIES = {
    "both_regulators": {
        "title": "Same product or firm named by both regulators",
        "description": "FDA documents and Health Canada notices that name the same firm, or a Health Canada notice "
        "whose product or title carries an FDA recipient's name (names compared without case, punctuation or "
        "LLC/Inc./Ltd./Corp.).",
        "sql": BOTH_REGULATORS,
    },
    "exosome_letters": {
        "title": "Exosome letters by violation type and year",
        "description": "Exosome-related documents, optionally of one violation type ("
        + _VIOLATION_HELP
        + ") and one year, with the sentences that prove each charge, newest first. Leave a field empty for all. "
        f"{PAGE_SIZE} a page: page=2 for the next, page=all for every row (CSV/JSON export).",
        "sql": EXOSOME_LETTERS,
        "params": ["violation_type", "year", "page"],
    },
    "exosome_counts": {
        "title": "Exosome letters: counts per year and violation type",
        "description": "How many exosome-related documents charged each violation type, per year.",
        "sql": EXOSOME_COUNTS,
    },
    "repeat_recipients": {
        "title": "Repeat recipients",
        "description": "Firms that received more than one warning or untitled letter (min_letters, default 2), "
        "names matched without case or punctuation: how many, the first and latest, the newest letter's page "
        "(latest_slug); each firm links to the list of its letters (firm_letters).",
        "sql": REPEAT_RECIPIENTS,
        "params": ["min_letters"],
    },
    "firm_letters": {
        "title": "Letters to one firm",
        "description": "The warning and untitled letters sent to one firm, newest first: firm is its name in any "
        "spelling (matched without case or punctuation, as in repeat_recipients).",
        "sql": FIRM_LETTERS,
        "params": ["firm"],
    },
    "awaiting_closeout": {
        "title": "Letters awaiting close-out",
        "description": "Listed warning letters with no close-out letter yet, longest open first. older_than_days "
        "(default 0) keeps letters at least that old; exosome_only=1 keeps exosome-related ones. "
        f"{PAGE_SIZE} a page: page=2 for the next, page=all for every row (CSV/JSON export).",
        "sql": AWAITING_CLOSEOUT,
        "params": ["older_than_days", "exosome_only", "page"],
    },
    "recent_changes": {
        "title": "What changed in the last N days",
        "description": "New, changed, delisted and reparsed documents seen by the crawler in the last `days` days "
        f"(default 30), from letter_versions, newest first; {PAGE_SIZE} a page: page=2 for the next, page=all for every row (CSV/JSON export).",
        "sql": RECENT_CHANGES,
        "params": ["days", "page"],
    },
    "search": {
        "title": "Full-text search with snippets",
        "description": "Documents containing every word of q (company, subject, title and text; English stemming: "
        "'exosomes' finds 'exosome'), best match first, with the matching passage highlighted; the first 16 "
        "distinct words count. For phrases, OR and "
        "NEAR use the letters table's search box with ?_searchmode=raw.",
        "sql": SEARCH,
        "params": ["q"],
    },
    "citing_cfr": {
        "title": "Letters citing a CFR section",
        "description": "Documents that cite a section of the Code of Federal Regulations and its subsections, "
        f"e.g. 1271.3, 21 CFR 211 or 21 C.F.R. § 1271.10(a); newest first, {PAGE_SIZE} a page: page=2 for the next, page=all for every row (CSV/JSON export).",
        "sql": CITING_CFR,
        "params": ["section", "page"],
    },
    "new_exosome_documents": {
        "title": "New exosome-related FDA documents",
        "description": "Atom feed (add .atom to this page's address): the newest exosome-related documents, each "
        "linking to fda.gov and to its page here.",
        "sql": NEW_EXOSOME_FEED,
    },
    "new_by_violation_type": {
        "title": "New FDA documents by violation type",
        "description": "Atom feed (add .atom, with ?violation_type=…): the newest documents charging one violation "
        "type (" + _VIOLATION_HELP + "); empty for any.",
        "sql": NEW_BY_VIOLATION_FEED,
        "params": ["violation_type"],
    },
    "closeouts": {
        "title": "New FDA close-out letters",
        "description": "Atom feed (add .atom): warning letters FDA has closed out, newest close-out first, linking to "
        "the close-out letter, the warning letter and its page here.",
        "sql": CLOSEOUTS_FEED,
    },
}

_MONTH = "substr(l.date, 1, 7) || '-01'"
# The charts count enforcement letters: warning and untitled letters (not notices, responses or close-outs),
# each letter once per bar: a letter charging three violation types is one letter in each of three bars,
# never three letters in one.
_LETTERS = f"l.kind in {kinds.sql_list(kinds.LETTERS)}"
_SINCE = "[[ and l.date >= date(:since) ]]"
# Counts are whole numbers: no 0.5 ticks, no repeated 1, 1, 2, 2 labels.
# tickMinStep alone does not stop Vega from putting a tick at 0.5 on a 0–1 axis (labelled "1" by the
# integer format): ticks between whole numbers get no label, no tick mark and no grid line.
_FRACTION = "datum.value % 1 != 0"
INTEGER_AXIS = {
    "tickMinStep": 1,
    "format": "d",
    "labelExpr": f"{_FRACTION} ? '' : datum.label",
    "tickOpacity": {"condition": {"test": _FRACTION, "value": 0}, "value": 1},
    "gridOpacity": {"condition": {"test": _FRACTION, "value": 0}, "value": 1},
}
KIND_NAMES = (
    "case l.kind " + " ".join(f"when '{k}' then '{k.replace('_', ' ')}'" for k in kinds.LETTERS) + " else l.kind end"
)
# A warning letter's close-out: the date on the letter (FDA's listing), else that of a stored close-out document.
_CLOSEOUT_DAY = (
    "coalesce(l.closeout_letter_date, (select min(c.document_date) from letters c "
    f"where c.parent_slug = l.slug and +c.kind = '{kinds.CLOSEOUT_LETTER}'))"
)  # +: by parent_slug's index, not kind's
CLOSEOUT_BIN_MONTHS = 6


def _count(title: str) -> dict:
    return {"field": "letters", "type": "quantitative", "title": title, "axis": INTEGER_AXIS}


DASHBOARD_CHARTS = {
    "letters-per-month": {
        "title": "Letters per month",
        "db": DB_NAME,
        "query": f"""select {_MONTH} as month, {KIND_NAMES} as kind, count(*) as letters
from letters l
where {_LETTERS} and l.date is not null {_SINCE}
group by month, l.kind
order by month""",
        "library": "vega-lite",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "month", "type": "temporal", "timeUnit": "yearmonth", "title": "Month issued"},
                "y": {**_count("Letters"), "aggregate": "sum"},
                "color": {"field": "kind", "type": "nominal", "title": "Kind"},
            },
        },
    },
    "per-year-by-violation": {
        "title": "Letters per year by violation type",
        "db": DB_NAME,
        "query": f"""select cast(l.year as text) as year, v.value as violation_type, count(distinct l.rowid) as letters
from letters l, json_each(l.violation_types) v
where {_LETTERS} and l.year is not null {_SINCE}
group by l.year, v.value
order by l.year""",
        "library": "vega-lite",
        "display": {
            # side by side, not stacked: each bar counts the letters charging one type
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "year", "type": "ordinal", "title": "Year issued"},
                "xOffset": {"field": "violation_type", "type": "nominal"},
                "y": _count("Letters charging it"),
                "color": {"field": "violation_type", "type": "nominal", "title": "Violation type"},
            },
        },
    },
    "exosome-per-year": {
        "title": "Exosome-related letters per year",
        "db": DB_NAME,
        "query": f"""select cast(l.year as text) as year, coalesce(l.regulator, 'FDA') as regulator, count(*) as letters
from letters l
where ({_LETTERS} or l.kind = '{kinds.HC_ADVISORY}') and l.exosome_related = 1 {_SINCE}
group by l.year, 2
order by l.year""",
        "library": "vega-lite",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {"field": "year", "type": "ordinal", "title": "Year"},
                "y": _count("Exosome-related letters"),
                "color": {"field": "regulator", "type": "nominal", "title": "Regulator"},
            },
        },
    },
    "issuing-offices": {
        "title": "Issuing offices",
        "db": DB_NAME,
        "query": f"""select coalesce(l.issuing_office, '(unknown)') as issuing_office, count(*) as letters,
  sum(l.exosome_related) as exosome_related
from letters l
where {_LETTERS} {_SINCE}
group by 1
order by letters desc
limit 20""",
        "library": "vega-lite",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "y": {"field": "issuing_office", "type": "nominal", "sort": "-x", "title": None},
                "x": _count("Letters"),
            },
        },
    },
    "recipients-by-state": {
        "title": "Recipients by U.S. state",
        "db": DB_NAME,
        "query": f"""select upper(trim(l.recipient_state)) as state, count(*) as letters
from letters l
where {_LETTERS} and coalesce(l.recipient_country, 'United States') in ('United States', 'USA', 'US')
  and trim(coalesce(l.recipient_state, '')) != '' {_SINCE}
group by 1
order by letters desc, state""",
        "library": "vega-lite",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "y": {"field": "state", "type": "nominal", "sort": "-x", "title": "State (recipient's address)"},
                "x": _count("Letters"),
            },
        },
    },
    "time-to-closeout": {
        "title": "Time from warning letter to close-out",
        "db": DB_NAME,
        "query": f"""with closed as materialized (
  select julianday({_CLOSEOUT_DAY}) - julianday(l.letter_issue_date) as days
  from letters l
  where l.kind = '{kinds.WARNING_LETTER}' and l.letter_issue_date is not null {_SINCE}
), binned as (
  select cast(days / 30.4375 / {CLOSEOUT_BIN_MONTHS} as integer) * {CLOSEOUT_BIN_MONTHS} as months_from
  from closed
  where days >= 0
)
select months_from, months_from || '–' || (months_from + {CLOSEOUT_BIN_MONTHS}) || ' months' as time_to_closeout,
  count(*) as letters
from binned
group by months_from
order by months_from""",
        "library": "vega-lite",
        "display": {
            "mark": {"type": "bar", "tooltip": True},
            "encoding": {
                "x": {
                    "field": "time_to_closeout",
                    "type": "ordinal",
                    "title": "Closed out after",
                    "sort": {"field": "months_from", "op": "min"},
                },
                "y": _count("Warning letters closed out"),
            },
        },
    },
}
