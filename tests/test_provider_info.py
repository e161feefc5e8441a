from __future__ import annotations

import importlib
import warnings

from airflow_provider_datareplication.get_provider_info import get_provider_info


def test_provider_info_matches_the_distribution():
    from importlib.metadata import distribution, entry_points

    info = get_provider_info()
    dist = distribution("airflow-provider-datareplication")
    assert info["package-name"] == dist.metadata["Name"]
    assert info["versions"] == [dist.version]
    (entry,) = [
        e
        for e in entry_points(group="apache_airflow_provider")
        if e.value.startswith("airflow_provider_datareplication")
    ]
    assert entry.load() is get_provider_info


def test_connection_type_is_declared_with_its_form():
    (conn_type,) = get_provider_info()["connection-types"]
    assert conn_type["connection-type"] == "azure_data_replication"
    assert (
        conn_type["hook-class-name"]
        == "airflow_provider_datareplication.hooks.data_replication.AzureDataReplicationHook"
    )
    assert {
        "tenantId",
        "subscriptionId",
        "cloud",
        "managed_identity_client_id",
        "workload_identity_tenant_id",
    } <= set(conn_type["conn-fields"])
    assert conn_type["ui-field-behaviour"]["relabeling"]["password"] == "Client Secret"


def test_airflow_registers_hook_and_form_without_deprecation_warning():
    from airflow.providers_manager import ProvidersManager

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manager = ProvidersManager()
        hook_info = manager.hooks["azure_data_replication"]
        widgets = manager.connection_form_widgets
        behaviours = manager.field_behaviours
    ours = [
        str(w.message)
        for w in caught
        if "datareplication" in str(w.message).lower() or "DataReplication" in str(w.message)
    ]
    assert ours == []
    assert "airflow-provider-datareplication" in manager.providers
    assert hook_info is not None
    assert hook_info.hook_class_name.endswith("AzureDataReplicationHook")
    assert hook_info.connection_testable
    assert "extra__azure_data_replication__tenantId" in widgets
    assert behaviours["azure_data_replication"]["relabeling"]["login"] == "Client ID"


def test_every_public_task_class_documents_each_of_its_own_parameters():
    import inspect

    from airflow_provider_datareplication.get_provider_info import get_provider_info

    info = get_provider_info()
    modules = [
        m for kind in ("sensors", "operators") for entry in info[kind] for m in entry["python-modules"]
    ]
    checked = 0
    for module_name in modules:
        module = importlib.import_module(module_name)
        for name, task_class in vars(module).items():
            if not (inspect.isclass(task_class) and task_class.__module__ == module_name):
                continue
            if "Base" in name or not getattr(task_class, "target_class", None):
                continue  # a base class, not a task
            doc = inspect.getdoc(task_class) or ""
            own = {
                param
                for klass in task_class.__mro__
                if klass.__module__.startswith("airflow_provider_datareplication")
                and "__init__" in vars(klass)
                for param, p in inspect.signature(klass.__init__).parameters.items()
                if p.kind is p.KEYWORD_ONLY
            }
            missing = sorted(param for param in own if f":param {param}:" not in doc)
            assert not missing, f"{name} does not document {missing}"
            checked += 1
    assert checked >= 4
