"""Orchestration: source readers, Prefect flows and the command line."""
