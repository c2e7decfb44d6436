#include "terminator/worker_mailbox.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace tlsgate::terminator {

WorkerMailbox::WorkerMailbox() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!fd_) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
}

void WorkerMailbox::post(Letter letter) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    letters_.push_back(std::move(letter));
  }
  wake();
}

void WorkerMailbox::post_task(std::function<void()> task) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    tasks_.push_back(std::move(task));
  }
  wake();
}

void WorkerMailbox::request_stop() {
  stop_.store(true, std::memory_order_release);
  wake();
}

std::vector<WorkerMailbox::Letter> WorkerMailbox::take() {
  std::lock_guard lock(mu_);
  return std::exchange(letters_, {});
}

std::vector<std::function<void()>> WorkerMailbox::take_tasks() {
  std::lock_guard lock(mu_);
  return std::exchange(tasks_, {});
}

void WorkerMailbox::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
  letters_.clear();
  tasks_.clear();
}

void WorkerMailbox::wake() {
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(fd_.get(), &one, sizeof one);
}

}  // namespace tlsgate::terminator
