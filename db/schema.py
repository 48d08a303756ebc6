"""The database schema, as sqlite-utils migrations: a later change upgrades an existing file.

Every migration is literal and frozen: it spells out its columns and expressions and calls no code
of the project, so today's code cannot change what an old migration does (tests/test_schema.py
compares them with the schema they produced when they shipped). Append new migrations at the end;
never edit one that has shipped. A new column is a registry entry in db/columns.py and a new
migration that names it (tests/test_columns.py checks the two agree).
"""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("fdatrack")


@migrations()
def m001_initial(db: Database) -> None:
    db["runs"].create(
        {
            "id": int,
            "spider": str,
            "base_url": str,
            "started_at": str,
            "finished_at": str,
            "status": str,
            "close_reason": str,
            "requests": int,
            "letters_seen": int,
            "new": int,
            "changed": int,
            "unchanged": int,
            "delisted": int,
            "errors": int,
            "duration_s": float,
        },
        pk="id",
    )
    db["letters"].create(
        {
            "slug": str,
            "url": str,
            "kind": str,
            "company": str,
            "marcs_cms": str,
            "letter_issue_date": str,
            "posted_date": str,
            "subject": str,
            "reference": str,
            "delivery_method": str,
            "product": str,
            "recipient_name": str,
            "recipient_title": str,
            "recipient_street": str,
            "recipient_city": str,
            "recipient_state": str,
            "recipient_postal_code": str,
            "recipient_country": str,
            "recipient_emails": str,  # JSON array
            "issuing_office": str,
            "issuing_office_raw": str,
            "regulated_products": str,  # JSON array
            "content_current_as_of": str,
            "excerpt": str,
            "response_letter_date": str,
            "response_letter_url": str,
            "closeout_letter_date": str,
            "closeout_letter_url": str,
            "body_text": str,
            "exosome_related": int,
            "exosome_score": float,
            "regen_medicine_related": int,
            "violation_types": str,  # JSON array
            "product_categories": str,  # JSON array
            "websites": str,  # JSON array
            "classifier_version": str,
            "content_hash": str,
            "listing_hash": str,
            "first_seen": str,
            "last_seen": str,
            "fetched_at": str,
            "delisted_at": str,
            "raw_html": str,
        },
        pk="slug",
        not_null={"url"},
    )
    db["errors"].create(
        {"id": int, "run_id": int, "at": str, "url": str, "stage": str, "reason": str},
        pk="id",
        foreign_keys=[("run_id", "runs", "id")],
    )
    db["letter_versions"].create(
        {
            "id": int,
            "slug": str,
            "run_id": int,
            "seen_at": str,
            "change": str,
            "changed_fields": str,  # JSON array
            "content_hash": str,
            "raw_html_zlib": bytes,
        },
        pk="id",
        foreign_keys=[("slug", "letters", "slug"), ("run_id", "runs", "id")],
    )
    db["classifications"].create(
        {
            "slug": str,
            "classifier_version": str,
            "classified_at": str,
            "exosome_related": int,
            "exosome_score": float,
            "regen_medicine_related": int,
            "violation_types": str,
            "product_categories": str,
            "websites": str,
        },
        pk="slug",
        foreign_keys=[("slug", "letters", "slug")],
    )
    db["letter_tags"].create(
        {
            "slug": str,
            "tag_kind": str,
            "tag": str,
            "quote": str,
            "start": int,
            "end": int,
            "classifier_version": str,
        },
        pk=("slug", "tag_kind", "tag"),
        foreign_keys=[("slug", "letters", "slug")],
    )
    db["citations"].create(
        {"slug": str, "citation": str, "count": int},
        pk=("slug", "citation"),
        foreign_keys=[("slug", "letters", "slug")],
    )
    db["letters"].enable_fts(["company", "subject", "body_text"], create_triggers=True, tokenize="porter")
    for table, cols in [
        ("letters", ["posted_date"]),
        ("letters", ["letter_issue_date"]),
        ("letters", ["issuing_office"]),
        ("letters", ["exosome_related"]),
        ("errors", ["run_id"]),
        ("letter_versions", ["slug"]),
        ("letter_tags", ["tag"]),
        ("citations", ["citation"]),
    ]:
        db[table].create_index(cols, if_not_exists=True)


