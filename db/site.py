"""Addresses the stored data and its presentation name: FDA's listing, the project's home, and the
name Datasette shows the database under.

Declared here, below scraper/ (scraper.settings and scraper.identity import them), so that db/
never imports scraper/; it imports nothing, so the Datasette plugins (plugins/) can take DB_NAME from
here without loading anything else of the project.
"""

# Datasette names a database after its file's stem; `fdatrack serve` always presents the file under this
# name, so that datasette_metadata.yml and the plugins apply whatever the file is called.
DB_NAME = "fda_letters"

# The columns of letters that letter_facets (db/schema.py m016, literal there) copies, keyed by letters.rowid: the
# Datasette descriptions (db/metadata.py) and the speed plugin's rewrite (plugins/fdatrack_speed.py) read this list.
LETTER_FACETS_COLUMNS = (
    "slug",
    "kind",
    "regulator",
    "issuing_office",
    "exosome_related",
    "year",
    "date",
    "letter_issue_date",
    "posted_date",
    "violation_types",
    "product_categories",
)

LISTING_PATH = (
    "/inspections-compliance-enforcement-and-criminal-investigations/compliance-actions-and-activities/warning-letters"
)
PROJECT_URL = "https://github.com/fdatrack/fdatrack"
