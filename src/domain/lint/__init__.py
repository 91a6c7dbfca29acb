"""Meta's template rejection rules (fact sheet V1-V13, and each template type's), checked before
anything is submitted.

`lint` reports every violation at once so an author fixes a template in one round trip. Codes are
API contract; messages are for people and quote the offending values.

The rules live by subject: texts (name, language, header, body, footer, placeholders), buttons (and
the OTP and Flow buttons' own), template types (authentication, carousel, limited-time offer,
catalog and product messages, unknown parts) and parameters; report holds what they report.
"""

from __future__ import annotations

from domain.components import ParameterFormat, TemplateDefinition
from domain.lint.buttons import lint_buttons
from domain.lint.parameters import lint_parameters
from domain.lint.report import Findings, LintReport, Severity, Violation
from domain.lint.template_types import (
    lint_authentication,
    lint_carousel,
    lint_limited_time_offer,
    lint_product_messages,
    lint_unknown,
)
from domain.lint.texts import lint_body, lint_footer, lint_format, lint_header, lint_identity
from domain.parameters import detect_format, parameter_keys

__all__ = ["LintReport", "Severity", "Violation", "lint"]


def lint(definition: TemplateDefinition) -> LintReport:
    """Every violation of `definition`, plus the resolved parameter format and parameters."""
    out = Findings()
    lint_identity(definition, out)
    components = definition.components
    if not components.is_authentication:
        # Meta writes an authentication template's body and footer (lint_authentication).
        lint_body(components.body, out)
        lint_footer(components.footer, out)
    if components.header is not None:
        lint_header(components.header, out)
    lint_buttons(components.buttons, out)
    lint_authentication(definition, out)
    lint_carousel(components, out)
    lint_limited_time_offer(definition, out)
    lint_product_messages(components, out)
    lint_unknown(components.unknown, "template.components.other_components", out)

    detected = detect_format(components)
    declared = definition.parameter_format
    lint_format(components, declared, out)
    # Keys follow what the text actually uses: when the declared format disagrees, the mismatch is
    # reported once instead of every placeholder also showing up as "unknown" or "missing".
    key_format = detected or declared or ParameterFormat.POSITIONAL
    keys = parameter_keys(components, key_format)
    parameters = lint_parameters(definition.parameters, keys, out)
    return LintReport(
        violations=tuple(out.violations),
        parameter_format=declared or detected or ParameterFormat.POSITIONAL,
        parameters=parameters,
    )
