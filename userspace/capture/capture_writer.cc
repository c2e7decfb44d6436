#include "capture/capture_writer.h"

#include "capture/capture_file_set.h"

#include <nlohmann/json.hpp>
#include <utility>

namespace tlsgate::capture {

CaptureWriter::CaptureWriter(const config::CaptureSettings& settings, events::EventLog* events,
                             size_t queue_limit)
    : settings_(settings), events_(events), queue_limit_(queue_limit) {
  keylog_files_ = std::make_unique<CaptureFileSet>(
      settings_, "keylog", ".keys", "",
      [this](std::string_view what, const std::filesystem::path& file, uint64_t bytes) {
        if (events_ == nullptr) return;
        events_->emit("capture", nlohmann::json{{"action", std::string(what)},
                                                {"format", "keylog"},
                                                {"file", file.string()},
                                                {"bytes", bytes}});
      });
  thread_ = std::thread([this] { run(); });
}

CaptureWriter::~CaptureWriter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void CaptureWriter::submit_keylog(std::string lines) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ || queued_bytes_ + lines.size() > queue_limit_) {
      stats_.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queued_bytes_ += lines.size();
    queue_.push_back(std::move(lines));
  }
  wake_.notify_one();
}

void CaptureWriter::flush() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [this] { return queue_.empty() && !writing_; });
}

void CaptureWriter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, everything written
    std::string record = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= record.size();
    writing_ = true;
    lock.unlock();
    write_one(record);
    lock.lock();
    writing_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

void CaptureWriter::write_one(const std::string& record) {
  std::string error;
  if (keylog_files_->write(record, &error)) {
    stats_.records.fetch_add(1, std::memory_order_relaxed);
    stats_.bytes_written.fetch_add(record.size(), std::memory_order_relaxed);
    failing_ = false;
    return;
  }
  stats_.dropped.fetch_add(1, std::memory_order_relaxed);
  // One event when writing starts failing, not one per lost record.
  if (events_ != nullptr && !std::exchange(failing_, true)) {
    events_->emit("capture",
                  nlohmann::json{{"action", "dropped"}, {"format", "keylog"}, {"reason", error}});
  }
}

}  // namespace tlsgate::capture
