"""A fake of Meta's Graph API (WhatsApp Cloud API subset) speaking Meta's real request/response shapes.

Endpoints (any `v<N>` version prefix):
  GET    /{version}/{waba_id}/message_templates   list; `fields`, `limit`, `after`/`before`, `status`,
                                                  `name`; {"data": [...], "paging": {"cursors":
                                                  {"before", "after"}, "next": absolute URL}}, no
                                                  `next` on the last page
  POST   /{version}/{waba_id}/message_templates   create; validates name format, language, category,
                                                  components, duplicate name+language (100/2388024)
  DELETE /{version}/{waba_id}/message_templates   delete by name (every language) or hsm_id+name;
                                                  DISABLED templates cannot be deleted
  GET    /{version}/{template_id}                 read one template (`fields`)
  POST   /{version}/{template_id}                 edit: only components / category /
                                                  message_send_ttl_seconds
  POST   /{version}/{phone_number_id}/messages    send a template or text message

Every request is recorded in `state.requests` (before any check) and must carry
`Authorization: Bearer <token>`, else HTTP 401 with a code-190 OAuthException body. Tests seed
templates (`state.seed_template`) and script failures (`fail_next`, `fail_next_with_code`,
`malformed_next`, `delay_next`), which take precedence over normal handling, in order.

In tests: `async with running_fake_graph(token="t") as graph: graph.base_url, graph.state`.
As a process (benchmarks): `python tests/fakes/graph_server.py --port N --token T` (or
`python -m fakes.graph_server ...` with tests/ on sys.path) prints "ready" once listening.
Only the standard library and aiohttp are imported, so the file runs on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import re
import secrets
import signal
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

DEFAULT_TOKEN = "fake-graph-token"
DEFAULT_VERSION = "v24.0"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 1000

_NAME = re.compile(r"[a-z0-9_]{1,512}")
_VERSION = re.compile(r"v[0-9]+\.[0-9]+")
_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
_EDITABLE_STATUSES = ("APPROVED", "REJECTED", "PAUSED")
_EDITABLE_FIELDS = frozenset({"components", "category", "message_send_ttl_seconds"})
_TEMPLATE_FIELDS = (
    "id",
    "name",
    "language",
    "status",
    "category",
    "components",
    "parameter_format",
    "quality_score",
    "rejected_reason",
)

# Titles from Meta's error-code reference; the message reads "(#<code>) <title>".
ERROR_TITLES: dict[int, str] = {
    1: "An unknown error occurred",
    2: "Service temporarily unavailable",
    3: "Capability or permissions issue",
    4: "Application request limit reached",
    10: "Application does not have permission for this action",
    17: "User request limit reached",
    32: "Page request limit reached",
    100: "Invalid parameter",
    190: "Error validating access token: Session has expired",
    200: "Permissions error",
    613: "Calls to this api have exceeded the rate limit",
    80007: "Rate limit issues",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131016: "Service unavailable",
    131026: "Message undeliverable",
    131047: "Re-engagement message",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132012: "Parameter format does not match format in the created template",
    132015: "Template is Paused",
    132016: "Template is Disabled",
}


def fbtrace_id() -> str:
    return "A" + secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")[:22]


def meta_error_body(
    code: int,
    message: str | None = None,
    *,
    subcode: int | None = None,
    details: str | None = None,
    error_type: str = "OAuthException",
    user_title: str | None = None,
    user_msg: str | None = None,
) -> dict[str, Any]:
    """An error body exactly as Graph sends it."""
    error: dict[str, Any] = {
        "message": message if message is not None else f"(#{code}) {ERROR_TITLES.get(code, 'Error')}",
        "type": error_type,
        "code": code,
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if user_title is not None:
        error["is_transient"] = False
        error["error_user_title"] = user_title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    if details is not None or code >= 130000:
        error["error_data"] = {
            "messaging_product": "whatsapp",
            "details": details if details is not None else ERROR_TITLES.get(code, "Error"),
        }
    error["fbtrace_id"] = fbtrace_id()
    return {"error": error}


class GraphError(Exception):
    """Raised by handlers; the middleware turns it into Meta's error JSON."""

    def __init__(self, http_status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None):
        super().__init__(body["error"]["message"])
        self.http_status = http_status
        self.body = body
        self.headers = dict(headers or {})


def _invalid(message: str | None = None, *, subcode: int | None = None, **kwargs: Any) -> GraphError:
    return GraphError(400, meta_error_body(100, message, subcode=subcode, **kwargs))


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    # The parsed JSON body, or None when there was none (or it was not JSON: see `body`).
    json: Any
    headers: dict[str, str]
    body: bytes


