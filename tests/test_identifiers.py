from __future__ import annotations

import pytest

from airflow_provider_datareplication.identifiers import DEFAULT_API_VERSION, JobOperation

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
        **{**VALID, "resource_group_name": "rg(prod)_x.1", "operation_id": "a/b?c#d e%f&g=h+i"}
    )
    assert "/resourceGroups/rg%28prod%29_x.1/" in operation.path
    assert operation.path.endswith(
        "/operations/a%2Fb%3Fc%23d%20e%25f%26g%3Dh%2Bi?api-version=2021-02-16-preview"
    )


def test_lower_case_subscription_is_accepted_and_sent_as_given():
    operation = JobOperation(**{**VALID, "subscription_id": VALID["subscription_id"].lower()})
    assert operation.path.startswith("/subscriptions/930cec23-4430-4513-b855-dba237e2f3bf/")


def test_real_job_and_operation_names_are_accepted():
    # What Azure's own tools show: jobs/<GUID>, operation ids <job GUID>_<suffix>.
    job = "0203aa1b-1dff-4653-89a9-b90a76d1601a"
    operation = JobOperation(
        **{**VALID, "vault_name": "migr-vault_01.prod", "job_name": job, "operation_id": f"{job}_2"}
    )
    assert operation.path.endswith(
        f"/replicationVaults/migr-vault_01.prod/jobs/{job}/operations/{job}_2?api-version=2021-02-16-preview"
    )


@pytest.mark.parametrize("name", ["vault_name", "job_name", "operation_id"])
def test_numbers_rendered_by_airflow_are_taken_as_their_text(name):
    # render_template_as_native_obj=True turns "12345" into the number 12345.
    operation = JobOperation(**{**VALID, name: 12345})
    assert getattr(operation, name) == "12345"
    assert "/12345" in operation.path


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
        ("resource_group_name", "rg.", "not ending with '.'"),
        ("resource_group_name", "rg prod", "1 to 90"),
        ("resource_group_name", "rg/prod", "1 to 90"),
        ("vault_name", "", "letters, digits"),
        ("vault_name", "my vault", "letters, digits"),
        ("vault_name", "-vault", "starting with a letter or digit"),
        ("vault_name", "vault\n", "letters, digits"),
        ("vault_name", "vaulté", "letters, digits"),
        ("job_name", "", "letters, digits"),
        ("job_name", " 0203aa1b", "letters, digits"),
        ("job_name", "job/1", "no spaces or '/'"),
        ("operation_id", "", "non-empty"),
        ("operation_id", " op1", "whitespace"),
        ("operation_id", "op1\n", "whitespace"),
        ("api_version", "", "2024-09-01"),
        ("api_version", "latest", "2024-09-01"),
        ("operation_id", None, "is required"),
        ("vault_name", True, "string"),
        ("job_name", ["job1"], "string"),
    ],
)
def test_invalid_values_name_the_parameter_and_rule(name, value, rule):
    with pytest.raises(ValueError, match=name) as info:
        JobOperation(**{**VALID, name: value})
    assert rule in str(info.value)


def test_boundaries_are_accepted():
    JobOperation(**{**VALID, "resource_group_name": "r"})
    JobOperation(**{**VALID, "resource_group_name": "r" * 90})
    JobOperation(**{**VALID, "resource_group_name": "rg-(1)_x.y"})
    JobOperation(**{**VALID, "vault_name": "v", "job_name": "1"})
    JobOperation(**{**VALID, "operation_id": "x"})
    JobOperation(**{**VALID, "api_version": "2024-09-01"})


def test_describe_names_operation_job_vault():
    assert JobOperation(**VALID).describe() == (
        "operation 'wdqcxc' of job 'ZGH4y' in vault '4' (resource group 'rgrecoveryservicesdatareplication')"
    )
