"""Triggers for Azure Data Replication."""
