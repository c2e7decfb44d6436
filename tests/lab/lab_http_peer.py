#!/usr/bin/python3
"""A scripted TLS upstream for the HTTP layer's lab tests (standard library only).

    lab_http_peer.py --cert CHAIN --key KEY --record FILE \
        --listen 10.240.3.70:443 --listen [fd00:7467:3::46]:443

Per connection, by its first bytes:
  an HTTP/1 request line: answers each request in turn (keep-alive):
    /ws with "Upgrade: websocket": 101 (RFC 6455 accept key), then echoes
        every byte back as it is;
    anything else: 200 whose body is the request exactly as received (head
        and body: Content-Length or chunked, read as sent), so a test sees
        what the gateway forwarded; "Expect: 100-continue" gets a 100 first;
  anything else (not HTTP): echoes every byte back.
Every request is also appended to --record as one JSON line {"request": text}.
ALPN: offers http/1.1 to a client that asks for it. Runs until SIGTERM.
"""

import argparse
import base64
import hashlib
import json
import socket
import ssl
import threading

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def parse_endpoint(text: str):
    host, _, port = text.rpartition(":")
    if host.startswith("["):
        return socket.AF_INET6, (host[1:-1], int(port))
    return socket.AF_INET, (host, int(port))


class Conn:
    def __init__(self, tls):
        self.tls = tls
        self.buf = b""

    def fill(self) -> bool:
        data = self.tls.recv(65536)
        if not data:
            return False
        self.buf += data
        return True

    def until(self, marker: bytes) -> bytes | None:
        while marker not in self.buf:
            if not self.fill():
                return None
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def exactly(self, n: int) -> bytes | None:
        while len(self.buf) < n:
            if not self.fill():
                return None
        out, self.buf = self.buf[:n], self.buf[n:]
        return out


def header(head: bytes, name: bytes) -> bytes | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name:
            return value.strip()
    return None


def read_body(conn: Conn, head: bytes) -> bytes | None:
    if (header(head, b"transfer-encoding") or b"").lower().endswith(b"chunked"):
        body = b""
        while True:
            line = conn.until(b"\r\n")
            if line is None:
                return None
            body += line
            size = int(line.split(b";")[0], 16)
            if size == 0:
                while True:
                    trailer = conn.until(b"\r\n")
                    if trailer is None:
                        return None
                    body += trailer
                    if trailer == b"\r\n":
                        return body
            data = conn.exactly(size + 2)
            if data is None:
                return None
            body += data
    length = int(header(head, b"content-length") or b"0")
    return conn.exactly(length)


def echo(conn: Conn) -> None:
    if conn.buf:
        conn.tls.sendall(conn.buf)
        conn.buf = b""
    while True:
        data = conn.tls.recv(65536)
        if not data:
            return
        conn.tls.sendall(data)


def serve_http(conn: Conn, record) -> None:
    while True:
        head = conn.until(b"\r\n\r\n")
        if head is None:
            return
        if (header(head, b"expect") or b"").lower() == b"100-continue":
            conn.tls.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = read_body(conn, head)
        if body is None:
            return
        record(head + body)
        target = head.split(b" ")[1]
        if target == b"/ws" and (header(head, b"upgrade") or b"").lower() == b"websocket":
            key = header(head, b"sec-websocket-key") or b""
            accept = base64.b64encode(hashlib.sha1(key + WS_GUID.encode()).digest())
            conn.tls.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept +
                             b"\r\n\r\n")
            echo(conn)
            return
        answer = head + body
        conn.tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: " + str(len(answer)).encode() + b"\r\n\r\n" + answer)


def serve(raw: socket.socket, ctx: ssl.SSLContext, record) -> None:
    try:
        with ctx.wrap_socket(raw, server_side=True) as tls:
            conn = Conn(tls)
            if not conn.fill():
                return
            first = conn.buf.split(b" ", 1)[0]
            if b" " in conn.buf[:33] and first.isascii() and first.isalpha():
                serve_http(conn, record)
            else:
                echo(conn)
    except (OSError, ssl.SSLError, ValueError):
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--listen", action="append", required=True)
    args = ap.parse_args()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])
    lock = threading.Lock()

    def record(request: bytes) -> None:
        with lock, open(args.record, "a") as f:
            f.write(json.dumps({"request": request.decode("latin-1")}) + "\n")

    def accept_loop(listener: socket.socket) -> None:
        while True:
            raw, _ = listener.accept()
            threading.Thread(target=serve, args=(raw, ctx, record), daemon=True).start()

    threads = []
    for text in args.listen:
        family, address = parse_endpoint(text)
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(64)
        t = threading.Thread(target=accept_loop, args=(listener,), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
