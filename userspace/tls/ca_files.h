// PEM files of the gateway CA: written once with their final mode (keys 0600
// from the first byte), read back with a check that keys are private.
// Internal to tls/.
#pragma once

#include <filesystem>

#include "tls/openssl_handles.h"

namespace tlsgate::tls {

// Create `path` (must not exist) with `mode`, write, fsync. Throws naming it.
void write_new_certificate(const std::filesystem::path& path, X509* cert);
void write_new_private_key(const std::filesystem::path& path, EVP_PKEY* key);

X509Ptr read_certificate(const std::filesystem::path& path);
// Refuses a key file that group or others may access: naming the file, as the
// administrator must fix its mode (or find who changed it).
EvpPkeyPtr read_private_key(const std::filesystem::path& path);

// fsync a directory so a rename inside it survives a crash.
void sync_directory(const std::filesystem::path& dir);

}  // namespace tlsgate::tls
