"""Importing the engagement team's own files safely: read, find and drop personal data,
validate every row, then write all or nothing."""
