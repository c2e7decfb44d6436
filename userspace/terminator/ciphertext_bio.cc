#include "terminator/ciphertext_bio.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace tlsgate::terminator {

namespace {

// State of a read BIO: the bytes on loan, and the kept rest of earlier loans.
struct Inbound {
  std::span<const uint8_t> lent;
  std::vector<uint8_t> kept;
  size_t kept_read = 0;

  size_t pending() const { return kept.size() - kept_read + lent.size(); }

  size_t read(uint8_t* out, size_t len) {
    size_t n = 0;
    if (kept_read < kept.size()) {
      n = std::min(len, kept.size() - kept_read);
      std::memcpy(out, kept.data() + kept_read, n);
      kept_read += n;
      if (kept_read == kept.size()) {  // an idle connection keeps no buffer
        std::vector<uint8_t>().swap(kept);
        kept_read = 0;
      }
    }
    if (n < len && !lent.empty()) {
      const size_t m = std::min(len - n, lent.size());
      std::memcpy(out + n, lent.data(), m);
      lent = lent.subspan(m);
      n += m;
    }
    return n;
  }

  void keep(std::span<const uint8_t> bytes) { kept.insert(kept.end(), bytes.begin(), bytes.end()); }
};

struct MethodFree {
  void operator()(BIO_METHOD* m) const { BIO_meth_free(m); }
};
using MethodPtr = std::unique_ptr<BIO_METHOD, MethodFree>;

Inbound* inbound_of(BIO* bio) {
  return static_cast<Inbound*>(BIO_get_data(bio));
}

int in_create(BIO* bio) {
  BIO_set_data(bio, std::make_unique<Inbound>().release());  // freed by in_destroy
  BIO_set_init(bio, 1);
  return 1;
}

int in_destroy(BIO* bio) {
  std::unique_ptr<Inbound> owned(inbound_of(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

int in_read(BIO* bio, char* out, size_t len, size_t* got) {
  BIO_clear_retry_flags(bio);
  Inbound* in = inbound_of(bio);
  *got = in == nullptr ? 0 : in->read(reinterpret_cast<uint8_t*>(out), len);
  if (*got == 0) {
    BIO_set_retry_read(bio);  // no bytes yet, not end of file
    return 0;
  }
  return 1;
}

int in_write(BIO* bio, const char* data, size_t len, size_t* written) {
  Inbound* in = inbound_of(bio);
  if (in == nullptr) return 0;
  in->keep({reinterpret_cast<const uint8_t*>(data), len});
  *written = len;
  return 1;
}

long in_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_PENDING: {
      Inbound* in = inbound_of(bio);
      return in == nullptr ? 0 : static_cast<long>(in->pending());
    }
    case BIO_CTRL_FLUSH:
      return 1;
    default:  // BIO_CTRL_EOF, WPENDING, KTLS queries ...: no
      return 0;
  }
}

int out_write(BIO* bio, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(bio);
  auto* out = static_cast<OutboundQueue*>(BIO_get_data(bio));
  if (out == nullptr) return 0;
  out->append({reinterpret_cast<const uint8_t*>(data), len});
  *written = len;
  return 1;
}

long out_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

int out_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

struct Methods {
  MethodPtr in;
  int in_type = 0;
  MethodPtr out;
};

// Built once; null methods when OpenSSL could not allocate them.
const Methods& methods() {
  static const Methods built = [] {
    Methods m;
    m.in_type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
    m.in.reset(BIO_meth_new(m.in_type, "tlsgate ciphertext in"));
    if (m.in && (BIO_meth_set_read_ex(m.in.get(), in_read) != 1 ||
                 BIO_meth_set_write_ex(m.in.get(), in_write) != 1 ||
                 BIO_meth_set_ctrl(m.in.get(), in_ctrl) != 1 ||
                 BIO_meth_set_create(m.in.get(), in_create) != 1 ||
                 BIO_meth_set_destroy(m.in.get(), in_destroy) != 1)) {
      m.in.reset();
    }
    m.out.reset(BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tlsgate ciphertext out"));
    if (m.out && (BIO_meth_set_write_ex(m.out.get(), out_write) != 1 ||
                  BIO_meth_set_ctrl(m.out.get(), out_ctrl) != 1 ||
                  BIO_meth_set_create(m.out.get(), out_create) != 1)) {
      m.out.reset();
    }
    return m;
  }();
  return built;
}

// The read BIO's state when `bio` is one of ours, else null.
Inbound* our_inbound(BIO* bio) {
  if (bio == nullptr || BIO_method_type(bio) != methods().in_type) return nullptr;
  return inbound_of(bio);
}

}  // namespace

BIO* new_ciphertext_in_bio() {
  return methods().in ? BIO_new(methods().in.get()) : nullptr;
}

BIO* new_ciphertext_out_bio(OutboundQueue& out) {
  BIO* bio = methods().out ? BIO_new(methods().out.get()) : nullptr;
  if (bio != nullptr) BIO_set_data(bio, &out);
  return bio;
}

LentCiphertext::LentCiphertext(SSL* ssl, std::span<const uint8_t> bytes) {
  BIO* bio = ssl == nullptr ? nullptr : SSL_get_rbio(ssl);
  Inbound* in = our_inbound(bio);
  if (in == nullptr || BIO_up_ref(bio) != 1) return;
  bio_ = bio;
  in->lent = bytes;
}

LentCiphertext::~LentCiphertext() {
  if (bio_ == nullptr) return;
  Inbound* in = inbound_of(bio_);
  in->keep(in->lent);  // the loan ends with the receive buffer: keep a copy of the rest
  in->lent = {};
  BIO_free(bio_);
}

void give_ciphertext(SSL* ssl, std::span<const uint8_t> bytes) {
  if (Inbound* in = our_inbound(ssl == nullptr ? nullptr : SSL_get_rbio(ssl))) in->keep(bytes);
}

}  // namespace tlsgate::terminator
