"""What Airflow's providers manager reads about this provider (no import of hooks or Azure SDKs)."""

from __future__ import annotations

from typing import Any

from airflow_provider_datareplication.connection import CLOUD_NAMES, DEFAULT_CLOUD

#: The connection form's extra fields, declared for Airflow 3.2+ and reused by the hook's widgets.
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "tenantId": {"label": "Tenant ID", "schema": {"type": ["string", "null"]}},
    "subscriptionId": {"label": "Subscription ID", "schema": {"type": ["string", "null"]}},
    "resource_group_name": {"label": "Resource group (default)", "schema": {"type": ["string", "null"]}},
    "vault_name": {"label": "Replication vault (default)", "schema": {"type": ["string", "null"]}},
    "cloud": {
        "label": "Azure cloud",
        "schema": {
            "type": ["string", "null"],
            "enum": [*CLOUD_NAMES, None],
        },
    },
    "managed_identity_client_id": {
        "label": "Managed identity client ID",
        "schema": {"type": ["string", "null"]},
    },
    "workload_identity_tenant_id": {
        "label": "Workload identity tenant ID",
        "schema": {"type": ["string", "null"]},
    },
    "resource_manager_url": {
        "label": "Resource Manager URL (override)",
        "schema": {"type": ["string", "null"]},
    },
    "authority_host": {"label": "Authority host (override)", "schema": {"type": ["string", "null"]}},
    "ca_bundle": {"label": "CA bundle file (override)", "schema": {"type": ["string", "null"]}},
    "request_timeout": {"label": "Request timeout, seconds", "schema": {"type": ["number", "null"]}},
    "max_reads_per_second": {
        "label": "Most status reads per second, per subscription (default 25)",
        "schema": {"type": ["number", "null"]},
    },
    "disable_instance_discovery": {
        "label": "Disable instance discovery",
        "schema": {"type": ["boolean", "null"]},
    },
    "http_logging": {
        "label": "Log HTTP headers (troubleshooting)",
        "schema": {"type": ["boolean", "null"]},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port", "host"],
    "relabeling": {"login": "Client ID", "password": "Client Secret"},
    "placeholders": {
        "login": "application (client) id; empty for managed or workload identity",
        "password": "client secret; empty for managed or workload identity",
        "tenantId": "directory (tenant) id, required with a client secret",
        "subscriptionId": "00000000-0000-0000-0000-000000000000",
        "cloud": " | ".join(f"{name} (default)" if name == DEFAULT_CLOUD else name for name in CLOUD_NAMES),
        "resource_manager_url": "https://management.azure.com (private clouds, emulators)",
        "authority_host": "login.microsoftonline.com (private clouds, emulators)",
        "extra": '{"tenantId": "...", "subscriptionId": "...", "resource_group_name": "...", '
        '"vault_name": "..."}',
    },
}


#: The provider's section of Airflow's configuration (``[azure_data_replication]``).
CONFIG_SECTION = "azure_data_replication"

CONFIG: dict[str, Any] = {
    CONFIG_SECTION: {
        "description": "Options for the Azure Data Replication provider.",
        "options": {
            "gc_freeze": {
                "description": (
                    "Off by default: a provider changes nothing process-wide unasked. When on, once per "
                    "process, when this provider first builds its asyncio client (a triggerer's first wait "
                    "on it), every object then alive (Airflow's, the triggerer's and the Azure SDKs' "
                    "modules) is moved out of Python's garbage collector's way (``gc.freeze()``), as "
                    "Airflow's DAG processor does after its start-up. A full collection otherwise walks all "
                    "of them while the event loop waits: 200-300 ms on a 2-core machine, for every trigger "
                    "of every provider in that triggerer. Worth turning on in a triggerer that holds "
                    "thousands of waits. The cost: objects alive at that moment that later become "
                    "unreachable cycles are never reclaimed (bounded, once), and the freeze applies to "
                    "the whole process."
                ),
                "version_added": "0.1.0",
                "type": "boolean",
                "example": "True",
                "default": "False",
            },
            "adaptive_read_pacing": {
                "description": (
                    "Let each process's pace of reads, per identity, subscription and resource provider, "
                    "follow what the answers say is left: Microsoft.DataReplication's own quota "
                    "(x-ms-ratelimit-remaining-subscription-resource-requests, x-ms-throttling-version v1: "
                    "about 1,100 requests per principal an hour) or ARM's bucket "
                    "(x-ms-ratelimit-remaining-subscription-reads, v2), each count read against the "
                    "largest seen: the connection's max_reads_per_second while 90 % or more is left, the "
                    "floor (0.1 reads/s) at 30 % or less, in proportion in between, so processes reading "
                    "as one identity share the budget without a coordination service. Before any answer "
                    "the pace is 0.5 reads/s; an answer without a count keeps the pace; a 429's "
                    "Retry-After holds every read of that subscription and provider in the process. "
                    "False keeps every process at max_reads_per_second (a Retry-After still holds it)."
                ),
                "version_added": "0.1.0",
                "type": "boolean",
                "example": "False",
                "default": "True",
            },
            "vault_lists": {
                "description": (
                    "Let the waits in a triggerer on the protected items (or jobs) of one vault be served "
                    "by the vault's paged list whenever it costs fewer requests than a read per waited "
                    "item (one GET per resource a round either way). False: one GET per waited resource."
                ),
                "version_added": "0.1.0",
                "type": "boolean",
                "example": "False",
                "default": "True",
            },
            "http_logging": {
                "description": (
                    "Off by default. When on, every connection (as its http_logging extra does for one) "
                    "logs the headers of each request it sends and each answer it gets, at INFO, into the "
                    "task's (or the triggerer's) log: its ARM reads and its credential's sign-in (the "
                    "discovery and token requests). azure-core's HTTP logging policy writes them, with "
                    "Authorization and every header it does not know redacted and query parameters other "
                    "than api-version hidden. For troubleshooting (a proxy, a redirect, throttling "
                    "headers): a sign-in alone writes about 40 lines."
                ),
                "version_added": "0.1.0",
                "type": "boolean",
                "example": "True",
                "default": "False",
            },
        },
    }
}


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata for Airflow's providers manager."""
    from airflow_provider_datareplication import __version__

    return {
        "package-name": "airflow-provider-datareplication",
        "name": "Azure Data Replication",
        "description": "Azure Data Replication (Azure Site Recovery / Azure Migrate replication vaults): "
        "wait on and report jobs and their operations.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Azure Data Replication",
                "external-doc-url": "https://learn.microsoft.com/rest/api/datareplication/",
                "tags": ["azure"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Azure Data Replication",
                "python-modules": ["airflow_provider_datareplication.hooks.data_replication"],
            }
        ],
        "operators": [
            {
                "integration-name": "Azure Data Replication",
                "python-modules": ["airflow_provider_datareplication.operators.data_replication"],
            }
        ],
        "sensors": [
            {
                "integration-name": "Azure Data Replication",
                "python-modules": ["airflow_provider_datareplication.sensors.data_replication"],
            }
        ],
        "triggers": [
            {
                "integration-name": "Azure Data Replication",
                "python-modules": ["airflow_provider_datareplication.triggers.data_replication"],
            }
        ],
        "extra-links": [
            "airflow_provider_datareplication.links.data_replication.AzureDataReplicationJobLink"
        ],
        "connection-types": [
            {
                "connection-type": "azure_data_replication",
                "hook-class-name": "airflow_provider_datareplication.hooks.data_replication."
                "AzureDataReplicationHook",
                "hook-name": "Azure Data Replication",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
        "config": CONFIG,
    }
