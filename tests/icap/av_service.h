// A real antivirus ICAP service for tests (../shared/recipes/
// icap-clamav-offline.md): clamd with a signature database made here (the
// EICAR file by hash, the EICAR string inside bigger files by body
// signature) and c-icap's virus_scan over it, on a private port. Both are
// started by the test and stopped by their pids.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace tlsgate::test_support {

// The 68-byte EICAR test file.
std::string eicar();

class AvService {
 public:
  AvService();  // throws std::runtime_error when a daemon does not come up
  ~AvService();
  AvService(const AvService&) = delete;
  AvService& operator=(const AvService&) = delete;

  uint16_t port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_; }
  std::string url() const;  // icap://127.0.0.1:<port>/avscan

  void stop_icap();    // SIGTERM, waited for
  void start_icap();   // again, after stop_icap()
  void pause_icap();   // SIGSTOP: connections are accepted by the kernel, never answered
  void resume_icap();  // SIGCONT

 private:
  std::filesystem::path dir_;
  uint16_t port_ = 0;
  pid_t clamd_ = -1;
  pid_t icap_ = -1;
};

}  // namespace tlsgate::test_support