@dataclass(slots=True)
class ScriptedResponse:
    status: int = 500
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Only requests whose path contains this are affected (None: any request).
    path_contains: str | None = None
    # True: only delay, then handle the request normally.
    passthrough: bool = False


class FakeGraphState:
    def __init__(self, token: str = DEFAULT_TOKEN, version: str = DEFAULT_VERSION) -> None:
        self.token = token
        self.version = version
        # http://host:port, set once listening; paging.next links are built on it.
        self.base_url = ""
        # id -> Meta's template object plus "waba_id".
        self.templates: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self.sent_messages: list[dict[str, Any]] = []
        # Recipients (digits) whose window Meta treats as closed: a text to them fails with 131047.
        self.closed_windows: set[str] = set()
        # What a created template starts as, and the pacing signal of a send.
        self.create_status = "PENDING"
        self.send_message_status = "accepted"
        # True: a send naming a template that was never seeded/created fails with 132001.
        self.require_known_templates = False
        # Rewrites each paging.next link (tests point it at another host or make it loop).
        self.rewrite_next: Callable[[str], str] | None = None
        # Graph echoes access_token into paging links when the token came in the query; this forces it.
        self.echo_token_in_next = False
        self._script: deque[ScriptedResponse] = deque()
        self._ids = itertools.count(int(time.time()) * 1000)

    # ---- seeding and inspection --------------------------------------------------------------

    def new_id(self) -> str:
        return str(next(self._ids))

    def seed_template(
        self,
        waba_id: str,
        name: str,
        *,
        language: str = "en_US",
        status: str = "APPROVED",
        category: str = "UTILITY",
        components: list[dict[str, Any]] | None = None,
        parameter_format: str | None = "POSITIONAL",
        quality: str | None = "GREEN",
        rejected_reason: str = "NONE",
        template_id: str | None = None,
    ) -> dict[str, Any]:
        """Adds a template as Meta would list it; returns the live record (mutate it to change state)."""
        record: dict[str, Any] = {
            "id": template_id or self.new_id(),
            "name": name,
            "language": language,
            "status": status,
            "category": category,
            "components": components
            if components is not None
            else [{"type": "BODY", "text": f"Hello from {name}, have a nice day."}],
            "rejected_reason": rejected_reason,
            "waba_id": waba_id,
        }
        if parameter_format is not None:
            record["parameter_format"] = parameter_format
        if quality is not None:
            record["quality_score"] = {"score": quality, "date": int(time.time())}
        self.templates[record["id"]] = record
        return record

    def templates_of(self, waba_id: str) -> list[dict[str, Any]]:
        return [t for t in self.templates.values() if t["waba_id"] == waba_id]

    def requests_to(self, path_contains: str, method: str | None = None) -> list[RecordedRequest]:
        return [
            r for r in self.requests if path_contains in r.path and (method is None or r.method == method)
        ]

    # ---- scripted failures -------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        body: bytes | str | Mapping[str, Any] | None = None,
        delay: float = 0.0,
        *,
        headers: Mapping[str, str] | None = None,
        path_contains: str | None = None,
    ) -> None:
        """The next n requests get this answer (default: a Meta-style code-1 unknown error)."""
        if body is None:
            payload = json.dumps(meta_error_body(1, "An unknown error occurred")).encode()
        elif isinstance(body, bytes):
            payload = body
        elif isinstance(body, str):
            payload = body.encode()
        else:
            payload = json.dumps(body).encode()
        for _ in range(n):
            self._script.append(
                ScriptedResponse(status, payload, dict(headers or {}), delay, path_contains=path_contains)
            )

    def fail_next_with_code(
        self,
        code: int,
        http_status: int = 400,
        n: int = 1,
        retry_after: float | None = None,
        *,
        subcode: int | None = None,
        message: str | None = None,
        details: str | None = None,
        headers: Mapping[str, str] | None = None,
        path_contains: str | None = None,
    ) -> None:
        """The next n requests fail with Meta's error body for `code` (and Retry-After if given)."""
        all_headers = dict(headers or {})
        if retry_after is not None:
            all_headers["Retry-After"] = f"{retry_after:g}"
        for _ in range(n):
            # A fresh body each time: every Meta answer has its own fbtrace_id.
            body = meta_error_body(code, message, subcode=subcode, details=details)
            self._script.append(
                ScriptedResponse(
                    http_status, json.dumps(body).encode(), all_headers, path_contains=path_contains
                )
            )

    def malformed_next(
        self,
        n: int = 1,
        status: int = 200,
        body: bytes = b"<html><body>upstream hiccup</body></html>",
        *,
        path_contains: str | None = None,
    ) -> None:
        """The next n answers are not JSON (as a proxy or load balancer in front of Graph might send)."""
        self.fail_next(n, status, body, headers={"Content-Type": "text/html"}, path_contains=path_contains)

    def delay_next(self, delay: float, n: int = 1, *, path_contains: str | None = None) -> None:
        """The next n requests are answered normally, but only after `delay` seconds."""
        for _ in range(n):
            self._script.append(ScriptedResponse(delay=delay, path_contains=path_contains, passthrough=True))

    def clear_script(self) -> None:
        self._script.clear()

    def _take_script(self, path: str) -> ScriptedResponse | None:
        for index, scripted in enumerate(self._script):
            if scripted.path_contains is None or scripted.path_contains in path:
                del self._script[index]
                return scripted
        return None


