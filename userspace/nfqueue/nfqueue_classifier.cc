#include "nfqueue/nfqueue_classifier.h"

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <sys/socket.h>

#include <libnetfilter_queue/libnetfilter_queue.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <vector>

#include "nfqueue/hello_classifier.h"
#include "nfqueue/tcp_packet.h"

namespace tlsgate::nfqueue {

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kDecidedMemory = std::chrono::seconds(30);
constexpr auto kPoll = std::chrono::milliseconds(100);

struct KeyHash {
  size_t operator()(const tg_flow_key& k) const {
    size_t h = 1469598103934665603ull;
    const auto* p = reinterpret_cast<const uint8_t*>(&k);
    for (size_t i = 0; i < sizeof k; ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
  }
};

struct KeyEqual {
  bool operator()(const tg_flow_key& a, const tg_flow_key& b) const {
    return std::memcmp(&a, &b, sizeof a) == 0;
  }
};

tg_flow_key normalized(tg_flow_key key) {
  std::memset(key.pad, 0, sizeof key.pad);
  return key;
}

struct HeldFlow {
  explicit HeldFlow(uint32_t first_seq) : hello(first_seq) {}
  QueuedHello hello;
  std::vector<uint32_t> packet_ids;  // in arrival order
  std::optional<TcpPacket> first;    // the first segment, for the RST toward the server
  std::vector<uint8_t> first_bytes;  // what `first` points into
  Clock::time_point since = Clock::now();
};

struct Decided {
  bool pass = false;
  Clock::time_point at;
};

[[noreturn]] void fail(const std::string& step, int err) {
  throw std::runtime_error("NFQUEUE " + step + ": " + std::strerror(err));
}

}  // namespace

struct NfqueueClassifier::Impl {
  Impl(NfqueueSettings s, QueuedFlowVerdicts& k, NfqueueCounters& c,
       std::shared_ptr<const policy::SniBypassSet> n)
      : settings(s), kernel(k), counters(c) {
    names.store(std::move(n));
  }

  NfqueueSettings settings;
  QueuedFlowVerdicts& kernel;
  NfqueueCounters& counters;
  std::atomic<std::shared_ptr<const policy::SniBypassSet>> names;
  std::atomic<bool> stopping{false};
  mnl_socket* nl = nullptr;
  unsigned port_id = 0;
  std::vector<char> buf = std::vector<char>(0xffff + (MNL_SOCKET_BUFFER_SIZE / 2));
  std::vector<char> out = std::vector<char>(8192);  // verdicts: header + a bare RST
  std::unordered_map<tg_flow_key, HeldFlow, KeyHash, KeyEqual> held;
  std::unordered_map<tg_flow_key, Decided, KeyHash, KeyEqual> decided;
  Clock::time_point last_sweep = Clock::now();
  std::thread thread;

  void open_queue();
  void send(nlmsghdr* nlh);
  void verdict(uint32_t id, int verdict, const std::vector<uint8_t>* replacement = nullptr);
  static int on_message(const nlmsghdr* nlh, void* data);
  void on_packet(uint32_t id, std::span<const uint8_t> packet);
  void finish(const tg_flow_key& key, HeldFlow& flow, bool pass);
  void sweep();
  void run();
};

void NfqueueClassifier::Impl::send(nlmsghdr* nlh) {
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) fail("send", errno);
}

