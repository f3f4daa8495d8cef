#!/usr/bin/env python
"""A small round-robin HTTP reverse proxy for ``scripts/cluster`` (what Caddy does in
``docker/compose.yaml``), for running several ``askhub serve`` processes as one site here.

Each request goes to the next upstream in turn; one that refuses the connection is skipped
(the request is sent to the next, so a process being restarted costs no error) and a request
no upstream takes gets 502. The response names the upstream that answered in
``X-AskHub-Upstream`` (tests and benchmarks see both processes at work), and the request
carries ``X-Forwarded-For`` / ``X-Forwarded-Proto`` as a proxy's would.

    python scripts/proxy.py --port 8100 http://127.0.0.1:8101 http://127.0.0.1:8102
"""

from __future__ import annotations

import argparse
import itertools
import logging
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

import httpx
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Connection-level headers are the hop's own, never passed on (RFC 9110 7.6.1).
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
# The proxy's client sets these for the upstream request itself.
REQUEST_OWN = HOP_BY_HOP | {"host", "content-length"}
UPSTREAM_HEADER = b"x-askhub-upstream"

log = logging.getLogger("askhub.proxy")


class RoundRobin:
    """An ASGI app that forwards every HTTP request to the next of ``upstreams``."""

    def __init__(self, upstreams: Sequence[str]) -> None:
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self._next = itertools.cycle(range(len(self.upstreams)))
        limits = httpx.Limits(max_connections=500, max_keepalive_connections=100)
        # No read timeout of our own: a slow call (routing under load) is the client's to cut.
        self.client = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(None, connect=5))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":  # websockets: AskHub serves none
            return
        body = bytearray()
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in REQUEST_OWN
        ]
        peer = scope.get("client")
        if peer:
            headers.append(("x-forwarded-for", peer[0]))
        headers.append(("x-forwarded-proto", scope.get("scheme", "http")))
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string", b"")
        target = path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        for _ in range(len(self.upstreams)):
            upstream = self.upstreams[next(self._next)]
            request = self.client.build_request(
                scope["method"], upstream + target, headers=headers, content=bytes(body)
            )
            try:
                response = await self.client.send(request, stream=True)
            except httpx.ConnectError:
                # Nothing was sent: trying the next process cannot do anything twice.
                log.warning("upstream %s refused the connection", upstream)
                continue
            try:
                await self._relay(response, upstream, send)
            finally:
                await response.aclose()
            return
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b"no upstream answered\n"})

    async def _relay(self, response: httpx.Response, upstream: str, send: Send) -> None:
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.multi_items()
            if k.lower() not in HOP_BY_HOP
        ]
        headers.append((UPSTREAM_HEADER, upstream.encode()))
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": headers}
        )
        async for chunk in response.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("upstreams", nargs="+", help="base URLs, e.g. http://127.0.0.1:8101")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="proxy: %(message)s")
    uvicorn.run(
        RoundRobin(args.upstreams),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        # The clients' keep-alive connections, as the app servers keep theirs.
        timeout_keep_alive=30,
    )


if __name__ == "__main__":
    main()
