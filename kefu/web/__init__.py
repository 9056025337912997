"""The web: the REST API now, the staff console next to it."""