void NfqueueClassifier::Impl::open_queue() {
  nl = mnl_socket_open(NETLINK_NETFILTER);
  if (nl == nullptr) fail("open netlink socket", errno);
  if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) fail("bind netlink socket", errno);
  port_id = mnl_socket_get_portid(nl);

  nlmsghdr* nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, settings.queue);
  nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
  send(nlh);
  nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, settings.queue);
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
  // GSO: aggregated segments come whole (no software segmentation on the way
  // in); FAIL_OPEN (fail_mode open): a full queue passes packets on.
  uint32_t flags = NFQA_CFG_F_GSO | (settings.fail_closed ? 0 : NFQA_CFG_F_FAIL_OPEN);
  mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
  mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
  send(nlh);

  // The bind is acknowledged asynchronously with an error if the queue is
  // taken: ask for an ACK and read it.
  nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, settings.queue);
  nlh->nlmsg_flags |= NLM_F_ACK;
  nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, 0xffff);
  send(nlh);
  ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
  if (n < 0) fail("configure queue", errno);
  if (mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, port_id, nullptr, nullptr) < 0) {
    fail("bind queue " + std::to_string(settings.queue), errno);
  }
  timeval tv{0, static_cast<suseconds_t>(std::chrono::microseconds(kPoll).count())};
  setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // Verdicts never wait on a full socket buffer of ours; losses show as ENOBUFS.
  int one = 1;
  setsockopt(mnl_socket_get_fd(nl), SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);
}

void NfqueueClassifier::Impl::verdict(uint32_t id, int v, const std::vector<uint8_t>* replacement) {
  nlmsghdr* nlh = nfq_nlmsg_put(out.data(), NFQNL_MSG_VERDICT, settings.queue);
  nfq_nlmsg_verdict_put(nlh, static_cast<int>(id), v);
  if (replacement != nullptr) {
    nfq_nlmsg_verdict_put_pkt(nlh, replacement->data(), static_cast<uint32_t>(replacement->size()));
  }
  if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
    std::fprintf(stderr, "tlsgated: NFQUEUE verdict: %s\n", std::strerror(errno));
  }
}

int NfqueueClassifier::Impl::on_message(const nlmsghdr* nlh, void* data) {
  auto* self = static_cast<Impl*>(data);
  nlattr* attr[NFQA_MAX + 1] = {};
  if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == nullptr) return MNL_CB_OK;
  const auto* header =
      static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
  std::span<const uint8_t> packet;
  if (attr[NFQA_PAYLOAD] != nullptr) {
    packet = {static_cast<const uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD])),
              mnl_attr_get_payload_len(attr[NFQA_PAYLOAD])};
  }
  self->on_packet(ntohl(header->packet_id), packet);
  return MNL_CB_OK;
}

void NfqueueClassifier::Impl::on_packet(uint32_t id, std::span<const uint8_t> packet) {
  counters.packets.fetch_add(1, std::memory_order_relaxed);
  auto p = parse_tcp_packet(packet);
  if (!p) {
    counters.unparsable.fetch_add(1, std::memory_order_relaxed);
    verdict(id, NF_ACCEPT);
    return;
  }
  const tg_flow_key key = normalized(p->key);
  if (auto d = decided.find(key); d != decided.end()) {
    // Marked before the kernel learned the verdict: the same verdict.
    verdict(id, d->second.pass ? NF_ACCEPT : NF_DROP);
    return;
  }
  auto it = held.find(key);
  if (it == held.end()) {
    if (p->payload.empty()) {  // a FIN alone: nothing to judge
      verdict(id, NF_ACCEPT);
      return;
    }
    if (held.size() >= settings.max_flows) {
      counters.flows_overflow.fetch_add(1, std::memory_order_relaxed);
      HeldFlow refused(p->seq);
      refused.packet_ids.push_back(id);
      refused.first_bytes.assign(packet.begin(), packet.end());
      refused.first = parse_tcp_packet(refused.first_bytes);
      finish(key, refused, false);
      return;
    }
    it = held.emplace(key, HeldFlow(p->seq)).first;
    it->second.first_bytes.assign(packet.begin(), packet.end());
    it->second.first = parse_tcp_packet(it->second.first_bytes);
  }
  HeldFlow& flow = it->second;
  flow.packet_ids.push_back(id);
  auto names_now = names.load();
  const HelloDecision& d = flow.hello.add(p->seq, p->payload, *names_now);
  if (!flow.hello.decided()) return;
  bool pass = d.verdict == TG_VERDICT_PASS;
  (pass ? counters.flows_passed : counters.flows_reset).fetch_add(1, std::memory_order_relaxed);
  finish(key, flow, pass);
  held.erase(key);
}