@migrations()
def m002_documents(db: Database) -> None:
    """All document kinds in `letters`: parent link, title, audience, date; FTS over the title too."""
    existing = db["letters"].columns_dict
    for name, type_ in {
        "parent_slug": str,  # response/close-out letter -> the warning letter it answers or closes
        "title": str,  # the page's or PDF's own title (safety notices have no company)
        "audience": str,  # MedWatch "AUDIENCE:" line, e.g. "Health Professional, Patient, Consumer"
        "document_date": str,  # the document's own date (YYYY-MM-DD) for kinds without a letter issue date
    }.items():
        if name not in existing:
            db["letters"].add_column(name, type_)
    for cols in (["kind"], ["parent_slug"], ["document_date"]):
        db["letters"].create_index(cols, if_not_exists=True)
    db["letters"].disable_fts()
    db["letters"].enable_fts(["company", "subject", "title", "body_text"], create_triggers=True, tokenize="porter")
    db["letters"].populate_fts(["company", "subject", "title", "body_text"])
    db.create_view(
        "documents",
        """
select
  slug, kind, coalesce(document_date, letter_issue_date) as document_date,
  coalesce(title, company) as title, company, parent_slug, issuing_office, audience,
  exosome_related, regen_medicine_related, violation_types, url, body_text
from letters
""",
        replace=True,
    )


@migrations()
def m003_letters_year(db: Database) -> None:
    """letters.year: the issue (or document, or posted) date's year, computed by SQLite.

    A VIRTUAL generated column (Datasette's `year` facet, the per-year charts): SQLite keeps it right
    on every write, and store.py never writes it."""
    if "year" not in {c[1] for c in db.execute("pragma table_xinfo(letters)").fetchall()}:
        db.execute(
            "alter table letters add column year integer generated always as "
            "(cast(substr(coalesce(letter_issue_date, document_date, posted_date), 1, 4) as integer)) virtual"
        )
    db["letters"].create_index(["year"], if_not_exists=True)


@migrations()
def m004_history(db: Database) -> None:
    """site_state (memory between runs), letters.listing_row, run modes and counts, version notes."""
    db["site_state"].create({"key": str, "value": str, "updated_at": str}, pk="key", if_not_exists=True)
    for table, columns in [
        ("letters", {"listing_row": str}),  # JSON object: the listing row last seen, for `fdatrack reparse`
        ("runs", {"mode": str, "listing_rows": int, "letter_pages": int, "pages_incomplete": int, "relisted": int}),
        ("letter_versions", {"note": str}),
    ]:
        existing = db[table].columns_dict
        for name, type_ in columns.items():
            if name not in existing:
                db[table].add_column(name, type_)
    db["letter_versions"].create_index(["run_id"], if_not_exists=True)
    db["letters"].create_index(["delisted_at"], if_not_exists=True)
    # Letters stored before this migration carry a listing_hash over other fields: recompute it
    # the way incremental runs compare rows, so an upgraded database is not fetched all over again.
    # (The hash as it was when m004 shipped, copied here: it must not follow later code.)
    import hashlib
    import json
    from urllib.parse import urlsplit

    def site_relative(url):
        if not url or not isinstance(url, str):
            return url
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    fields = [
        "posted_date",
        "letter_issue_date",
        "company",
        "issuing_office",
        "subject",
        "response_letter_date",
        "response_letter_url",
        "closeout_letter_date",
        "closeout_letter_url",
    ]
    for row in list(db.query("select * from letters")):
        payload = {f: site_relative(row.get(f)) if f.endswith("_url") else row.get(f) for f in fields}
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
        db.execute("update letters set listing_hash = ? where slug = ?", [digest, row["slug"]])


