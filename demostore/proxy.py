"""A forwarding proxy on 127.0.0.1 for the proxy tests and the demo: HTTP (absolute-form requests
and CONNECT tunnels) and SOCKS5 (RFC 1928, with RFC 1929 username/password) on one port.

    with DemoProxy() as proxy:                      # port 0: the system picks a free port
        proxy.url                                   # http://127.0.0.1:<port>
        proxy.served                                # [(client request line or 'SOCKS5 host:port'), ...]
    DemoProxy(credentials=("ann", "pw"))            # 407 / SOCKS auth failure without them
    DemoProxy(behaviour="drop")                     # accepts and hangs up at once: a failing proxy

It forwards to any address it is asked for (it is a test tool bound to the loopback interface),
so what the crawler lets through is exactly what the tests see arrive here.
"""

from __future__ import annotations

import base64
import ipaddress
import socket
import socketserver
import struct
import threading
from urllib.parse import urlsplit

BEHAVIOURS = ("forward", "drop")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, proxy: DemoProxy):
        self.proxy = proxy
        super().__init__(("127.0.0.1", 0), _Handler)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (dst,):
            try:
                s.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def _relay(a: socket.socket, b: socket.socket) -> None:
    t = threading.Thread(target=_pipe, args=(b, a), daemon=True)
    t.start()
    _pipe(a, b)
    t.join(timeout=30)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        proxy = self.server.proxy
        conn: socket.socket = self.request
        conn.settimeout(30)
        if proxy.behaviour == "drop":
            proxy._log("dropped")
            return
        first = conn.recv(1, socket.MSG_PEEK)
        if first == b"\x05":
            self._socks5(conn)
        elif first:
            self._http(conn)

    # -- HTTP -------------------------------------------------------------------------------

    def _read_head(self, conn: socket.socket) -> tuple[bytes, bytes]:
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = conn.recv(65536)
            if not chunk:
                break
            buf += chunk
            if len(buf) > 65536:
                break
        head, _, rest = buf.partition(b"\r\n\r\n")
        return head, rest

    def _authorised(self, headers: list[tuple[str, str]]) -> bool:
        creds = self.server.proxy.credentials
        if creds is None:
            return True
        want = "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        return any(k.lower() == "proxy-authorization" and v.strip() == want for k, v in headers)

    def _http(self, conn: socket.socket) -> None:
        proxy = self.server.proxy
        head, rest = self._read_head(conn)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = (lines[0].split(" ") + ["", "", ""])[:3]
        headers = [(k.strip(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:] if line)]
        if not self._authorised(headers):
            proxy._log(f"407 {method} {target}")
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"demo\"\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            return
        proxy._log(f"{method} {target}")
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = self._dial(host.strip("[]"), int(port))
            if upstream is None:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with upstream:
                if rest:
                    upstream.sendall(rest)
                _relay(conn, upstream)
            return
        parts = urlsplit(target)
        upstream = self._dial(parts.hostname or "", parts.port or 80) if parts.hostname else None
        if upstream is None:
            conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            return
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        kept = [(k, v) for k, v in headers if k.lower() not in ("proxy-authorization", "proxy-connection", "connection")]
        out = f"{method} {path} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in kept) + "Connection: close\r\n\r\n"
        with upstream:
            upstream.sendall(out.encode("latin-1") + rest)
            _relay(conn, upstream)

    # -- SOCKS5 -----------------------------------------------------------------------------

    def _recv(self, conn: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("client hung up")
            buf += chunk
        return buf

    def _socks5(self, conn: socket.socket) -> None:
        proxy = self.server.proxy
        try:
            _, count = self._recv(conn, 2)
            methods = self._recv(conn, count)
            if proxy.credentials is None and 0 in methods:
                conn.sendall(b"\x05\x00")
            elif proxy.credentials is not None and 2 in methods:
                conn.sendall(b"\x05\x02")
                _, ulen = self._recv(conn, 2)
                user = self._recv(conn, ulen).decode()
                plen = self._recv(conn, 1)[0]
                password = self._recv(conn, plen).decode()
                if (user, password) != proxy.credentials:
                    proxy._log("SOCKS5 auth refused")
                    conn.sendall(b"\x01\x01")
                    return
                conn.sendall(b"\x01\x00")
            else:
                conn.sendall(b"\x05\xff")
                return
            _, cmd, _, atyp = self._recv(conn, 4)
            if atyp == 1:
                host = str(ipaddress.IPv4Address(self._recv(conn, 4)))
            elif atyp == 4:
                host = str(ipaddress.IPv6Address(self._recv(conn, 16)))
            else:
                host = self._recv(conn, self._recv(conn, 1)[0]).decode("idna")
            port = struct.unpack("!H", self._recv(conn, 2))[0]
        except (ConnectionError, OSError, ValueError):
            return
        proxy._log(f"SOCKS5 {host}:{port}")
        upstream = self._dial(host, port) if cmd == 1 else None
        if upstream is None:
            conn.sendall(b"\x05\x05\x00\x01" + bytes(4) + b"\x00\x00")
            return
        bound = upstream.getsockname()
        conn.sendall(b"\x05\x00\x00\x01" + socket.inet_aton(bound[0]) + struct.pack("!H", bound[1]))
        with upstream:
            _relay(conn, upstream)

    def _dial(self, host: str, port: int) -> socket.socket | None:
        try:
            return socket.create_connection((host, port), timeout=30)
        except OSError:
            return None


class DemoProxy:
    """A forwarding proxy on 127.0.0.1 (port 0); ``behaviour`` "drop" makes it a failing one."""

    def __init__(self, *, credentials: tuple[str, str] | None = None, behaviour: str = "forward"):
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        self.credentials = credentials
        self.behaviour = behaviour
        self.served: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"demoproxy-{self.port}", daemon=True)
        self._thread.start()

    def _log(self, line: str) -> None:
        with self._lock:
            self.served.append(line)

    def url(self, scheme: str = "http") -> str:
        creds = f"{self.credentials[0]}:{self.credentials[1]}@" if self.credentials else ""
        return f"{scheme}://{creds}127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> DemoProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