// Kernel first, so that packets marked from now on are no longer queued.
void NfqueueClassifier::Impl::finish(const tg_flow_key& key, HeldFlow& flow, bool pass) {
  try {
    if (pass)
      kernel.bypass(key);
    else
      kernel.reset(key);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tlsgated: NFQUEUE verdict to the kernel: %s\n", e.what());
  }
  decided[key] = Decided{pass, Clock::now()};
  for (size_t i = 0; i < flow.packet_ids.size(); ++i) {
    if (pass) {
      verdict(flow.packet_ids[i], NF_ACCEPT);
    } else if (i == 0 && flow.first && (flow.first->flags & kTcpAck)) {
      std::vector<uint8_t> rst = abort_toward_server(*flow.first);
      verdict(flow.packet_ids[i], NF_ACCEPT, &rst);
    } else {
      verdict(flow.packet_ids[i], NF_DROP);
    }
  }
}

void NfqueueClassifier::Impl::sweep() {
  auto now = Clock::now();
  for (auto it = held.begin(); it != held.end();) {
    if (now - it->second.since < settings.hold_timeout) {
      ++it;
      continue;
    }
    counters.flows_timed_out.fetch_add(1, std::memory_order_relaxed);
    finish(it->first, it->second, false);
    it = held.erase(it);
  }
  for (auto it = decided.begin(); it != decided.end();) {
    it = now - it->second.at > kDecidedMemory ? decided.erase(it) : std::next(it);
  }
  last_sweep = now;
}

void NfqueueClassifier::Impl::run() {
  while (!stopping.load(std::memory_order_relaxed)) {
    ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n > 0) {
      mnl_cb_run(buf.data(), static_cast<size_t>(n), 0, port_id, &Impl::on_message, this);
    } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
               errno != ENOBUFS) {
      std::fprintf(stderr, "tlsgated: NFQUEUE receive: %s\n", std::strerror(errno));
    }
    if (Clock::now() - last_sweep >= kPoll) sweep();
  }
}

NfqueueClassifier::NfqueueClassifier(NfqueueSettings settings, QueuedFlowVerdicts& kernel,
                                     std::shared_ptr<const policy::SniBypassSet> names)
    : impl_(std::make_unique<Impl>(settings, kernel, counters_, std::move(names))) {
  try {
    impl_->open_queue();
  } catch (...) {
    if (impl_->nl != nullptr) mnl_socket_close(impl_->nl);
    throw;
  }
  impl_->thread = std::thread([this] { impl_->run(); });
}

NfqueueClassifier::~NfqueueClassifier() {
  impl_->stopping.store(true);
  if (impl_->thread.joinable()) impl_->thread.join();
  // Closing the socket unbinds the queue; the kernel drops what we held.
  mnl_socket_close(impl_->nl);
}

void NfqueueClassifier::set_names(std::shared_ptr<const policy::SniBypassSet> names) {
  impl_->names.store(std::move(names));
}

std::map<std::string, uint64_t> NfqueueClassifier::counter_values() const {
  auto get = [](const std::atomic<uint64_t>& v) { return v.load(std::memory_order_relaxed); };
  return {{"nfqueue_packets", get(counters_.packets)},
          {"nfqueue_flows_passed", get(counters_.flows_passed)},
          {"nfqueue_flows_reset", get(counters_.flows_reset)},
          {"nfqueue_flows_timed_out", get(counters_.flows_timed_out)},
          {"nfqueue_flows_overflow", get(counters_.flows_overflow)},
          {"nfqueue_unparsable", get(counters_.unparsable)}};
}

}  // namespace tlsgate::nfqueue
