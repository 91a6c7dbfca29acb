"""The rules about declared parameters: known keys, examples, defaults, max_length and patterns (run
on RE2 within a work budget)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from domain.components import ParameterLocation, ParameterSpec
from domain.lint.report import PARAMETERS, Findings, quoted, shorten
from domain.meta_rules import patterns_work, value_problems
from domain.patterns import PATTERN_WORK_BUDGET, CompiledPattern, PatternRefused, compile_pattern


def lint_parameters(
    declared: tuple[ParameterSpec, ...],
    keys: dict[str, tuple[ParameterLocation, ...]],
    out: Findings,
) -> tuple[ParameterSpec, ...]:
    first: dict[str, int] = {}
    # RE2 makes every match linear, but a template's patterns together are bounded too, so that no
    # render of it (and no lint) can cost more than PATTERN_WORK_BUDGET; over it, none is run here.
    work, _ = patterns_work({spec.key: spec for spec in reversed(declared)}, keys)
    within_budget = work <= PATTERN_WORK_BUDGET
    if not within_budget:
        out.error(
            "PARAM_PATTERNS_TOO_COSTLY",
            PARAMETERS,
            f"the parameters' patterns together could cost {work:,} steps per send, over "
            f"{PATTERN_WORK_BUDGET:,}: use simpler patterns (smaller repeat counts, fewer Unicode "
            "classes) or give the parameters a max_length",
        )
    for position, spec in enumerate(declared):
        field = f"{PARAMETERS}[{position}]"
        if spec.key in first:
            out.error(
                "PARAM_DUPLICATE_DECLARATION",
                f"{field}.key",
                f"parameter {spec.key!r} is declared twice (also at index {first[spec.key]})",
            )
            continue
        first[spec.key] = position
        if spec.key not in keys:
            out.error(
                "PARAM_UNKNOWN",
                f"{field}.key",
                f"parameter {spec.key!r} is declared but the template does not use it"
                f"{_known_keys_hint(keys)}",
            )
        _lint_spec(spec, field, keys.get(spec.key, ()), out, run_pattern=within_budget and spec.key in keys)

    merged: list[ParameterSpec] = []
    for key, locations in keys.items():
        index = first.get(key)
        spec = ParameterSpec(key=key) if index is None else declared[index]
        if not spec.example.strip():
            field = PARAMETERS if index is None else f"{PARAMETERS}[{index}].example"
            out.error(
                "PARAM_EXAMPLE_REQUIRED",
                field,
                f"parameter {key!r} needs an example value; Meta's review requires one for every placeholder",
            )
        merged.append(replace(spec, locations=locations))
    return tuple(merged)


def _lint_spec(
    spec: ParameterSpec,
    field: str,
    locations: tuple[ParameterLocation, ...],
    out: Findings,
    *,
    run_pattern: bool,
) -> None:
    pattern: CompiledPattern | None = None
    if spec.pattern:
        try:
            compiled = compile_pattern(spec.pattern)
            pattern = compiled if run_pattern else None
        except PatternRefused as refused:
            out.error(
                "PARAM_PATTERN_INVALID",
                f"{field}.pattern",
                f"pattern {shorten(spec.pattern)!r} of parameter {spec.key!r} is not allowed: "
                f"{refused.reason}",
            )
    if spec.max_length < 0:
        out.error(
            "PARAM_MAX_LENGTH_INVALID",
            f"{field}.max_length",
            f"max_length of parameter {spec.key!r} is {spec.max_length}; use 0 for no limit or a "
            "positive number",
        )

    def rule_failures(value: str) -> list[str]:
        """Why a sample value (example or default) would be refused at send time."""
        return [problem.detail for problem in value_problems(value, spec, locations, pattern)]

    if spec.example:
        for failure in rule_failures(spec.example):
            out.error(
                "PARAM_EXAMPLE_INVALID",
                f"{field}.example",
                f"example {shorten(spec.example)!r} of parameter {spec.key!r} {failure}",
            )
    _lint_default(spec, field, rule_failures, out)


def _lint_default(
    spec: ParameterSpec, field: str, rule_failures: Callable[[str], list[str]], out: Findings
) -> None:
    if spec.optional and not spec.default_value.strip():
        out.error(
            "PARAM_DEFAULT_INVALID",
            f"{field}.default_value",
            f"optional parameter {spec.key!r} needs a non-empty default_value, used when no value is given",
        )
        return
    if spec.default_value:
        for failure in rule_failures(spec.default_value):
            out.error(
                "PARAM_DEFAULT_INVALID",
                f"{field}.default_value",
                f"default value {shorten(spec.default_value)!r} of parameter {spec.key!r} {failure}",
            )


def _known_keys_hint(keys: dict[str, tuple[ParameterLocation, ...]]) -> str:
    if not keys:
        return " (it has no placeholders)"
    return f" (it uses {quoted(list(keys))})"
