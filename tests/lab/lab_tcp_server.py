#!/usr/bin/python3
"""A small TCP server for the lab's server namespace (standard library only).

    lab_tcp_server.py --mode relay --to 127.0.0.1:20050 --record FILE \
        --listen 10.240.3.60:443 --listen [fd00:7467:3::3c]:443
    lab_tcp_server.py --mode stall --record FILE --listen ...

relay: forwards each connection to --to and records what the client sent
       first (the raw ClientHello of the gateway) and how many bytes went
       each way;
stall: accepts and reads, never answers (an upstream whose handshake hangs).

One JSON line per connection event in --record: {"event": "accept", ...} on
accept, {"event": "close", "client_bytes": n, "server_bytes": m, "head": hex
of the first 16 KiB the client sent} when the client side ends. Runs until
SIGTERM.
"""

import argparse
import json
import socket
import threading

HEAD_LIMIT = 16384


class Recorder:
    def __init__(self, path: str):
        self._lock = threading.Lock()
        self._path = path

    def write(self, **fields) -> None:
        with self._lock, open(self._path, "a") as f:
            f.write(json.dumps(fields) + "\n")


def parse_endpoint(text: str) -> tuple[int, tuple]:
    host, _, port = text.rpartition(":")
    if host.startswith("["):
        return socket.AF_INET6, (host[1:-1], int(port))
    return socket.AF_INET, (host, int(port))


def serve_connection(conn: socket.socket, peer, args, recorder: Recorder) -> None:
    peer_text = f"{peer[0]}:{peer[1]}"
    recorder.write(event="accept", peer=peer_text)
    counts = {"client": 0, "server": 0}
    head = bytearray()
    upstream = None
    if args.mode == "relay":
        family, address = parse_endpoint(args.to)
        upstream = socket.socket(family, socket.SOCK_STREAM)
        try:
            upstream.connect(address)
        except OSError as e:
            recorder.write(event="relay_failed", peer=peer_text, error=str(e))
            conn.close()
            return

        def backward():
            try:
                while True:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    counts["server"] += len(data)
                    conn.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    conn.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        threading.Thread(target=backward, daemon=True).start()
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            counts["client"] += len(data)
            if len(head) < HEAD_LIMIT:
                head += data[:HEAD_LIMIT - len(head)]
            if upstream is not None:
                upstream.sendall(data)
    except OSError:
        pass
    finally:
        recorder.write(event="close", peer=peer_text, client_bytes=counts["client"],
                       server_bytes=counts["server"], head=head.hex())
        if upstream is not None:
            try:
                upstream.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        conn.close()


def listen_forever(listener: socket.socket, args, recorder: Recorder) -> None:
    while True:
        conn, peer = listener.accept()
        threading.Thread(target=serve_connection, args=(conn, peer, args, recorder),
                         daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("relay", "stall"), required=True)
    parser.add_argument("--listen", action="append", required=True)
    parser.add_argument("--to")
    parser.add_argument("--record", required=True)
    args = parser.parse_args()
    if args.mode == "relay" and not args.to:
        parser.error("--mode relay needs --to")
    recorder = Recorder(args.record)
    threads = []
    for endpoint in args.listen:
        family, address = parse_endpoint(endpoint)
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        listener.bind(address)
        listener.listen(512)
        t = threading.Thread(target=listen_forever, args=(listener, args, recorder), daemon=True)
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
