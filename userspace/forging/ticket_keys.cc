#include "forging/ticket_keys.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace tlsgate::tls {
namespace {

TicketKeys::Key random_key() {
  TicketKeys::Key key;
  if (RAND_bytes(key.name.data(), static_cast<int>(key.name.size())) != 1 ||
      RAND_priv_bytes(key.aes.data(), static_cast<int>(key.aes.size())) != 1 ||
      RAND_priv_bytes(key.hmac.data(), static_cast<int>(key.hmac.size())) != 1) {
    throw std::runtime_error("cannot generate session ticket keys: no randomness");
  }
  return key;
}

void cleanse(TicketKeys::Key& key) {
  OPENSSL_cleanse(key.aes.data(), key.aes.size());
  OPENSSL_cleanse(key.hmac.data(), key.hmac.size());
}

}  // namespace

TicketKeys::TicketKeys(std::chrono::seconds rotate_every, Clock now)
    : rotate_every_(rotate_every),
      now_(now ? std::move(now) : Clock([] { return std::chrono::steady_clock::now(); })),
      current_(random_key()),
      born_(now_()) {}

TicketKeys::~TicketKeys() {
  cleanse(current_);
  if (previous_) cleanse(*previous_);
}

void TicketKeys::rotate_if_due() {
  auto age = now_() - born_;
  if (age < rotate_every_) return;
  if (previous_) cleanse(*previous_);
  previous_.reset();
  // Idle for two periods or more: the current generation is too old to keep.
  if (age < 2 * rotate_every_) previous_ = current_;
  cleanse(current_);
  current_ = random_key();
  born_ = now_();
}

TicketKeys::Key TicketKeys::current() {
  std::lock_guard lock(mu_);
  rotate_if_due();
  return current_;
}

std::optional<TicketKeys::Found> TicketKeys::find(std::span<const uint8_t> name) {
  std::lock_guard lock(mu_);
  rotate_if_due();
  auto named = [&](const Key& k) { return std::ranges::equal(k.name, name); };
  if (named(current_)) return Found{current_, false};
  if (previous_ && named(*previous_)) return Found{*previous_, true};
  return std::nullopt;
}

}  // namespace tlsgate::tls
