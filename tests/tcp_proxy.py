"""A TCP proxy a test controls (not a fixture): it forwards 127.0.0.1:<port> to a real service, and can
cut the line — reset every open connection and refuse new ones — and restore it. Tests point a client
at the proxy to see it survive its database or broker going away and coming back."""
from __future__ import annotations

import socket
import struct
import threading
from contextlib import suppress
from typing import Self

_CHUNK = 65536


def _reset(sock: socket.socket) -> None:
    """Close with an RST, as a dropped line looks to the peer (not a polite FIN)."""
    with suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RD)  # wakes the pump blocked in recv; close alone would not
    with suppress(OSError):
        sock.close()


class TcpProxy:
    """``with TcpProxy(host, port) as proxy:`` listens on ``proxy.port``; ``cut()`` and ``restore()``."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._up = True
        self._closed = False
        self.accepted = 0  # connections forwarded since the start (reconnections show up here)
        self.refused = 0   # connections reset on arrival while the line was cut (the client retrying)
        self._acceptor = threading.Thread(target=self._accept, name=f"proxy-{self.port}", daemon=True)

    def __enter__(self) -> Self:
        self._acceptor.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def cut(self) -> None:
        """Reset every forwarded connection (both ends) and refuse new ones until ``restore``."""
        with self._lock:
            self._up = False
            pairs, self._pairs = self._pairs, set()
        for client, upstream in pairs:
            _reset(client)
            _reset(upstream)

    def restore(self) -> None:
        with self._lock:
            self._up = True

    def close(self) -> None:
        self._closed = True
        self.cut()
        with suppress(OSError):
            self._listener.close()
        self._acceptor.join(5)

    def _accept(self) -> None:
        self._listener.settimeout(0.2)  # so that close() is noticed
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                up = self._up
            if not up:
                with self._lock:
                    self.refused += 1
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            with self._lock:
                if not self._up:  # cut while connecting
                    _reset(client)
                    _reset(upstream)
                    continue
                self._pairs.add(pair)
                self.accepted += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair: tuple[socket.socket, socket.socket]) -> None:
        try:
            while data := src.recv(_CHUNK):
                dst.sendall(data)
        except OSError:
            pass
        # One side ended (or the line was cut): end the other too.
        with self._lock:
            known = pair in self._pairs
            self._pairs.discard(pair)
        if known:
            for sock in pair:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                with suppress(OSError):
                    sock.close()
