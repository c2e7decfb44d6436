#include "kernel/decision_reader.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace tlsgate::kernel {

namespace {

// How long stop() may wait for the polling thread to notice.
constexpr int kPollTimeoutMs = 100;

std::optional<IpAddress> address_of(uint8_t family, const __u32 (&addr)[4]) {
  if (family == AF_INET) {
    in_addr a{};
    std::memcpy(&a, addr, sizeof(a));
    return IpAddress::v4(a);
  }
  if (family == AF_INET6) {
    in6_addr a{};
    std::memcpy(&a, addr, sizeof(a));
    return IpAddress::v6(a);
  }
  return std::nullopt;
}

}  // namespace

std::optional<KernelDecision> decode_decision(std::span<const uint8_t> record) {
  tg_decision raw{};
  if (record.size() != sizeof(raw)) return std::nullopt;
  std::memcpy(&raw, record.data(), sizeof(raw));
  if (raw.kind < TG_DECISION_BYPASS_CLIENT || raw.kind > TG_DECISION_QUIC_REFUSED) {
    return std::nullopt;
  }
  auto client = address_of(raw.family, raw.saddr);
  auto server = address_of(raw.family, raw.daddr);
  if (!client || !server || raw.sni_len > TG_DECISION_SNI_LEN) return std::nullopt;

  KernelDecision d;
  d.client = {*client, ntohs(raw.sport)};
  d.server = {*server, ntohs(raw.dport)};
  d.kind = static_cast<tg_decision_kind>(raw.kind);
  d.reason = static_cast<tg_flow_reason>(raw.reason);
  if (raw.rule_index != TG_DECISION_NO_RULE) d.rule_index = raw.rule_index;
  if (raw.sni_len > 0) d.sni = std::string(raw.sni, raw.sni_len);
  return d;
}

void DecisionReader::RingDeleter::operator()(ring_buffer* ring) const {
  ring_buffer__free(ring);
}

DecisionReader::DecisionReader(int ring_fd, Callback on_decision)
    : on_decision_(std::move(on_decision)) {
  ring_.reset(ring_buffer__new(ring_fd, &DecisionReader::on_sample, this, nullptr));
  if (!ring_) {
    throw std::runtime_error(std::string("map the decisions ring: ") + std::strerror(errno));
  }
  thread_ = std::thread([this] { run(); });
}

DecisionReader::~DecisionReader() {
  stop();
}

void DecisionReader::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
}

int DecisionReader::on_sample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<DecisionReader*>(ctx);
  auto decision = decode_decision({static_cast<const uint8_t*>(data), size});
  if (!decision) {
    self->malformed_.fetch_add(1, std::memory_order_relaxed);
    return 0;
  }
  self->records_.fetch_add(1, std::memory_order_relaxed);
  try {
    self->on_decision_(*decision);
  } catch (const std::exception& e) {
    // One event lost; the reader keeps going.
    std::fprintf(stderr, "tlsgated: kernel decision: %s\n", e.what());
  }
  return 0;
}

void DecisionReader::run() {
  while (!stopping_.load()) {
    // The program submits without waking us (BPF_RB_NO_WAKEUP): the poll
    // mostly times out, and the records of the interval are drained at once.
    int n = ring_buffer__poll(ring_.get(), kPollTimeoutMs);
    if (n >= 0 || n == -EINTR) n = ring_buffer__consume(ring_.get());
    if (n < 0 && n != -EINTR) {
      std::fprintf(stderr, "tlsgated: read the decisions ring: %s\n", std::strerror(-n));
      return;
    }
  }
}

}  // namespace tlsgate::kernel
