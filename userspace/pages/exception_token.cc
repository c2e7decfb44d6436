#include "pages/exception_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <span>
#include <stdexcept>
#include <vector>

#include "common/unique_fd.h"

namespace tlsgate::pages {
namespace {

namespace fs = std::filesystem;

constexpr uint8_t kVersion = 1;
constexpr size_t kMacSize = 32;
constexpr size_t kFingerprintSize = 32;
constexpr std::string_view kKeyFile = "exception.key";
// Domain separation: this key signs nothing else, but a MAC over our
// encoding must never be mistaken for one over another.
constexpr std::string_view kMacLabel = "tlsgate continue token v1";

std::string errno_text(const std::string& what, const fs::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ascii_lower);
  return out;
}

std::optional<std::array<uint8_t, kFingerprintSize>> parse_fingerprint(std::string_view hex) {
  if (hex.size() != 2 * kFingerprintSize) return std::nullopt;
  std::array<uint8_t, kFingerprintSize> out{};
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    c = ascii_lower(c);
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(const std::vector<uint8_t>& data) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8 | data[i + 2];
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  const size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    uint32_t v = uint32_t{data[i]} << 16 | uint32_t{data[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

// Strict: no padding, no other alphabet, and unused trailing bits must be
// zero, so every token has exactly one spelling (a changed last character
// can never decode to the same bytes).
std::optional<std::vector<uint8_t>> unbase64url(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::vector<uint8_t> out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const char* p = std::strchr(kAlphabet, c);
    if (c == '\0' || p == nullptr) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kAlphabet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;
  return out;
}

void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

// Reads fields front to back; any overrun marks the whole token malformed.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  bool ok() const { return ok_; }
  bool at_end() const { return pos_ == data_.size(); }
  std::span<const uint8_t> take(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) {
      ok_ = false;
      return {};
    }
    auto out = data_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  uint64_t number(size_t bytes) {
    uint64_t v = 0;
    for (uint8_t b : take(bytes)) v = v << 8 | b;
    return v;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::array<uint8_t, kMacSize> mac(const std::array<uint8_t, 32>& key,
                                  std::span<const uint8_t> payload) {
  std::vector<uint8_t> input(kMacLabel.begin(), kMacLabel.end());
  input.push_back(0);
  input.insert(input.end(), payload.begin(), payload.end());
  std::array<uint8_t, kMacSize> out{};
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(), input.data(),
                input.size(), out.data(), out.size(), &len) == nullptr ||
      len != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");
  }
  return out;
}

void check_private(int fd, const fs::path& path, struct stat* st) {
  if (::fstat(fd, st) != 0) throw std::runtime_error(errno_text("cannot stat", path));
  if (!S_ISREG(st->st_mode)) throw std::runtime_error(path.string() + " is not a regular file");
  if ((st->st_mode & 077) != 0) {
    throw std::runtime_error("exception key " + path.string() +
                             " is accessible by group or others; it must be mode 0600");
  }
}

void write_all(int fd, const uint8_t* data, size_t len, const fs::path& path) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw std::runtime_error(errno_text("cannot write", path));
    data += n;
    len -= static_cast<size_t>(n);
  }
}

// Writes a fresh key; false when another process created one first.
bool create_key(const fs::path& state_dir, const fs::path& path) {
  std::array<uint8_t, 32> key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("cannot draw random bytes for the exception key");
  }
  std::string tmpl = (state_dir / "exception.key.tmp-XXXXXX").string();
  UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));  // mode 0600
  if (!fd) throw std::runtime_error(errno_text("cannot create a file in", state_dir));
  const fs::path tmp(tmpl);
  struct Unlink {
    const fs::path& p;
    ~Unlink() { ::unlink(p.c_str()); }
  } unlink_tmp{tmp};
  try {
    write_all(fd.get(), key.data(), key.size(), tmp);
    OPENSSL_cleanse(key.data(), key.size());
    if (::fsync(fd.get()) != 0) throw std::runtime_error(errno_text("cannot sync", tmp));
  } catch (...) {
    OPENSSL_cleanse(key.data(), key.size());
    throw;
  }
  // link(2) never replaces: the key that exists first wins.
  if (::link(tmp.c_str(), path.c_str()) != 0) {
    if (errno == EEXIST) return false;
    throw std::runtime_error(errno_text("cannot create", path));
  }
  UniqueFd dir(::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir || ::fsync(dir.get()) != 0)
    throw std::runtime_error(errno_text("cannot sync", state_dir));
  return true;
}

}  // namespace

std::string_view to_string(TokenRejection r) {
  switch (r) {
    case TokenRejection::malformed:
      return "malformed";
    case TokenRejection::bad_mac:
      return "bad_mac";
    case TokenRejection::expired:
      return "expired";
    case TokenRejection::other_host:
      return "other_host";
    case TokenRejection::other_client:
      return "other_client";
    case TokenRejection::other_certificate:
      return "other_certificate";
  }
  return "malformed";
}

std::string_view describe(TokenRejection r) {
  switch (r) {
    case TokenRejection::malformed:
      return "it is not a valid continue link";
    case TokenRejection::bad_mac:
      return "it was not issued by this gateway, or it was altered";
    case TokenRejection::expired:
      return "it has expired";
    case TokenRejection::other_host:
      return "it was issued for another site";
    case TokenRejection::other_client:
      return "it was issued for another device";
    case TokenRejection::other_certificate:
      return "the server's certificate changed since the warning was shown";
  }
  return "it is not a valid continue link";
}

