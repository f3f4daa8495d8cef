"""Importers that turn outside data (e.g. Stack Exchange dumps) into AskHub's import schema."""
