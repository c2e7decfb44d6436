#include "http/h2_body_queue.h"

#include <algorithm>
#include <cstring>

namespace tlsgate::http {

size_t H2BodyQueue::take(std::span<uint8_t> out, size_t& unpaid) {
  const size_t n = std::min(out.size(), size());
  const size_t paid = std::min(n, prepaid_);
  prepaid_ -= paid;
  unpaid = n - paid;
  std::memcpy(out.data(), bytes_.data() + head_, n);
  head_ += n;
  if (head_ == bytes_.size()) {
    bytes_.clear();
    head_ = 0;
  } else if (head_ > bytes_.size() / 2) {
    bytes_.erase(0, head_);  // keep the buffer no larger than what waits, twice over
    head_ = 0;
  }
  return n;
}

size_t H2BodyQueue::discard() {
  const size_t unpaid = size() - prepaid_;
  std::string().swap(bytes_);
  head_ = 0;
  prepaid_ = 0;
  return unpaid;
}

}  // namespace tlsgate::http
