"""Per-field translators: one inbox change -> a TemplateChange (or IgnoredChange); implements
app.ports.WebhookTranslator together with the splitter.

Routes on `field` *and* on the shape of `value`, because Meta's own reference labels quality updates
`message_template_status_update`. Shape routing applies only to the four template fields: other
fields have look-alike keys (`account_update` and `phone_number_quality_update` carry an `event` too)
and are not template events. Values are taken verbatim wherever the domain parses them liberally;
only types are checked, so an unknown status event survives to the domain, which keeps it as OTHER.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.http.webhook.envelope import (
    CATEGORY_FIELD,
    COMPONENTS_FIELD,
    MAX_FUTURE_SKEW,
    MESSAGES_FIELD,
    QUALITY_FIELD,
    STATUS_FIELD,
    TEMPLATE_FIELDS,
    WEBHOOK_TEXT_LIMITS,
    short,
    type_name,
)
from adapters.http.webhook.messages import translate_messages
from adapters.http.webhook.splitter import meta_time, split
from app.inbox import (
    IgnoredChange,
    ImpendingCategory,
    MessagesChange,
    RawChange,
    TemplateChange,
    UntranslatableChange,
)
from app.text import text_problem
from domain.components import Button, ButtonType, Components, Header, HeaderFormat, components_summary
from domain.observations import PARTIAL_COMPONENTS, UNREAD_PARTS, Aspect, ChangeSource, Observation
from domain.status import TemplateCategory, reason_code, status_event

# Each of Meta's explanations (other_info, rejection_info) is a sentence or two; a reason stays short.
_EXPLANATION_CHARS = 1000
# Meta's ids are below 2**53 (about 15 digits); a float id beyond that has already lost digits.
_MAX_EXACT_FLOAT = 2**53


class MetaWebhookTranslator:
    """app.ports.WebhookTranslator for Meta's WhatsApp Business Account webhooks. Stateless."""

    def split(self, body: bytes) -> list[RawChange]:
        return split(body)

    def translate(
        self, change: RawChange, received_at: datetime
    ) -> TemplateChange | MessagesChange | IgnoredChange:
        value = change.value
        if not isinstance(value, Mapping):
            raise UntranslatableChange(f"change value must be an object, got {type_name(value)}")
        if not change.field:
            problem = value.get("_problem")
            raise UntranslatableChange(
                problem if isinstance(problem, str) and problem else "change has no 'field'"
            )
        if change.field == MESSAGES_FIELD:
            return translate_messages(change, received_at)
        if change.field not in TEMPLATE_FIELDS:
            return IgnoredChange(reason=f"field {change.field!r} is not handled by this version")
        occurred_at = change.entry_time or received_at
        if occurred_at > received_at + MAX_FUTURE_SKEW:
            occurred_at = received_at
        return _storable(_template_event(change, value, occurred_at))


def _template_event(change: RawChange, value: Mapping[str, Any], occurred_at: datetime) -> TemplateChange:
    # Shape first: Meta's examples send quality updates under the status field name.
    if "new_quality_score" in value:
        return _quality_update(change, value, occurred_at)
    # A completed change may name only the new category (no previous_category): still a change.
    if (
        "correct_category" in value
        or "previous_category" in value
        or ("new_category" in value and "event" not in value)
    ):
        return _category_update(change, value, occurred_at)
    if "event" in value:
        return _status_update(change, value, occurred_at)
    if "message_template_element" in value:
        return _components_update(change, value, occurred_at)
    expected = {
        STATUS_FIELD: "'event'",
        QUALITY_FIELD: "'new_quality_score'",
        CATEGORY_FIELD: "'new_category' (completed change) or 'correct_category' (impending)",
        COMPONENTS_FIELD: "'message_template_element'",
    }[change.field]
    raise UntranslatableChange(f"{change.field} without {expected}")


