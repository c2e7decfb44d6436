#include "validation/upstream_sessions.h"

#include <ctime>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "tls/openssl_text.h"

namespace tlsgate::tls {
namespace {

using Clock = std::chrono::steady_clock;

struct SessionFree {
  void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using SessionPtr = std::unique_ptr<SSL_SESSION, SessionFree>;

// The cache keeps and hands out private copies: OpenSSL marks an SSL's
// session not resumable when that SSL is freed without a close_notify sent
// (ssl_clear_bad_session), which ends most upstream connections.
SessionPtr copy_session(SSL_SESSION* s) {
  return SessionPtr(s == nullptr ? nullptr : SSL_SESSION_dup(s));
}

// The server's own lifetime for the session (ticket lifetime hint, session
// timeout) has not run out.
bool session_alive(SSL_SESSION* s) {
  return SSL_SESSION_get_time(s) + SSL_SESSION_get_timeout(s) > std::time(nullptr);
}

class SessionCache {
 public:
  explicit SessionCache(UpstreamSessionSettings settings) : settings_(settings) {}

  // The session for `key` (up-ref'd) and when its upstream was validated.
  std::pair<SessionPtr, Clock::time_point> get(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) return {};
    Entry& e = *it->second;
    if (Clock::now() - e.validated_at >= settings_.max_age || !session_alive(e.session.get())) {
      lru_.erase(it->second);
      index_.erase(it);
      return {};
    }
    lru_.splice(lru_.begin(), lru_, it->second);
    SessionPtr copy = copy_session(e.session.get());
    if (!copy) return {};
    return {std::move(copy), e.validated_at};
  }

  void put(const std::string& key, SSL_SESSION* original, Clock::time_point validated_at) {
    SessionPtr session = copy_session(original);
    if (!session) return;
    std::lock_guard lock(mutex_);
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->session = std::move(session);
      it->second->validated_at = validated_at;
      lru_.splice(lru_.begin(), lru_, it->second);
      return;
    }
    lru_.push_front(Entry{key, std::move(session), validated_at});
    index_.emplace(key, lru_.begin());
    while (lru_.size() > settings_.capacity) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }

  size_t size() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
  }

 private:
  struct Entry {
    std::string key;
    SessionPtr session;
    Clock::time_point validated_at;
  };
  const UpstreamSessionSettings settings_;
  mutable std::mutex mutex_;
  std::list<Entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

// Per upstream SSL: which upstream it is, and whether (and when) it validated.
struct SessionSlot {
  SessionCache* cache = nullptr;
  std::string key;
  bool offered = false;
  Clock::time_point offered_validated_at;  // of the offered session
  bool validated = false;
  Clock::time_point validated_at;
};

void free_cache(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  std::unique_ptr<SessionCache> owned(static_cast<SessionCache*>(ptr));
}

void free_slot(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  std::unique_ptr<SessionSlot> owned(static_cast<SessionSlot*>(ptr));
}

int cache_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_cache);
  return index;
}

int slot_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_slot);
  return index;
}

SessionCache* cache_of(SSL_CTX* ctx) {
  return static_cast<SessionCache*>(SSL_CTX_get_ex_data(ctx, cache_index()));
}

SessionSlot* slot_of(SSL* ssl) {
  return static_cast<SessionSlot*>(SSL_get_ex_data(ssl, slot_index()));
}

// OpenSSL hands over each new resumable session (TLS 1.2: at the end of the
// handshake, before validation is over; TLS 1.3: each ticket). Only those of
// a validated upstream are kept.
int on_new_session(SSL* ssl, SSL_SESSION* session) {
  SessionSlot* slot = slot_of(ssl);
  if (slot != nullptr && slot->validated && SSL_SESSION_is_resumable(session)) {
    slot->cache->put(slot->key, session, slot->validated_at);
  }
  return 0;  // OpenSSL keeps its reference (the cache holds a copy)
}

}  // namespace

void attach_upstream_session_cache(SSL_CTX* ctx, UpstreamSessionSettings settings) {
  auto cache = std::make_unique<SessionCache>(settings);
  slot_index();  // allocate the ex_data slots before any worker thread runs
  std::unique_ptr<SessionCache> replaced(cache_of(ctx));
  if (SSL_CTX_set_ex_data(ctx, cache_index(), cache.get()) != 1) {
    replaced.release();  // still attached
    throw_openssl_error("cannot attach the upstream session cache");
  }
  cache.release();  // owned by the ctx from here (free_cache)
  // Tickets (TLS 1.2 and 1.3) and session ids; the cache is ours alone.
  SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, on_new_session);
}

void offer_upstream_session(SSL* ssl, std::string_view server, std::string_view host) {
  SessionCache* cache = cache_of(SSL_get_SSL_CTX(ssl));
  if (cache == nullptr) return;
  auto slot = std::make_unique<SessionSlot>();
  slot->cache = cache;
  slot->key.reserve(server.size() + 1 + host.size());
  slot->key.append(server).append("/").append(host);
  auto [session, validated_at] = cache->get(slot->key);
  if (session && SSL_set_session(ssl, session.get()) == 1) {
    slot->offered = true;
    slot->offered_validated_at = validated_at;
  }
  if (SSL_set_ex_data(ssl, slot_index(), slot.get()) != 1) {
    throw_openssl_error("cannot name the upstream session");
  }
  slot.release();  // owned by the SSL from here (free_slot)
}

void upstream_session_validated(SSL* ssl) {
  SessionSlot* slot = slot_of(ssl);
  if (slot == nullptr || slot->validated) return;
  slot->validated = true;
  // A resumed session stands for the validation that made it: it does not
  // extend that validation's age.
  slot->validated_at =
      slot->offered && SSL_session_reused(ssl) == 1 ? slot->offered_validated_at : Clock::now();
  SSL_SESSION* current = SSL_get0_session(ssl);
  if (current != nullptr && SSL_SESSION_is_resumable(current)) {
    slot->cache->put(slot->key, current, slot->validated_at);
  }
}

size_t upstream_sessions_cached(SSL_CTX* ctx) {
  SessionCache* cache = cache_of(ctx);
  return cache == nullptr ? 0 : cache->size();
}

}  // namespace tlsgate::tls