ExceptionToken ExceptionToken::open_or_create(const fs::path& state_dir) {
  fs::create_directories(state_dir);
  const fs::path path = state_dir / kKeyFile;
  for (int attempt = 0; attempt < 2; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) {
      if (errno != ENOENT) throw std::runtime_error(errno_text("cannot open", path));
      create_key(state_dir, path);  // or another process did: read whichever won
      continue;
    }
    struct stat st {};
    check_private(fd.get(), path, &st);
    if (st.st_size != 32) {
      throw std::runtime_error("exception key " + path.string() + " is not 32 bytes; remove it " +
                               "to make a new one (open warning pages then stop continuing)");
    }
    ExceptionToken token;
    size_t got = 0;
    while (got < token.key_.size()) {
      ssize_t n = ::read(fd.get(), token.key_.data() + got, token.key_.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error(errno_text("cannot read", path));
      got += static_cast<size_t>(n);
    }
    return token;
  }
  throw std::runtime_error("cannot create " + path.string());
}

ExceptionToken::ExceptionToken(ExceptionToken&& other) noexcept : key_(other.key_) {
  OPENSSL_cleanse(other.key_.data(), other.key_.size());
}

ExceptionToken::~ExceptionToken() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

std::string ExceptionToken::issue(const IpAddress& client, std::string_view host,
                                  std::string_view fingerprint_sha256, Clock::time_point expires,
                                  std::string_view original_path) const {
  auto fingerprint = parse_fingerprint(fingerprint_sha256);
  if (!fingerprint) throw std::invalid_argument("continue token: malformed fingerprint");
  if (host.empty() || host.size() > 255) throw std::invalid_argument("continue token: bad host");
  if (original_path.size() > kMaxPath || original_path.empty()) original_path = "/";
  const std::string host_lc = lower(host);

  std::vector<uint8_t> payload;
  payload.push_back(kVersion);
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch());
  put_u64(payload, static_cast<uint64_t>(std::max<int64_t>(0, seconds.count())));
  payload.push_back(static_cast<uint8_t>(client.size()));
  payload.insert(payload.end(), client.bytes().begin(), client.bytes().begin() + client.size());
  payload.push_back(static_cast<uint8_t>(host_lc.size()));
  payload.insert(payload.end(), host_lc.begin(), host_lc.end());
  payload.insert(payload.end(), fingerprint->begin(), fingerprint->end());
  payload.push_back(static_cast<uint8_t>(original_path.size() >> 8));
  payload.push_back(static_cast<uint8_t>(original_path.size() & 0xff));
  payload.insert(payload.end(), original_path.begin(), original_path.end());
  const auto tag = mac(key_, payload);
  payload.insert(payload.end(), tag.begin(), tag.end());
  return base64url(payload);
}

TokenCheck ExceptionToken::verify(std::string_view token, const IpAddress& client,
                                  std::string_view host, std::string_view fingerprint_sha256,
                                  Clock::time_point now) const {
  auto reject = [](TokenRejection r) { return TokenCheck{r, {}}; };
  // Larger than any token we issue: refuse before decoding.
  if (token.size() > 4 * (kMaxPath + 512) / 3) return reject(TokenRejection::malformed);
  auto bytes = unbase64url(token);
  if (!bytes || bytes->size() <= kMacSize) return reject(TokenRejection::malformed);
  const std::span<const uint8_t> all(*bytes);
  const auto payload = all.first(all.size() - kMacSize);
  const auto expected = mac(key_, payload);
  if (CRYPTO_memcmp(expected.data(), all.last(kMacSize).data(), kMacSize) != 0) {
    return reject(TokenRejection::bad_mac);
  }

  // Authentic from here on: a layout error would be our own bug.
  Reader r(payload);
  const uint64_t version = r.number(1);
  const uint64_t expiry = r.number(8);
  const auto address = r.take(r.number(1));
  const auto token_host = r.take(r.number(1));
  const auto fingerprint = r.take(kFingerprintSize);
  const auto path = r.take(r.number(2));
  if (!r.ok() || !r.at_end() || version != kVersion) return reject(TokenRejection::malformed);

  const auto now_s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  if (now_s.count() < 0 || static_cast<uint64_t>(now_s.count()) >= expiry) {
    return reject(TokenRejection::expired);
  }
  const std::string host_lc = lower(host);
  if (!std::equal(token_host.begin(), token_host.end(), host_lc.begin(), host_lc.end(),
                  [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); })) {
    return reject(TokenRejection::other_host);
  }
  if (address.size() != client.size() ||
      !std::equal(address.begin(), address.end(), client.bytes().begin())) {
    return reject(TokenRejection::other_client);
  }
  auto current = parse_fingerprint(fingerprint_sha256);
  if (!current || !std::equal(fingerprint.begin(), fingerprint.end(), current->begin())) {
    return reject(TokenRejection::other_certificate);
  }
  return TokenCheck{std::nullopt, std::string(path.begin(), path.end())};
}

}  // namespace tlsgate::pages
