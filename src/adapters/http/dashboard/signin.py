"""Signing in and out, the session cookie, and the CSRF check every form POST passes.

The session cookie is HttpOnly (no script reads it) and SameSite=Strict (no other site's page sends
it); it holds an opaque session id, never the API key. Forms carry the session's CSRF token. The
sign-in form, before any session exists, carries a token that must match a cookie set with the form
(double submit): a page of another site can neither read the cookie nor set it.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy
from yarl import URL

from adapters.http.access import ORG_ID
from adapters.http.dashboard.config import DASHBOARD
from adapters.http.dashboard.live import LIVE
from adapters.http.dashboard.rendering import render
from app.dashboard_sessions import SignedIn
from app.errors import PermissionDenied, Unauthenticated

SESSION_COOKIE = "wat_session"
SIGN_IN_COOKIE = "wat_signin"
log = logging.getLogger(__name__)
Page = Callable[[web.Request, SignedIn], Awaitable[web.StreamResponse]]


def signed_in_page(page: Page) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """A page for signed-in people only: others are sent to the sign-in form. POSTs must carry the
    session's CSRF token."""

    async def handler(request: web.Request) -> web.StreamResponse:
        config = request.app[DASHBOARD]
        session = await config.sessions.resolve(request.cookies.get(SESSION_COOKIE, ""))
        if session is None:
            if request.method in ("GET", "HEAD"):
                target = "/sign-in" if request.path == "/" else f"/sign-in?next={quote(request.path_qs)}"
                raise web.HTTPSeeOther(target)
            raise web.HTTPUnauthorized(text="your session ended: sign in again")
        request[ORG_ID] = session.principal.org_id
        if request.method == "POST":
            form = await read_form(request)
            if not _same(str(form.get("csrf_token", "")), session.csrf_token):
                raise web.HTTPForbidden(text="the form is stale or not ours (CSRF token): reload the page")
        try:
            return await page(request, session)
        except PermissionDenied as denied:
            raise web.HTTPForbidden(text=f"your API key's role may not do this: {denied}") from None

    return handler


async def sign_in_form(request: web.Request) -> web.Response:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "sign_in.html",
        {"sign_in_token": token, "next": _safe_next(request.query.get("next", "")), "error": ""},
    )
    _set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
    return response


async def sign_in(request: web.Request) -> web.StreamResponse:
    config = request.app[DASHBOARD]
    form = await read_form(request)
    next_page = _safe_next(str(form.get("next", "")))
    if not _same(str(form.get("sign_in_token", "")), request.cookies.get(SIGN_IN_COOKIE, "")):
        raise web.HTTPForbidden(text="the sign-in form is stale or not ours: reload it")
    try:
        session = await config.sessions.sign_in(str(form.get("api_key", "")))
    except Unauthenticated:
        token = secrets.token_urlsafe(32)
        response = render(
            request,
            "sign_in.html",
            {"sign_in_token": token, "next": next_page, "error": "That API key is unknown or revoked."},
            status=401,
        )
        _set_cookie(request, response, SIGN_IN_COOKIE, token, max_age=3600)
        return response
    response = web.HTTPSeeOther(next_page or "/")
    _set_cookie(request, response, SESSION_COOKIE, session.session_id, max_age=None)
    response.del_cookie(SIGN_IN_COOKIE, path="/")
    raise response


async def sign_out(request: web.Request, session: SignedIn) -> web.StreamResponse:
    await request.app[DASHBOARD].sessions.sign_out(session.session_id)
    # This process's open streams of the session end now (others' within SESSION_CHECK_SECONDS).
    request.app[LIVE].end_session(session.session_id)
    response = web.HTTPSeeOther("/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
    """The posted form, or 400 for a body that is not one (an unknown charset, a broken multipart)."""
    try:
        return await request.post()
    except (ValueError, LookupError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="the form could not be read: send it as a browser does") from None


def _set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, *, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="Strict",
        secure=request.app[DASHBOARD].secure_cookies,
    )


def _same(given: str, expected: str) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _safe_next(target: str) -> str:
    """Only a path of this site: a sign-in link must not send anyone elsewhere. Checked on the URL
    as it will be sent (yarl drops tabs and newlines, so "/\t/evil" would become "//evil"), and
    nothing but printable ASCII without spaces or backslashes is taken at all."""
    if not target or any(not ch.isprintable() or ch.isspace() or ch == "\\" for ch in target):
        return ""
    if not target.isascii():
        return ""
    try:
        url = URL(target)
    except ValueError:
        return ""
    rendered = str(url)
    if url.is_absolute() or url.host or not rendered.startswith("/") or rendered.startswith("//"):
        return ""
    return rendered
