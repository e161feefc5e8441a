"""Apache Airflow provider for Azure Data Replication (Microsoft.DataReplication replication vaults)."""

from __future__ import annotations

__version__ = "0.1.0"
