// Continue tokens (SECURITY-BATTERY case 27): bound to client, host and
// certificate, expiring, tamper-evident, and the key stays private.
#include "pages/exception_token.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "../support/temp_dir.h"

namespace tlsgate::pages {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Clock = ExceptionToken::Clock;
using ::testing::HasSubstr;

using tlsgate::test_support::TempDir;

const IpAddress kClient = *IpAddress::parse("192.168.1.20");
const IpAddress kOtherClient = *IpAddress::parse("192.168.1.21");
const std::string kFingerprint(64, 'a');
const std::string kOtherFingerprint(64, 'b');

class ExceptionTokenTest : public ::testing::Test {
 protected:
  TempDir dir_;
  ExceptionToken tokens_ = ExceptionToken::open_or_create(dir_.path());
  Clock::time_point now_ = Clock::now();

  std::string issue(const std::string& path = "/inbox?x=1") const {
    return tokens_.issue(kClient, "bad.lab.test", kFingerprint, now_ + 10min, path);
  }
  TokenCheck verify(const std::string& token, const IpAddress& client = kClient,
                    const std::string& host = "bad.lab.test",
                    const std::string& fingerprint = kFingerprint) const {
    return tokens_.verify(token, client, host, fingerprint, now_);
  }
};

TEST_F(ExceptionTokenTest, ValidTokenReturnsTheOriginalPath) {
  const std::string token = issue();
  TokenCheck check = verify(token);
  EXPECT_TRUE(check.valid());
  EXPECT_EQ(check.original_path, "/inbox?x=1");
  // Host names compare case-insensitively, as DNS does.
  EXPECT_TRUE(verify(token, kClient, "BAD.lab.test").valid());
}

TEST_F(ExceptionTokenTest, IsUrlSafe) {
  const std::string token = issue("/a b?c=<d>&e=\xc3\xa9");
  EXPECT_TRUE(std::all_of(token.begin(), token.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  })) << token;
  EXPECT_EQ(verify(token).original_path, "/a b?c=<d>&e=\xc3\xa9");
}

TEST_F(ExceptionTokenTest, TokenForHostAIsRejectedForHostB) {
  EXPECT_EQ(verify(issue(), kClient, "good.lab.test").rejection, TokenRejection::other_host);
  EXPECT_EQ(verify(issue(), kClient, "bad.lab.test.evil").rejection, TokenRejection::other_host);
}

TEST_F(ExceptionTokenTest, OtherClientIsRejected) {
  EXPECT_EQ(verify(issue(), kOtherClient).rejection, TokenRejection::other_client);
  EXPECT_EQ(verify(issue(), *IpAddress::parse("::ffff:192.168.1.20")).rejection,
            TokenRejection::other_client);
}

TEST_F(ExceptionTokenTest, OtherCertificateIsRejected) {
  EXPECT_EQ(verify(issue(), kClient, "bad.lab.test", kOtherFingerprint).rejection,
            TokenRejection::other_certificate);
  EXPECT_EQ(verify(issue(), kClient, "bad.lab.test", "").rejection,
            TokenRejection::other_certificate);
}

TEST_F(ExceptionTokenTest, ExpiredTokenIsRejected) {
  const std::string token = issue();
  EXPECT_TRUE(tokens_.verify(token, kClient, "bad.lab.test", kFingerprint, now_ + 9min).valid());
  EXPECT_EQ(tokens_.verify(token, kClient, "bad.lab.test", kFingerprint, now_ + 10min).rejection,
            TokenRejection::expired);
  EXPECT_EQ(tokens_.verify(token, kClient, "bad.lab.test", kFingerprint, now_ + 24h).rejection,
            TokenRejection::expired);
}

TEST_F(ExceptionTokenTest, EveryTamperedCharacterIsRejected) {
  const std::string token = issue();
  for (size_t i = 0; i < token.size(); ++i) {
    std::string bad = token;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    TokenCheck check = verify(bad);
    ASSERT_FALSE(check.valid()) << "position " << i;
    EXPECT_TRUE(check.rejection == TokenRejection::bad_mac ||
                check.rejection == TokenRejection::malformed)
        << i;
  }
}

TEST_F(ExceptionTokenTest, TruncatedOrGarbageTokensAreRejected) {
  const std::string token = issue();
  for (size_t len : {size_t{0}, size_t{1}, size_t{10}, token.size() / 2, token.size() - 1}) {
    EXPECT_FALSE(verify(token.substr(0, len)).valid()) << len;
  }
  EXPECT_FALSE(verify(token + "A").valid());
  EXPECT_EQ(verify(token + "=").rejection, TokenRejection::malformed);
  EXPECT_EQ(verify("not a token!").rejection, TokenRejection::malformed);
  EXPECT_EQ(verify(std::string(10000, 'A')).rejection, TokenRejection::malformed);
}

TEST_F(ExceptionTokenTest, TokenFromAnotherInstallationIsABadMac) {
  TempDir other_dir;
  ExceptionToken other = ExceptionToken::open_or_create(other_dir.path());
  const std::string foreign = other.issue(kClient, "bad.lab.test", kFingerprint, now_ + 10min, "/");
  EXPECT_EQ(verify(foreign).rejection, TokenRejection::bad_mac);
}

TEST_F(ExceptionTokenTest, OverlongPathIsCarriedAsRoot) {
  EXPECT_EQ(verify(issue("/" + std::string(5000, 'x'))).original_path, "/");
}

TEST_F(ExceptionTokenTest, MalformedFingerprintCannotBeIssued) {
  EXPECT_THROW(tokens_.issue(kClient, "bad.lab.test", "abc", now_, "/"), std::invalid_argument);
  EXPECT_THROW(tokens_.issue(kClient, "bad.lab.test", std::string(64, 'z'), now_, "/"),
               std::invalid_argument);
}

TEST_F(ExceptionTokenTest, KeyFileIs32PrivateBytesAndSurvivesRestarts) {
  const fs::path key = dir_.path() / "exception.key";
  struct stat st {};
  ASSERT_EQ(::stat(key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  const std::string token = issue();
  ExceptionToken reopened = ExceptionToken::open_or_create(dir_.path());
  EXPECT_TRUE(reopened.verify(token, kClient, "bad.lab.test", kFingerprint, now_).valid());
  // No temporary file is left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir_.path())) ++files;
  EXPECT_EQ(files, 1u);
}

TEST(ExceptionTokenKey, ExposedOrDamagedKeyIsRefused) {
  TempDir dir;
  ExceptionToken::open_or_create(dir.path());
  const fs::path key = dir.path() / "exception.key";
  ::chmod(key.c_str(), 0644);
  try {
    ExceptionToken::open_or_create(dir.path());
    ADD_FAILURE() << "loaded a key readable by others";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("mode 0600"));
  }
  ::chmod(key.c_str(), 0600);
  fs::resize_file(key, 16);
  try {
    ExceptionToken::open_or_create(dir.path());
    ADD_FAILURE() << "loaded a short key";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("not 32 bytes"));
  }
}

TEST(ExceptionTokenKey, EachInstallationHasItsOwnKey) {
  TempDir a, b;
  ExceptionToken::open_or_create(a.path());
  ExceptionToken::open_or_create(b.path());
  auto read = [](const fs::path& p) {
    std::ifstream in(p / "exception.key", std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_NE(read(a.path()), read(b.path()));
}

}  // namespace
}  // namespace tlsgate::pages
