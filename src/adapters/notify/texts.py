"""How a notification reads: a plain-text body, an HTML body, and a JSON document, each naming the
template, the WABA, what happened, why, and what to do."""

from __future__ import annotations

import html
from typing import Any

from domain.notifications import Notification


def plain_text(notification: Notification) -> str:
    content = notification.content
    lines = [
        content.subject,
        "",
        f"Template: {content.template}",
        f"WABA: {content.waba_id}",
        f"What happened: {content.summary}",
    ]
    if content.campaign_name:
        lines.append(f"Campaign: {content.campaign_name} (campaigns/{content.campaign_id})")
    if content.reason:
        lines.append(f"Why: {content.reason}")
    if content.occurred_at is not None:
        lines.append(f"When: {content.occurred_at.isoformat()}")
    lines += ["", f"What to do: {content.advice}", "", f"(notification {notification.id})"]
    return "\n".join(lines)


def html_body(notification: Notification) -> str:
    content = notification.content
    rows = [
        ("Template", content.template),
        ("WABA", content.waba_id),
        ("What happened", content.summary),
        ("Campaign", content.campaign_name),
        ("Why", content.reason),
        ("When", content.occurred_at.isoformat() if content.occurred_at else ""),
    ]
    cells = "".join(
        f"<tr><th align='left'>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
        for name, value in rows
        if value
    )
    return (
        f"<html><body><h2>{html.escape(content.subject)}</h2><table>{cells}</table>"
        f"<p><b>What to do:</b> {html.escape(content.advice)}</p></body></html>"
    )


def document(notification: Notification) -> dict[str, Any]:
    content = notification.content
    return {
        "type": f"watemplates.{content.kind.value.lower()}",
        "id": notification.id,
        "severity": content.severity.name,
        "template": content.template,
        "waba_id": content.waba_id,
        "summary": content.summary,
        "reason": content.reason,
        "alert_kind": content.alert_kind.value if content.alert_kind else None,
        "campaign": f"campaigns/{content.campaign_id}" if content.campaign_id else None,
        "occurred_at": content.occurred_at.isoformat() if content.occurred_at else None,
        "advice": content.advice,
    }
