"""A bare aiohttp webhook that checks X-Hub-Signature-256, parses the JSON and answers 200: the
baseline the webhook benchmark compares against (what a minimal Meta receiver does). It stores
nothing, so its rate is what the HTTP stack, the HMAC, the parse and the client allow here.

Usage: hmac_baseline.py PORT SECRET. Prints "ready" once it listens on 127.0.0.1:PORT.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys

from aiohttp import web

PATH = "/webhooks/meta"
PREFIX = "sha256="
# The same limit the service enforces.
MAX_BODY_BYTES = 3 * 1024 * 1024


def make_app(secret: bytes) -> web.Application:
    async def receive(request: web.Request) -> web.Response:
        body = await request.read()
        header = request.headers.get("X-Hub-Signature-256", "")
        expected = PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(header.encode("utf-8", "surrogatepass"), expected.encode("ascii")):
            return web.Response(status=401, text="bad signature", content_type="text/plain")
        try:
            json.loads(body)
        except ValueError:
            return web.Response(status=400, text="not JSON", content_type="text/plain")
        return web.Response(status=200, text="OK", content_type="text/plain")

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post(PATH, receive)
    return app


async def main(port: int, secret: bytes) -> None:
    # access_log=None as in `watemplates serve`.
    runner = web.AppRunner(make_app(secret), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_address=True).start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:  # the service falls back the same way
        asyncio.run(main(int(sys.argv[1]), sys.argv[2].encode()))
    else:
        uvloop.run(main(int(sys.argv[1]), sys.argv[2].encode()))
