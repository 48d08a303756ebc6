"""Developer-only scripts (not installed): the builders of the bundled mirror sample."""