@migrations()
def m005_letters_date(db: Database) -> None:
    """letters.date: the issue (or document, or posted) date, computed by SQLite."""
    if "date" not in {c[1] for c in db.execute("pragma table_xinfo(letters)").fetchall()}:
        # one date for every kind (letters: issue date; notices: their own date), VIRTUAL like `year`
        db.execute(
            "alter table letters add column date text generated always as "
            "(coalesce(letter_issue_date, document_date, posted_date)) virtual"
        )
    db["letters"].create_index(["date"], if_not_exists=True)


@migrations()
def m006_scale_indexes(db: Database) -> None:
    """Indexes Datasette needs at 100,000 letters (bench/datasette_scale.py).

    The array facets (violation_types, product_categories) otherwise read every row of
    `letters`, whose body text makes the rows long: a covering index is ~7x faster. The
    recent-changes query filters and sorts letter_versions by seen_at.
    """
    for table, cols in [
        ("letters", ["violation_types"]),
        ("letters", ["product_categories"]),
        ("letter_versions", ["seen_at"]),
    ]:
        db[table].create_index(cols, if_not_exists=True)


@migrations()
def m007_run_ledger(db: Database) -> None:
    """runs: the ledger's counts (listed = accounted), how the listing was read, letters kept
    though missing from the listing."""
    existing = db["runs"].columns_dict
    for name, type_ in {
        "listed": int,
        "accounted": int,
        "skipped": int,
        "unaccounted": int,
        "listing_way": str,
        "missing_from_listing": int,
    }.items():
        if name not in existing:
            db["runs"].add_column(name, type_)


@migrations()
def m008_document_attachments(db: Database) -> None:
    """letters.attachments: the files listed beside a letter (JSON array of {title, url})."""
    if "attachments" not in db["letters"].columns_dict:
        db["letters"].add_column("attachments", str)


# A firm's name without case or punctuation ("Invitrx Therapeutics, Inc." is "invitrx therapeutics inc"):
# how the repeat-recipients query and the letter page's "other letters to this recipient" match firms.
# An index on the expression itself lets the letter page find a firm's letters without reading the table;
# SQLite uses it only where a query spells the expression exactly so (db/queries.py FIRM); m009 spells it
# out as it shipped, and tests/test_columns.py checks this constant still matches the index.
FIRM_EXPRESSION = "trim(replace(replace(replace(replace(lower(company), '.', ''), ',', ''), '  ', ' '), '  ', ' '))"


@migrations()
def m009_firm_index(db: Database) -> None:
    """An index on each letter's normalised company (the letter page's other letters to this recipient)."""
    db.execute(
        "create index if not exists idx_letters_firm on letters "
        "(trim(replace(replace(replace(replace(lower(company), '.', ''), ',', ''), '  ', ' '), '  ', ' ')))"
    )


@migrations()
def m010_chart_indexes(db: Database) -> None:
    """Covering indexes for the dashboard's charts (db/queries.py DASHBOARD_CHARTS): each chart reads an
    index instead of every long row of `letters` (at 100,000 letters, 0.9 s → a few tens of ms)."""
    for cols in (
        ["kind", "date"],
        ["kind", "year", "violation_types"],
        ["kind", "issuing_office", "exosome_related"],
        ["kind", "recipient_country", "recipient_state"],
        ["kind", "letter_issue_date", "closeout_letter_date", "slug"],
    ):
        db["letters"].create_index(cols, if_not_exists=True)


# --- issue 12 (the letter reader): m011–m019 --------------------------------------------------


