"""Why a send would fail: what ValidateMessage answers and what a refused send reports."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Denial:
    """One reason a send would fail. `reason` is stable (ErrorInfo-style); `meta_error_code` the
    error Meta would answer (0: none of Meta's codes fits); `field` the value key at fault, if any."""

    reason: str
    meta_error_code: int
    message: str
    field: str = ""
    # The finer rule broken (e.g. VALUE_MISSING), for parameter problems.
    detail: str = ""
