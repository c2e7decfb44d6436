#include "terminator/ciphertext_bio.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace tlsgate::terminator {

namespace {

// Received ciphertext: the bytes on loan, and the kept rest of earlier loans.
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

// The BIO's state: what it reads, and where what it writes goes.
struct Channel {
  Inbound in;
  OutboundQueue* out = nullptr;
};

struct MethodFree {
  void operator()(BIO_METHOD* m) const { BIO_meth_free(m); }
};
using MethodPtr = std::unique_ptr<BIO_METHOD, MethodFree>;

Channel* channel_of(BIO* bio) {
  return static_cast<Channel*>(BIO_get_data(bio));
}

int on_create(BIO* bio) {
  BIO_set_data(bio, std::make_unique<Channel>().release());  // freed by on_destroy
  BIO_set_init(bio, 1);
  return 1;
}

int on_destroy(BIO* bio) {
  std::unique_ptr<Channel> owned(channel_of(bio));
  BIO_set_data(bio, nullptr);
  return 1;
}

int on_read(BIO* bio, char* out, size_t len, size_t* got) {
  BIO_clear_retry_flags(bio);
  Channel* ch = channel_of(bio);
  *got = ch == nullptr ? 0 : ch->in.read(reinterpret_cast<uint8_t*>(out), len);
  if (*got == 0) {
    BIO_set_retry_read(bio);  // no bytes yet, not end of file
    return 0;
  }
  return 1;
}

int on_write(BIO* bio, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(bio);
  Channel* ch = channel_of(bio);
  if (ch == nullptr || ch->out == nullptr) return 0;
  ch->out->append({reinterpret_cast<const uint8_t*>(data), len});
  *written = len;
  return 1;
}

long on_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_PENDING: {  // unread ciphertext
      Channel* ch = channel_of(bio);
      return ch == nullptr ? 0 : static_cast<long>(ch->in.pending());
    }
    case BIO_CTRL_FLUSH:
      return 1;
    default:  // BIO_CTRL_EOF, WPENDING (written bytes are queued at once), KTLS ...: no
      return 0;
  }
}

struct Method {
  MethodPtr method;
  int type = 0;
};

// Built once; a null method when OpenSSL could not allocate it.
const Method& method() {
  static const Method built = [] {
    Method m;
    m.type = BIO_get_new_index() | BIO_TYPE_SOURCE_SINK;
    m.method.reset(BIO_meth_new(m.type, "tlsgate ciphertext"));
    if (m.method && (BIO_meth_set_read_ex(m.method.get(), on_read) != 1 ||
                     BIO_meth_set_write_ex(m.method.get(), on_write) != 1 ||
                     BIO_meth_set_ctrl(m.method.get(), on_ctrl) != 1 ||
                     BIO_meth_set_create(m.method.get(), on_create) != 1 ||
                     BIO_meth_set_destroy(m.method.get(), on_destroy) != 1)) {
      m.method.reset();
    }
    return m;
  }();
  return built;
}

// The received-ciphertext state when `bio` is one of ours, else null.
Inbound* our_inbound(BIO* bio) {
  if (bio == nullptr || BIO_method_type(bio) != method().type) return nullptr;
  Channel* ch = channel_of(bio);
  return ch == nullptr ? nullptr : &ch->in;
}

}  // namespace

BIO* new_ciphertext_bio(OutboundQueue& out) {
  BIO* bio = method().method ? BIO_new(method().method.get()) : nullptr;
  if (bio != nullptr) channel_of(bio)->out = &out;
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
  Inbound* in = our_inbound(bio_);
  in->keep(in->lent);  // the loan ends with the receive buffer: keep a copy of the rest
  in->lent = {};
  BIO_free(bio_);
}

void give_ciphertext(SSL* ssl, std::span<const uint8_t> bytes) {
  if (Inbound* in = our_inbound(ssl == nullptr ? nullptr : SSL_get_rbio(ssl))) in->keep(bytes);
}

}  // namespace tlsgate::terminator
