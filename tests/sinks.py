"""Real loopback receivers for delivery tests: an SMTP server and a webhook endpoint.

Each listens on 127.0.0.1 on a free port and runs in its own thread (the SMTP sink with its own
event loop), so the test's event loop, an app running in it, or another process can deliver to
it. Both count only what they accepted (250 / 2xx), so counting per key finds double
deliveries::

    with SMTPSink(fail_first=1) as sink:              # or the ``smtp_sink`` fixture
        ...send to 127.0.0.1:sink.port...
        [email] = sink.wait_for(1)
        assert sink.by_message_id() == {email["Message-ID"]: 1}

    with WebhookReceiver(status=200) as receiver:     # or the ``webhook_receiver`` fixture
        ...POST to receiver.url...
        [request] = receiver.wait_for(1)
        assert request.json()["askhub"]["kind"] == "ask"

``wait_for`` blocks the calling thread; from a test whose own event loop does the sending (an
app or scheduler running in-process), use ``await ...wait_for_async(n)`` instead.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypeVar

import pytest
from aiosmtpd.controller import Controller

__all__ = [
    "SMTPSink",
    "WebhookReceiver",
    "WebhookRequest",
    "free_port",
    "smtp_sink",
    "webhook_receiver",
]

HOST = "127.0.0.1"
T = TypeVar("T")


def _wait(snapshot: Callable[[], list[T]], count: int, timeout: float, what: str) -> list[T]:
    deadline = time.monotonic() + timeout
    while len(got := snapshot()) < count:
        if time.monotonic() >= deadline:
            raise AssertionError(f"expected {count} {what} within {timeout}s, got {len(got)}")
        time.sleep(0.02)
    return got


async def _wait_async(
    snapshot: Callable[[], list[T]], count: int, seconds: float, what: str
) -> list[T]:
    # A deadline that fails the test naming the count, rather than cancelling (hence ASYNC109).
    deadline = time.monotonic() + seconds
    while len(got := snapshot()) < count:
        if time.monotonic() >= deadline:
            raise AssertionError(f"expected {count} {what} within {seconds}s, got {len(got)}")
        await asyncio.sleep(0.02)
    return got


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now (for "unreachable" tests)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class _SMTPHandler:
    """aiosmtpd handler hooks; they run on the sink's own event loop thread."""

    def __init__(self, sink: SMTPSink) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.sink.reject:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay > 0:  # a slow server: the answer (and the count) comes later
            await asyncio.sleep(self.sink.delay)
        return self.sink._accept(envelope.original_content, session)


class SMTPSink:
    """An SMTP server on 127.0.0.1 that keeps every message it accepts.

    ``fail_first=N`` answers the first N messages with 451 (temporary, try later);
    ``reject={"a@example.com"}`` answers 550 (permanent) for those recipients;
    ``delay=0.02`` waits that many seconds before answering each message (a slow server; a
    message whose connection is seen closed before the answer is not kept);
    ``port=N`` listens on that port (to restart a sink where a client expects it).
    ``sessions`` counts the SMTP sessions that carried at least one accepted message.
    """

    def __init__(
        self,
        *,
        fail_first: int = 0,
        reject: Iterable[str] = (),
        delay: float = 0.0,
        port: int = 0,
    ) -> None:
        self.reject = {address.lower() for address in reject}
        self.delay = delay
        self.host = HOST
        self.port = port
        self._fail_left = fail_first
        self._messages: list[EmailMessage] = []
        # The aiosmtpd session objects themselves (kept alive, so identity means one session).
        self._sessions: list[Any] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> Self:
        # aiosmtpd needs a concrete port; another process may grab a probed port first, so retry.
        for attempt in range(5):
            port = self.port or free_port()
            controller = Controller(
                _SMTPHandler(self), hostname=HOST, port=port, server_hostname="askhub-sink"
            )
            try:
                controller.start()
            except OSError:
                if attempt == 4:
                    raise
                continue
            self._controller, self.port = controller, port
            break
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept(self, raw: bytes, session: Any) -> str:
        with self._lock:
            if self._fail_left > 0:
                self._fail_left -= 1
                return "451 4.3.0 Try again later"
            if not any(seen is session for seen in self._sessions):
                self._sessions.append(session)
            # SMTP sends CRLF line ends; normalise them as a mail client would before reading.
            parsed = email.message_from_bytes(
                raw.replace(b"\r\n", b"\n"), policy=email.policy.default
            )
            self._messages.append(parsed)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        """A snapshot of the accepted messages, in arrival order."""
        with self._lock:
            return list(self._messages)

    @property
    def sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Block until at least ``count`` messages arrived; return them all."""
        return _wait(lambda: self.messages, count, timeout, "emails")

    async def wait_for_async(
        self,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> list[EmailMessage]:
        """``wait_for`` for a test whose own event loop does the sending."""
        return await _wait_async(lambda: self.messages, count, timeout, "emails")

    def by_message_id(self) -> dict[str, int]:
        """How many times each Message-ID was accepted: more than 1 is a double delivery."""
        return dict(Counter(str(message["Message-ID"]) for message in self.messages))


@dataclass(frozen=True)
class WebhookRequest:
    path: str
    # Header names in lower case.
    headers: dict[str, str]
    body: bytes
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on 127.0.0.1 that records every POST and answers ``status``.

    ``fail_first=N`` answers the first N requests with 503. ``requests`` holds every request
    with the status it got; ``wait_for`` and ``by_key`` count only the 2xx ones (deliveries).
    """

    def __init__(self, *, status: int = 200, fail_first: int = 0) -> None:
        self.status = status
        self._fail_left = fail_first
        self._requests: list[WebhookRequest] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((HOST, 0), self._handler_class())
        self.port = int(self._server.server_address[1])
        self.url = f"http://{HOST}:{self.port}/hook"
        self._thread: threading.Thread | None = None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._record(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        return Handler

    def _record(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            status = self.status
            if self._fail_left > 0:
                self._fail_left -= 1
                status = 503
            self._requests.append(WebhookRequest(path, headers, body, status))
        return status

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def requests(self) -> list[WebhookRequest]:
        """A snapshot of every request received, in arrival order, failed ones included."""
        with self._lock:
            return list(self._requests)

    @property
    def delivered(self) -> list[WebhookRequest]:
        """The requests answered 2xx."""
        return [request for request in self.requests if 200 <= request.status < 300]

    def wait_for(self, count: int, timeout: float = 10) -> list[WebhookRequest]:
        """Block until at least ``count`` requests were delivered (2xx); return those."""
        return _wait(lambda: self.delivered, count, timeout, "delivered webhooks")

    async def wait_for_async(
        self,
        count: int,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> list[WebhookRequest]:
        """``wait_for`` for a test whose own event loop does the sending."""
        return await _wait_async(lambda: self.delivered, count, timeout, "delivered webhooks")

    def by_key(self) -> dict[str, int]:
        """Deliveries per X-AskHub-Idempotency-Key: more than 1 is a double delivery."""
        return dict(Counter(r.headers.get("x-askhub-idempotency-key", "") for r in self.delivered))


@pytest.fixture
def smtp_sink() -> Iterator[SMTPSink]:
    """A fresh SMTP sink accepting everything; build ``SMTPSink(...)`` for failure modes."""
    with SMTPSink() as sink:
        yield sink


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """A fresh webhook receiver answering 200; build ``WebhookReceiver(...)`` for failures."""
    with WebhookReceiver() as receiver:
        yield receiver
