"""A local stand-in for a system receiving our webhooks, on 127.0.0.1 (a random port).

Threaded, it records every request (headers and body) and answers 200 unless told
otherwise for the next requests (``answer_next``): another status with a body, ``hang``
(read the request, then say nothing for ``seconds``), ``close`` (drop the connection
without an answer), or ``drip`` (answer one byte every ``seconds``: each read is quick,
the whole answer slow). ``connections`` counts every connection accepted, a request or not.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Behaviour:
    kind: str = "answer"  # answer | hang | close | drip
    status: int = 200
    body: str = "ok"
    seconds: float = 0.0


class WebhookReceiver:
    def __init__(self):
        self.received: list[Received] = []
        self.connections = 0
        self._next: deque[Behaviour] = deque()
        self.default = Behaviour()
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def setup(self):
                with receiver._lock:
                    receiver.connections += 1
                super().setup()

            def do_POST(self):  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.received.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body))
                    behaviour = receiver._next.popleft() if receiver._next else receiver.default
                if behaviour.kind == "hang":
                    receiver._release.wait(behaviour.seconds)
                    self.close_connection = True
                    return
                if behaviour.kind == "close":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                payload = behaviour.body.encode()
                if behaviour.kind == "drip":
                    whole = (f"HTTP/1.1 {behaviour.status} OK\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
                             + payload)
                    self.close_connection = True
                    for byte in whole:
                        if receiver._release.wait(behaviour.seconds):
                            return
                        try:
                            self.wfile.write(bytes([byte]))
                        except OSError:
                            return  # the sender gave up
                    return
                self.send_response(behaviour.status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def use_tls(self, certfile: str, keyfile: str) -> WebhookReceiver:
        """Answer over TLS with this certificate (before ``start``); ``server_names`` keeps
        the name each client asked for (SNI)."""
        import ssl

        self.server_names: list[str | None] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certfile, keyfile)
        context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/leadcrm"

    def answer_next(self, *behaviours: Behaviour) -> None:
        with self._lock:
            self._next.extend(behaviours)

    def start(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._release.set()  # let hanging handlers go
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                break
            time.sleep(0.02)
        return self.received