@migrations()
def m011_raw_page_once(db: Database) -> None:
    """Each raw page stored once: in the versions archive (letter_versions.raw_html_zlib), not also in letters.raw_html.

    A letter whose page is in letters.raw_html but in no archived version gets an 'archived' version holding it
    first, so `fdatrack reparse` and the letter page's diff lose nothing. Run VACUUM to give the space back."""
    import zlib

    rows = db.execute(
        "select l.slug, l.raw_html, l.content_hash from letters l where l.raw_html is not null and l.raw_html != '' "
        "and not exists (select 1 from letter_versions v where v.slug = l.slug and length(v.raw_html_zlib) > 0)"
    ).fetchall()
    for slug, raw_html, content_hash in rows:
        db.execute(
            "insert into letter_versions (slug, run_id, seen_at, change, changed_fields, content_hash, raw_html_zlib, note) "
            "values (?, null, strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now'), 'archived', '[]', ?, ?, ?)",
            [
                slug,
                content_hash,
                zlib.compress(raw_html.encode("utf-8"), 9),
                "page moved from letters.raw_html into the archive (migration m011)",
            ],
        )
    db.execute("update letters set raw_html = null where raw_html is not null")


# The values of the JSON-array columns Datasette facets and filters on, one row each: the facet counts and
# `?violation_types__arraycontains=…` read this index instead of running json_each over every letter
# (plugins/fdatrack_speed.py). Kept by triggers, so every writer (store, reparse, the benchmark's bulk
# build) keeps it right. letter_rowid is letters.rowid, as the full-text index uses it.
ARRAY_VALUE_COLUMNS = ("violation_types", "product_categories")


def _array_values_sql(row: str, rowid: str) -> str:
    return " union ".join(
        f"select {rowid}, '{col}', value from json_each(case when json_valid({row}.{col}) "
        f"and json_type({row}.{col}) = 'array' then {row}.{col} else '[]' end) where type = 'text'"
        for col in ARRAY_VALUE_COLUMNS
    )


@migrations()
def m012_array_values(db: Database) -> None:
    """letter_array_values: one row per value of letters.violation_types and product_categories, kept by triggers."""
    # A plain rowid table with a unique covering index: SQLite 3.40's quick_check reports a NOT NULL column of a
    # WITHOUT ROWID table with a secondary index as NULL on every row (and the crawl refuses such a file).
    db.execute("create table if not exists letter_array_values (letter_rowid integer, col text, value text)")
    db.execute(
        "create unique index if not exists idx_letter_array_values_key on letter_array_values "
        "(col, value, letter_rowid)"
    )
    db.execute("create index if not exists idx_letter_array_values_rowid on letter_array_values (letter_rowid)")
    db.execute("delete from letter_array_values")
    db.execute(
        "insert or ignore into letter_array_values (letter_rowid, col, value) "
        + " union all ".join(
            f"select letters.rowid, '{col}', j.value from letters, json_each(case when json_valid(letters.{col}) "
            f"and json_type(letters.{col}) = 'array' then letters.{col} else '[]' end) j where j.type = 'text'"
            for col in ARRAY_VALUE_COLUMNS
        )
    )
    cols = ", ".join(ARRAY_VALUE_COLUMNS)
    db.executescript(f"""
drop trigger if exists letters_array_values_ai;
drop trigger if exists letters_array_values_au;
drop trigger if exists letters_array_values_ad;
create trigger letters_array_values_ai after insert on letters begin
  insert or ignore into letter_array_values (letter_rowid, col, value) {_array_values_sql("new", "new.rowid")};
end;
create trigger letters_array_values_au after update of {cols} on letters begin
  delete from letter_array_values where letter_rowid = old.rowid;
  -- old.rowid: in an upsert's DO UPDATE, SQLite gives new.rowid as NULL (the row keeps its rowid)
  insert or ignore into letter_array_values (letter_rowid, col, value) {_array_values_sql("new", "old.rowid")};
end;
create trigger letters_array_values_ad after delete on letters begin
  delete from letter_array_values where letter_rowid = old.rowid;
end;
""")


@migrations()
def m013_open_letters_index(db: Database) -> None:
    """An index for the awaiting_closeout query: warning letters with no close-out, not delisted, oldest first,
    read in order from the index (at 100,000 letters 420 ms → a few ms)."""
    db["letters"].create_index(["kind", "closeout_letter_date", "delisted_at", "letter_issue_date"], if_not_exists=True)


