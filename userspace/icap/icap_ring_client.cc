#include "icap/icap_ring_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace tlsgate::icap {

namespace {

constexpr uint32_t kTickSlot = (1u << 24) - 1;
constexpr size_t kRecvBuffer = 16 * 1024;
constexpr std::chrono::milliseconds kTick{100};
// A modified message may be a little larger than what was sent (a page
// replacing a small body); at least this much is accepted.
constexpr size_t kMinAnswerBody = 1 << 20;

__kernel_timespec to_timespec(std::chrono::nanoseconds d) {
  if (d < std::chrono::milliseconds(1)) d = std::chrono::milliseconds(1);
  auto s = std::chrono::duration_cast<std::chrono::seconds>(d);
  return {s.count(), (d - s).count()};
}

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

struct IcapRingClient::Job {
  uint64_t id = 0;
  ScanRequest request;
  Done done;
  Clock::time_point deadline;
  bool retried = false;
  std::optional<uint32_t> conn;
};

struct IcapRingClient::Service {
  ServiceHealth health;
  std::optional<IcapOptions> options;
  Clock::time_point options_expire{};
  bool options_in_flight = false;
  std::string istag;
  std::deque<uint64_t> waiting;
  bool starving = false;  // scans wait and the shared budget is spent
  unsigned open = 0;
  std::vector<uint32_t> idle;
};

struct IcapRingClient::Conn {
  enum class State { connecting, idle, sending, receiving, closing };
  uint32_t slot = 0;
  size_t service = 0;
  UniqueFd fd;
  State state = State::connecting;
  uint64_t job = 0;              // the scan it carries, 0: none
  bool options = false;          // carries an OPTIONS request
  bool reused = false;           // finished a transaction before this one
  bool got_bytes = false;        // of the current answer
  bool preview_pending = false;  // more body to send after a 100 Continue
  size_t preview_len = 0;
  unsigned pending = 0;
  Clock::time_point deadline;
  __kernel_timespec timeout_ts{};
  // The bytes of the current send: prefix, the caller's body, suffix.
  std::string prefix;
  std::span<const uint8_t> body;
  std::string suffix;
  iovec iov[3]{};
  msghdr msg{};
  size_t to_send = 0;
  size_t sent = 0;
  std::vector<uint8_t> in = std::vector<uint8_t>(kRecvBuffer);
  IcapResponseParser parser{kMinAnswerBody};
};

std::vector<ServiceTarget> resolve_services(const std::vector<config::IcapServiceSettings>& s) {
  std::vector<ServiceTarget> out;
  for (const auto& settings : s) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    addrinfo* res = nullptr;
    std::string port = std::to_string(settings.url.port);
    int rc = getaddrinfo(settings.url.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || res == nullptr) {
      throw std::runtime_error("ICAP service '" + settings.name + "': cannot resolve '" +
                               settings.url.host + "': " + gai_strerror(rc));
    }
    ServiceTarget t;
    t.settings = settings;
    t.budget = std::make_shared<ConnectionBudget>(settings.max_connections);
    std::memcpy(&t.address, res->ai_addr, res->ai_addrlen);
    t.address_len = res->ai_addrlen;
    freeaddrinfo(res);
    out.push_back(std::move(t));
  }
  return out;
}

IcapRingClient::IcapRingClient(io_uring* ring, uint8_t tag_kind,
                               std::vector<ServiceTarget> services)
    : ring_(ring), tag_kind_(tag_kind), services_(std::move(services)) {
  for (auto& t : services_) {
    if (!t.budget) t.budget = std::make_shared<ConnectionBudget>(t.settings.max_connections);
    state_.push_back(std::make_unique<Service>());
  }
}

IcapRingClient::~IcapRingClient() {
  // Places still held (a client destroyed without shut_down()) go back.
  for (auto& c : conns_) {
    if (c && c->state != Conn::State::closing) services_[c->service].budget->release();
  }
  for (size_t s = 0; s < state_.size(); ++s) set_starving(s, false);
}

