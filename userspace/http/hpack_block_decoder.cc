#include "http/hpack_block_decoder.h"

#include <algorithm>
#include <new>

namespace tlsgate::http {

namespace {

std::string_view view(const uint8_t* p, size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

}  // namespace

HpackBlockDecoder::HpackBlockDecoder() {
  nghttp2_hd_inflater* raw = nullptr;
  if (nghttp2_hd_inflate_new(&raw) != 0) throw std::bad_alloc();
  inflater_.reset(raw);
}

void HpackBlockDecoder::allow_table_size(uint32_t size) {
  allowed_ = std::max(allowed_, std::min<size_t>(size, kMaxTable));
}

bool HpackBlockDecoder::decode(std::span<const uint8_t> fragment, const FieldFn& field) {
  return inflate(fragment, false, field);
}

bool HpackBlockDecoder::end_block(const FieldFn& field) {
  return inflate({}, true, field);
}

bool HpackBlockDecoder::inflate(std::span<const uint8_t> in, bool final, const FieldFn& field) {
  if (!in_block_) {
    // The table bound changes only between blocks (nghttp2 refuses otherwise).
    if (allowed_ != applied_) {
      if (nghttp2_hd_inflate_change_table_size(inflater_.get(), allowed_) != 0) return false;
      applied_ = allowed_;
    }
    in_block_ = true;
  }
  static constexpr uint8_t kNothing = 0;
  const uint8_t* data = in.empty() ? &kNothing : in.data();
  size_t left = in.size();
  while (true) {
    nghttp2_nv nv{};
    int flags = 0;
    const ssize_t n =
        nghttp2_hd_inflate_hd2(inflater_.get(), &nv, &flags, data, left, final ? 1 : 0);
    if (n < 0) return false;
    data += n;
    left -= static_cast<size_t>(n);
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
      field(view(nv.name, nv.namelen), view(nv.value, nv.valuelen));
    }
    if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
      nghttp2_hd_inflate_end_headers(inflater_.get());
      in_block_ = false;
      return true;
    }
    if ((flags & NGHTTP2_HD_INFLATE_EMIT) == 0 && left == 0) return !final;
  }
}

}  // namespace tlsgate::http
