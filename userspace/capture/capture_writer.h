// The capture writer: workers hand it records (a key log line, later
// packets) and go on; one thread of its own writes them to the capture
// files. A worker never waits for the disk: past `queue_limit` bytes
// waiting, records are dropped and counted.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/gateway_config.h"
#include "events/event_log.h"

namespace tlsgate::capture {

class CaptureFileSet;

struct CaptureStats {
  std::atomic<uint64_t> records{0};        // written
  std::atomic<uint64_t> dropped{0};        // the queue was full, or the file failed
  std::atomic<uint64_t> bytes_written{0};  // to capture files
};

class CaptureWriter {
 public:
  // `events` may be null; it must outlive the writer.
  CaptureWriter(const config::CaptureSettings& settings, events::EventLog* events,
                size_t queue_limit = 8u << 20);
  ~CaptureWriter();
  CaptureWriter(const CaptureWriter&) = delete;
  CaptureWriter& operator=(const CaptureWriter&) = delete;

  // Queues NSS key log lines (each ending in '\n'); never blocks on I/O.
  void submit_keylog(std::string lines);
  // Writes out every queued record before returning (tests, shutdown).
  void flush();

  const CaptureStats& stats() const { return stats_; }

 private:
  void run();
  void write_one(const std::string& record);

  const config::CaptureSettings settings_;
  events::EventLog* events_;
  const size_t queue_limit_;
  CaptureStats stats_;
  std::unique_ptr<CaptureFileSet> keylog_files_;  // the writer thread's alone
  bool failing_ = false;                          // the last write failed

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<std::string> queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool stopping_ = false;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace tlsgate::capture