std::optional<size_t> IcapRingClient::service_index(std::string_view name) const {
  for (size_t i = 0; i < services_.size(); ++i) {
    if (services_[i].settings.name == name) return i;
  }
  return std::nullopt;
}

uint64_t IcapRingClient::user_data(uint32_t slot, Op op) const {
  uint32_t id = (slot << 3) | static_cast<uint32_t>(op);
  return (uint64_t{id} << 8) | tag_kind_;
}

io_uring_sqe* IcapRingClient::linked_pair(io_uring_sqe** timeout_sqe) {
  // Never split a link across two submissions (it would lose its timeout).
  if (io_uring_sq_space_left(ring_) < 2) io_uring_submit(ring_);
  io_uring_sqe* op = io_uring_get_sqe(ring_);
  *timeout_sqe = io_uring_get_sqe(ring_);
  if (op == nullptr || *timeout_sqe == nullptr) {
    throw std::runtime_error("io_uring: submission queue stays full");
  }
  return op;
}

void IcapRingClient::arm_timeout(io_uring_sqe* sqe, Conn& c) {
  c.timeout_ts = to_timespec(c.deadline - Clock::now());
  io_uring_prep_link_timeout(sqe, &c.timeout_ts, 0);
  io_uring_sqe_set_data64(sqe, user_data(c.slot, Op::link_timeout));
  c.pending += 1;
}

void IcapRingClient::submit_connect(Conn& c) {
  io_uring_sqe* ts = nullptr;
  io_uring_sqe* sqe = linked_pair(&ts);
  const ServiceTarget& t = services_[c.service];
  io_uring_prep_connect(sqe, c.fd.get(), reinterpret_cast<const sockaddr*>(&t.address),
                        t.address_len);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, user_data(c.slot, Op::connect));
  c.pending += 1;
  arm_timeout(ts, c);
}

void IcapRingClient::submit_send(Conn& c) {
  // Skip what was sent already across the three pieces.
  size_t skip = c.sent;
  int n = 0;
  std::span<const uint8_t> pieces[3] = {
      {reinterpret_cast<const uint8_t*>(c.prefix.data()), c.prefix.size()},
      c.body,
      {reinterpret_cast<const uint8_t*>(c.suffix.data()), c.suffix.size()}};
  for (auto piece : pieces) {
    if (skip >= piece.size()) {
      skip -= piece.size();
      continue;
    }
    c.iov[n].iov_base = const_cast<uint8_t*>(piece.data() + skip);
    c.iov[n].iov_len = piece.size() - skip;
    skip = 0;
    ++n;
  }
  c.msg = {};
  c.msg.msg_iov = c.iov;
  c.msg.msg_iovlen = static_cast<size_t>(n);
  io_uring_sqe* ts = nullptr;
  io_uring_sqe* sqe = linked_pair(&ts);
  io_uring_prep_sendmsg(sqe, c.fd.get(), &c.msg, MSG_NOSIGNAL);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, user_data(c.slot, Op::send));
  c.pending += 1;
  arm_timeout(ts, c);
}

void IcapRingClient::submit_recv(Conn& c) {
  io_uring_sqe* ts = nullptr;
  io_uring_sqe* sqe = linked_pair(&ts);
  io_uring_prep_recv(sqe, c.fd.get(), c.in.data(), c.in.size(), 0);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, user_data(c.slot, Op::recv));
  c.pending += 1;
  arm_timeout(ts, c);
}

void IcapRingClient::arm_tick() {
  if (tick_armed_) return;
  tick_ts_ = to_timespec(kTick);
  io_uring_sqe* sqe = io_uring_get_sqe(ring_);
  if (sqe == nullptr) {
    io_uring_submit(ring_);
    sqe = io_uring_get_sqe(ring_);
    if (sqe == nullptr) throw std::runtime_error("io_uring: submission queue stays full");
  }
  io_uring_prep_timeout(sqe, &tick_ts_, 0, 0);
  io_uring_sqe_set_data64(sqe, user_data(kTickSlot, Op::tick));
  tick_armed_ = true;
}

