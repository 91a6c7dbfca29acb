"""A small Graph API client: JSON over aiohttp, bearer auth, bounded retries, Meta errors mapped.

Token hygiene: the access token only ever travels in the Authorization header of requests to the
configured Graph host. It is never put in a URL, never formatted into a log line (headers are never
logged), scrubbed from Meta's answers before they become error messages, and left out of repr().
Redirects are not followed and `paging.next` links to another host are refused, so the header cannot
be carried elsewhere.

Retries (tenacity): only errors marked `retryable` (MetaUnavailable: transport failures, timeouts,
5xx, Meta's transient codes; MetaRateLimited except the per-recipient 131056), with exponential
backoff and jitter, at most `max_attempts` attempts, and no new attempt once `retry_budget_seconds`
would be exceeded by the wait before it. A rate limit's `retry_after_seconds` is used as the wait
when it fits into what is left of the budget; otherwise the call gives up at once with that error,
leaving the rescheduling to the caller. Each attempt is bounded by `timeout` on its own.

A request that is not idempotent (a message send, a template creation) is not repeated after an
*ambiguous* transport failure (a timeout or a dropped connection after the request may have reached
Meta): repeating it could deliver a message twice. Failures where Meta certainly did not act (no
connection, an error answer) are retried as usual.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)
from yarl import URL

from adapters.meta_graph.errors import error_from_response
from app.errors import MetaError, MetaRateLimited, MetaUnavailable
from app.observability import NO_METRICS, Metrics
from app.text import lone_surrogate_in, printable

logger = logging.getLogger("adapters.meta_graph")

ParamValue = str | int | float | bool
Params = Mapping[str, ParamValue]

_REDACTED = "[redacted]"
_USER_AGENT = "watemplates-graph-client/1"


class GraphClient:
    """One per process: it owns (or borrows) one aiohttp session and its connection pool."""

    def __init__(
        self,
        base_url: str,
        api_version: str,
        access_token: str,
        *,
        timeout: float = 10.0,
        retry_budget_seconds: float = 20.0,
        max_attempts: int = 5,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        session: aiohttp.ClientSession | None = None,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        root = URL(base_url)
        if not root.is_absolute() or root.scheme not in {"http", "https"}:
            raise ValueError(f"Graph base URL {base_url!r} must be an absolute http(s) URL")
        if root.query_string or root.fragment or root.user or root.password:
            raise ValueError("Graph base URL must not carry a query, fragment or credentials")
        if not api_version or "/" in api_version:
            raise ValueError(f"Graph API version {api_version!r} must be one path segment like 'v24.0'")
        if not access_token:
            raise ValueError("a Graph access token is required")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._root = root.with_path(root.path.rstrip("/"))
        self._versioned = self._root.joinpath(api_version)
        self._api_version = api_version
        self._token = access_token
        self._timeout = timeout
        self._retry_budget = retry_budget_seconds
        self._max_attempts = max_attempts
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._session = session
        self._metrics = metrics
        # A borrowed session belongs to whoever created it; close() leaves it open.
        self._owns_session = session is None

    def __repr__(self) -> str:
        return f"GraphClient(base_url={str(self._root)!r}, api_version={self._api_version!r})"

    @property
    def base_url(self) -> str:
        return str(self._root)

    async def start(self) -> None:
        """Creates the session now (it is otherwise created on first use, inside the running loop)."""
        self._ensure_session()

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and self._owns_session and not session.closed:
            await session.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # ---- requests ------------------------------------------------------------------------------

    async def get(self, path: str, params: Params | None = None) -> dict[str, Any]:
        return await self._call("GET", self._url(path), params=params)

    async def post(
        self, path: str, json: Mapping[str, Any] | None = None, *, idempotent: bool = True
    ) -> dict[str, Any]:
        """idempotent=False: an ambiguous failure (timeout, dropped connection) is not repeated."""
        return await self._call("POST", self._url(path), body=json, idempotent=idempotent)

    async def delete(self, path: str, params: Params | None = None) -> dict[str, Any]:
        return await self._call("DELETE", self._url(path), params=params)

    async def get_url(self, absolute_url: str) -> dict[str, Any]:
        """GET an absolute URL Meta handed out (paging.next), only on the configured Graph origin."""
        url = URL(absolute_url)
        if not url.is_absolute() or url.origin() != self._root.origin():
            # Whatever the URL says, our bearer token must not reach another host. The caller is
            # not told which host is ours (it may be an internal proxy); the log says both.
            logger.warning(
                "refused a Graph paging link to %s: only %s is trusted with the access token",
                _origin(url),
                self._root.origin(),
            )
            refused = MetaUnavailable(
                "refused to follow a Graph paging link to another host: only the configured Graph API "
                "is trusted with the access token"
            )
            # Asking again right away would get the same link.
            refused.retryable = False
            raise refused
        # Graph echoes access_token into paging links when a token came in the query; we send it in
        # the header, so drop any copy rather than sending (and risking logging) it in a URL.
        return await self._call("GET", url.without_query_params("access_token"))

    # ---- internals -----------------------------------------------------------------------------

    def _url(self, path: str) -> URL:
        segments = path.strip("/").split("/")
        if any(segment in {"", ".", ".."} for segment in segments):
            raise ValueError(f"Graph path {path!r} has an empty or relative segment")
        return self._versioned.joinpath(*segments)

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise RuntimeError("the aiohttp session given to GraphClient is closed")
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                headers={"User-Agent": _USER_AGENT, "Accept": "application/json"},
            )
        return self._session

    async def _call(
        self,
        method: str,
        url: URL,
        *,
        params: Params | None = None,
        body: Mapping[str, Any] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        query = {key: _param(value) for key, value in (params or {}).items()}
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._max_attempts) | stop_before_delay(self._retry_budget),
            wait=self._wait,
            retry=retry_if_exception(_is_retryable),
            before_sleep=lambda state: _log_retry(method, url, state),
            reraise=True,
        )
        # Once an attempt may have reached Meta unanswered, the call's outcome stays unknown whatever
        # the later attempts say (a refusal may only mean that the first attempt went through).
        ambiguous = False
        async for attempt in retrying:
            with attempt:
                try:
                    return await self._attempt(method, url, query, body, idempotent=idempotent)
                except MetaError as error:
                    ambiguous = ambiguous or error.outcome_unknown
                    error.outcome_unknown = ambiguous
                    raise
        raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        if isinstance(error, MetaRateLimited):
            # Meta said when; if that lies beyond the budget, stop_before_delay ends the call now.
            return error.retry_after_seconds
        ceiling = min(self._backoff_max, self._backoff_initial * 2.0 ** (state.attempt_number - 1))
        # "Equal jitter": at least half the exponential step, so waits grow, but spread so that
        # many workers failing together do not come back together.
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter, not security

    async def _attempt(
        self,
        method: str,
        url: URL,
        query: Mapping[str, str],
        body: Mapping[str, Any] | None,
        *,
        idempotent: bool,
    ) -> dict[str, Any]:
        started = time.monotonic()
        outcome = "error"
        try:
            answer = await self._exchange(method, url, query, body, idempotent=idempotent)
            outcome = "ok"
            return answer
        except MetaError as error:
            outcome = _outcome(error)
            raise
        finally:
            self._metrics.meta_call_finished(_endpoint(url), outcome, time.monotonic() - started)

    async def _exchange(
        self,
        method: str,
        url: URL,
        query: Mapping[str, str],
        body: Mapping[str, Any] | None,
        *,
        idempotent: bool,
    ) -> dict[str, Any]:
        session = self._ensure_session()
        where = f"{method} {self._public_path(url)}"
        started = time.monotonic()
        try:
            async with session.request(
                method,
                url,
                params=query or None,
                json=body,
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                allow_redirects=False,
            ) as response:
                status = response.status
                raw = await response.read()
                headers = response.headers
        # Callers see what happened, never where: the Graph host and port (an internal proxy, say)
        # and the transport's own words stay in this log. `from None`: aiohttp exceptions carry
        # request_info, whose headers hold the token.
        except aiohttp.ConnectionTimeoutError:
            # Connecting timed out: nothing reached Meta, so even a send may be repeated.
            logger.warning("Graph %s: no connection within %g s", where, self._timeout)
            raise MetaUnavailable(
                f"Meta's API could not be reached: no connection within {self._timeout:g} s ({where})"
            ) from None
        except TimeoutError:
            raise self._ambiguous(
                f"Meta did not answer within {self._timeout:g} s ({where})", idempotent
            ) from None
        except aiohttp.ClientConnectorError as exc:
            logger.warning("Graph %s: cannot connect: %s", where, self._describe(exc))
            raise MetaUnavailable(f"Meta's API could not be reached ({where})") from None
        except aiohttp.ClientError as exc:
            logger.warning("Graph %s: the connection failed: %s", where, self._describe(exc))
            raise self._ambiguous(
                f"the connection to Meta's API failed ({where}: {type(exc).__name__})", idempotent
            ) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("Graph %s -> HTTP %d in %.0f ms", where, status, elapsed_ms)

        raw = raw.replace(self._token.encode(), _REDACTED.encode())
        if 300 <= status < 400:
            error: MetaError = MetaUnavailable(
                f"Meta answered HTTP {status} (a redirect) to {where}; redirects are not followed so "
                "the access token stays on the Graph host",
                http_status=status,
            )
            error.retryable = False
            raise error
        if not 200 <= status < 300:
            error = error_from_response(status, raw, headers=headers)
            # A server error to a change may come after Meta made it; a GET changes nothing.
            error.outcome_unknown = status >= 500 and method != "GET"
            if error.outcome_unknown and not idempotent:
                error.retryable = False  # a second send could deliver the message twice
            raise error
        try:
            parsed = json.loads(raw)
        except ValueError:
            raise self._unreadable(
                f"Meta answered HTTP {status} with a body that is not JSON ({where})", status, idempotent
            ) from None
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), Mapping):
            raise error_from_response(status, parsed, headers=headers)
        if not isinstance(parsed, dict):
            raise self._unreadable(
                f"Meta answered HTTP {status} with JSON that is not an object ({where})", status, idempotent
            )
        if lone_surrogate_in(parsed):
            # Stored, it could never be shown or sent again as UTF-8 text; asking again gets the same.
            unusable = MetaUnavailable(
                f"Meta answered with text holding a lone UTF-16 surrogate ({where})", http_status=status
            )
            unusable.retryable = False
            raise unusable
        return parsed

    def _unreadable(self, message: str, status: int, idempotent: bool) -> MetaUnavailable:
        """A success we cannot read: Meta acted on it, so a change is not repeated (its outcome is
        unknown); a read is asked again."""
        error = MetaUnavailable(message, http_status=status)
        if not idempotent:
            error.retryable = False
            error.outcome_unknown = True
        return error

    def _ambiguous(self, message: str, idempotent: bool) -> MetaUnavailable:
        error = MetaUnavailable(message)
        if not idempotent:
            error = MetaUnavailable(
                f"{message}; Meta may have processed the request, so it is not repeated automatically"
            )
            error.retryable = False
        error.outcome_unknown = True
        return error

    def _public_path(self, url: URL) -> str:
        """The path as Meta's documentation writes it (/v24.0/...): a base path of the configured
        Graph URL (an internal proxy's, say) is not the caller's business."""
        prefix = self._root.path
        path = url.path
        return path[len(prefix) :] if prefix and path.startswith(prefix + "/") else path

    def _describe(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {exc}".replace(self._token, _REDACTED)


def _endpoint(url: URL) -> str:
    """A label for the kind of call, not its ids: one per endpoint Meta documents."""
    last = url.path.rstrip("/").rsplit("/", 1)[-1]
    return last if last in {"messages", "message_templates"} else "template"


def _outcome(error: MetaError) -> str:
    if isinstance(error, MetaRateLimited):
        return "rate_limited"
    if error.outcome_unknown:
        return "unknown"
    if isinstance(error, MetaUnavailable):
        return "unavailable"
    return "refused"


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, MetaError) and error.retryable


def _log_retry(method: str, url: URL, state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    logger.warning(
        "Graph %s %s failed (attempt %d): %s; retrying in %.2f s",
        method,
        url.path,
        state.attempt_number,
        printable(str(error))[:500],
        state.upcoming_sleep,
    )


def _param(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _origin(url: URL) -> str:
    try:
        return str(url.origin())
    except ValueError:
        return "a relative URL"