def _storable(change: TemplateChange) -> TemplateChange:
    """The change, if every text of it that becomes a column or is linted (not the JSON documents,
    which escape anything) can be stored on every database and is within WEBHOOK_TEXT_LIMITS; else
    the change is untranslatable, at once, rather than failing attempt after attempt, stalling the
    worker or bloating what the API shows."""
    texts = [
        ("message_template_id", change.meta_template_id, WEBHOOK_TEXT_LIMITS["id"]),
        ("message_template_name", change.display_name, WEBHOOK_TEXT_LIMITS["name"]),
        ("message_template_language", change.language_code, WEBHOOK_TEXT_LIMITS["code"]),
        ("the category", change.category, WEBHOOK_TEXT_LIMITS["code"]),
    ]
    if change.impending_category is not None:
        texts.append(
            ("correct_category", change.impending_category.raw_upcoming, WEBHOOK_TEXT_LIMITS["code"])
        )
    for observation in change.observations:
        aspect = observation.aspect.value.lower()
        texts.append((f"the {aspect} value", observation.value, WEBHOOK_TEXT_LIMITS["code"]))
        texts.append((f"the {aspect} reason", observation.reason, WEBHOOK_TEXT_LIMITS["text"]))
        if observation.components is not None:
            texts.extend(_component_texts(observation.components))
    for name, text, limit in texts:
        if problem := text_problem(text):
            raise UntranslatableChange(f"{name} {problem}")
        if len(text) > limit:
            raise UntranslatableChange(
                f"{name} is {len(text)} characters; a Meta webhook never sends over {limit}"
            )
    return change


def _component_texts(components: Components) -> list[tuple[str, str, int]]:
    texts = [
        ("message_template_element", components.body, WEBHOOK_TEXT_LIMITS["text"]),
        ("message_template_footer", components.footer, WEBHOOK_TEXT_LIMITS["text"]),
    ]
    if components.header is not None:
        texts.append(("message_template_title", components.header.text, WEBHOOK_TEXT_LIMITS["text"]))
    for index, button in enumerate(components.buttons):
        where = f"message_template_buttons[{index}]"
        texts += [
            (f"{where} text", button.text, WEBHOOK_TEXT_LIMITS["text"]),
            (f"{where} url", button.url, WEBHOOK_TEXT_LIMITS["text"]),
            (f"{where} phone number", button.phone_number, WEBHOOK_TEXT_LIMITS["code"]),
        ]
    return texts


def _status_update(change: RawChange, value: Mapping[str, Any], occurred_at: datetime) -> TemplateChange:
    event = value.get("event")
    if not isinstance(event, str) or not event.strip():
        raise UntranslatableChange(f"status update 'event' must be a non-empty string, got {short(event)}")
    reason = value.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise UntranslatableChange(f"status update 'reason' must be a string or null, got {short(reason)}")
    details: dict[str, object] = {
        key: value[key] for key in ("other_info", "rejection_info", "disable_info") if key in value
    }
    details["raw"] = dict(value)
    category = value.get("message_template_category")
    observation = Observation(
        Aspect.STATUS,
        # Verbatim but normalized: the domain maps values it does not know to OTHER and keeps this.
        status_event(event),
        ChangeSource.WEBHOOK,
        occurred_at,
        reason=reason_code(reason),
        details=details,
        explanation=_explanation(value),
    )
    return _template_change(
        change, value, (observation,), category=category if isinstance(category, str) else ""
    )


def _explanation(value: Mapping[str, Any]) -> str:
    """What else a status event says in words: `other_info` on pauses, unpauses and disables (where
    `reason` is the placeholder NONE), `rejection_info` on format rejections. Texts of the wrong
    type, or that no database could store, are left out (the raw value is kept in the details,
    whose JSON escapes anything)."""
    explained = [
        _joined(value.get("other_info"), "title", "description", ": "),
        _joined(value.get("rejection_info"), "reason", "recommendation", " Recommendation: "),
    ]
    return "; ".join(part for part in explained if part)


def _joined(info: object, first: str, second: str, separator: str) -> str:
    if not isinstance(info, Mapping):
        return ""
    parts = [info.get(first), info.get(second)]
    texts = [
        part.strip()[:_EXPLANATION_CHARS]
        for part in parts
        if isinstance(part, str) and part.strip() and not text_problem(part)
    ]
    return separator.join(texts)


