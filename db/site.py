"""Addresses the stored data and its presentation name: FDA's listing and the project's home.

Declared here, below scraper/ (scraper.settings and scraper.identity import them), so that db/
never imports scraper/.
"""

LISTING_PATH = (
    "/inspections-compliance-enforcement-and-criminal-investigations/compliance-actions-and-activities/warning-letters"
)
PROJECT_URL = "https://github.com/fdatrack/fdatrack"
