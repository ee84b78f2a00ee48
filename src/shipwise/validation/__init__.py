"""Checking a task's data before anything is spent on it (``shipwise-data validate``)."""
