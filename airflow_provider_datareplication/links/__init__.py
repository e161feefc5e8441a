"""Operator extra links for Azure Data Replication."""
