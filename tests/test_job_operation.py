from __future__ import annotations

import pytest

from airflow_provider_datareplication.job_operation import DEFAULT_API_VERSION, JobOperation

VALID = {
    "subscription_id": "930CEC23-4430-4513-B855-DBA237E2F3BF",
    "resource_group_name": "rgrecoveryservicesdatareplication",
    "vault_name": "4",
    "job_name": "ZGH4y",
    "operation_id": "wdqcxc",
}


def test_spec_example_path():
    assert JobOperation(**VALID).path == (
        "/subscriptions/930CEC23-4430-4513-B855-DBA237E2F3BF/resourceGroups/rgrecoveryservicesdatareplication"
        "/providers/Microsoft.DataReplication/replicationVaults/4/jobs/ZGH4y/operations/wdqcxc"
        "?api-version=2021-02-16-preview"
    )
    assert DEFAULT_API_VERSION == "2021-02-16-preview"


def test_every_segment_is_percent_encoded_with_nothing_safe():
    operation = JobOperation(
        **{**VALID, "resource_group_name": "rg (prod)/x", "operation_id": "a/b?c#d e%f&g=h+i"}
    )
    assert "/resourceGroups/rg%20%28prod%29%2Fx/" in operation.path
    assert operation.path.endswith(
        "/operations/a%2Fb%3Fc%23d%20e%25f%26g%3Dh%2Bi?api-version=2021-02-16-preview"
    )


def test_lower_case_subscription_is_accepted_and_sent_as_given():
    operation = JobOperation(**{**VALID, "subscription_id": VALID["subscription_id"].lower()})
    assert operation.path.startswith("/subscriptions/930cec23-4430-4513-b855-dba237e2f3bf/")


@pytest.mark.parametrize(
    ("name", "value", "rule"),
    [
        ("subscription_id", "not-a-uuid", "UUID"),
        ("subscription_id", "930CEC23443045134B855DBA237E2F3BF", "UUID"),
        ("subscription_id", "{930CEC23-4430-4513-B855-DBA237E2F3BF}", "UUID"),
        ("subscription_id", "930CEC23-4430-4513-B855-DBA237E2F3BF\n", "UUID"),
        ("subscription_id", "", "UUID"),
        ("resource_group_name", "", "1 to 90"),
        ("resource_group_name", "r" * 91, "1 to 90"),
        ("vault_name", "", "[a-zA-Z0-9]+"),
        ("vault_name", "my-vault", "[a-zA-Z0-9]+"),
        ("vault_name", "vault\n", "[a-zA-Z0-9]+"),
        ("vault_name", "vaulté", "[a-zA-Z0-9]+"),
        ("job_name", "", "[a-zA-Z0-9]+"),
        ("job_name", "job/1", "[a-zA-Z0-9]+"),
        ("operation_id", "", "non-empty"),
        ("api_version", "", "non-empty"),
        ("operation_id", None, "string"),
        ("vault_name", 5, "string"),
    ],
)
def test_invalid_values_name_the_parameter_and_rule(name, value, rule):
    with pytest.raises(ValueError, match=name) as info:
        JobOperation(**{**VALID, name: value})
    assert rule in str(info.value)


def test_boundaries_are_accepted():
    JobOperation(**{**VALID, "resource_group_name": "r"})
    JobOperation(**{**VALID, "resource_group_name": "r" * 90})
    JobOperation(**{**VALID, "operation_id": "x"})


def test_describe_names_operation_job_vault():
    assert JobOperation(**VALID).describe() == (
        "operation 'wdqcxc' of job 'ZGH4y' in vault '4' (resource group 'rgrecoveryservicesdatareplication')"
    )
