"""Protobuf translation for template health: alerts, history events, inbox changes."""

from __future__ import annotations

import json
from datetime import datetime

from google.protobuf.timestamp_pb2 import Timestamp

from adapters.grpc.mapping import template_to_proto, timestamp
from app.inbox import ChangeState, InboxChange
from app.ports import StoredTemplateEvent
from app.resource_names import alert_name, inbox_change_name, qualified_template_name
from app.template_health_queries import CriticalTemplate, QualityCounts
from app.text import printable
from domain.alerts import Alert, AlertState, Severity
from domain.observations import Aspect, ChangeSource, Outcome
from watemplates.v1 import template_health_pb2 as hp

SEVERITY = {s: getattr(hp, f"ALERT_SEVERITY_{s.name}") for s in Severity}
SEVERITY_IN = {v: k for k, v in SEVERITY.items()}
ALERT_STATE = {s: getattr(hp, f"ALERT_STATE_{s.value}") for s in AlertState}
ALERT_STATE_IN = {v: k for k, v in ALERT_STATE.items()}
ASPECT = {a: getattr(hp, f"HISTORY_ASPECT_{a.value}") for a in Aspect}
SOURCE = {s: getattr(hp, f"CHANGE_SOURCE_{s.value}") for s in ChangeSource}
OUTCOME = {o: getattr(hp, f"CHANGE_OUTCOME_{o.value}") for o in Outcome}
CHANGE_STATE = {s: getattr(hp, f"INBOX_CHANGE_STATE_{s.value}") for s in ChangeState}
CHANGE_STATE_IN = {v: k for k, v in CHANGE_STATE.items()}


def alert_to_proto(alert: Alert) -> hp.Alert:
    message = hp.Alert(
        name=alert_name(alert.id),
        template=qualified_template_name(alert.waba_id, alert.template_name),
        kind=getattr(hp, f"ALERT_KIND_{alert.kind.value}"),
        severity=SEVERITY[alert.severity],
        state=ALERT_STATE[alert.state],
        reason=alert.reason,
        open_time=timestamp(alert.opened_at),
        last_seen_time=timestamp(alert.last_seen_at),
        acknowledged_by=alert.acknowledged_by,
    )
    _set_time(message.acknowledge_time, alert.acknowledged_at)
    _set_time(message.resolve_time, alert.resolved_at)
    return message


def event_to_proto(stored: StoredTemplateEvent) -> hp.TemplateEvent:
    entry = stored.event
    return hp.TemplateEvent(
        cursor=str(stored.seq),
        template=qualified_template_name(entry.waba_id, entry.template_name),
        aspect=ASPECT[entry.aspect],
        source=SOURCE[entry.source],
        outcome=OUTCOME[entry.outcome],
        from_value=entry.from_value,
        to_value=entry.to_value,
        reason=entry.reason,
        occur_time=timestamp(entry.occurred_at),
        receive_time=timestamp(entry.received_at),
        details_json=_bounded_json(entry.details),
    )


# History details and inbox values keep Meta's raw change, which may be as large as a delivery
# (3 MB); each must still fit a message a default client accepts (4 MiB), in a list and in the live
# stream. Beyond this the document is shown truncated (head and size); the database keeps it whole.
MAX_DOCUMENT_JSON_BYTES = 1024 * 1024


def _bounded_json(document: object) -> str:
    text = _json_text(document)
    encoded = text.encode("utf-8")
    if len(encoded) <= MAX_DOCUMENT_JSON_BYTES:
        return text
    # The head is escaped again by json.dumps: at most 6 bytes a byte (control characters), so an
    # eighth of the budget keeps the whole within it.
    head = encoded[: MAX_DOCUMENT_JSON_BYTES // 8].decode("utf-8", "ignore")
    return _json_text({"_truncated": True, "_bytes": len(encoded), "_head": head})


def _json_text(document: object) -> str:
    """Compact JSON as text a protobuf string can carry: stored documents were checked at the door,
    but a lone surrogate must never turn a read into an error."""
    return printable(json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str))


def critical_to_proto(critical: CriticalTemplate) -> hp.CriticalTemplate:
    return hp.CriticalTemplate(
        template=template_to_proto(critical.template),
        severity=SEVERITY[Severity(critical.severity)],
        alerts=[alert_to_proto(a) for a in critical.alerts],
    )


def counts_to_proto(counts: QualityCounts) -> hp.QualityCounts:
    return hp.QualityCounts(
        by_quality=dict(counts.by_quality), by_status=dict(counts.by_status), total=counts.total
    )


def inbox_change_to_proto(change: InboxChange) -> hp.InboxChange:
    message = hp.InboxChange(
        name=inbox_change_name(change.id),
        waba_id=change.waba_id,
        field=change.field,
        state=CHANGE_STATE[change.state],
        attempts=change.attempts,
        last_error=change.last_error,
        receive_time=timestamp(change.received_at),
        value_json=_bounded_json(change.value),
    )
    _set_time(message.entry_time, change.entry_time)
    _set_time(message.next_attempt_time, change.next_attempt_at)
    return message


def _set_time(target: Timestamp, value: datetime | None) -> None:
    if value is not None:
        target.CopyFrom(timestamp(value))