def _quality_update(change: RawChange, value: Mapping[str, Any], occurred_at: datetime) -> TemplateChange:
    score = value.get("new_quality_score")
    if not isinstance(score, str) or not score.strip():
        raise UntranslatableChange(
            f"quality update 'new_quality_score' must be a non-empty string, got {short(score)}"
        )
    observation = _replacing(Aspect.QUALITY, score, value, "previous_quality_score", occurred_at)
    return _template_change(change, value, (observation,))


def _category_update(change: RawChange, value: Mapping[str, Any], occurred_at: datetime) -> TemplateChange:
    new_category = value.get("new_category")
    if new_category is not None and not isinstance(new_category, str):
        raise UntranslatableChange(
            f"category update 'new_category' must be a string, got {short(new_category)}"
        )
    if "correct_category" in value:
        # Impending: `new_category` is the category now, `correct_category` the one about 24 h ahead.
        # Nothing has changed yet, so there is no observation, only the warning.
        upcoming = value.get("correct_category")
        if not isinstance(upcoming, str) or not upcoming.strip():
            raise UntranslatableChange(
                f"impending category update 'correct_category' must be a non-empty string, "
                f"got {short(upcoming)}"
            )
        impending = ImpendingCategory(
            current=TemplateCategory.parse(new_category),
            upcoming=TemplateCategory.parse(upcoming),
            raw_upcoming=upcoming,
            effective_at=meta_time(value.get("category_update_timestamp")),
        )
        return _template_change(change, value, (), category=new_category or "", impending_category=impending)
    if not new_category or not new_category.strip():
        raise UntranslatableChange("completed category update without a 'new_category'")
    observation = _replacing(Aspect.CATEGORY, new_category, value, "previous_category", occurred_at)
    return _template_change(change, value, (observation,), category=new_category)


def _replacing(
    aspect: Aspect, new: str, value: Mapping[str, Any], previous_key: str, occurred_at: datetime
) -> Observation:
    """An update that names the value it replaces (a quality or category update)."""
    previous = value.get(previous_key)
    return Observation(
        aspect,
        new,
        ChangeSource.WEBHOOK,
        occurred_at,
        details={"previous": previous, "raw": dict(value)},
        previous=_previous_value(previous),
    )


def _previous_value(previous: object) -> str:
    """Meta's previous value, normalized like a new one; left out (it only helps history say where a
    change came from) if it is not text a Meta webhook would send."""
    if not isinstance(previous, str) or text_problem(previous):
        return ""
    previous = previous.strip().upper()
    return previous if len(previous) <= WEBHOOK_TEXT_LIMITS["code"] else ""


def _components_update(change: RawChange, value: Mapping[str, Any], occurred_at: datetime) -> TemplateChange:
    body = value.get("message_template_element")
    if not isinstance(body, str):
        raise UntranslatableChange(
            f"components update 'message_template_element' must be a string, got {short(body)}"
        )
    # Optional parts are checked strictly: these components replace the template's, so a part we
    # could not read must not silently become "no header" or "no footer".
    title = _optional_string(value, "message_template_title")
    footer = _optional_string(value, "message_template_footer")
    raw_buttons = value.get("message_template_buttons")
    if raw_buttons is not None and not isinstance(raw_buttons, list):
        raise UntranslatableChange(
            f"components update 'message_template_buttons' must be a list, got {short(raw_buttons)}"
        )
    buttons, skipped = _buttons(raw_buttons or [])
    components = Components(
        body=body,
        header=Header(HeaderFormat.TEXT, title) if title else None,
        footer=footer,
        buttons=buttons,
    )
    # Meta's edit webhook carries only a text header and URL/phone buttons: the domain merges it
    # with what it cannot say (media headers, quick replies, copy-code buttons).
    details: dict[str, object] = {"raw": dict(value), PARTIAL_COMPONENTS: True}
    if skipped:
        details[UNREAD_PARTS] = skipped
    observation = Observation(
        Aspect.COMPONENTS,
        components_summary(components),
        ChangeSource.WEBHOOK,
        occurred_at,
        components=components,
        details=details,
    )
    return _template_change(change, value, (observation,))


