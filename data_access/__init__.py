"""Data access: models, engine, queries that aggregate in SQL, importers and disclosure control."""
