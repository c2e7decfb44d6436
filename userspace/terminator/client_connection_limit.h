// DESIGN.md §3: one LAN host must not exhaust the terminator. Every accepted
// connection holds a lease on its client address; past the limit the accept
// is refused at once (a TCP reset) and counted.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>

#include "common/ip_address.h"

namespace tlsgate::terminator {

class ClientConnectionLimit {
 public:
  // Returns its slot when destroyed. Move-only; an empty lease holds nothing.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

   private:
    friend class ClientConnectionLimit;
    Lease(ClientConnectionLimit* limit, const IpAddress& client) : limit_(limit), client_(client) {}
    void release();
    ClientConnectionLimit* limit_ = nullptr;
    IpAddress client_;
  };

  // 0: no limit (leases are empty and cost nothing).
  explicit ClientConnectionLimit(unsigned max_per_client) : max_(max_per_client) {}

  // nullopt: `client` already holds max_per_client connections.
  std::optional<Lease> acquire(const IpAddress& client);

  unsigned max_per_client() const { return max_; }
  // Clients holding at least one connection (for status and tests).
  size_t clients() const;
  unsigned connections_of(const IpAddress& client) const;

 private:
  void release(const IpAddress& client);

  const unsigned max_;
  mutable std::mutex mu_;  // accepts on every worker; the map is small and the hold short
  std::map<IpAddress, unsigned> open_;
};

}  // namespace tlsgate::terminator
