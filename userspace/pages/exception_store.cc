#include "pages/exception_store.h"

#include <algorithm>
#include <stdexcept>

namespace tlsgate::pages {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  });
  return out;
}

}  // namespace

ExceptionStore::ExceptionStore(size_t capacity) : capacity_(capacity) {
  if (capacity == 0) throw std::invalid_argument("exception store needs capacity >= 1");
}

ExceptionStore::Key ExceptionStore::key_of(const IpAddress& client, std::string_view host,
                                           std::string_view fingerprint) {
  return {client, lower(host), lower(fingerprint)};
}

void ExceptionStore::grant(const IpAddress& client, std::string_view host,
                           std::string_view fingerprint_sha256, Clock::time_point expires) {
  Key key = key_of(client, host, fingerprint_sha256);
  std::lock_guard lock(mutex_);
  if (!expiry_.contains(key) && expiry_.size() >= capacity_) {
    const auto now = Clock::now();
    std::erase_if(expiry_, [&](const auto& entry) { return entry.second <= now; });
    if (expiry_.size() >= capacity_) {
      auto soonest =
          std::min_element(expiry_.begin(), expiry_.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; });
      expiry_.erase(soonest);
    }
  }
  expiry_[std::move(key)] = expires;
}

bool ExceptionStore::allowed(const IpAddress& client, std::string_view host,
                             std::string_view fingerprint_sha256, Clock::time_point now) const {
  const Key key = key_of(client, host, fingerprint_sha256);
  std::lock_guard lock(mutex_);
  auto it = expiry_.find(key);
  return it != expiry_.end() && now < it->second;
}

void ExceptionStore::clear() {
  std::lock_guard lock(mutex_);
  expiry_.clear();
}

size_t ExceptionStore::size() const {
  std::lock_guard lock(mutex_);
  return expiry_.size();
}

}  // namespace tlsgate::pages
