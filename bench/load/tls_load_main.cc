// bench_tls_load: the benchmark's TLS client (bench/README.md). Prints one
// JSON object with what it measured; asserts nothing.
//
//   bench_tls_load connect|bulk|hold --target ADDR:PORT (--sni NAME | --names-file FILE
//       [--names-once]) --tls 1.2|1.3 --ca FILE [--path P] [-c N] [-t THREADS]
//       [--resume: offer each slot's last session] [--nagle: no TCP_NODELAY]
//       [--warmup S] [--duration S] [--timeout S] [--hold-parallel N] [--h2: hold over h2]
//
// connect: connections/s, each a full handshake (no resumption), one GET with
//          "Connection: close", the whole response, close_notify, close;
// bulk:    response body bytes/s over `-c` keep-alive connections GETting `path`;
// hold:    opens `-c` connections (handshake + one GET each, kept alive),
//          prints {"ready": ...} and holds them idle until stdin closes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "load/load_loop.h"

namespace tlsgate::bench {
namespace {

void parse_target(const std::string& text, LoadOptions& o) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) throw std::invalid_argument("--target wants ADDR:PORT");
  std::string host = text.substr(0, colon);
  const auto port = static_cast<uint16_t>(std::stoi(text.substr(colon + 1)));
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  o.target = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&o.target);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&o.target);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    o.target_len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    o.target_len = sizeof(sockaddr_in6);
  } else {
    throw std::invalid_argument("--target: not an address: " + host);
  }
}