class FakeGraph:
    """A running fake: `base_url` (http://127.0.0.1:port, no version) and its `state`."""

    def __init__(self, state: FakeGraphState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url
        self.token = state.token
        self.version = state.version

    def url(self, path: str) -> str:
        return f"{self.base_url}/{self.version}/{path.lstrip('/')}"


# ---- the application ---------------------------------------------------------------------------


def create_app(state: FakeGraphState, closing: asyncio.Event | None = None) -> web.Application:
    closing = closing or asyncio.Event()

    async def pause(seconds: float) -> None:
        # Wakes early when the server shuts down, so a slow response never delays test teardown.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closing.wait(), seconds)

    @web.middleware
    async def graph_middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        raw = await request.read()
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        state.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                json=parsed,
                headers=dict(request.headers),
                body=raw,
            )
        )
        scripted = state._take_script(request.path)
        if scripted is not None:
            if scripted.delay:
                await pause(scripted.delay)
            if not scripted.passthrough:
                headers = {"Content-Type": "application/json", **scripted.headers}
                return web.Response(status=scripted.status, body=scripted.body, headers=headers)
        try:
            if request.headers.get("Authorization") != f"Bearer {state.token}":
                raise GraphError(
                    401,
                    meta_error_body(
                        190,
                        "Invalid OAuth access token - Cannot parse access token",
                        error_type="OAuthException",
                    ),
                    {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token"'},
                )
            version = request.path.split("/")[1] if request.path.count("/") >= 1 else ""
            if not _VERSION.fullmatch(version):
                raise _unsupported(request)
            try:
                return await handler(request)
            except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
                raise _unsupported(request) from None
        except GraphError as error:
            return web.json_response(error.body, status=error.http_status, headers=error.headers)

    routes = web.RouteTableDef()

    @routes.get("/{version}/{waba_id}/message_templates")
    async def list_templates(request: web.Request) -> web.Response:
        waba_id = request.match_info["waba_id"]
        query = request.query
        items = state.templates_of(waba_id)
        if "status" in query:
            wanted = {s.strip().upper() for s in query["status"].split(",")}
            items = [t for t in items if t["status"] in wanted]
        if "name" in query:
            items = [t for t in items if query["name"] in t["name"]]
        limit = _int_param(query, "limit", DEFAULT_PAGE_SIZE)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise _invalid(f"(#100) Param limit must be a number between 1 and {MAX_PAGE_SIZE}")
        start = 0
        if "after" in query:
            start = _decode_cursor(query["after"]) + 1
        elif "before" in query:
            start = max(0, _decode_cursor(query["before"]) - limit)
        page = items[start : start + limit]
        fields = _fields(query)
        body: dict[str, Any] = {"data": [_project(t, fields) for t in page]}
        if page:
            paging: dict[str, Any] = {
                "cursors": {"before": _cursor(start), "after": _cursor(start + len(page) - 1)}
            }
            if start + len(page) < len(items):
                paging["next"] = _next_link(request, _cursor(start + len(page) - 1))
            if start > 0:
                params = {k: v for k, v in query.items() if k not in {"after", "before"}}
                params["before"] = _cursor(start)
                paging["previous"] = f"{state.base_url}{request.path}?{urlencode(params)}"
            body["paging"] = paging
        return web.json_response(body)

    def _next_link(request: web.Request, after: str) -> str:
        params = {k: v for k, v in request.query.items() if k not in {"after", "before", "access_token"}}
        params["after"] = after
        if state.echo_token_in_next:
            params["access_token"] = state.token
        link = f"{state.base_url}{request.path}?{urlencode(params)}"
        return state.rewrite_next(link) if state.rewrite_next else link

    @routes.post("/{version}/{waba_id}/message_templates")
    async def create_template(request: web.Request) -> web.Response:
        waba_id = request.match_info["waba_id"]
        body = await _json_object(request)
        name = body.get("name")
        if not name:
            raise _invalid("(#100) The parameter name is required")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise _invalid(
                user_title="Invalid template name",
                user_msg="Template name can only contain lowercase alphanumeric characters and underscores.",
            )
        language = body.get("language")
        if not language or not isinstance(language, str):
            raise _invalid("(#100) The parameter language is required")
        category = str(body.get("category", "")).upper()
        if category not in _CATEGORIES:
            raise _invalid(
                f"(#100) Param category must be one of {{{', '.join(_CATEGORIES)}}} - got "
                f'"{body.get("category", "")}".'
            )
        components = body.get("components")
        if not isinstance(components, list) or not components:
            raise _invalid("(#100) The parameter components is required")
        parameter_format = str(body.get("parameter_format", "POSITIONAL")).upper()
        if parameter_format not in {"NAMED", "POSITIONAL"}:
            raise _invalid(
                "(#100) Param parameter_format must be one of {NAMED, POSITIONAL} - got "
                f'"{parameter_format}".'
            )
        if any(t["name"] == name and t["language"] == language for t in state.templates_of(waba_id)):
            raise _invalid(
                subcode=2388024,
                user_title="Content in this language already exists",
                user_msg=f"There is already {language} content for this template. Create a new template "
                "and try again.",
            )
        record = state.seed_template(
            waba_id,
            name,
            language=language,
            status=state.create_status,
            category=category,
            components=components,
            parameter_format=parameter_format,
            quality="UNKNOWN",
        )
        return web.json_response(
            {"id": record["id"], "status": record["status"], "category": record["category"]}
        )

    @routes.delete("/{version}/{waba_id}/message_templates")
    async def delete_template(request: web.Request) -> web.Response:
        waba_id = request.match_info["waba_id"]
        name = request.query.get("name")
        if not name:
            raise _invalid("(#100) The parameter name is required")
        hsm_id = request.query.get("hsm_id")
        doomed = [
            t
            for t in state.templates_of(waba_id)
            if t["name"] == name and (hsm_id is None or t["id"] == hsm_id)
        ]
        if not doomed:
            raise _invalid(
                user_title="Message template not found", user_msg=f"Template {name} was not found."
            )
        if any(t["status"] == "DISABLED" for t in doomed):
            raise _invalid(
                user_title="Template can't be deleted",
                user_msg="Templates with status DISABLED cannot be deleted.",
            )
        for t in doomed:
            del state.templates[t["id"]]
        return web.json_response({"success": True})

    @routes.get("/{version}/{template_id}")
    async def read_template(request: web.Request) -> web.Response:
        record = _template(request)
        return web.json_response(_project(record, _fields(request.query)))

    @routes.post("/{version}/{template_id}")
    async def edit_template(request: web.Request) -> web.Response:
        record = _template(request)
        body = await _json_object(request)
        for key in body:
            if key not in _EDITABLE_FIELDS:
                raise _invalid(f'(#100) Unexpected key "{key}" on param.')
        if record["status"] not in _EDITABLE_STATUSES:
            raise _invalid(
                user_title="Template can't be edited",
                user_msg=f"Templates with status {record['status']} can't be edited.",
            )
        if "category" in body:
            category = str(body["category"]).upper()
            if category not in _CATEGORIES:
                raise _invalid(f"(#100) Param category must be one of {{{', '.join(_CATEGORIES)}}}.")
            if record["status"] == "APPROVED" and category != record["category"]:
                raise _invalid(
                    user_title="Category can't be edited",
                    user_msg="The category of an approved template can't be edited.",
                )
            record["category"] = category
        if "components" in body:
            if not isinstance(body["components"], list) or not body["components"]:
                raise _invalid("(#100) Param components must be a non-empty array")
            record["components"] = body["components"]
        # An edited template goes back to review.
        record["status"] = "PENDING"
        return web.json_response({"success": True})

    @routes.post("/{version}/{phone_number_id}/messages")
    async def send_message(request: web.Request) -> web.Response:
        body = await _json_object(request)
        if body.get("messaging_product") != "whatsapp":
            raise _invalid("(#100) The parameter messaging_product is required.")
        to = body.get("to")
        if not to or not isinstance(to, str):
            raise _invalid("(#100) The parameter to is required.")
        if body.get("type") == "text":
            text = body.get("text")
            if not isinstance(text, Mapping) or not isinstance(text.get("body"), str) or not text["body"]:
                raise _invalid("(#100) The parameter text['body'] is required.")
            if re.sub(r"\D", "", to) in state.closed_windows:
                raise GraphError(400, meta_error_body(131047))
            return _accepted(body, to, "")
        if body.get("type") != "template":
            raise _invalid(f'(#100) Param type must be "template" or "text" - got "{body.get("type")}".')
        template = body.get("template")
        if not isinstance(template, Mapping) or not template.get("name"):
            raise _invalid("(#100) The parameter template['name'] is required.")
        language = template.get("language")
        code = language.get("code") if isinstance(language, Mapping) else None
        if not code:
            raise _invalid("(#100) The parameter template['language']['code'] is required.")
        known = [
            t for t in state.templates.values() if t["name"] == template["name"] and t["language"] == code
        ]
        statuses = {t["status"] for t in known}
        if "PAUSED" in statuses:
            raise GraphError(400, meta_error_body(132015))
        if "DISABLED" in statuses:
            raise GraphError(400, meta_error_body(132016))
        if (known and not statuses & {"APPROVED", "FLAGGED"}) or (
            not known and state.require_known_templates
        ):
            raise GraphError(
                404,
                meta_error_body(
                    132001, details=f"template name ({template['name']}) does not exist in {code}"
                ),
            )
        return _accepted(body, to, state.send_message_status)

    def _accepted(body: dict[str, Any], to: str, message_status: str) -> web.Response:
        state.sent_messages.append(body)
        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode()
        sent: dict[str, str] = {"id": wamid}
        if message_status:  # Meta's pacing signal comes with template sends only
            sent["message_status"] = message_status
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": re.sub(r"\D", "", to)}],
                "messages": [sent],
            }
        )

    def _template(request: web.Request) -> dict[str, Any]:
        template_id = request.match_info["template_id"]
        record = state.templates.get(template_id)
        if record is None:
            raise _unsupported(request)
        return record

    app = web.Application(middlewares=[graph_middleware])
    app.add_routes(routes)
    return app


