#!/usr/bin/python3
"""Raw TLS from the client namespace (standard library only).

As a module: build ClientHello records byte by byte (well-formed or broken on
purpose) and parse what came back (alerts, ServerHello, the gateway's own
upstream ClientHello recorded by lab_tcp_server.py). As a script, run through
`nsenter` in the client namespace:

    lab_rawtls.py send --connect ADDR:PORT --hex HEX [--half-close] [--wait S]
        sends the bytes, prints JSON {"received": hex, "closed": bool, "error": str}
    lab_rawtls.py parallel --spec FILE
        opens all connections of FILE (JSON list of {host, address, cafile, path})
        at once with the ssl module; prints one JSON result per connection
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import struct
import sys
import threading
import time

# --- building -----------------------------------------------------------------------

TLS13_SUITES = (0x1301, 0x1302, 0x1303)
ECDHE_AEAD_SUITES = (0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8)
EXT_SERVER_NAME = 0x0000
EXT_SUPPORTED_GROUPS = 0x000A
EXT_EC_POINT_FORMATS = 0x000B
EXT_SIGNATURE_ALGORITHMS = 0x000D
EXT_ALPN = 0x0010
EXT_SUPPORTED_VERSIONS = 0x002B
EXT_KEY_SHARE = 0x0033
SIGALGS = (0x0403, 0x0503, 0x0804, 0x0805, 0x0401, 0x0501)


def u8(n: int) -> bytes:
    return struct.pack("!B", n)


def u16(n: int) -> bytes:
    return struct.pack("!H", n)


def u24(n: int) -> bytes:
    return struct.pack("!I", n)[1:]


def vec8(data: bytes) -> bytes:
    return u8(len(data)) + data


def vec16(data: bytes) -> bytes:
    return u16(len(data)) + data


def extension(ext_type: int, body: bytes) -> bytes:
    return u16(ext_type) + vec16(body)


def sni_extension(*names: bytes) -> bytes:
    entries = b"".join(u8(0) + vec16(n) for n in names)
    return extension(EXT_SERVER_NAME, vec16(entries))


def client_hello(names=(b"",), *, extra_extensions: bytes = b"", tls13: bool = True,
                 compression: bytes = b"\x00", alpn=(b"http/1.1",),
                 cipher_suites=None) -> bytes:
    """One ClientHello record. names: one SNI extension with these host names
    (none when empty); tls13 False: a TLS 1.2-only hello."""
    suites = cipher_suites or ((TLS13_SUITES if tls13 else ()) + ECDHE_AEAD_SUITES)
    exts = b""
    if names:
        exts += sni_extension(*names)
    exts += extension(EXT_SUPPORTED_GROUPS, vec16(u16(0x001D) + u16(0x0017)))
    exts += extension(EXT_EC_POINT_FORMATS, vec8(b"\x00"))
    exts += extension(EXT_SIGNATURE_ALGORITHMS, vec16(b"".join(u16(a) for a in SIGALGS)))
    if alpn:
        exts += extension(EXT_ALPN, vec16(b"".join(vec8(p) for p in alpn)))
    if tls13:
        exts += extension(EXT_SUPPORTED_VERSIONS, vec8(u16(0x0304) + u16(0x0303)))
        # Any 32 bytes are an X25519 public key; the handshake is not finished.
        exts += extension(EXT_KEY_SHARE, vec16(u16(0x001D) + vec16(os.urandom(32))))
    exts += extra_extensions
    body = (u16(0x0303) + os.urandom(32) + vec8(os.urandom(32))
            + vec16(b"".join(u16(s) for s in suites)) + vec8(compression) + vec16(exts))
    return record(handshake_message(1, body))


def handshake_message(msg_type: int, body: bytes) -> bytes:
    return u8(msg_type) + u24(len(body)) + body


def record(payload: bytes, content_type: int = 22) -> bytes:
    return u8(content_type) + u16(0x0301) + vec16(payload)


# --- parsing ------------------------------------------------------------------------


def records(data: bytes) -> list[tuple[int, bytes]]:
    """(content type, payload) of each complete record."""
    out, i = [], 0
    while i + 5 <= len(data):
        length = struct.unpack("!H", data[i + 3:i + 5])[0]
        if i + 5 + length > len(data):
            break
        out.append((data[i], data[i + 5:i + 5 + length]))
        i += 5 + length
    return out


def first_alert(data: bytes) -> int | None:
    """The description of the first alert record (unencrypted), if any."""
    for content_type, payload in records(data):
        if content_type == 21 and len(payload) >= 2:
            return payload[1]
    return None


def handshake_messages(data: bytes) -> list[tuple[int, bytes]]:
    stream = b"".join(p for t, p in records(data) if t == 22)
    out, i = [], 0
    while i + 4 <= len(stream):
        length = int.from_bytes(stream[i + 1:i + 4], "big")
        out.append((stream[i], stream[i + 4:i + 4 + length]))
        i += 4 + length
    return out


def server_hello(data: bytes) -> dict | None:
    """Version, cipher suite and compression method of the first ServerHello."""
    for msg_type, body in handshake_messages(data):
        if msg_type != 2:
            continue
        i = 2 + 32
        session_id_len = body[i]
        i += 1 + session_id_len
        suite = struct.unpack("!H", body[i:i + 2])[0]
        return {"legacy_version": struct.unpack("!H", body[:2])[0], "cipher_suite": suite,
                "compression_method": body[i + 2]}
    return None


def parse_client_hello(data: bytes) -> dict:
    """The offers of a ClientHello (as recorded from the wire)."""
    for msg_type, body in handshake_messages(data):
        if msg_type != 1:
            continue
        i = 2 + 32
        i += 1 + body[i]  # session id
        n = struct.unpack("!H", body[i:i + 2])[0]
        suites = [struct.unpack("!H", body[i + 2 + k:i + 4 + k])[0] for k in range(0, n, 2)]
        i += 2 + n
        compression = list(body[i + 1:i + 1 + body[i]])
        i += 1 + body[i]
        extensions = {}
        end = i + 2 + struct.unpack("!H", body[i:i + 2])[0]
        i += 2
        while i + 4 <= end:
            ext_type, length = struct.unpack("!HH", body[i:i + 4])
            extensions[ext_type] = body[i + 4:i + 4 + length]
            i += 4 + length
        versions = []
        if EXT_SUPPORTED_VERSIONS in extensions:
            v = extensions[EXT_SUPPORTED_VERSIONS][1:]
            versions = [struct.unpack("!H", v[k:k + 2])[0] for k in range(0, len(v), 2)]
        sni = None
        if EXT_SERVER_NAME in extensions:
            e = extensions[EXT_SERVER_NAME]
            sni = e[5:5 + struct.unpack("!H", e[3:5])[0]].decode(errors="replace")
        groups = []
        if EXT_SUPPORTED_GROUPS in extensions:
            g = extensions[EXT_SUPPORTED_GROUPS][2:]
            groups = [struct.unpack("!H", g[k:k + 2])[0] for k in range(0, len(g), 2)]
        sigalgs = []
        if EXT_SIGNATURE_ALGORITHMS in extensions:
            g = extensions[EXT_SIGNATURE_ALGORITHMS][2:]
            sigalgs = [struct.unpack("!H", g[k:k + 2])[0] for k in range(0, len(g), 2)]
        return {"legacy_version": struct.unpack("!H", body[:2])[0], "cipher_suites": suites,
                "compression": compression, "versions": versions, "sni": sni,
                "groups": groups, "sigalgs": sigalgs, "extensions": sorted(extensions)}
    raise ValueError("no ClientHello in the recorded bytes")


# --- the script side (runs inside the client namespace) ----------------------------------


def _endpoint(text: str):
    host, _, port = text.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return family, (host, int(port))


def send(connect: str, data: bytes, half_close: bool, wait_s: float) -> dict:
    family, address = _endpoint(connect)
    received, closed, error = b"", False, ""
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(wait_s)
        try:
            sock.connect(address)
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                received += chunk
        except socket.timeout:
            error = "timeout"
        except OSError as e:
            error = f"{type(e).__name__}: {e}"
            closed = True
    return {"received": received.hex(), "closed": closed, "error": error}


def _one_request(job: dict, start: threading.Event, results: list, index: int) -> None:
    import ssl
    result = {"host": job["host"], "port": None, "outcome": "error", "status": "",
              "body": "", "error": ""}
    try:
        context = ssl.create_default_context(cafile=job["cafile"])
        family, address = _endpoint(f"{job['address']}:443")
        start.wait()
        with socket.create_connection(address, timeout=30) as raw:
            result["port"] = raw.getsockname()[1]
            try:
                with context.wrap_socket(raw, server_hostname=job["host"]) as tls:
                    tls.sendall(f"GET {job.get('path', '/')} HTTP/1.1\r\nHost: {job['host']}"
                                "\r\nConnection: close\r\n\r\n".encode())
                    data = _read_response(tls)
            except ssl.SSLError as e:
                result["outcome"], result["error"] = "tls_error", str(e)
                results[index] = result
                return
        head, _, body = data.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0].decode(errors="replace")
        result["outcome"] = "http"
        result["status"] = status_line.split(" ")[1] if " " in status_line else ""
        result["body"] = body.decode(errors="replace")[:4000]
    except (OSError, ValueError) as e:
        result["error"] = f"{type(e).__name__}: {e}"
    results[index] = result


def _read_response(tls) -> bytes:
    """One HTTP/1.1 response: up to Content-Length when given, else to the close."""
    data = b""
    while len(data) < 65536:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if length and len(body) >= int(length.group(1)):
                break
        chunk = tls.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def parallel(spec: list[dict]) -> list[dict]:
    start = threading.Event()
    results: list = [None] * len(spec)
    threads = [threading.Thread(target=_one_request, args=(job, start, results, i))
               for i, job in enumerate(spec)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # every thread is waiting: open all connections together
    start.set()
    for t in threads:
        t.join(timeout=120)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_send = sub.add_parser("send")
    p_send.add_argument("--connect", required=True)
    p_send.add_argument("--hex", required=True)
    p_send.add_argument("--half-close", action="store_true")
    p_send.add_argument("--wait", type=float, default=5.0)
    p_par = sub.add_parser("parallel")
    p_par.add_argument("--spec", required=True)
    args = parser.parse_args()
    if args.command == "send":
        print(json.dumps(send(args.connect, bytes.fromhex(args.hex), args.half_close,
                              args.wait)))
    else:
        with open(args.spec) as f:
            print(json.dumps(parallel(json.load(f))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