def _buttons(raw_buttons: Sequence[object]) -> tuple[tuple[Button, ...], list[str]]:
    """Meta documents only URL and phone buttons in this webhook; other known types are kept as
    well as they can be, anything unreadable is skipped with a note (the raw value is kept too)."""
    buttons: list[Button] = []
    skipped: list[str] = []
    for index, raw in enumerate(raw_buttons):
        where = f"message_template_buttons[{index}]"
        if not isinstance(raw, Mapping):
            skipped.append(f"{where}: not an object")
            continue
        kind = raw.get("message_template_button_type")
        text = raw.get("message_template_button_text", "")
        if not isinstance(kind, str) or not isinstance(text, str):
            skipped.append(f"{where}: type and text must be strings")
            continue
        kind = kind.strip().upper()
        if kind == ButtonType.URL:
            url = raw.get("message_template_button_url")
            if not isinstance(url, str) or not url:
                skipped.append(f"{where}: URL button without a URL")
                continue
            buttons.append(Button(ButtonType.URL, text, url=url))
        elif kind == ButtonType.PHONE_NUMBER:
            phone = raw.get("message_template_button_phone_number")
            if not isinstance(phone, str) or not phone:
                skipped.append(f"{where}: phone button without a phone number")
                continue
            buttons.append(Button(ButtonType.PHONE_NUMBER, text, phone_number=phone))
        elif kind in (ButtonType.QUICK_REPLY, ButtonType.COPY_CODE):
            buttons.append(Button(ButtonType(kind), text))
        else:
            skipped.append(f"{where}: button type {kind!r} is not supported")
    return tuple(buttons), skipped


def _template_change(
    change: RawChange,
    value: Mapping[str, Any],
    observations: tuple[Observation, ...],
    *,
    category: str = "",
    impending_category: ImpendingCategory | None = None,
) -> TemplateChange:
    if not change.waba_id:
        raise UntranslatableChange("the entry has no WABA id ('entry[].id'), so no template can be found")
    template_id = _template_id(value.get("message_template_id"))
    name = _identity_string(value, "message_template_name")
    language = _identity_string(value, "message_template_language")
    if not template_id and not (name and language):
        raise UntranslatableChange(
            "template change is missing message_template_id and message_template_name/"
            "message_template_language, so the template cannot be identified"
        )
    return TemplateChange(
        waba_id=change.waba_id,
        meta_template_id=template_id,
        display_name=name,
        language_code=language,
        observations=observations,
        category=category,
        impending_category=impending_category,
    )


def _template_id(raw: object) -> str:
    """Meta sends the id as a JSON number (unlike most Graph ids); strings are accepted too."""
    if raw is None:
        return ""
    if isinstance(raw, bool):
        raise UntranslatableChange(f"message_template_id must be a number or a string, got {short(raw)}")
    if isinstance(raw, int):
        if raw < 0:
            raise UntranslatableChange(f"message_template_id must not be negative, got {raw}")
        try:
            return str(raw)
        except ValueError as exc:  # beyond Python's int-to-str digit limit: not an id at all
            raise UntranslatableChange("message_template_id is an implausibly long number") from exc
    if isinstance(raw, float):
        if not raw.is_integer() or not 0 <= raw < _MAX_EXACT_FLOAT:
            raise UntranslatableChange(
                f"message_template_id must be a whole number that fits a float exactly, got {raw!r}"
            )
        return str(int(raw))
    if isinstance(raw, str):
        return raw.strip()
    raise UntranslatableChange(f"message_template_id must be a number or a string, got {type_name(raw)}")


def _identity_string(value: Mapping[str, Any], key: str) -> str:
    raw = value.get(key)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise UntranslatableChange(f"{key} must be a string, got {short(raw)}")
    return raw.strip()


def _optional_string(value: Mapping[str, Any], key: str) -> str:
    raw = value.get(key)
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise UntranslatableChange(f"components update {key!r} must be a string, got {short(raw)}")
    return raw