void IcapRingClient::start() {
  for (size_t i = 0; i < services_.size(); ++i) pump(i);
  // The tick also moves connection places between workers (give_back_idle),
  // so it runs while the client does, not only while it has scans.
  arm_tick();
}

IcapRingClient::Started IcapRingClient::scan(ScanRequest request, Done done) {
  Started started;
  size_t s = request.service;
  Service& svc = *state_[s];
  const auto& settings = services_[s].settings;
  auto refuse = [&](std::string why) {
    ScanOutcome o;
    o.verdict = Verdict::error;
    o.error = std::move(why);
    o.istag = svc.istag;
    started.immediate = std::move(o);
    return started;
  };
  if (shutting_down_) return refuse("shutting down");
  if (!svc.health.up() && !svc.health.may_try(Clock::now())) {
    // may_try() let one probe through above when it was due; otherwise a
    // dead service is not asked again before its backoff ends.
    return refuse("service down");
  }
  if (svc.options) {
    TransferPlan plan = plan_transfer(*svc.options, request.request.path, settings.preview);
    if (plan.kind == TransferPlan::Kind::ignore) {
      ScanOutcome o;
      o.verdict = Verdict::clean;
      o.istag = svc.istag;
      started.immediate = std::move(o);
      return started;
    }
  }
  auto job = std::make_unique<Job>();
  job->id = next_job_++;
  job->request = std::move(request);
  job->done = std::move(done);
  job->deadline = Clock::now() + settings.timeout;
  started.id = job->id;
  svc.waiting.push_back(job->id);
  jobs_.emplace(job->id, std::move(job));
  pump(s);
  arm_tick();
  return started;
}

void IcapRingClient::cancel(uint64_t id) {
  auto it = jobs_.find(id);
  if (it == jobs_.end()) return;
  Job& job = *it->second;
  if (job.conn) {
    Conn& c = *conns_[*job.conn];
    c.job = 0;
    // Its answer will never be read: the connection cannot be reused, and
    // its send must stop reading the body the caller is about to free.
    close_connection(c);
  } else {
    auto& waiting = state_[job.request.service]->waiting;
    waiting.erase(std::remove(waiting.begin(), waiting.end(), id), waiting.end());
  }
  jobs_.erase(it);
}

IcapRingClient::Conn* IcapRingClient::open_connection(size_t service, OpenRefused* why) {
  const ServiceTarget& t = services_[service];
  if (!t.budget->try_acquire()) {
    *why = OpenRefused::budget;
    return nullptr;
  }
  int fd = ::socket(t.address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    t.budget->release();
    *why = OpenRefused::socket;
    return nullptr;
  }
  *why = OpenRefused::no;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(conns_.size());
    conns_.emplace_back();
  }
  conns_[slot] = std::make_unique<Conn>();
  Conn& c = *conns_[slot];
  c.slot = slot;
  c.service = service;
  c.fd = UniqueFd(fd);
  c.state = Conn::State::connecting;
  c.deadline = Clock::now() + t.settings.timeout;
  state_[service]->open += 1;
  submit_connect(c);
  return &c;
}

