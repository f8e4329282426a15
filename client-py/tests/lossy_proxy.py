"""An HTTP proxy on 127.0.0.1 (port 0) in front of the real bank that LOSES answers: for the
first N requests it forwards the request to the bank (so the money moves), reads the bank's
answer, and then drops the client's connection (or stalls past its timeout) instead of relaying
it. After that it relays faithfully. This is the failure exactly-once exists for."""

from __future__ import annotations

import http.client
import socket
import time
from typing import List
from urllib.parse import urlsplit

from scripted_server import SOCKET_TIMEOUT_S, Received, ThreadedListener, read_request

FORWARD_TIMEOUT_S = 30.0


class LossyProxy(ThreadedListener):
    def __init__(self, target_url: str, lose_first: int, mode: str = "drop", stall_s: float = 0.0) -> None:
        assert mode in ("drop", "stall")
        self._target = urlsplit(target_url)
        self._lose_left = lose_first
        self._mode = mode
        self._stall_s = stall_s
        self.forwarded_statuses: List[int] = []
        self.url_path = self._target.path
        super().__init__()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(SOCKET_TIMEOUT_S)
            request = read_request(conn)
            if request is None:
                return
            with self._lock:
                self.received.append(request)
                lose = self._lose_left > 0
                self._lose_left -= 1 if lose else 0
            status, headers, body = self._forward(request)
            with self._lock:
                self.forwarded_statuses.append(status)
            if lose:
                if self._mode == "stall":
                    time.sleep(self._stall_s)
                return  # the bank has acted; the client never hears of it
            head = f"HTTP/1.1 {status} X\r\n"
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding", "keep-alive"):
                    head += f"{name}: {value}\r\n"
            head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            conn.sendall(head.encode("latin-1") + body)

    def _forward(self, request: Received):
        backend = http.client.HTTPConnection(self._target.hostname, self._target.port, timeout=FORWARD_TIMEOUT_S)
        try:
            method, path = request.request_line.split(" ")[:2]
            headers = {k: v for k, v in request.headers.items() if k not in ("host", "connection", "content-length")}
            backend.request(method, path, body=request.body.encode("utf-8"), headers=headers)
            response = backend.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            backend.close()
