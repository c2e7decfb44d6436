// Capture files: mode, rotation by size, the total cap (oldest first, only
// capture files), and the writer's bounded queue.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "capture/capture_file_set.h"
#include "capture/capture_writer.h"

namespace tlsgate::capture {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path =
      fs::temp_directory_path() / ("tlsgate-capture-test-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  TempDir() { fs::remove_all(path); }
  ~TempDir() { fs::remove_all(path); }
};

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

TEST(CaptureFileSet, RotatesBySizeAndKeepsTheTotalUnderTheCap) {
  TempDir dir;
  config::CaptureSettings s;
  s.directory = dir.path;
  s.rotate_size = 4096;
  s.max_total = 3 * 4096;
  std::vector<std::string> notices;
  CaptureFileSet set(
      s, "keylog", ".keys", "",
      [&](std::string_view what, const fs::path&, uint64_t) { notices.emplace_back(what); });
  std::string error;
  const std::string line(1000, 'x');
  for (int i = 0; i < 40; ++i) ASSERT_TRUE(set.write(line, &error)) << error;
  uint64_t total = 0;
  for (const auto& f : files_in(dir.path)) {
    total += fs::file_size(f);
    struct stat st {};
    ASSERT_EQ(::stat(f.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0600u) << f;
    EXPECT_LE(fs::file_size(f), 4096u) << f;
  }
  EXPECT_LE(total, s.max_total);
  EXPECT_GE(files_in(dir.path).size(), 2u);
  EXPECT_NE(std::find(notices.begin(), notices.end(), "rotated"), notices.end());
  EXPECT_NE(std::find(notices.begin(), notices.end(), "deleted"), notices.end());
}

TEST(CaptureFileSet, NeverDeletesFilesItDidNotWrite) {
  TempDir dir;
  fs::create_directories(dir.path);
  const fs::path other = dir.path / "notes.txt";
  { std::ofstream(other) << std::string(20000, 'n'); }
  config::CaptureSettings s;
  s.directory = dir.path;
  s.rotate_size = 4096;
  s.max_total = 4096;
  CaptureFileSet set(s, "keylog", ".keys", "", nullptr);
  std::string error;
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(set.write(std::string(1000, 'k'), &error)) << error;
  EXPECT_TRUE(fs::exists(other));
}

TEST(CaptureWriter, AFullQueueDropsAndCountsInsteadOfWaiting) {
  TempDir dir;
  config::CaptureSettings s;
  s.directory = dir.path;
  CaptureWriter writer(s, nullptr, /*queue_limit=*/32);
  writer.submit_keylog(std::string(64, 'x') + "\n");  // larger than the queue
  writer.submit_keylog("CLIENT_RANDOM a b\n");
  writer.flush();
  EXPECT_EQ(writer.stats().dropped.load(), 1u);
  EXPECT_EQ(writer.stats().records.load(), 1u);
}

}  // namespace
}  // namespace tlsgate::capture