@migrations()
def m014_exosome_counts_index(db: Database) -> None:
    """A covering index for the exosome_counts query: the exosome letters' year and violation types read from
    the index, not from the long rows (100,000 letters: 208 ms → 7 ms)."""
    db.execute(
        "create index if not exists idx_letters_exosome_year_violations on letters "
        "(exosome_related, year, violation_types)"
    )


@migrations()
def m015_repeat_recipients_index(db: Database) -> None:
    """A covering index for the repeat_recipients query: firm (FIRM_EXPRESSION, as idx_letters_firm) then every
    column the query reads, so it groups in index order without the long rows (100,000 letters: 642 → 42 ms)."""
    db.execute(
        "create index if not exists idx_letters_firm_cover on letters "
        "(trim(replace(replace(replace(replace(lower(company), '.', ''), ',', ''), '  ', ' '), '  ', ' ')), "
        "company, kind, letter_issue_date, exosome_related, slug)"
    )


# One documents model across regulators (issue 14): every document names its regulator and country
# (FDA/US for everything stored before), and Health Canada's notices (kind hc_advisory) keep their own
# fields. regulator/country never join the content hash (an upgraded file would see every letter changed).
@migrations()
def m020_regulators(db: Database) -> None:
    """letters.regulator and .country (existing rows FDA/US), Health Canada's notice fields, the documents
    view with both columns."""
    existing = db["letters"].columns_dict
    for name in (
        "regulator",
        "country",
        "identification_number",
        "alert_type",
        "last_updated",
        "issue_types",
        "affected_products",
        "recall_class",
    ):
        if name not in existing:
            db["letters"].add_column(name, str)
    db.execute("update letters set regulator = 'FDA' where regulator is null")
    db.execute("update letters set country = 'US' where country is null")
    for cols in (["regulator"], ["regulator", "kind", "date"], ["identification_number"]):
        db["letters"].create_index(cols, if_not_exists=True)
    db.create_view(
        "documents",
        """
select
  slug, kind, regulator, country, coalesce(document_date, letter_issue_date) as document_date,
  coalesce(title, company) as title, company, parent_slug, issuing_office, audience,
  exosome_related, regen_medicine_related, violation_types, url, body_text
from letters
""",
        replace=True,
    )


