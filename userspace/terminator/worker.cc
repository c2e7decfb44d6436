#include "terminator/worker.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "icap/worker_client.h"

namespace tlsgate::terminator {

namespace {

constexpr unsigned kRingEntries = 4096;
constexpr uint16_t kBufferGroup = 1;
constexpr unsigned kBufferCount = 256;
constexpr unsigned kBufferSize = 65536;

OpKind recv_kind(Side s) {
  return s == Side::client ? OpKind::recv_client : OpKind::recv_upstream;
}
OpKind send_kind(Side s) {
  return s == Side::client ? OpKind::send_client : OpKind::send_upstream;
}

}  // namespace

Worker::Worker(unsigned index, const TerminatorContext& ctx, std::vector<UniqueFd> listeners)
    : index_(index),
      ctx_(ctx),
      listeners_(std::move(listeners)),
      mailbox_(std::make_shared<WorkerMailbox>()) {}

Worker::~Worker() {
  request_stop();
  join();
}

void Worker::start() {
  thread_ = std::thread([this] {
    try {
      run();
    } catch (const std::exception& e) {
      // A worker that cannot run takes the daemon down: systemd restarts it
      // and the kernel side stays in fail mode meanwhile.
      std::fprintf(stderr, "tlsgated: worker %u failed: %s\n", index_, e.what());
      std::abort();
    }
  });
}

void Worker::request_stop() {
  mailbox_->request_stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::run() {
  // The ring is created on the worker thread: IORING_SETUP_SINGLE_ISSUER binds
  // it to the thread that submits.
  ring_ = std::make_unique<IoRing>(kRingEntries);
  buffers_ = std::make_unique<ProvidedBuffers>(*ring_, kBufferGroup, kBufferCount, kBufferSize);
  if (!ctx_.icap_services.empty()) {
    icap_ = std::make_unique<icap::IcapRingClient>(ring_->raw(), static_cast<uint8_t>(OpKind::icap),
                                                   ctx_.icap_services);
  }
  // The ICAP filters of this worker's flows scan with this worker's client.
  icap::WorkerClientBinding icap_binding(icap_.get());
  if (icap_) icap_->start();
  for (size_t i = 0; i < listeners_.size(); ++i) arm_accept(i);
  arm_wakeup();
  while (!stopping_) {
    ring_->submit_and_wait();
    ring_->drain([this](const io_uring_cqe& cqe) { on_cqe(cqe); });
    release_finished();
  }
  for (auto& c : slots_) {
    if (c) c->abort("shutdown");
  }
  // Let cancellations complete so no operation refers to freed memory.
  for (int round = 0; round < 100; ++round) {
    bool busy = false;
    for (auto& c : slots_) busy |= c && !c->can_free();
    if (icap_ && !icap_->shut_down()) busy = true;
    if (!busy) break;
    io_uring_submit(ring_->raw());
    __kernel_timespec ts{0, 10'000'000};
    io_uring_cqe* cqe = nullptr;
    io_uring_wait_cqe_timeout(ring_->raw(), &cqe, &ts);
    ring_->drain([this](const io_uring_cqe& c) { on_cqe(c); });
  }
  mailbox_->close();
  slots_.clear();  // their ICAP filters cancel scans: the client goes after them
  icap_.reset();
  buffers_.reset();
  ring_.reset();
}

void Worker::arm_accept(size_t listener_index) {
  io_uring_sqe* sqe = ring_->next_sqe();
  io_uring_prep_multishot_accept(sqe, listeners_[listener_index].get(), nullptr, nullptr,
                                 SOCK_CLOEXEC);
  io_uring_sqe_set_data64(sqe,
                          OpTag{OpKind::accept, static_cast<uint32_t>(listener_index)}.encode());
}

void Worker::arm_wakeup() {
  io_uring_sqe* sqe = ring_->next_sqe();
  io_uring_prep_read(sqe, mailbox_->eventfd(), &wakeup_value_, sizeof wakeup_value_, 0);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::wakeup, 0}.encode());
}