void IcapRingClient::pump(size_t s) {
  if (shutting_down_) return;
  Service& svc = *state_[s];
  auto now = Clock::now();
  bool options_due = !svc.options || now >= svc.options_expire;
  OpenRefused refused = OpenRefused::no;
  if (options_due && !svc.options_in_flight) {
    // Down: only for a probe scan that scan() admitted.
    if (svc.health.up() || !svc.waiting.empty()) {
      svc.options_in_flight = true;
      if (!svc.idle.empty()) {
        uint32_t slot = svc.idle.back();
        svc.idle.pop_back();
        start_options(*conns_[slot]);
      } else if (Conn* c = open_connection(s, &refused)) {
        c->options = true;  // sends OPTIONS once connected
      } else {
        svc.options_in_flight = false;
      }
    }
  }
  if (!svc.options) {  // scans wait for the first OPTIONS answer
    set_starving(s, !svc.waiting.empty() && refused == OpenRefused::budget);
    return;
  }
  while (!svc.waiting.empty()) {
    if (!svc.idle.empty()) {
      uint32_t slot = svc.idle.back();
      svc.idle.pop_back();
      uint64_t id = svc.waiting.front();
      svc.waiting.pop_front();
      start_job(*conns_[slot], *jobs_.at(id));
      continue;
    }
    // Connections being opened will take the next waiting scans.
    unsigned connecting = 0;
    for (const auto& c : conns_) {
      if (c && c->service == s && c->state == Conn::State::connecting && !c->options) ++connecting;
    }
    if (connecting >= svc.waiting.size()) break;
    if (open_connection(s, &refused) == nullptr) break;
  }
  set_starving(s, !svc.waiting.empty() && refused == OpenRefused::budget);
}

void IcapRingClient::set_starving(size_t s, bool starving) {
  Service& svc = *state_[s];
  if (svc.starving == starving) return;
  svc.starving = starving;
  if (starving) {
    services_[s].budget->add_starving();
  } else {
    services_[s].budget->remove_starving();
  }
}

void IcapRingClient::give_back_idle(size_t s) {
  // Another worker's scans wait for a place this one keeps idle; or the
  // service lowered its Max-Connections under what is open.
  Service& svc = *state_[s];
  ConnectionBudget& budget = *services_[s].budget;
  while (!svc.idle.empty() && svc.waiting.empty() &&
         (budget.others_starving(svc.starving) || budget.held() > budget.cap())) {
    close_connection(*conns_[svc.idle.back()]);
  }
}

void IcapRingClient::start_options(Conn& c) {
  c.options = true;
  c.job = 0;
  c.state = Conn::State::sending;
  c.deadline = Clock::now() + services_[c.service].settings.timeout;
  c.prefix = write_options_request(services_[c.service].settings.url);
  c.body = {};
  c.suffix.clear();
  c.to_send = c.prefix.size();
  c.sent = 0;
  c.got_bytes = false;
  c.preview_pending = false;
  c.parser.reset();
  submit_send(c);
}

void IcapRingClient::start_job(Conn& c, Job& job) {
  Service& svc = *state_[c.service];
  const auto& settings = services_[c.service].settings;
  job.conn = c.slot;
  c.job = job.id;
  c.options = false;
  c.state = Conn::State::sending;
  c.deadline = job.deadline;
  c.got_bytes = false;
  c.parser = IcapResponseParser(std::max(kMinAnswerBody, settings.max_scan_size + (64 << 10)));

  TransferPlan plan = plan_transfer(*svc.options, job.request.request.path, settings.preview);
  ScanMessage m;
  m.method = settings.method;
  m.request = &job.request.request;
  m.response = job.request.response ? &*job.request.response : nullptr;
  m.client_ip = job.request.client_ip;
  ScanHeadOptions options;
  std::span<const uint8_t> body = job.request.body;
  options.has_body = !body.empty();
  if (plan.kind == TransferPlan::Kind::preview) options.preview = plan.preview_size;
  auto head = write_scan_head(settings.url, m, options);
  if (!head) {
    ScanOutcome o;
    o.error = "message cannot be encapsulated (control characters in a field)";
    job.conn.reset();
    c.job = 0;
    to_idle(c);
    finish(job.id, std::move(o));
    return;
  }
  c.prefix = std::move(*head);
  c.preview_pending = false;
  if (!options.has_body) {
    c.body = {};
    c.suffix.clear();
  } else if (options.preview) {
    size_t p = std::min(*options.preview, body.size());
    bool whole = p == body.size();
    if (p > 0) c.prefix += chunk_size_line(p);
    c.body = body.first(p);
    c.suffix =
        std::string(p > 0 ? kChunkDataEnd : "") + std::string(whole ? kLastChunkIeof : kLastChunk);
    c.preview_pending = !whole;
    c.preview_len = p;
  } else {
    c.prefix += chunk_size_line(body.size());
    c.body = body;
    c.suffix = std::string(kChunkDataEnd) + std::string(kLastChunk);
  }
  c.to_send = c.prefix.size() + c.body.size() + c.suffix.size();
  c.sent = 0;
  submit_send(c);
}

