// Connection, the kernel-splice part (DESIGN.md §3): a bypassed TLS flow is
// relayed by the kernel (sockmap, kernel_splice_watch.h). The connection
// holds no receive on its sockets then; it polls them for their end
// (POLLRDHUP, errors), passes each FIN on once everything before it was
// delivered, and frees both when both directions are done or either resets.
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "common/errno_name.h"
#include "terminator/connection.h"

namespace tlsgate::terminator {

namespace {

constexpr std::chrono::milliseconds kDrainCheck{10};

__kernel_timespec to_timespec(std::chrono::nanoseconds d) {
  __kernel_timespec ts{};
  ts.tv_sec = d.count() / 1'000'000'000;
  ts.tv_nsec = d.count() % 1'000'000'000;
  return ts;
}

}  // namespace

// Only TLS flows: their client says nothing more until the server answered,
// so no byte waits in a receive queue as the sockets enter the map (such a
// byte would only move with the next one). False: userspace copies.
bool Connection::start_kernel_splice() {
  if (ctx_.splice == nullptr || hello_.status() != ClientHelloReader::Status::complete) {
    return false;
  }
  kernel_splice_ = KernelSpliceWatch::start(*ctx_.splice, client_fd_.get(), upstream_fd_.get());
  if (!kernel_splice_) return false;
  TerminatorCounters::add(counters_.kernel_splices);
  // The server speaks second: the relay is in place before it hears anything.
  const auto& flight = hello_.raw();
  kernel_splice_->note_sent(false, flight.size());
  side(Side::upstream).out.append(flight);
  hello_.clear();
  kick_send(Side::upstream);
  poll_timeout_ = to_timespec(ctx_.settings.idle_timeout);
  drain_check_ = to_timespec(kDrainCheck);
  splice_progress_ = kernel_splice_->progress();
  arm_splice_poll(Side::client);
  arm_splice_poll(Side::upstream);
  return true;
}

// io_uring always reports POLLRDHUP, POLLHUP and POLLERR: a side that has
// ended is not polled again (it would complete at once, forever).
void Connection::arm_splice_poll(Side s) {
  const int i = static_cast<int>(s);
  if (poll_armed_[i] || side(s).eof || state_ != State::splicing) return;
  poll_armed_[i] = true;
  io_.poll(*this, s, POLLRDHUP, poll_timeout_);
}

void Connection::on_poll(Side s, int result) {
  poll_armed_[static_cast<int>(s)] = false;
  if (s == Side::client && waiting_for_upstream()) {
    client_left_while_waiting(result);
    return;
  }
  if (state_ != State::splicing || !kernel_splice_) return;
  const std::string who = s == Side::client ? "client" : "upstream";
  if (result == -ECANCELED) {  // the linked idle timeout
    uint64_t progress = kernel_splice_->progress();
    if (progress != splice_progress_) {
      splice_progress_ = progress;
      last_activity_ = std::chrono::steady_clock::now();
    }
    if (idle_expired()) {
      close_when_flushed("idle_timeout");
      return;
    }
    arm_splice_poll(s);
    return;
  }
  if (result < 0) {
    close_when_flushed(who + "_" + errno_name(-result));
    return;
  }
  const auto events = static_cast<unsigned>(result);
  if (events & POLLERR) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd(s), SOL_SOCKET, SO_ERROR, &err, &len);
    close_when_flushed(who + "_" + (err != 0 ? errno_name(err) : "error"));
    return;
  }
  last_activity_ = std::chrono::steady_clock::now();
  side(s).eof = true;  // POLLRDHUP / POLLHUP: the peer sent FIN
  maybe_half_close(s);
}

void Connection::on_timer(int) {
  timer_armed_ = false;
  if (state_ != State::splicing || !kernel_splice_) return;
  uint64_t progress = kernel_splice_->progress();
  if (progress != splice_progress_) {
    splice_progress_ = progress;
    last_activity_ = std::chrono::steady_clock::now();
  } else if (idle_expired()) {
    close_when_flushed("idle_timeout");
    return;
  }
  for (Side s : {Side::client, Side::upstream}) {
    if (state_ == State::splicing && side(s).eof) kernel_half_close(s);
  }
}

// `from` ended: its FIN goes on once the kernel delivered all it received
// before it; both directions done ends the flow.
void Connection::kernel_half_close(Side from) {
  const Side to = other(from);
  SideState& t = side(to);
  if (side(from).eof && !t.shut_wr) {
    if (t.out.empty() && kernel_splice_->all_delivered(to == Side::client)) {
      shutdown(fd(to), SHUT_WR);
      t.shut_wr = true;
    } else if (!timer_armed_) {
      timer_armed_ = true;
      io_.timer(*this, drain_check_);
    }
  }
  if (side(Side::client).shut_wr && side(Side::upstream).shut_wr) close_when_flushed("closed");
}

void Connection::fold_kernel_splice_bytes() {
  if (!kernel_splice_) return;
  KernelSplice::Bytes b = kernel_splice_->bytes();
  bytes_from_client_ = b.from_client;
  bytes_from_server_ = b.from_upstream;
}

}  // namespace tlsgate::terminator