# m016: one short row per letter with what the letters table's facets, filters and default sort read. A letter's
# row holds its whole text (6,000 characters on average), so SQLite reads one or more pages per row to reach
# any column; counting the 10,000 rows of a search or a filter at 100,000 letters took 20-40 ms a facet.
@migrations()
def m016_letter_facets(db: Database) -> None:
    """letter_facets: letters' short columns (facets, filters, default sort) keyed by letters.rowid, kept by
    triggers; plugins/fdatrack_speed.py counts and sorts the filtered rows here instead of in letters."""
    db.execute(
        "create table if not exists letter_facets (letter_rowid integer primary key, slug text, kind text, "
        "regulator text, issuing_office text, exosome_related integer, year integer, date text, "
        "letter_issue_date text, posted_date text, violation_types text, product_categories text)"
    )
    db.execute("delete from letter_facets")
    db.execute(
        "insert into letter_facets (letter_rowid, slug, kind, regulator, issuing_office, exosome_related, year, "
        "date, letter_issue_date, posted_date, violation_types, product_categories) "
        "select rowid, slug, kind, regulator, issuing_office, exosome_related, year, date, letter_issue_date, "
        "posted_date, violation_types, product_categories from letters"
    )
    # the triggers find a replaced letter's short row by its slug
    db.execute("create index if not exists idx_letter_facets_slug on letter_facets (slug)")
    db.executescript("""
drop trigger if exists letters_facets_ai;
drop trigger if exists letters_facets_au;
drop trigger if exists letters_facets_ad;
drop trigger if exists letters_facets_au_rowid;
create trigger letters_facets_ai after insert on letters begin
  insert or replace into letter_facets (letter_rowid, slug, kind, regulator, issuing_office, exosome_related, year,
    date, letter_issue_date, posted_date, violation_types, product_categories)
  values (new.rowid, new.slug, new.kind, new.regulator, new.issuing_office, new.exosome_related, new.year,
    new.date, new.letter_issue_date, new.posted_date, new.violation_types, new.product_categories);
  -- an INSERT OR REPLACE deletes the letter it replaces without its delete triggers (unless recursive_triggers)
  delete from letter_facets where slug = new.slug and letter_rowid <> new.rowid;
end;
create trigger letters_facets_au after update of slug, kind, regulator, issuing_office, exosome_related,
  letter_issue_date, document_date, posted_date, violation_types, product_categories on letters begin
  delete from letter_facets where letter_rowid = old.rowid;
  -- as an UPDATE OR REPLACE does
  delete from letter_facets where slug = new.slug and letter_rowid <> coalesce(new.rowid, old.rowid);
  -- in an upsert's DO UPDATE, SQLite gives new.rowid as NULL (the row keeps its rowid)
  insert or replace into letter_facets (letter_rowid, slug, kind, regulator, issuing_office, exosome_related, year,
    date, letter_issue_date, posted_date, violation_types, product_categories)
  values (coalesce(new.rowid, old.rowid), new.slug, new.kind, new.regulator, new.issuing_office,
    new.exosome_related, new.year, new.date, new.letter_issue_date, new.posted_date, new.violation_types,
    new.product_categories);
end;
create trigger letters_facets_ad after delete on letters begin
  delete from letter_facets where letter_rowid = old.rowid;
end;
-- an update of the rowid alone (no column of letters_facets_au's list)
create trigger letters_facets_au_rowid after update on letters when new.rowid <> old.rowid begin
  delete from letter_facets where letter_rowid = old.rowid;
  insert or replace into letter_facets (letter_rowid, slug, kind, regulator, issuing_office, exosome_related, year,
    date, letter_issue_date, posted_date, violation_types, product_categories)
  values (new.rowid, new.slug, new.kind, new.regulator, new.issuing_office, new.exosome_related, new.year,
    new.date, new.letter_issue_date, new.posted_date, new.violation_types, new.product_categories);
end;
""")


# --- issue 12 item 4 (speed at 100,000 letters, file size): m017 ---------------------------------------


