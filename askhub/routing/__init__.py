"""Keeps the expertise index in step with the database and answers "who should get this call"."""