void IcapRingClient::on_completion(uint32_t id, int res) {
  uint32_t slot = id >> 3;
  auto op = static_cast<Op>(id & 7);
  if (op == Op::tick) {
    tick_armed_ = false;
    expire_waiting();
    for (size_t s = 0; s < state_.size() && !shutting_down_; ++s) {
      if (!state_[s]->waiting.empty()) pump(s);  // a place may have come free
      give_back_idle(s);
    }
    if (!shutting_down_) arm_tick();
    run_finished();
    return;
  }
  if (slot >= conns_.size() || !conns_[slot]) return;
  Conn& c = *conns_[slot];
  c.pending -= 1;
  if (c.state == Conn::State::closing) {
    release_if_done(c);
    run_finished();
    return;
  }
  switch (op) {
    case Op::connect:
      on_connect(c, res);
      break;
    case Op::send:
      on_sent(c, res);
      break;
    case Op::recv:
      on_received(c, res);
      break;
    default:
      break;  // link timeouts and cancels: only the count matters
  }
  run_finished();
}

void IcapRingClient::on_connect(Conn& c, int res) {
  if (res < 0) {
    bool timed_out = res == -ECANCELED;
    fail_connection(c, timed_out ? "connect timeout" : "connect: " + errno_text(-res), timed_out);
    return;
  }
  if (c.options) {
    start_options(c);
    return;
  }
  to_idle(c);
  pump(c.service);
}

void IcapRingClient::on_sent(Conn& c, int res) {
  if (res < 0) {
    bool timed_out = res == -ECANCELED;
    fail_connection(c, timed_out ? "timeout" : "send: " + errno_text(-res), timed_out);
    return;
  }
  c.sent += static_cast<size_t>(res);
  if (c.sent < c.to_send) {
    submit_send(c);
    return;
  }
  c.state = Conn::State::receiving;
  submit_recv(c);
}

void IcapRingClient::on_received(Conn& c, int res) {
  if (res <= 0) {
    bool timed_out = res == -ECANCELED;
    std::string why = res == 0    ? "service closed the connection"
                      : timed_out ? "timeout"
                                  : "recv: " + errno_text(-res);
    fail_connection(c, why, timed_out);
    return;
  }
  c.got_bytes = true;
  std::span<const uint8_t> in(c.in.data(), static_cast<size_t>(res));
  size_t used = 0;
  auto status = c.parser.feed(in, used);
  if (status == IcapResponseParser::Status::error) {
    fail_connection(c, "garbled answer: " + c.parser.error(), false);
    return;
  }
  if (status == IcapResponseParser::Status::need_more) {
    submit_recv(c);
    return;
  }
  if (used != in.size() && c.parser.response().status != 100) {
    fail_connection(c, "garbled answer: bytes after the response", false);
    return;
  }
  if (c.parser.response().status == 100) {
    if (!c.preview_pending || used != in.size()) {
      fail_connection(c, "garbled answer: unexpected 100 Continue", false);
      return;
    }
    // The rest of the body after the preview.
    Job& job = *jobs_.at(c.job);
    std::span<const uint8_t> rest = job.request.body.subspan(c.preview_len);
    c.preview_pending = false;
    c.parser.reset();
    c.prefix = chunk_size_line(rest.size());
    c.body = rest;
    c.suffix = std::string(kChunkDataEnd) + std::string(kLastChunk);
    c.to_send = c.prefix.size() + c.body.size() + c.suffix.size();
    c.sent = 0;
    c.state = Conn::State::sending;
    submit_send(c);
    return;
  }
  on_response(c);
}