void Worker::on_cqe(const io_uring_cqe& cqe) {
  OpTag tag = OpTag::decode(cqe.user_data);
  if (tag.kind == OpKind::accept) {
    on_accept(tag.slot, cqe);
    return;
  }
  if (tag.kind == OpKind::wakeup) {
    if (mailbox_->stop_requested()) {
      stopping_ = true;
      return;
    }
    deliver_mail();
    arm_wakeup();
    return;
  }
  if (tag.kind == OpKind::icap) {
    if (icap_) icap_->on_completion(tag.slot, cqe.res);
    return;
  }
  if (tag.slot >= slots_.size() || !slots_[tag.slot]) return;
  Connection& c = *slots_[tag.slot];
  c.pending_ops--;
  switch (tag.kind) {
    case OpKind::recv_client:
    case OpKind::recv_upstream: {
      Side side = tag.kind == OpKind::recv_client ? Side::client : Side::upstream;
      if (cqe.res > 0 && cqe_has_buffer(cqe)) {
        uint16_t bid = cqe_buffer_id(cqe);
        c.on_recv(side, cqe.res, buffers_->data(bid, static_cast<size_t>(cqe.res)));
        buffers_->recycle(bid);  // the connection copied what it needed
      } else {
        if (cqe_has_buffer(cqe)) buffers_->recycle(cqe_buffer_id(cqe));
        c.on_recv(side, cqe.res, {});
      }
      break;
    }
    case OpKind::send_client:
      c.on_send(Side::client, cqe.res);
      break;
    case OpKind::send_upstream:
      c.on_send(Side::upstream, cqe.res);
      break;
    case OpKind::connect_upstream:
      c.on_connect(cqe.res);
      break;
    case OpKind::poll_client:
      c.on_poll(Side::client, cqe.res);
      break;
    case OpKind::poll_upstream:
      c.on_poll(Side::upstream, cqe.res);
      break;
    case OpKind::timer:
      c.on_timer(cqe.res);
      break;
    default:  // link_timeout, cancel: only the pending count matters
      break;
  }
  maybe_finished_.push_back(tag.slot);
}

std::vector<int> Worker::listener_fds() const {
  std::vector<int> fds;
  for (const auto& l : listeners_) fds.push_back(l.get());
  return fds;
}

void Worker::stop_accepting() {
  if (!accepting_) return;
  accepting_ = false;
  for (const auto& l : listeners_) {
    io_uring_sqe* sqe = ring_->next_sqe();
    io_uring_prep_cancel_fd(sqe, l.get(), IORING_ASYNC_CANCEL_ALL);
    // No connection slot: on_cqe ignores the cancel's own completion.
    io_uring_sqe_set_data64(sqe, OpTag{OpKind::cancel, UINT32_MAX}.encode());
  }
  io_uring_submit(ring_->raw());
  listeners_.clear();  // the cancelled accepts hold their own file reference
}

void Worker::on_accept(size_t listener_index, const io_uring_cqe& cqe) {
  if (!(cqe.flags & IORING_CQE_F_MORE) && !stopping_ && accepting_) arm_accept(listener_index);
  if (cqe.res < 0) return;  // e.g. EMFILE: the multishot re-arms above
  UniqueFd fd(cqe.res);
  if (stopping_) return;
  sockaddr_storage peer{};
  sockaddr_storage local{};
  socklen_t plen = sizeof peer;
  socklen_t llen = sizeof local;
  if (getpeername(fd.get(), reinterpret_cast<sockaddr*>(&peer), &plen) != 0 ||
      getsockname(fd.get(), reinterpret_cast<sockaddr*>(&local), &llen) != 0) {
    return;
  }
  auto peer_addr = IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&peer));
  auto local_addr = IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&local));
  if (!peer_addr || !local_addr) return;
  auto port_of = [](const sockaddr_storage& ss) {
    return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<const sockaddr_in&>(ss).sin_port
                                         : reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  };
  // The accepted socket's local address is the client's original destination
  // (the TC program steered it here without rewriting anything).
  Endpoint client{*peer_addr, port_of(peer)};
  Endpoint dst{*local_addr, port_of(local)};
  if (dst.port == ctx_.settings.listen_port) return;  // someone connected to the listener itself
  std::optional<ClientConnectionLimit::Lease> lease;
  if (ctx_.client_limit) {
    lease = ctx_.client_limit->acquire(client.address);
    if (!lease) {
      // Refused before any byte is read: a reset, so the client fails fast.
      linger reset{1, 0};
      setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      TerminatorCounters::add(counters_.client_limit_refusals);
      return;
    }
  }

  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
    client_leases_.emplace_back();
  }
  if (lease) client_leases_[slot] = std::move(*lease);
  slots_[slot] = std::make_unique<Connection>(slot, next_serial_++, std::move(fd), client, dst,
                                              ctx_, counters_, *this);
  slots_[slot]->start();
  maybe_finished_.push_back(slot);
}

void Worker::deliver_mail() {
  for (auto& task : mailbox_->take_tasks()) task();
  for (auto& letter : mailbox_->take()) {
    if (letter.slot >= slots_.size() || !slots_[letter.slot]) continue;
    Connection& c = *slots_[letter.slot];
    if (c.serial() != letter.serial) continue;  // that connection is gone; the slot was reused
    letter.deliver(c);
    maybe_finished_.push_back(letter.slot);
  }
}

std::vector<FlowSnapshot> Worker::snapshot_flows() const {
  std::vector<FlowSnapshot> out;
  for (const auto& c : slots_) {
    if (c && c->state() != Connection::State::closed) out.push_back(c->snapshot(index_));
  }
  return out;
}

std::vector<icap::ServiceState> Worker::icap_states() const {
  return icap_ ? icap_->states() : std::vector<icap::ServiceState>{};
}

ConnectionWaker Worker::waker(Connection& c) {
  return {mailbox_, c.slot(), c.serial()};
}

