"""Hooks for Azure Data Replication."""
