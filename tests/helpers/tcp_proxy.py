"""A TCP proxy a test puts between django_par and a real server, to cut, delay and restore it.

The servers stay real (PostgreSQL, a redis-server): only the wire between is under the
test's control. Modes:

* ``up``: bytes pass both ways (after ``delay`` seconds per chunk, when set);
* ``cut()``: every open connection is closed and new ones are closed on accept, as when a
  server restarts or a network path drops (the client sees a reset or an end of stream);
* ``hang()``: open connections stop passing bytes and new ones are accepted but never
  answered, as a hung server or a black-holed route: only the client's timeouts end the wait;
* ``restore()``: back to ``up``; connections opened from then on reach the server.

One thread accepts; each connection has two pumping threads. Everything stops with ``close()``.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.mode = "up"
        self.delay = 0.0
        self.accepted = 0
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._closed = False
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()

    # -- control -------------------------------------------------------------

    def cut(self) -> None:
        with self._lock:
            self.mode = "cut"
        self._close_all()

    def hang(self) -> None:
        with self._lock:
            self.mode = "hang"

    def restore(self) -> None:
        with self._lock:
            self.mode = "up"
        self._close_all()  # connections held while hanging: their clients have given up on them

    def set_delay(self, seconds: float) -> None:
        self.delay = seconds

    def close(self) -> None:
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
        except OSError:
            pass
        self._listener.close()
        self._close_all()
        self._thread.join(timeout=5)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------

    def _close_all(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.add(sock)

    def _accept_loop(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            mode = self.mode
            if mode == "cut":
                client.close()
                continue
            self._track(client)
            if mode == "hang":
                continue  # held open, never answered, until restore() or close()
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self._track(server)
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                while self.mode == "hang" and not self._closed:
                    time.sleep(0.01)  # hold the bytes: neither side hears from the other
                if self.mode != "up":
                    break
                if self.delay:
                    time.sleep(self.delay)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
