#include "capture/keylog_tap.h"

#include <string>

#include "capture/capture_writer.h"

namespace tlsgate::capture {

namespace {

int writer_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int marker_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

void on_keylog_line(const SSL* ssl, const char* line) {
  if (SSL_get_ex_data(ssl, marker_index()) == nullptr) return;
  auto* writer =
      static_cast<CaptureWriter*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), writer_index()));
  if (writer == nullptr) return;
  std::string text(line);
  text += '\n';
  writer->submit_keylog(std::move(text));
}

}  // namespace

bool install_keylog_tap(SSL_CTX* ctx, CaptureWriter* writer) {
  marker_index();  // allocate the ex_data slots before any worker thread runs
  if (writer_index() < 0 || marker_index() < 0 ||
      SSL_CTX_set_ex_data(ctx, writer_index(), writer) != 1) {
    return false;
  }
  SSL_CTX_set_keylog_callback(ctx, on_keylog_line);
  return true;
}

bool capture_keylog(SSL* ssl) {
  // Any non-null marker; the SSL outlives nothing it points to.
  return SSL_set_ex_data(ssl, marker_index(), ssl) == 1;
}

}  // namespace tlsgate::capture
