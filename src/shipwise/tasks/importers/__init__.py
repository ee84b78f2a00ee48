"""Importers: turn a public dataset format into a shipwise task folder and task YAML."""

from shipwise.tasks.importers.squad import ImportSummary, import_squad

__all__ = ["ImportSummary", "import_squad"]
