"""Offline evaluations of AskHub against public data, run in a temporary database."""