@migrations()
def m017_scale_tables(db: Database) -> None:
    """Three things for speed and size at 100,000 letters.

    - The full-text index is re-written only when a letter's indexed text changes (company, subject, title,
      body_text), not on every update of its row: sqlite-utils' trigger (m002) re-indexed the whole letter each
      time a crawl touched last_seen or a delisting, so an unchanged re-save left a deleted copy of every letter in
      the index until FTS5 merged it (5,000 synthetic letters saved twice, as bench/storage.py does: index 4.9 →
      2.5 MB per 1,000 letters).
    - letter_firms: one row per firm (company without case or punctuation, as m009's index) with the count, dates
      and newest letter of its warning and untitled letters, kept by triggers (every writer keeps it right); the
      repeat_recipients query reads it instead of grouping every letter.
    - citations: an index (citation, slug, count) the citing_cfr query reads alone, in place of m001's index on
      citation (a prefix of it).
    - Two indexes for the feeds: the documents in the feeds' order (undated last, newest first: the expressions
      of db/queries.py's _feed, spelt out), which new_by_violation_type reads until 50 documents match; and the
      closed-out letters alone (a partial index), which the closeouts feed reads instead of every letter.
    """
    firm = "trim(replace(replace(replace(replace(lower({c}), '.', ''), ',', ''), '  ', ' '), '  ', ' '))"

    def refresh(company: str) -> str:
        # the firm of `company` recomputed from its letters (idx_letters_firm_cover of m015 covers the query)
        return f"""
  delete from letter_firms where firm = {firm.format(c=company)};
  insert into letter_firms (firm, company, letters, first_letter, latest_letter, exosome_letters, latest_slug)
    select {firm.format(c="company")}, min(company), count(*), min(letter_issue_date), max(letter_issue_date),
      sum(exosome_related), substr(max(coalesce(letter_issue_date, '0000-00-00') || ' ' || slug), 12)
    from letters
    where {firm.format(c="company")} = {firm.format(c=company)} and company != ''
      and coalesce(kind, 'warning_letter') in ('warning_letter', 'untitled_letter')
    group by 1;"""

    changed = (
        "old.company is not new.company or old.kind is not new.kind or old.letter_issue_date is not "
        "new.letter_issue_date or old.exosome_related is not new.exosome_related or old.slug is not new.slug"
    )
    db.executescript(f"""
drop trigger if exists letters_au;
create trigger letters_au after update of company, subject, title, body_text on letters
when old.company is not new.company or old.subject is not new.subject or old.title is not new.title
  or old.body_text is not new.body_text
begin
  insert into letters_fts (letters_fts, rowid, company, subject, title, body_text)
    values ('delete', old.rowid, old.company, old.subject, old.title, old.body_text);
  insert into letters_fts (rowid, company, subject, title, body_text)
    values (new.rowid, new.company, new.subject, new.title, new.body_text);
end;

create table if not exists letter_firms (
  firm text primary key, company text, letters integer, first_letter text, latest_letter text,
  exosome_letters integer, latest_slug text
);
delete from letter_firms;
insert into letter_firms (firm, company, letters, first_letter, latest_letter, exosome_letters, latest_slug)
  select {firm.format(c="company")}, min(company), count(*), min(letter_issue_date), max(letter_issue_date),
    sum(exosome_related), substr(max(coalesce(letter_issue_date, '0000-00-00') || ' ' || slug), 12)
  from letters
  where company is not null and company != ''
    and coalesce(kind, 'warning_letter') in ('warning_letter', 'untitled_letter')
  group by 1;
drop trigger if exists letters_firms_ai;
drop trigger if exists letters_firms_au;
drop trigger if exists letters_firms_ad;
create trigger letters_firms_ai after insert on letters begin{refresh("new.company")}
end;
create trigger letters_firms_au after update of company, kind, letter_issue_date, exosome_related, slug on letters
when {changed}
begin{refresh("old.company")}{refresh("new.company")}
end;
create trigger letters_firms_ad after delete on letters begin{refresh("old.company")}
end;

create index if not exists idx_citations_citation_slug_count on citations (citation, slug, count);
drop index if exists idx_citations_citation;

create index if not exists idx_letters_feed_order on letters (
  (date is null and posted_date is null), coalesce(coalesce(posted_date, date) || 'T00:00:00Z', first_seen) desc, slug
);
create index if not exists idx_letters_closeout_letter_date on letters (closeout_letter_date)
  where closeout_letter_date is not null;
""")


# --- issue 12 item 4: a filtered letters page's facets in index order: m018 ---------------------------------


@migrations()
def m018_letter_facets_groups_index(db: Database) -> None:
    """A covering index of letter_facets in the order plugins/fdatrack_speed.py groups a filtered page's facets
    (kind, regulator, issuing_office, exosome_related, year, violation_types, product_categories): a filter that
    keeps most letters (kind=warning_letter, regulator=FDA: 100,000 rows) grouped them with a sort of every short
    row (185-190 ms at 100,000 letters); through these two indexes (one for each of the two broad filters; SQLite
    reorders the GROUP BY to either), 20-25 ms."""
    db.execute(
        "create index if not exists idx_letter_facets_groups on letter_facets (kind, regulator, issuing_office, "
        "exosome_related, year, violation_types, product_categories)"
    )
    db.execute(
        "create index if not exists idx_letter_facets_groups_by_regulator on letter_facets (regulator, kind, "
        "issuing_office, exosome_related, year, violation_types, product_categories)"
    )
