#!/usr/bin/python3
"""Many TLS flows held open at once, for the fault tests (standard library
only; talks lab_tls_peer.py's transfer protocol).

    lab_flow_holder.py --connect ADDR:PORT --sni NAME --ca FILE --count N

Opens N connections (threads), each: TLS handshake (verified against FILE),
then a 64 KiB download checked by SHA-256. Prints {"ready": n_ok, "failed":
[...]} and waits. Each line "check" on stdin makes every flow that is still
up download another 64 KiB; prints {"alive": n, "dropped": n}. "quit" ends.
"""

import argparse
import hashlib
import json
import socket
import ssl
import struct
import sys
import threading

SEED = 7
BLOCK = 64 * 1024


def stream_digest(n: int, seed: int) -> str:
    out = bytearray()
    counter = 0
    while len(out) < n:
        out += hashlib.sha256(struct.pack(">QQ", seed, counter)).digest()
        counter += 1
    return hashlib.sha256(bytes(out[:n])).hexdigest()


def download(conn) -> bool:
    conn.sendall(b"D" + struct.pack(">QQ", BLOCK, SEED))
    h = hashlib.sha256()
    got = 0
    while got < BLOCK:
        chunk = conn.recv(BLOCK - got)
        if not chunk:
            return False
        h.update(chunk)
        got += len(chunk)
    return h.hexdigest() == EXPECTED


EXPECTED = ""


def main() -> None:
    global EXPECTED
    p = argparse.ArgumentParser()
    p.add_argument("--connect", required=True)
    p.add_argument("--sni", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--count", type=int, required=True)
    args = p.parse_args()
    EXPECTED = stream_digest(BLOCK, SEED)
    host, _, port = args.connect.rpartition(":")
    host = host.strip("[]")
    ctx = ssl.create_default_context(cafile=args.ca)
    conns = [None] * args.count
    failed = []

    def open_one(i):
        try:
            raw = socket.create_connection((host, int(port)), timeout=20)
            c = ctx.wrap_socket(raw, server_hostname=args.sni)
            if not download(c):
                raise OSError("bad download")
            conns[i] = c
        except (OSError, ssl.SSLError) as e:
            failed.append(f"{i}: {e}")

    # In batches: the lab's Python peer handshakes one flow per thread.
    for first in range(0, args.count, 25):
        threads = [threading.Thread(target=open_one, args=(i,))
                   for i in range(first, min(first + 25, args.count))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(json.dumps({"ready": sum(c is not None for c in conns), "failed": failed[:5]}),
          flush=True)
    for line in sys.stdin:
        if line.strip() != "check":
            break
        results = [False] * args.count

        def check(i):
            c = conns[i]
            if c is None:
                return
            try:
                c.settimeout(10)
                results[i] = download(c)
            except (OSError, ssl.SSLError):
                results[i] = False
            if not results[i]:
                conns[i] = None

        threads = [threading.Thread(target=check, args=(i,)) for i in range(args.count)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        alive = sum(results)
        print(json.dumps({"alive": alive, "dropped": args.count - alive}), flush=True)


if __name__ == "__main__":
    main()