void Worker::release_finished() {
  for (uint32_t slot : maybe_finished_) {
    if (slot < slots_.size() && slots_[slot] && slots_[slot]->can_free()) {
      slots_[slot].reset();
      client_leases_[slot] = {};
      free_slots_.push_back(slot);
    }
  }
  maybe_finished_.clear();
}

// A pair of SQEs for an operation and its linked timeout, never split across
// two submissions (a link cut at a batch boundary would lose its timeout).
io_uring_sqe* Worker::linked_pair(io_uring_sqe** timeout_sqe) {
  if (io_uring_sq_space_left(ring_->raw()) < 2) io_uring_submit(ring_->raw());
  io_uring_sqe* op = ring_->next_sqe();
  *timeout_sqe = ring_->next_sqe();
  return op;
}

void Worker::recv(Connection& c, Side side, const __kernel_timespec& timeout, bool absolute) {
  io_uring_sqe* ts_sqe = nullptr;
  io_uring_sqe* sqe = linked_pair(&ts_sqe);
  io_uring_prep_recv(sqe, c.fd(side), nullptr, buffers_->buffer_size(), 0);
  sqe->flags |= IOSQE_BUFFER_SELECT | IOSQE_IO_LINK;
  sqe->buf_group = buffers_->group();
  io_uring_sqe_set_data64(sqe, OpTag{recv_kind(side), c.slot()}.encode());
  io_uring_prep_link_timeout(ts_sqe, const_cast<__kernel_timespec*>(&timeout),
                             absolute ? IORING_TIMEOUT_ABS : 0);
  io_uring_sqe_set_data64(ts_sqe, OpTag{OpKind::link_timeout, c.slot()}.encode());
  c.pending_ops += 2;
}

void Worker::send(Connection& c, Side side, std::span<const uint8_t> bytes,
                  const __kernel_timespec& timeout) {
  io_uring_sqe* ts_sqe = nullptr;
  io_uring_sqe* sqe = linked_pair(&ts_sqe);
  io_uring_prep_send(sqe, c.fd(side), bytes.data(), bytes.size(), MSG_NOSIGNAL);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, OpTag{send_kind(side), c.slot()}.encode());
  io_uring_prep_link_timeout(ts_sqe, const_cast<__kernel_timespec*>(&timeout), 0);
  io_uring_sqe_set_data64(ts_sqe, OpTag{OpKind::link_timeout, c.slot()}.encode());
  c.pending_ops += 2;
}

void Worker::connect(Connection& c, int fd, const sockaddr_storage& to, socklen_t len,
                     const __kernel_timespec& timeout) {
  io_uring_sqe* ts_sqe = nullptr;
  io_uring_sqe* sqe = linked_pair(&ts_sqe);
  io_uring_prep_connect(sqe, fd, reinterpret_cast<const sockaddr*>(&to), len);
  sqe->flags |= IOSQE_IO_LINK;
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::connect_upstream, c.slot()}.encode());
  io_uring_prep_link_timeout(ts_sqe, const_cast<__kernel_timespec*>(&timeout), 0);
  io_uring_sqe_set_data64(ts_sqe, OpTag{OpKind::link_timeout, c.slot()}.encode());
  c.pending_ops += 2;
}

void Worker::cancel_recv(Connection& c, Side side) {
  io_uring_sqe* sqe = ring_->next_sqe();
  io_uring_prep_cancel64(sqe, OpTag{recv_kind(side), c.slot()}.encode(), IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::cancel, c.slot()}.encode());
  c.pending_ops += 1;
}

void Worker::poll(Connection& c, Side side, unsigned events, const __kernel_timespec& timeout) {
  io_uring_sqe* ts_sqe = nullptr;
  io_uring_sqe* sqe = linked_pair(&ts_sqe);
  io_uring_prep_poll_add(sqe, c.fd(side), events);
  sqe->flags |= IOSQE_IO_LINK;
  OpKind kind = side == Side::client ? OpKind::poll_client : OpKind::poll_upstream;
  io_uring_sqe_set_data64(sqe, OpTag{kind, c.slot()}.encode());
  io_uring_prep_link_timeout(ts_sqe, const_cast<__kernel_timespec*>(&timeout), 0);
  io_uring_sqe_set_data64(ts_sqe, OpTag{OpKind::link_timeout, c.slot()}.encode());
  c.pending_ops += 2;
}

void Worker::timer(Connection& c, const __kernel_timespec& after) {
  io_uring_sqe* sqe = ring_->next_sqe();
  io_uring_prep_timeout(sqe, const_cast<__kernel_timespec*>(&after), 0, 0);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::timer, c.slot()}.encode());
  c.pending_ops += 1;
}

void Worker::cancel_all(Connection& c, int fd) {
  io_uring_sqe* sqe = ring_->next_sqe();
  io_uring_prep_cancel_fd(sqe, fd, IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data64(sqe, OpTag{OpKind::cancel, c.slot()}.encode());
  c.pending_ops += 1;
}

}  // namespace tlsgate::terminator
