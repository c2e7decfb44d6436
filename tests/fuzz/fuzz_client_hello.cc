// libFuzzer target: the shared ClientHello parser (bpf/parse_clienthello.h)
// on arbitrary handshake-message bytes. Whatever the input, the parser must
// not read out of bounds (ASan) and its result must keep its invariants.
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "parse_clienthello.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tg_hello_info info{};
  auto len = static_cast<__u32>(size > 0xffffffffu ? 0xffffffffu : size);
  int status = tg_parse_client_hello(data, len, &info);
  if (status < TG_HELLO_OK || status > TG_HELLO_TOO_LARGE) std::abort();
  if (info.sni_len > TG_SNI_MAX) std::abort();
  if (status == TG_HELLO_OK && info.has_sni) {
    // A name policy can match on: lower case, no trailing dot, NUL-terminated.
    if (info.sni_len == 0 || info.sni[info.sni_len] != '\0') std::abort();
    for (unsigned i = 0; i < info.sni_len; ++i) {
      char c = info.sni[i];
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
      if (!ok) std::abort();
    }
    if (info.sni[info.sni_len - 1] == '.') std::abort();
  }
  if (status == TG_HELLO_OK && info.msg_len > len) std::abort();
  if (info.alpn_len != 0 && size_t{info.alpn_off} + info.alpn_len > size) std::abort();
  return 0;
}
