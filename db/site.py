"""Addresses the stored data and its presentation name: FDA's listing, the project's home, and the
name Datasette shows the database under.

Declared here, below scraper/ (scraper.settings and scraper.identity import them), so that db/
never imports scraper/; it imports nothing, so the Datasette plugins (plugins/) can take DB_NAME from
here without loading anything else of the project.
"""

# Datasette names a database after its file's stem; `fdatrack serve` always presents the file under this
# name, so that datasette_metadata.yml and the plugins apply whatever the file is called.
DB_NAME = "fda_letters"

LISTING_PATH = (
    "/inspections-compliance-enforcement-and-criminal-investigations/compliance-actions-and-activities/warning-letters"
)
PROJECT_URL = "https://github.com/fdatrack/fdatrack"
