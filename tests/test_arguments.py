"""The tasks' own arguments: booleans and durations mean what they say, or are refused naming them."""

from __future__ import annotations

import math
import re

import pytest

from airflow_provider_datareplication.arguments import as_bool, as_bool_or_template, as_seconds, check_wait


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), ("FALSE", False), (" True\n", True)],
)
def test_a_bool_or_its_rendered_text_means_what_it_says(value, expected):
    assert as_bool("shutdown_source_vm", value) is expected


@pytest.mark.parametrize("value", ["no", "0", "", "yes", 1, 0, None, [True]])
def test_anything_else_is_refused_naming_the_parameter_and_the_value(value):
    with pytest.raises(
        ValueError, match=rf"force_delete must be true or false .*got {re.escape(repr(value))}"
    ):
        as_bool("force_delete", value)


def test_a_template_waits_to_be_rendered():
    assert as_bool_or_template("force_delete", "{{ params.force }}") == "{{ params.force }}"
    with pytest.raises(ValueError, match="force_delete"):
        as_bool_or_template("force_delete", "maybe")


@pytest.mark.parametrize("value", [0, -1, math.inf, math.nan, "inf", "soon", True, None])
def test_a_duration_is_finite_and_positive(value):
    with pytest.raises(ValueError, match=r"timeout must be a finite, positive number of seconds"):
        as_seconds("timeout", value)


def test_a_rendered_duration_is_read_as_its_number():
    assert as_seconds("timeout", "90") == 90.0
    assert as_seconds("timeout", 1) == 1.0


def test_the_interval_is_at_most_the_timeout():
    assert check_wait("check_interval", 30, "timeout", 60) == (30.0, 60.0)
    with pytest.raises(ValueError, match=r"check_interval \(120 s\) must be at most timeout \(60 s\)"):
        check_wait("check_interval", 120, "timeout", 60)
    assert check_wait("check_interval", "{{ params.interval }}", "timeout", 60) is None
