"""Hypothesis settings of the standing fuzz suite (see conftest.py in this folder)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

FUZZ_EXAMPLES = int(os.environ.get("WATEMPLATES_FUZZ_EXAMPLES", "0"))


def fuzz_settings(default_examples: int) -> settings:
    """`default_examples` in the ordinary suite, derandomized so a run is repeatable; the long run
    takes WATEMPLATES_FUZZ_EXAMPLES cases from a random seed."""
    return settings(
        max_examples=FUZZ_EXAMPLES or default_examples,
        derandomize=not FUZZ_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
