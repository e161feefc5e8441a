"""
The tasks' own arguments, checked as they mean: booleans and durations (standard library only).

A template renders to text: ``"false"`` must mean false, not ``bool("false")``. Each check raises
:class:`ValueError` naming the parameter and the value, before anything is sent. A literal value is
checked when the task is built; a templated one again once Airflow has rendered it.
"""

from __future__ import annotations

import math
from typing import Any


def templated(value: Any) -> bool:
    """Whether a parameter's value is a template Airflow renders before the task runs."""
    return isinstance(value, str) and any(mark in value for mark in ("{{", "{%", "{#"))


def literal(value: Any) -> bool:
    """Whether a parameter's value is known when the task is built: not a template, not a task's output."""
    # Airflow's XComArg (another task's output) and other resolvables have iter_references.
    return value is not None and not templated(value) and not hasattr(value, "iter_references")


def as_bool(name: str, value: Any) -> bool:
    """
    Return a boolean argument: a bool, or the text ``true`` / ``false`` in any case (a rendered template).

    :param name: The parameter, for the message.
    :param value: Its value.
    :raises ValueError: Anything else (``"no"``, ``1``, ``None``, ...).
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"{name} must be true or false (a bool, or the text 'true' or 'false'), got {value!r}")


def as_bool_or_template(name: str, value: Any) -> Any:
    """Return a boolean argument checked, or a template as it is (checked again once rendered)."""
    return value if templated(value) else as_bool(name, value)


def as_seconds(name: str, value: Any) -> float:
    """
    Return a duration argument in seconds: a finite, positive number (or its text, once rendered).

    :param name: The parameter, for the message.
    :param value: Its value.
    :raises ValueError: Zero, a negative number, infinity, NaN, a bool or anything not a number.
    """
    seconds: float | None = None
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except ValueError:
            seconds = None
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"{name} must be a finite, positive number of seconds, got {value!r}")
    return seconds


def check_wait(
    interval_name: str, interval: Any, timeout_name: str, timeout: Any
) -> tuple[float, float] | None:
    """
    Check a wait's interval and timeout: each finite and positive, the interval at most the timeout.

    Return both in seconds, or ``None`` while either is a template (checked again once rendered).

    :param interval_name: The interval's parameter (``check_interval``, ``poke_interval``).
    :param interval: Its value.
    :param timeout_name: The timeout's parameter.
    :param timeout: Its value.
    """
    if templated(interval) or templated(timeout):
        return None
    interval_s, timeout_s = as_seconds(interval_name, interval), as_seconds(timeout_name, timeout)
    if interval_s > timeout_s:
        raise ValueError(
            f"{interval_name} ({interval_s:g} s) must be at most {timeout_name} ({timeout_s:g} s): "
            "the wait would end before its first read"
        )
    return interval_s, timeout_s
