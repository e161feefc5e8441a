"""Operators for Azure Data Replication."""