def _unsupported(request: web.Request) -> GraphError:
    object_id = request.path.strip("/").split("/")[1] if request.path.count("/") >= 2 else ""
    return _invalid(
        f"Unsupported {request.method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. Please read "
        "the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        error_type="GraphMethodException",
    )


async def _json_object(request: web.Request) -> dict[str, Any]:
    # aiohttp caches the body the middleware already read, so this reads it again for free.
    try:
        parsed = json.loads(await request.read())
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise _invalid("(#100) The request body must be a JSON object")
    return parsed


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise _invalid(f"(#100) Param {name} must be an integer") from None


def _cursor(index: int) -> str:
    # Meta's cursors are opaque base64 strings; these only encode a position.
    return base64.urlsafe_b64encode(f"fake-cursor:{index}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().removeprefix("fake-cursor:"))
    except ValueError:
        raise _invalid("(#100) Invalid cursor") from None


def _fields(query: Mapping[str, str]) -> list[str]:
    raw = query.get("fields")
    if not raw:
        # Graph's default field set for templates.
        return ["id", "name", "language", "status", "category"]
    return [f.strip() for f in raw.split(",") if f.strip()]


def _project(record: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    out = {"id": record["id"]}
    for name in fields:
        if name in _TEMPLATE_FIELDS and name in record:
            out[name] = record[name]
    return out


# ---- running it ---------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def running_fake_graph(
    token: str = DEFAULT_TOKEN, version: str = DEFAULT_VERSION, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[FakeGraph]:
    """Serves the fake on host:port (0: any free port) for the duration of the block."""
    state = FakeGraphState(token, version)
    closing = asyncio.Event()
    runner = web.AppRunner(create_app(state, closing), shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_host, bound_port = runner.addresses[0][:2]
        state.base_url = f"http://{bound_host}:{bound_port}"
        yield FakeGraph(state, state.base_url)
    finally:
        closing.set()
        await runner.cleanup()


def _load_seed(path: str, state: FakeGraphState) -> None:
    """A JSON list of {"waba_id", "name", ...seed_template keyword arguments}."""
    with open(path, encoding="utf-8") as f:
        for item in json.load(f):
            state.seed_template(**item)


async def _serve(args: argparse.Namespace) -> None:
    async with running_fake_graph(args.token, args.version, host=args.host, port=args.port) as graph:
        if args.seed:
            _load_seed(args.seed, graph.state)
        graph.state.require_known_templates = args.require_known_templates
        print("ready", graph.base_url, flush=True)  # noqa: T201 - the parent process waits for it
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Meta Graph API (WhatsApp Cloud API subset)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--version", default=DEFAULT_VERSION)
    parser.add_argument("--seed", help="JSON file: a list of templates to seed")
    parser.add_argument("--require-known-templates", action="store_true")
    asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
