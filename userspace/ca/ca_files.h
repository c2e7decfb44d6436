// PEM files of the gateway CA: written once with their final mode (keys 0600
// from the first byte), read back with a check that keys are private.
// Internal to tls/.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

// Create `path` (must not exist) with `mode`, write, fsync. Throws naming it.
void write_new_certificate(const std::filesystem::path& path, X509* cert);
void write_new_private_key(const std::filesystem::path& path, EVP_PKEY* key);

// A PEM bundle: the certificates in order.
void write_new_certificates(const std::filesystem::path& path, const std::vector<X509Ptr>& certs);

X509Ptr read_certificate(const std::filesystem::path& path);
// Every certificate of a PEM bundle (at least one), in order.
std::vector<X509Ptr> read_certificates(const std::filesystem::path& path);
// Refuses a key file that group or others may access: naming the file, as the
// administrator must fix its mode (or find who changed it).
EvpPkeyPtr read_private_key(const std::filesystem::path& path);

// fsync a directory so a rename inside it survives a crash.
void sync_directory(const std::filesystem::path& dir);

// Replaces `path` with `content` in one step (a temporary file with `mode`
// in the same directory, fsync, rename, fsync of the directory): readers
// see the old file or the new one, never a part.
void replace_file(const std::filesystem::path& path, std::string_view content, mode_t mode);

// The whole file, at most `max_bytes`; throws naming it.
std::string read_small_file(const std::filesystem::path& path, size_t max_bytes);

}  // namespace tlsgate::tls
