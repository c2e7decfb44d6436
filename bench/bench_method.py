"""The "how each figure was obtained" section of RESULTS.md, filled in with
this run's parameters."""

from __future__ import annotations

from bench_lab import (BULK_BYTES, CACHE_V4, HIT_NAMES, INSPECT_V4, KERNEL_BYPASS_V4,
                       SNI_BYPASS_V4)
from bench_peers import REDIRECT_PORT
from bench_scenarios import HANDSHAKE_CONCURRENCY, MANY_FLOWS

_METHOD = """\
**Lab.** `tests/lab` builds three network namespaces on this machine (client,
router, server; veth pairs, no route out). The server namespace runs one nginx
1.22 with 2 workers for every figure: {inspect} (inspected, and the direct
reference), {kbypass} (kernel bypass), {sbypass} (terminator bypass) and {cache}
({names} names, each with its own leaf). Every leaf is ECDSA P-256, signed by
the lab intermediate (sent in the chain); nginx offers TLS 1.2 and 1.3,
keep-alive, `GET /` (3-byte body) and `GET /bulk` ({bulk} MiB body), and session
resumption (cache and tickets, as most servers do) on every address but {cache},
which never resumes: there every upstream handshake is a full one. The client,
the proxy and nginx share the same 2 cores. In every namespace: `net.ipv4.tcp_tw_reuse=1`,
`ip_local_port_range=1024 65000`.

**Client.** `bench_tls_load` (bench/load/, the project's bench client: epoll,
OpenSSL, 2 threads) verifies every chain and host name. It trusts the lab
root and intermediate, the gateway root and intermediate, and accepts a chain
that ends at a trusted intermediate (`X509_V_FLAG_PARTIAL_CHAIN`): on every
path it checks one P-256 signature. Without that, an inspected flow would make
it also check the gateway intermediate under the gateway's P-384 root, about
0.5 ms of the shared cores per handshake that a real client spends on its own
CPU, and that would count against every proxy. *Connections/s*
(`connect`): {conc} connections in flight; each is a full handshake (no
session resumption offered, no tickets accepted), one `GET /` with
`Connection: close`, the whole response, close_notify, close; the figure is
completed connections over the measurement window after a warm-up. *Bulk*
(`bulk`): 1 or {many} keep-alive connections each GETting `/bulk` again and
again; the figure is response-body MB (10^6 bytes) per second. The client
offers one suite, so it negotiates the same with nginx and with every proxy:
TLS 1.3 `TLS_AES_128_GCM_SHA256`, TLS 1.2 `ECDHE-{{ECDSA,RSA}}-AES128-GCM-SHA256`
(RSA for mitmproxy's leaves); key exchange X25519. Between a proxy and nginx
the proxy's own offer decides.

**Handshake figures.** "Server resumes sessions": one name on {inspect}; a
proxy may resume its upstream sessions there (the client never does). "No
resumption": names on {cache}. Forged-certificate cache hit: the connections
cycle over {hit} names; the warm-up has forged each once. Miss: every connection uses a name
not used before (`--names-once`) and the proxy is restarted right before the
figure (an empty cache), so each connection makes the proxy forge a leaf. The
cost ratio in the targets is the proxy's CPU time per connection (miss / hit).
"Client resumes": as "server resumes sessions", but each of the client's
slots offers the session (TLS 1.2) or ticket (TLS 1.3) of its previous
connection (`--resume`), as a browser does on a return visit; a proxy may
resume both sides.

**Time to the first response byte.** One connection at a time (`-c 1 -t 1`),
each new (no resumption offered) to the name on {inspect}; the client writes
`GET /` once its handshake completed and measures until the first response
byte arrives (p50 and p99 over the window's connections). "Nagle client":
the client's socket keeps Nagle's algorithm on (`--nagle`), as Python's,
Java's and many other stacks' default sockets do; "TCP_NODELAY client": off.

**Order and ratios.** A repetition runs the blocks direct (nothing in the
router but forwarding), tlsgate, SSLsplit, mitmproxy, each proxy started for
its block and stopped after it; every other repetition runs the whole sequence
backwards, so that a drift of the machine's other load favours neither side of
a ratio. A ratio is computed within each repetition (the two figures ran
seconds apart) and reported as the median over the repetitions, with min–max.
- tlsgate: `tlsgated` as `tests/lab/lab_gateway.py` runs it (TC program on the
  router's LAN interface, 2 workers, event log to a file and stdout, journal
  copy off, no per-client connection limit), rules: `dst = {kbypass}/32`
  bypass, `sni = n2.bench.test` + `dst = {sbypass}/32` bypass, default
  inspect; upstream trust = lab roots.
- SSLsplit 0.5.5 (Debian): `sslsplit -u root -c <gateway intermediate> -k <its
  key> -K <P-256 leaf key> -o VerifyPeer=yes ssl 0.0.0.0 {port}` with
  `SSL_CERT_FILE=<lab roots>` (VerifyPeer uses OpenSSL's default paths; SSLsplit
  checks the chain, not the host name), connect log on stdout (to a file).
- mitmproxy (Debian): `mitmdump --mode transparent --listen-port {port} --set
  confdir=<dir with the gateway intermediate + key as mitmproxy-ca.pem> --set
  ssl_verify_upstream_trusted_ca=<lab roots> --set flow_detail=0 --set
  stream_large_bodies=1m --quiet` (bodies are streamed, not buffered whole);
  its leaves are RSA-2048 (mitmproxy has no EC leaf option).
- Peers get the router's LAN TCP/443 from a nftables table of the bench's own
  (`iifname <lan> tcp dport 443 redirect to :{port}` in a nat prerouting
  chain), deleted after the block: NAT and connection tracking are unhooked,
  so the blocks after a peer forward like the ones before it.
The client trusts the lab roots, the gateway root and the gateway intermediate
(mitmproxy does not send its CA certificate in the chain).

**Proxy CPU.** utime+stime from `/proc/<pid>/stat` of the proxy's process
tree, sampled around the measurement window.

**Memory.** For tlsgate and SSLsplit: start the proxy, warm it with 1.5 s of
TLS 1.3 connections/s, wait {settle:g} s, read VmRSS (sum over the process tree); open
N connections (TLS 1.3 handshake + one `GET /` kept alive, 64 opening at a
time), wait {settle:g} s, read VmRSS again; (after − before) / N. N = 1000 and {big}.

**BPF classifier.** `bench_bpf_classifier` runs the real programs with
BPF_PROG_TEST_RUN (repeat = 200000; the kernel reports the mean time per run):
the steering program on the packets of a flow (data packet of a bypassed flow,
SYNs) and the ClientHello classifier of BYPASS_VERIFY flows, with the
userspace classifier on the same bytes for comparison.
"""


def method_text(args, big: int) -> str:
    return _METHOD.format(inspect=INSPECT_V4, kbypass=KERNEL_BYPASS_V4, sbypass=SNI_BYPASS_V4,
                          cache=CACHE_V4, names=args.cache_names,
                          bulk=BULK_BYTES >> 20, conc=HANDSHAKE_CONCURRENCY, many=MANY_FLOWS,
                          hit=HIT_NAMES, port=REDIRECT_PORT, big=big,
                          settle=args.memory_settle)
