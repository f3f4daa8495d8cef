"""Text → vectors → ranked people with evidence.

A library with a small surface that the service feeds: it knows nothing of the database or the
web, so it can be benchmarked and evaluated on its own.
"""
