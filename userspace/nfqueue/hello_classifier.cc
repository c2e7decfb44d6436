#include "nfqueue/hello_classifier.h"

#include <algorithm>

#include "hello_verdict.h"

namespace tlsgate::nfqueue {

namespace {

uint32_t decide(tg_hello_info& info, const policy::SniBypassSet& names) {
  bool allowed = tg_hello_sni_known(&info) && names.allows(std::string(info.sni, info.sni_len));
  return tg_hello_verdict(&info, allowed ? 1 : 0);
}

}  // namespace

std::string HelloDecision::sni() const {
  if (!tg_hello_sni_known(&info)) return {};
  return std::string(info.sni, info.sni_len);
}

HelloDecision classify_first_segment(std::span<const uint8_t> payload,
                                     const policy::SniBypassSet& names) {
  HelloDecision d;
  __u32 n = 0;
  const auto len = static_cast<__u32>(std::min<size_t>(payload.size(), UINT32_MAX));
  int status = tg_first_fragment(payload.data(), len, &n);
  if (status != TG_HELLO_OK) {
    d.info.status = static_cast<__u32>(status);
    d.verdict = tg_hello_verdict(&d.info, 0);
    return d;
  }
  tg_parse_client_hello(payload.data() + TG_RECORD_HEADER_LEN, n, &d.info);
  d.verdict = decide(d.info, names);
  return d;
}

const HelloDecision& QueuedHello::add(uint32_t seq, std::span<const uint8_t> payload,
                                      const policy::SniBypassSet& names) {
  if (decided() || payload.empty()) return decision_;
  // Offsets from the first byte; sequence numbers wrap.
  const uint32_t offset = seq - first_seq_;
  if (offset >= kMaxStream) return decision_;  // before the start (a stray) or far beyond
  size_t keep = std::min(payload.size(), kMaxStream - offset);
  auto& slot = pending_[offset];
  if (slot.size() < keep) slot.assign(payload.begin(), payload.begin() + static_cast<long>(keep));
  if (offset == 0 && !first_segment_seen_) {
    // The kernel saw exactly this segment and could not decide; the same
    // classification here keeps both sides' answers on it identical.
    first_segment_seen_ = true;
    decision_ = classify_first_segment(payload, names);
    if (decided()) return decision_;
  }
  size_t before = stream_.size();
  absorb_pending();
  if (stream_.size() == before) return decision_;

  decision_ = classify_stream(names);
  if (!decided() && stream_.size() >= kMaxStream) {
    decision_.verdict = TG_VERDICT_RESET;  // no SNI within any ClientHello's size
    decision_.info.status = TG_HELLO_TOO_LARGE;
  }
  return decision_;
}

void QueuedHello::absorb_pending() {
  while (!pending_.empty()) {
    auto it = pending_.begin();
    if (it->first > stream_.size()) return;  // a gap
    size_t skip = stream_.size() - it->first;
    if (skip < it->second.size()) {
      stream_.insert(stream_.end(), it->second.begin() + static_cast<long>(skip), it->second.end());
    }
    pending_.erase(it);
  }
}

// The handshake message joined from the records of the stream so far (the
// last record possibly incomplete), then parsed as far as it goes.
HelloDecision QueuedHello::classify_stream(const policy::SniBypassSet& names) const {
  HelloDecision d;
  std::vector<uint8_t> message;
  size_t pos = 0;
  while (pos < stream_.size()) {
    __u32 fragment_len = 0;
    const auto avail = static_cast<__u32>(std::min<size_t>(stream_.size() - pos, 5));
    int status = tg_parse_record_header(stream_.data() + pos, avail, &fragment_len);
    if (status == TG_HELLO_NEED_MORE) break;
    if (status != TG_HELLO_OK || fragment_len == 0) {
      d.info.status = static_cast<__u32>(status != TG_HELLO_OK ? status : TG_HELLO_MALFORMED);
      d.verdict = TG_VERDICT_RESET;
      return d;
    }
    size_t body = pos + TG_RECORD_HEADER_LEN;
    size_t take = std::min<size_t>(fragment_len, stream_.size() - body);
    message.insert(message.end(), stream_.begin() + static_cast<long>(body),
                   stream_.begin() + static_cast<long>(body + take));
    if (take < fragment_len) break;
    pos = body + fragment_len;
    if (message.size() >= 4) {
      size_t declared = (size_t{message[1]} << 16 | size_t{message[2]} << 8 | message[3]) + 4;
      if (message.size() >= declared) break;  // the whole message: later records are not ours
    }
  }
  if (message.empty()) {
    d.info.status = TG_HELLO_NEED_MORE;
    d.verdict = TG_VERDICT_USERSPACE;
    return d;
  }
  tg_parse_client_hello(
      message.data(), static_cast<__u32>(std::min<size_t>(message.size(), TG_HELLO_MAX)), &d.info);
  d.verdict = decide(d.info, names);
  return d;
}

}  // namespace tlsgate::nfqueue
