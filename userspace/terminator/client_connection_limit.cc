#include "terminator/client_connection_limit.h"

#include <utility>

namespace tlsgate::terminator {

ClientConnectionLimit::Lease::Lease(Lease&& other) noexcept
    : limit_(std::exchange(other.limit_, nullptr)), client_(other.client_) {}

ClientConnectionLimit::Lease& ClientConnectionLimit::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    release();
    limit_ = std::exchange(other.limit_, nullptr);
    client_ = other.client_;
  }
  return *this;
}

ClientConnectionLimit::Lease::~Lease() {
  release();
}

void ClientConnectionLimit::Lease::release() {
  if (limit_ != nullptr) std::exchange(limit_, nullptr)->release(client_);
}

std::optional<ClientConnectionLimit::Lease> ClientConnectionLimit::acquire(
    const IpAddress& client) {
  if (max_ == 0) return Lease{};
  std::lock_guard lock(mu_);
  unsigned& open = open_[client];
  if (open >= max_) return std::nullopt;
  ++open;
  return Lease{this, client};
}

void ClientConnectionLimit::release(const IpAddress& client) {
  std::lock_guard lock(mu_);
  auto it = open_.find(client);
  if (it == open_.end()) return;
  if (--it->second == 0) open_.erase(it);
}

size_t ClientConnectionLimit::clients() const {
  std::lock_guard lock(mu_);
  return open_.size();
}

unsigned ClientConnectionLimit::connections_of(const IpAddress& client) const {
  std::lock_guard lock(mu_);
  auto it = open_.find(client);
  return it == open_.end() ? 0 : it->second;
}

}  // namespace tlsgate::terminator
