"""A tiny HTTP server on 127.0.0.1, port 0, that answers each incoming request with the next
step of a script: drop the connection, stall past the client's timeout, or answer with given
bytes. It records every request (headers, body), so tests can see what the client sent on each
attempt. Real sockets, no mocks."""

from __future__ import annotations

import re
import socket
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from distbank.faults import BANK_NAMESPACE

REQUEST_BYTES_MAX = 1_048_576
SOCKET_TIMEOUT_S = 5.0
ACCEPT_POLL_S = 0.05

# The client's one namespace constant (test/contract.test.ts holds it to bank.wsdl).
NS = BANK_NAMESPACE
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
CONTENT_TYPE = "text/xml; charset=utf-8"


@dataclass
class Step:
    kind: str  # "drop" | "stall" | "answer"
    status: int = 200
    body: bytes = b""
    stall_s: float = 0.0
    content_type: str = CONTENT_TYPE


def drop() -> Step:
    return Step("drop")


def stall(seconds: float) -> Step:
    return Step("stall", stall_s=seconds)


def answer(body: str, status: int = 200, content_type: str = CONTENT_TYPE) -> Step:
    return Step("answer", status=status, body=body.encode("utf-8"), content_type=content_type)


def envelope(body_xml: str) -> str:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>{body_xml}</soap:Body></soap:Envelope>'
    )


def transfer_response(transaction_id: str = "t1", from_id: str = "1001", balance: str = "90.00") -> str:
    return envelope(
        f'<TransferResponse xmlns="{NS}"><transactionId>{transaction_id}</transactionId>'
        f"<fromAccountId>{from_id}</fromAccountId><balance>{balance}</balance></TransferResponse>"
    )


def bank_fault(
    code: str,
    message: str,
    retryable: bool,
    account_id: Optional[str] = None,
    soap_code: str = "soap:Client",
    retry_after_ms: Optional[int] = None,
) -> str:
    account = f"<accountId>{account_id}</accountId>" if account_id else ""
    retry_after = f"<retryAfterMs>{retry_after_ms}</retryAfterMs>" if retry_after_ms is not None else ""
    return envelope(
        f"<soap:Fault><faultcode>{soap_code}</faultcode><faultstring>{message}</faultstring><detail>"
        f'<BankFault xmlns="{NS}"><code>{code}</code><message>{message}</message>{account}'
        f"<retryable>{'true' if retryable else 'false'}</retryable>{retry_after}</BankFault></detail></soap:Fault>"
    )


@dataclass
class Received:
    headers: Dict[str, str]
    body: str
    request_line: str = ""

    @property
    def soap_request_id(self) -> Optional[str]:
        m = re.search(r"<(?:\w+:)?request-id[^>]*>([^<]*)</", self.body)
        return m.group(1) if m else None


class ThreadedListener:
    """A TCP listener on 127.0.0.1 (port 0) serving each connection on its own daemon thread;
    a context manager. Subclasses implement _handle(conn) and url_path."""

    url_path = "/bank"

    def __init__(self) -> None:
        self.received: List[Received] = []
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        # accept() wakes up this often to notice close(): closing a socket does not interrupt
        # a blocked accept() on Linux.
        self._listener.settimeout(ACCEPT_POLL_S)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}{self.url_path}"

    def __enter__(self):  # type: ignore[no-untyped-def]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self._thread.join(SOCKET_TIMEOUT_S)
        self._listener.close()

    def _serve(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        raise NotImplementedError


class ScriptedServer(ThreadedListener):
    def __init__(self, steps: List[Step]) -> None:
        super().__init__()
        self._steps = list(steps)

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(SOCKET_TIMEOUT_S)
            request = read_request(conn)
            if request is None:
                return
            with self._lock:
                self.received.append(request)
                step = self._steps.pop(0) if self._steps else Step("answer", 500, b"script exhausted", 0, "text/plain")
            if step.kind == "drop":
                return  # close without a byte of answer: the client sees a reset/disconnect
            if step.kind == "stall":
                time.sleep(step.stall_s)
                return
            head = (
                f"HTTP/1.1 {step.status} X\r\nContent-Type: {step.content_type}\r\n"
                f"Content-Length: {len(step.body)}\r\nConnection: close\r\n\r\n"
            ).encode("ascii")
            conn.sendall(head + step.body)


def read_request(conn: socket.socket) -> Optional[Received]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > REQUEST_BYTES_MAX:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: Dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < min(length, REQUEST_BYTES_MAX):
        chunk = conn.recv(65536)
        if not chunk:
            break
        rest += chunk
    return Received(headers, rest.decode("utf-8", "replace"), lines[0])


def steps_summary(server: ScriptedServer) -> Tuple[str, ...]:
    return tuple(r.soap_request_id or "-" for r in server.received)