void IcapRingClient::on_response(Conn& c) {
  Service& svc = *state_[c.service];
  IcapResponse r = std::move(c.parser.response());
  bool keep = true;
  if (auto conn = http::find_header(r.headers, "connection")) keep = *conn != "close";
  if (r.status >= 300) keep = false;  // error answers: start afresh
  svc.health.on_success();
  if (c.options) {
    on_options_answer(c, std::move(r));
    return;
  }
  uint64_t id = c.job;
  Job& job = *jobs_.at(id);
  ScanOutcome outcome = interpret(services_[c.service].settings.method, std::move(r));
  if (!outcome.istag.empty()) svc.istag = outcome.istag;
  if (outcome.istag.empty()) outcome.istag = svc.istag;
  job.conn.reset();
  c.job = 0;
  c.reused = true;
  if (keep) {
    to_idle(c);
  } else {
    close_connection(c);
  }
  size_t service = c.service;
  finish(id, std::move(outcome));
  pump(service);
}

void IcapRingClient::on_options_answer(Conn& c, IcapResponse&& r) {
  Service& svc = *state_[c.service];
  const auto& settings = services_[c.service].settings;
  size_t service = c.service;
  svc.options_in_flight = false;
  c.options = false;
  std::string why;
  auto options = read_options(r, &why);
  if (options && !options->serves(settings.method)) {
    why = std::string("service does not offer ") +
          (settings.method == config::IcapMethod::reqmod ? "REQMOD" : "RESPMOD");
    options.reset();
  }
  if (!options) {
    svc.health.on_failure(Clock::now());
    close_connection(c);
    fail_waiting(service, "OPTIONS: " + why);
    return;
  }
  auto ttl = options->ttl.count() > 0 ? std::max(options->ttl, kMinOptionsTtl) : kDefaultOptionsTtl;
  svc.options_expire = Clock::now() + ttl;
  if (!options->istag.empty()) svc.istag = options->istag;
  services_[service].budget->set_service_limit(options->max_connections);
  svc.options = std::move(options);
  c.reused = true;
  bool keep = true;
  if (auto conn = http::find_header(r.headers, "connection")) keep = *conn != "close";
  if (keep) {
    to_idle(c);
  } else {
    close_connection(c);
  }
  pump(service);
}

void IcapRingClient::to_idle(Conn& c) {
  c.state = Conn::State::idle;
  c.body = {};
  c.prefix.clear();
  c.suffix.clear();
  // Another worker may need the place more: give_back_idle() decides at
  // the next tick (closing here would free `c` under its caller).
  state_[c.service]->idle.push_back(c.slot);
}

void IcapRingClient::fail_connection(Conn& c, std::string why, bool timed_out) {
  Service& svc = *state_[c.service];
  size_t service = c.service;
  if (c.options) {
    svc.options_in_flight = false;
    c.options = false;
    svc.health.on_failure(Clock::now());
    close_connection(c);
    fail_waiting(service, "OPTIONS: " + why);
    return;
  }
  uint64_t id = c.job;
  bool stale = c.reused && !c.got_bytes && !timed_out;
  c.job = 0;
  close_connection(c);
  if (id == 0) {
    // A connection opened for waiting scans: they fail with it.
    if (!stale) {
      svc.health.on_failure(Clock::now());
      fail_waiting(service, why);
    }
    return;
  }
  Job& job = *jobs_.at(id);
  job.conn.reset();
  if (stale && !job.retried) {
    // A pooled connection the service had closed while idle: once more on
    // a fresh one, ahead of the queue.
    job.retried = true;
    svc.waiting.push_front(id);
    pump(service);
    return;
  }
  svc.health.on_failure(Clock::now());
  ScanOutcome o;
  o.error = std::move(why);
  o.istag = svc.istag;
  finish(id, std::move(o));
  pump(service);
}

