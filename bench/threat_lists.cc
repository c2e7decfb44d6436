// Threat lists at scale (DESIGN.md §4a; goal: ≤ 64 bytes per domain entry
// and ≤ 1 µs per lookup at 1,000,000 entries). Writes a domains list of N
// random names (2-4 labels, as in public blocklists) to a temporary file,
// loads it as tlsgated does, and prints: load time, resident memory added
// per entry, and the cost of one lookup as the terminator (SNI) and the
// threat filter (request host + URL) make it, for names that are listed and
// names that are not. The same names in a std::unordered_set<std::string>
// (every suffix looked up the same way) are the baseline the figures are
// compared with in the same run, as the machine's load moves absolute
// figures. Each lookup figure is given twice: wall-clock time, and the
// thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which time spent waiting for
// a core on a loaded machine does not inflate. The request lookup runs
// against the domains list plus a urls list (100,000 URLs under other
// hosts), so that its URL keys are looked up too. One run, figures only;
// nothing is asserted.
//
//   bench_threat_lists [entries=1000000] [lookups=2000000]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "threat/threat_lists.h"

using namespace tlsgate;

namespace {

using Clock = std::chrono::steady_clock;

size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

std::string random_label(std::mt19937_64& rng, size_t min, size_t max) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::uniform_int_distribution<size_t> len(min, max), ch(0, sizeof kChars - 2);
  std::string out(len(rng), 'a');
  for (char& c : out) c = kChars[ch(rng)];
  return out;
}

std::string random_domain(std::mt19937_64& rng) {
  static const char* kTlds[] = {"com", "net", "org", "ru", "xyz", "top", "info", "cn", "io", "de"};
  std::uniform_int_distribution<int> depth(0, 2), tld(0, 9);
  std::string name = random_label(rng, 5, 14) + "." + kTlds[tld(rng)];
  for (int i = depth(rng); i > 0; --i) name = random_label(rng, 2, 8) + "." + name;
  return name;
}

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

struct PerLookup {
  double wall_ns = 0;
  double cpu_ns = 0;
};

// Nanoseconds per call of `f` over `names`, wall-clock and thread CPU.
template <typename F>
PerLookup ns_per_lookup(const std::vector<std::string>& names, size_t lookups, F&& f) {
  size_t found = 0;
  const double cpu_start = thread_cpu_ns();
  const auto start = Clock::now();
  for (size_t i = 0; i < lookups; ++i) found += f(names[i % names.size()]) ? 1 : 0;
  const auto ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count();
  const double cpu = thread_cpu_ns() - cpu_start;
  std::fprintf(stderr, "  (%zu of %zu found)\n", found, lookups);
  const auto n = static_cast<double>(lookups);
  return {ns / n, cpu / n};
}

std::string figure(PerLookup p) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f ns (CPU %.0f ns)", p.wall_ns, p.cpu_ns);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t entries = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1000000;
  const size_t lookups = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 2000000;
  std::mt19937_64 rng(42);

  const auto dir = std::filesystem::temp_directory_path() /
                   ("tlsgate-bench-threat-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto file = dir / "domains.txt";
  std::vector<std::string> listed;
  {
    std::ofstream out(file);
    out << "# bench_threat_lists: " << entries << " random domains\n";
    for (size_t i = 0; i < entries; ++i) {
      std::string name = random_domain(rng);
      if (listed.size() < 100000) listed.push_back(name);
      out << name << '\n';
    }
  }
  const auto file_bytes = std::filesystem::file_size(file);
  const auto url_file = dir / "urls.txt";
  {
    std::ofstream out(url_file);
    for (size_t i = 0; i < 100000; ++i) {
      out << "https://" << random_domain(rng) << "/" << random_label(rng, 3, 10) << "/"
          << random_label(rng, 3, 10) << ".js\n";
    }
  }

  // Names below listed domains (hits), and random names (almost all misses),
  // as a browser would send them.
  std::vector<std::string> below, unlisted;
  for (const auto& name : listed) below.push_back("www." + name);
  for (size_t i = 0; i < 100000; ++i) unlisted.push_back("cdn." + random_domain(rng));

  const size_t rss_before = resident_bytes();
  const policy::ThreatListSpec spec{"bench", file, policy::ThreatListFormat::domains, 1};
  const auto started = Clock::now();
  auto lists = tlsgate::threat::ThreatLists::load(std::span(&spec, 1));
  const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  const size_t rss_after = resident_bytes();
  const policy::ThreatListSpec both[] = {
      spec, {"bench-urls", url_file, policy::ThreatListFormat::urls, 2}};
  auto with_urls = tlsgate::threat::ThreatLists::load(both);
  std::filesystem::remove_all(dir);

  const auto& info = lists->lists().front();
  const double bytes_per_entry =
      static_cast<double>(rss_after - rss_before) / static_cast<double>(info.entries);
  const PerLookup sni_hit = ns_per_lookup(
      below, lookups, [&](const std::string& n) { return lists->match_name(n).has_value(); });
  const PerLookup sni_miss = ns_per_lookup(
      unlisted, lookups, [&](const std::string& n) { return lists->match_name(n).has_value(); });
  const PerLookup request_miss = ns_per_lookup(unlisted, lookups, [&](const std::string& n) {
    return with_urls->match_request(n, "/static/js/app.min.js?v=3").has_value();
  });

  // The baseline: the same entries as strings in a hash set.
  size_t set_rss_before = resident_bytes();
  std::unordered_set<std::string> baseline;
  {
    std::mt19937_64 again(42);
    baseline.reserve(entries);
    for (size_t i = 0; i < entries; ++i) baseline.insert(random_domain(again));
  }
  const double set_bytes_per_entry =
      static_cast<double>(resident_bytes() - set_rss_before) / static_cast<double>(baseline.size());
  auto set_match = [&](const std::string& n) {
    std::string_view name = n;
    for (size_t start = 0;;) {
      if (baseline.count(std::string(name.substr(start))) != 0) return true;
      const auto dot = name.find('.', start);
      if (dot == std::string_view::npos) return false;
      start = dot + 1;
    }
  };
  const PerLookup set_hit = ns_per_lookup(below, lookups, set_match);
  const PerLookup set_miss = ns_per_lookup(unlisted, lookups, set_match);

  std::printf("entries                     %zu (file %.1f MiB, %zu malformed)\n", info.entries,
              static_cast<double>(file_bytes) / (1 << 20), info.malformed);
  std::printf("load time                   %.0f ms (%.2f µs per entry)\n", load_ms,
              load_ms * 1000 / static_cast<double>(info.entries));
  std::printf("resident memory per entry   %.1f bytes (table capacity %zu slots)\n",
              bytes_per_entry, lists->table_capacity());
  std::printf("SNI lookup, listed name     %s\n", figure(sni_hit).c_str());
  std::printf("SNI lookup, unlisted name   %s\n", figure(sni_miss).c_str());
  std::printf("request lookup (host + URL) %s\n", figure(request_miss).c_str());
  std::printf("baseline unordered_set      %.1f bytes per entry, %s listed, %s unlisted\n",
              set_bytes_per_entry, figure(set_hit).c_str(), figure(set_miss).c_str());
  std::printf(
      "ratios to the baseline      memory %.2f, listed %.2f, unlisted %.2f (CPU: %.2f, %.2f)\n",
      bytes_per_entry / set_bytes_per_entry, sni_hit.wall_ns / set_hit.wall_ns,
      sni_miss.wall_ns / set_miss.wall_ns, sni_hit.cpu_ns / set_hit.cpu_ns,
      sni_miss.cpu_ns / set_miss.cpu_ns);
  return 0;
}
