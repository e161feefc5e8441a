"""JSON-valued template fields render as JSON in Airflow's "Rendered Template" view, not as a Python repr."""

from __future__ import annotations

import inspect
from datetime import datetime

import pytest

from airflow_provider_datareplication.operators import data_replication as operators
from airflow_provider_datareplication.operators.data_replication import (
    AzureDataReplicationCreateProtectedItemOperator,
)
from airflow_provider_datareplication.sensors import data_replication as sensors
from tests.e2e.dags.e2e_scenarios import HYPERV_PROPERTIES

try:
    from airflow.sdk import DAG
except ImportError:  # Airflow 2
    from airflow import DAG  # type: ignore[no-redef,attr-defined]

#: Every task class a DAG can use (the base classes are not).
TASKS = sorted(
    (
        cls
        for module in (operators, sensors)
        for name, cls in vars(module).items()
        if isinstance(cls, type)
        and cls.__module__ == module.__name__
        and name.startswith("AzureDataReplication")
        and "Base" not in name
    ),
    key=lambda cls: cls.__name__,
)


def parameter_annotations(cls: type) -> dict[str, str]:
    """Each keyword parameter of the class's constructors (its own and its bases') with its annotation."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        init = vars(klass).get("__init__")
        if init is None or not klass.__module__.startswith("airflow_provider_datareplication"):
            continue
        for parameter in inspect.signature(init).parameters.values():
            if parameter.kind is parameter.KEYWORD_ONLY:
                found[parameter.name] = str(parameter.annotation)
    return found


def is_json_valued(annotation: str) -> bool:
    return any(word in annotation for word in ("dict", "list", "Mapping", "Sequence"))


def test_the_task_classes_are_found():
    assert len(TASKS) >= 8, [cls.__name__ for cls in TASKS]


@pytest.mark.parametrize("cls", TASKS, ids=lambda cls: cls.__name__)
def test_every_json_valued_template_field_renders_as_json(cls):
    annotations = parameter_annotations(cls)
    json_fields = {f for f in cls.template_fields if is_json_valued(annotations.get(f, ""))}
    renderers = {f: cls.template_fields_renderers.get(f) for f in json_fields}
    assert renderers == dict.fromkeys(json_fields, "json")
    # A renderer names a field that is templated (a typo would silently render nothing).
    assert set(cls.template_fields_renderers) <= set(cls.template_fields)


def test_the_create_operators_properties_render_as_json_in_the_ui():
    """What the web UI reads: the task as the DAG processor serialized it."""
    try:
        from airflow.serialization.serialized_objects import DagSerialization as Serialization
    except ImportError:  # Airflow 2
        from airflow.serialization.serialized_objects import (  # type: ignore[attr-defined,no-redef]
            SerializedDAG as Serialization,
        )

    with DAG("renderers", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        AzureDataReplicationCreateProtectedItemOperator(
            task_id="enable_replication", protected_item_name="item1", properties=HYPERV_PROPERTIES
        )
    served = Serialization.from_dict(Serialization.to_dict(dag)).get_task("enable_replication")
    assert served.template_fields_renderers["properties"] == "json"
    assert {"disks", "nics"} <= served.template_fields_renderers.keys()  # the machine inputs' own
    assert "properties" in served.template_fields
