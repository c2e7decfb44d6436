"""The ICAP service's own time for one object, without a gateway (run in the
router namespace, next to c-icap): RESPMOD of the object's response with
`Allow: 204` and the whole body in chunks on one persistent connection,
timed from the first byte sent to the end of the answer; prints one
milliseconds figure per request.

    python3 icap_timing.py HOST PORT SERVICE FILE COUNT
"""

from __future__ import annotations

import socket
import sys
import time


def respmod(host: str, port: int, service: str, body: bytes) -> bytes:
    req_hdr = b"GET /object HTTP/1.1\r\nHost: n0.bench.test\r\n\r\n"
    res_hdr = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
               b"Content-Length: %d\r\n\r\n" % len(body))
    head = (f"RESPMOD icap://{host}:{port}/{service} ICAP/1.0\r\nHost: {host}\r\n"
            f"Allow: 204\r\nEncapsulated: req-hdr=0, res-hdr={len(req_hdr)}, "
            f"res-body={len(req_hdr) + len(res_hdr)}\r\n\r\n").encode()
    chunk = 64 << 10
    parts = [head, req_hdr, res_hdr]
    for i in range(0, len(body), chunk):
        piece = body[i:i + chunk]
        parts += [b"%x\r\n" % len(piece), piece, b"\r\n"]
    return b"".join(parts) + b"0\r\n\r\n"


def read_answer(sock: socket.socket) -> int:
    """Reads one ICAP answer (204, or 200 with a chunked body); returns the status."""
    data = b""
    while b"\r\n\r\n" not in data:
        got = sock.recv(65536)
        if not got:
            raise RuntimeError("ICAP service closed the connection")
        data += got
    head, rest = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    encapsulated = [line for line in head.split(b"\r\n")
                    if line.lower().startswith(b"encapsulated:")]
    if status == 204 or not encapsulated or b"null-body" in encapsulated[0]:
        return status
    while not rest.endswith(b"0\r\n\r\n"):  # the modified message, chunked (good enough here)
        got = sock.recv(1 << 20)
        if not got:
            raise RuntimeError("ICAP service closed the connection mid-answer")
        rest += got
    return status


def main() -> int:
    host, port, service, path, count = sys.argv[1:6]
    body = open(path, "rb").read()
    message = respmod(host, int(port), service, body)
    with socket.create_connection((host, int(port))) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(int(count)):
            start = time.perf_counter()
            sock.sendall(message)
            status = read_answer(sock)
            took = (time.perf_counter() - start) * 1000
            if status != 204:
                raise SystemExit(f"expected 204 for a clean object, got {status}")
            print(f"{took:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
