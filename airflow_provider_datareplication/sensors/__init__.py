"""Sensors for Azure Data Replication."""
