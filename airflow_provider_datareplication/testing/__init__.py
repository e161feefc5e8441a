"""Test helpers: a local Azure Data Replication emulator (never imported at DAG-parse time)."""
