"""TemplateGateway over the Graph API: create, list (all pages), edit and delete templates."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.meta_graph.client import GraphClient
from adapters.meta_graph.creation_payload import definition_to_meta
from adapters.meta_graph.payloads import state_from_meta
from app.errors import MetaRequestRejected, MetaUnavailable
from app.meta_ports import MetaSubmission, MetaTemplateState
from domain.components import TemplateDefinition

logger = logging.getLogger("adapters.meta_graph")

LIST_FIELDS = "id,name,language,status,category,components,parameter_format,quality_score,rejected_reason"
PAGE_SIZE = 100
# 6,000 templates is Meta's per-WABA ceiling, i.e. 60 pages; far more means paging went wrong.
MAX_PAGES = 1000


class GraphTemplateGateway:
    def __init__(self, client: GraphClient) -> None:
        self._client = client

    async def create(self, waba_id: str, definition: TemplateDefinition) -> MetaSubmission:
        # Not idempotent: after a timeout the template may exist, and a blind repeat would only
        # earn a "content in this language already exists" error; the next sync settles it.
        answer = await self._client.post(
            f"{_id(waba_id, 'WABA id')}/message_templates", definition_to_meta(definition), idempotent=False
        )
        template_id = _str(answer.get("id"))
        if not template_id:
            error = MetaUnavailable(
                "Meta accepted the template creation but its answer has no id; sync the WABA to find it"
            )
            # Repeating the creation would collide with the template Meta probably created.
            error.retryable = False
            raise error
        return MetaSubmission(
            meta_template_id=template_id,
            status=_str(answer.get("status")),
            category=_str(answer.get("category")),
        )

    async def list_all(self, waba_id: str) -> Sequence[MetaTemplateState]:
        """Every template, following paging.next until Meta leaves it out.

        A partial list is never returned as if complete: a caller treats a missing template as
        deleted at Meta. A repeated next link only means pages already read; the page cap raises.
        """
        page = await self._client.get(
            f"{_id(waba_id, 'WABA id')}/message_templates", {"fields": LIST_FIELDS, "limit": PAGE_SIZE}
        )
        states: dict[str, MetaTemplateState] = {}
        unnamed: list[MetaTemplateState] = []
        followed: set[str] = set()
        for _ in range(MAX_PAGES):
            for item in _data(page):
                state = state_from_meta(item)
                if state.meta_template_id:
                    # Keyed by id: overlapping pages (templates created while paging) count once.
                    states[state.meta_template_id] = state
                else:
                    unnamed.append(state)
            next_url = _next_url(page)
            if not next_url:
                return [*states.values(), *unnamed]
            if next_url in followed:
                logger.warning("Graph paging for WABA %s repeats a next link; stopping there", waba_id)
                return [*states.values(), *unnamed]
            followed.add(next_url)
            page = await self._client.get_url(next_url)
        error = MetaUnavailable(
            f"Meta's template list for WABA {waba_id} did not end after {MAX_PAGES} pages; refusing to "
            "treat a partial list as complete"
        )
        error.retryable = False
        raise error

    async def edit(
        self, meta_template_id: str, definition: TemplateDefinition, *, include_category: bool
    ) -> None:
        # Meta lets an edit change only category, components and TTL (components replaced wholesale),
        # so name, language and parameter_format are not sent. The category is only sent when asked:
        # an approved template's category cannot be edited and Meta refuses the whole edit if present.
        full = definition_to_meta(definition)
        body: dict[str, Any] = {"components": full["components"]}
        if include_category and "category" in full:
            body["category"] = full["category"]
        # Idempotent: the same components replace the same components.
        answer = await self._client.post(_id(meta_template_id, "template id"), body)
        _require_success(answer, f"edit of template {meta_template_id}")

    async def delete(self, waba_id: str, meta_template_id: str, display_name: str) -> None:
        # hsm_id + name deletes exactly this language; name alone would delete every language.
        answer = await self._client.delete(
            f"{_id(waba_id, 'WABA id')}/message_templates",
            {"hsm_id": _id(meta_template_id, "template id"), "name": display_name},
        )
        _require_success(answer, f"deletion of template {meta_template_id}")


def _id(value: str, what: str) -> str:
    # Ids become path segments (and hsm_id); an empty or slashed one would address another endpoint.
    if not value or "/" in value or value.strip() != value:
        raise ValueError(f"{what} {value!r} is not a Graph object id")
    return value


def _str(value: object) -> str:
    return "" if value is None else str(value)


def _data(page: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    data = page.get("data")
    return [item for item in data if isinstance(item, Mapping)] if isinstance(data, list) else []


def _next_url(page: Mapping[str, Any]) -> str:
    paging = page.get("paging")
    next_url = paging.get("next") if isinstance(paging, Mapping) else None
    return next_url if isinstance(next_url, str) else ""


def _require_success(answer: Mapping[str, Any], what: str) -> None:
    # Meta answers {"success": true}; an explicit false is a refusal without an error object.
    if answer.get("success") is False:
        raise MetaRequestRejected(f"Meta answered success=false to the {what}")