void IcapRingClient::close_connection(Conn& c) {
  if (c.state == Conn::State::closing) return;
  Service& svc = *state_[c.service];
  if (c.state == Conn::State::idle) {
    svc.idle.erase(std::remove(svc.idle.begin(), svc.idle.end(), c.slot), svc.idle.end());
  }
  c.state = Conn::State::closing;
  svc.open -= 1;
  services_[c.service].budget->release();
  if (c.pending > 0) {
    // A send still queued in the kernel fails at once on a shut-down socket
    // instead of reading the caller's body later.
    ::shutdown(c.fd.get(), SHUT_RDWR);
    io_uring_sqe* sqe = io_uring_get_sqe(ring_);
    if (sqe == nullptr) {
      io_uring_submit(ring_);
      sqe = io_uring_get_sqe(ring_);
    }
    if (sqe != nullptr) {
      io_uring_prep_cancel_fd(sqe, c.fd.get(), IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(sqe, user_data(c.slot, Op::cancel));
      c.pending += 1;
    }
  }
  release_if_done(c);
}

void IcapRingClient::release_if_done(Conn& c) {
  if (c.state != Conn::State::closing || c.pending > 0) return;
  uint32_t slot = c.slot;
  conns_[slot].reset();  // closes the socket
  free_slots_.push_back(slot);
}

void IcapRingClient::finish(uint64_t job_id, ScanOutcome outcome) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  Done done = std::move(it->second->done);
  jobs_.erase(it);
  finished_.emplace_back(std::move(done), std::move(outcome));
}

void IcapRingClient::fail_waiting(size_t service, const std::string& why) {
  Service& svc = *state_[service];
  std::deque<uint64_t> waiting;
  waiting.swap(svc.waiting);
  for (uint64_t id : waiting) {
    ScanOutcome o;
    o.error = why;
    o.istag = svc.istag;
    finish(id, std::move(o));
  }
}

void IcapRingClient::expire_waiting() {
  auto now = Clock::now();
  for (size_t s = 0; s < state_.size(); ++s) {
    Service& svc = *state_[s];
    std::deque<uint64_t> keep;
    for (uint64_t id : svc.waiting) {
      if (jobs_.at(id)->deadline <= now) {
        ScanOutcome o;
        o.error = "timeout (waiting for a connection)";
        o.istag = svc.istag;
        finish(id, std::move(o));
      } else {
        keep.push_back(id);
      }
    }
    svc.waiting.swap(keep);
  }
}

void IcapRingClient::run_finished() {
  if (running_finished_) return;  // the outer call runs them
  running_finished_ = true;
  while (!finished_.empty()) {
    auto batch = std::move(finished_);
    finished_.clear();
    for (auto& [done, outcome] : batch) {
      if (done) done(std::move(outcome));
    }
  }
  running_finished_ = false;
}

std::vector<ServiceState> IcapRingClient::states() const {
  std::vector<ServiceState> out;
  for (size_t i = 0; i < services_.size(); ++i) {
    const Service& svc = *state_[i];
    ServiceState st;
    st.name = services_[i].settings.name;
    st.up = svc.health.up();
    st.down_since = svc.health.down_since();
    st.istag = svc.istag;
    st.connections = svc.open;
    st.gateway_connections = services_[i].budget->held();
    st.max_connections = services_[i].budget->cap();
    for (const auto& c : conns_) {
      if (c && c->service == i &&
          (c->state == Conn::State::sending || c->state == Conn::State::receiving)) {
        ++st.busy;
      }
    }
    st.waiting = svc.waiting.size();
    out.push_back(std::move(st));
  }
  return out;
}

bool IcapRingClient::shut_down() {
  if (!shutting_down_) {
    shutting_down_ = true;
    for (auto& c : conns_) {
      if (!c) continue;
      if (c->job != 0) {
        uint64_t id = c->job;
        c->job = 0;
        ScanOutcome o;
        o.error = "shutting down";
        finish(id, std::move(o));
      }
      close_connection(*c);
    }
    for (size_t s = 0; s < state_.size(); ++s) {
      fail_waiting(s, "shutting down");
      set_starving(s, false);
    }
    run_finished();
  }
  if (tick_armed_) return false;
  for (const auto& c : conns_) {
    if (c) return false;
  }
  return true;
}

}  // namespace tlsgate::icap