LoadOptions parse(int argc, char** argv) {
  if (argc < 2) throw std::invalid_argument("usage: see the top of bench/load/tls_load_main.cc");
  LoadOptions o;
  const std::string mode = argv[1];
  if (mode == "connect") {
    o.mode = LoadMode::connect;
  } else if (mode == "bulk") {
    o.mode = LoadMode::bulk;
  } else if (mode == "hold") {
    o.mode = LoadMode::hold;
  } else {
    throw std::invalid_argument("mode: connect, bulk or hold");
  }
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--target") {
      parse_target(value(), o);
    } else if (arg == "--sni") {
      o.names = {value()};
    } else if (arg == "--names-file") {
      std::ifstream in(value());
      o.names.clear();
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) o.names.push_back(line);
      }
    } else if (arg == "--names-once") {
      o.names_once = true;
    } else if (arg == "--resume") {
      o.resume = true;
    } else if (arg == "--nagle") {
      o.nagle = true;
    } else if (arg == "--h2") {
      o.h2 = true;
    } else if (arg == "--tls") {
      const std::string v = value();
      if (v != "1.2" && v != "1.3") throw std::invalid_argument("--tls: 1.2 or 1.3");
      o.tls_version = v == "1.2" ? TLS1_2_VERSION : TLS1_3_VERSION;
    } else if (arg == "--ca") {
      o.ca_file = value();
    } else if (arg == "--path") {
      o.path = value();
    } else if (arg == "-c") {
      o.concurrency = static_cast<unsigned>(std::stoul(value()));
    } else if (arg == "-t") {
      o.threads = static_cast<unsigned>(std::stoul(value()));
    } else if (arg == "--warmup") {
      o.warmup_s = std::stod(value());
    } else if (arg == "--duration") {
      o.duration_s = std::stod(value());
    } else if (arg == "--timeout") {
      o.timeout_s = std::stod(value());
    } else if (arg == "--hold-parallel") {
      o.hold_parallel = static_cast<unsigned>(std::stoul(value()));
    } else {
      throw std::invalid_argument("unknown argument " + arg);
    }
  }
  if (o.target_len == 0 || o.names.empty() || o.tls_version == 0 || o.ca_file.empty()) {
    throw std::invalid_argument("--target, --sni/--names-file, --tls and --ca are required");
  }
  if (o.concurrency == 0 || o.threads == 0) throw std::invalid_argument("-c and -t must be >= 1");
  if (o.h2 && o.mode != LoadMode::hold) throw std::invalid_argument("--h2: hold only");
  o.threads = std::min(o.threads, o.concurrency);
  return o;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string errors_json(const LoadCounters& counters) {
  std::string out = "{";
  for (const auto& [what, n] : counters.errors()) {
    if (out.size() > 1) out += ", ";
    out += json_string(what) + ": " + std::to_string(n);
  }
  return out + "}";
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void sleep_s(double s) {
  std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

// connect / bulk: counts over [warmup, warmup + duration] (names_once: from
// the start until every name was used or the duration ran out).
void measure_window(const LoadOptions& o, LoadCounters& counters) {
  const double warmup = o.names_once ? 0.0 : o.warmup_s;
  sleep_s(warmup);
  const uint64_t done0 = counters.completed.load();
  const uint64_t bytes0 = counters.body_bytes.load();
  const uint64_t failed0 = counters.failed.load();
  const uint64_t resumed0 = counters.resumed.load();
  counters.sampling = true;
  const auto start = Clock::now();
  while (seconds_since(start) < o.duration_s) {
    if (o.names_once && counters.idle_threads.load() == o.threads) break;
    sleep_s(0.01);
  }
  const double elapsed = seconds_since(start);
  const uint64_t done = counters.completed.load() - done0;
  const uint64_t bytes = counters.body_bytes.load() - bytes0;
  const uint64_t failed = counters.failed.load() - failed0;
  const uint64_t resumed = counters.resumed.load() - resumed0;
  counters.sampling = false;
  counters.no_new = true;
  counters.stop = true;
  std::vector<double> first_byte = counters.first_byte_ms();
  std::sort(first_byte.begin(), first_byte.end());
  auto percentile = [&](double p) {
    if (first_byte.empty()) return 0.0;
    return first_byte[static_cast<size_t>(p * static_cast<double>(first_byte.size() - 1))];
  };
  std::printf(
      "{\"mode\": \"%s\", \"completed\": %llu, \"failed\": %llu, \"seconds\": %.3f, "
      "\"per_second\": %.1f, \"body_bytes\": %llu, \"mbytes_per_second\": %.1f, "
      "\"resumed\": %llu, \"first_byte_ms\": {\"p50\": %.3f, \"p99\": %.3f, \"n\": %zu}, "
      "\"errors\": %s}\n",
      o.mode == LoadMode::connect ? "connect" : "bulk", static_cast<unsigned long long>(done),
      static_cast<unsigned long long>(failed), elapsed, static_cast<double>(done) / elapsed,
      static_cast<unsigned long long>(bytes), static_cast<double>(bytes) / elapsed / 1e6,
      static_cast<unsigned long long>(resumed), percentile(0.50), percentile(0.99),
      first_byte.size(), errors_json(counters).c_str());
}

// hold: ready once every connection is idle or failed; then until stdin closes.
void hold(const LoadOptions& o, LoadCounters& counters) {
  const auto start = Clock::now();
  while (counters.idle_threads.load() < o.threads) sleep_s(0.02);
  std::printf("{\"ready\": %llu, \"failed\": %llu, \"seconds\": %.3f, \"errors\": %s}\n",
              static_cast<unsigned long long>(counters.established.load()),
              static_cast<unsigned long long>(counters.failed.load()), seconds_since(start),
              errors_json(counters).c_str());
  std::fflush(stdout);
  char buf[256];
  while (std::fread(buf, 1, sizeof buf, stdin) > 0) {
  }
  counters.stop = true;
  std::printf("{\"held\": %llu, \"dropped\": %llu}\n",
              static_cast<unsigned long long>(counters.established.load()),
              static_cast<unsigned long long>(counters.dropped.load()));
}

int run(int argc, char** argv) {
  const LoadOptions o = parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  tls::SslCtxPtr ctx = make_client_ctx(o);
  LoadCounters counters;
  std::vector<std::unique_ptr<LoadLoop>> loops;
  for (unsigned t = 0; t < o.threads; ++t) {
    const unsigned share = o.concurrency / o.threads + (t < o.concurrency % o.threads ? 1 : 0);
    loops.push_back(std::make_unique<LoadLoop>(o, ctx.get(), counters, share));
  }
  std::vector<std::thread> threads;
  for (auto& loop : loops) threads.emplace_back([&loop] { loop->run(); });
  if (o.mode == LoadMode::hold) {
    hold(o, counters);
  } else {
    measure_window(o, counters);
  }
  counters.stop = true;
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace
}  // namespace tlsgate::bench

int main(int argc, char** argv) {
  try {
    return tlsgate::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tls_load: %s\n", e.what());
    return 2;
  }
}
