// The keys that seal the session tickets LAN clients get from us (TLS 1.2
// tickets, TLS 1.3 resumption PSKs): random per process, in memory only
// (never written to disk or logs), a new generation every `rotate_every`,
// the previous generation still accepted. Shared by every worker thread: a
// ticket one worker issued opens on any other. Thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <span>

namespace tlsgate::tls {

class TicketKeys {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  struct Key {
    std::array<uint8_t, 16> name{};  // in clear in the ticket: which key sealed it
    std::array<uint8_t, 32> aes{};   // AES-256-CBC
    std::array<uint8_t, 32> hmac{};  // HMAC-SHA256
  };
  struct Found {
    Key key;
    bool renew = false;  // the previous generation: the client should get a new ticket
  };

  // `now`: the clock rotation follows (default: steady_clock). Throws
  // std::runtime_error when the random generator fails.
  explicit TicketKeys(std::chrono::seconds rotate_every = std::chrono::hours(1), Clock now = {});
  ~TicketKeys();
  TicketKeys(const TicketKeys&) = delete;
  TicketKeys& operator=(const TicketKeys&) = delete;

  // The key new tickets are sealed with (a new generation first when due).
  Key current();
  // The key called `name`, if it is the current or the previous generation.
  std::optional<Found> find(std::span<const uint8_t> name);
  // How long a ticket may be used: one rotation period after it was issued
  // its key is still accepted.
  std::chrono::seconds lifetime() const { return rotate_every_; }

 private:
  void rotate_if_due();  // mu_ held

  const std::chrono::seconds rotate_every_;
  const Clock now_;
  std::mutex mu_;
  Key current_;
  std::optional<Key> previous_;
  std::chrono::steady_clock::time_point born_;  // of current_
};

}  // namespace tlsgate::tls
