#include "validation/revocation_checker.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <ctime>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tls/openssl_text.h"
#include "validation/crl_validation.h"
#include "validation/http_fetch.h"

namespace tlsgate::tls {
namespace {

using Clock = std::chrono::steady_clock;

// A CRL is judged once per issuer that relies on it (and per subject kind,
// as a CRL may cover only CA or only end-entity certificates).
struct Validation {
  X509Ptr issuer;
  bool subject_is_ca = false;
  std::string problem;  // "" = usable
};

struct CrlRecord {
  X509CrlPtr crl;     // immutable once stored; null when the fetch failed
  std::string error;  // why `crl` is null
  Clock::time_point refetch_at;
  std::vector<Validation> validations;  // guarded by State::mutex
};

constexpr size_t kMaxValidationsPerCrl = 8;

struct CertToCheck {
  X509* cert;
  X509* issuer;
  int depth;
  bool is_ca;
  CrlLocations where;
};

std::vector<CertToCheck> certs_to_check(const STACK_OF(X509) * chain) {
  std::vector<CertToCheck> out;
  const int n = chain != nullptr ? sk_X509_num(chain) : 0;
  // The trust anchor (last) is trusted as such: nothing above it to ask.
  for (int i = 0; i + 1 < n; ++i) {
    X509* cert = sk_X509_value(chain, i);
    out.push_back(
        {cert, sk_X509_value(chain, i + 1), i, X509_check_ca(cert) != 0, crl_locations(cert)});
  }
  return out;
}

bool same_issuer(X509* a, X509* b) {
  return a == b || (X509_NAME_cmp(X509_get_subject_name(a), X509_get_subject_name(b)) == 0 &&
                    EVP_PKEY_eq(X509_get0_pubkey(a), X509_get0_pubkey(b)) == 1);
}

std::string subject_of(X509* cert) {
  return "\"" + rfc2253(X509_get_subject_name(cert)) + "\"";
}

// Where a chain stands given the cache: a result, or the next piece of work.
struct Evaluation {
  std::optional<RevocationResult> result;
  std::string url;
  bool fetch = false;  // else: validate the CRL at `url` for `issuer`
  X509* issuer = nullptr;
  bool subject_is_ca = false;
};

}  // namespace

std::string_view to_string(RevocationStatus s) {
  switch (s) {
    case RevocationStatus::good:
      return "good";
    case RevocationStatus::revoked:
      return "revoked";
    case RevocationStatus::unknown:
      return "unknown";
    case RevocationStatus::pending:
      return "pending";
  }
  return "unknown";
}

std::optional<VerifyFailure> RevocationResult::failure() const {
  if (status == RevocationStatus::revoked) {
    return VerifyFailure{CertErrorClass::revoked, X509_V_ERR_CERT_REVOKED, depth, detail};
  }
  if (status == RevocationStatus::unknown) {
    return VerifyFailure{CertErrorClass::revocation_unknown, X509_V_ERR_UNABLE_TO_GET_CRL, depth,
                         detail};
  }
  return std::nullopt;
}

struct RevocationChecker::State {
  struct Job {
    std::vector<X509Ptr> chain;
    Callback done;
  };

  explicit State(Options o) : options(o) {}

  Options options;
  mutable std::mutex mutex;
  std::condition_variable work_ready;  // a job, or stopping
  std::condition_variable fetch_done;  // an in-flight fetch ended, or stopping
  std::map<std::string, std::shared_ptr<CrlRecord>> cache;
  std::set<std::string> in_flight;
  std::deque<Job> jobs;
  bool stopping = false;
  std::vector<std::thread> threads;
  std::atomic<uint64_t> fetches{0};
  std::atomic<uint64_t> fetch_failures{0};

  Evaluation evaluate_locked(const std::vector<CertToCheck>& certs, Clock::time_point now) const;
  std::shared_ptr<CrlRecord> fetch(const std::string& url);
  void store_locked(const std::string& url, std::shared_ptr<CrlRecord> record);
  void run();
  void process(Job& job);
};

Evaluation RevocationChecker::State::evaluate_locked(const std::vector<CertToCheck>& certs,
                                                     Clock::time_point now) const {
  std::optional<RevocationResult> unknown;
  for (const CertToCheck& c : certs) {
    if (!c.where.has_distribution_points) continue;
    std::string errors;
    bool settled = false;
    for (const std::string& url : c.where.http_urls) {
      auto it = cache.find(url);
      if (it == cache.end() || now >= it->second->refetch_at) {
        Evaluation work;
        work.url = url;
        work.fetch = true;
        return work;
      }
      const CrlRecord& record = *it->second;
      std::string problem = record.error;
      if (record.crl) {
        auto v = std::find_if(
            record.validations.begin(), record.validations.end(), [&](const Validation& x) {
              return x.subject_is_ca == c.is_ca && same_issuer(x.issuer.get(), c.issuer);
            });
        if (v == record.validations.end()) {
          Evaluation work;
          work.url = url;
          work.issuer = c.issuer;
          work.subject_is_ca = c.is_ca;
          return work;
        }
        problem = v->problem;
      }
      if (!problem.empty()) {
        errors += (errors.empty() ? "" : "; ") + url + ": " + problem;
        continue;
      }
      if (auto reason = revocation_in(record.crl.get(), c.cert)) {
        Evaluation done;
        done.result = RevocationResult{RevocationStatus::revoked, c.depth,
                                       "certificate " + subject_of(c.cert) + " is revoked (" +
                                           *reason + ") according to the CRL " + url};
        return done;
      }
      settled = true;
      break;
    }
    if (!settled && !unknown) {
      unknown = RevocationResult{
          RevocationStatus::unknown, c.depth,
          "revocation status of " + subject_of(c.cert) + " is unknown: " +
              (c.where.http_urls.empty() ? "it has no http:// CRL distribution point" : errors)};
    }
  }
  Evaluation done;
  done.result = unknown ? *unknown : RevocationResult{};
  return done;
}

std::shared_ptr<CrlRecord> RevocationChecker::State::fetch(const std::string& url) {
  auto record = std::make_shared<CrlRecord>();
  const auto now = Clock::now();
  try {
    auto parsed = HttpUrl::parse(url);
    if (!parsed) throw HttpFetchError("not a fetchable http:// URL");
    HttpFetchLimits limits{options.connect_timeout, options.read_timeout, options.max_crl_bytes,
                           options.allow_loopback};
    fetches.fetch_add(1, std::memory_order_relaxed);
    std::string body = http_get(*parsed, limits);
    record->crl = parse_der_crl(body);
    if (!record->crl) throw HttpFetchError("the response is not a DER-encoded CRL");
    // The first lookup sorts the revoked list: do it here, not on a worker.
    X509_REVOKED* ignored = nullptr;
    Asn1IntegerPtr zero(ASN1_INTEGER_new());
    if (zero) X509_CRL_get0_by_serial(record->crl.get(), &ignored, zero.get());

    std::chrono::seconds life = options.max_cache_age;
    if (const ASN1_TIME* next = X509_CRL_get0_nextUpdate(record->crl.get())) {
      int days = 0, secs = 0;
      if (ASN1_TIME_diff(&days, &secs, nullptr, next) == 1) {
        life = std::min(life, std::chrono::seconds(int64_t{days} * 86400 + secs));
      }
    }
    // A CRL already past nextUpdate is judged unusable; do not refetch it
    // for every connection meanwhile.
    record->refetch_at = now + std::max(life, options.retry_after_failure);
  } catch (const std::exception& e) {
    fetch_failures.fetch_add(1, std::memory_order_relaxed);
    record->crl.reset();
    record->error = e.what();
    record->refetch_at = now + options.retry_after_failure;
  }
  drain_openssl_errors();
  return record;
}

void RevocationChecker::State::store_locked(const std::string& url,
                                            std::shared_ptr<CrlRecord> record) {
  if (!cache.contains(url) && cache.size() >= options.max_cached_crls) {
    // Evict the CRL due soonest for a refetch (never one being fetched).
    auto victim = cache.end();
    for (auto it = cache.begin(); it != cache.end(); ++it) {
      if (in_flight.contains(it->first)) continue;
      if (victim == cache.end() || it->second->refetch_at < victim->second->refetch_at) victim = it;
    }
    if (victim != cache.end()) cache.erase(victim);
  }
  cache[url] = std::move(record);
}

void RevocationChecker::State::process(Job& job) {
  X509BorrowedStackPtr chain(sk_X509_new_null());
  for (const X509Ptr& cert : job.chain) {
    if (!chain || sk_X509_push(chain.get(), cert.get()) <= 0) break;
  }
  const std::vector<CertToCheck> certs = certs_to_check(chain.get());
  size_t urls = 0;
  for (const CertToCheck& c : certs) urls += c.where.http_urls.size();
  // Each step fetches or validates one CRL; evictions by other checks could
  // undo steps, so the number of rounds is bounded.
  const size_t max_rounds = 4 * urls + 4;
  RevocationResult result{RevocationStatus::unknown, 0,
                          "revocation check did not settle (CRL cache too small?)"};
  std::unique_lock lock(mutex);
  for (size_t round = 0; round < max_rounds; ++round) {
    if (stopping) return;
    Evaluation e = evaluate_locked(certs, Clock::now());
    if (e.result) {
      result = *e.result;
      break;
    }
    if (e.fetch) {
      if (in_flight.contains(e.url)) {
        fetch_done.wait(lock, [&] { return stopping || !in_flight.contains(e.url); });
        continue;
      }
      in_flight.insert(e.url);
      lock.unlock();
      std::shared_ptr<CrlRecord> record = fetch(e.url);
      lock.lock();
      in_flight.erase(e.url);
      store_locked(e.url, std::move(record));
      fetch_done.notify_all();
      continue;
    }
    std::shared_ptr<CrlRecord> record = cache.at(e.url);
    lock.unlock();
    // Signature and scope: may hash megabytes, outside the lock.
    std::string problem =
        crl_problem(record->crl.get(), e.issuer, e.subject_is_ca, std::time(nullptr));
    lock.lock();
    if (record->validations.size() >= kMaxValidationsPerCrl) {
      record->validations.erase(record->validations.begin());
    }
    record->validations.push_back({share(e.issuer), e.subject_is_ca, std::move(problem)});
  }
  lock.unlock();
  try {
    job.done(std::move(result));
  } catch (...) {
    // A failing callback must not end the fetcher thread.
  }
}

void RevocationChecker::State::run() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex);
      work_ready.wait(lock, [&] { return stopping || !jobs.empty(); });
      if (stopping) return;
      job = std::move(jobs.front());
      jobs.pop_front();
    }
    process(job);
  }
}

RevocationChecker::RevocationChecker(Options options) : state_(std::make_unique<State>(options)) {
  const unsigned n = std::max(1u, options.fetch_threads);
  for (unsigned i = 0; i < n; ++i) state_->threads.emplace_back([s = state_.get()] { s->run(); });
}

RevocationChecker::~RevocationChecker() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stopping = true;
    state_->jobs.clear();
  }
  state_->work_ready.notify_all();
  state_->fetch_done.notify_all();
  for (std::thread& t : state_->threads) t.join();
}

RevocationResult RevocationChecker::check(const STACK_OF(X509) * verified_chain, Callback on_done) {
  const std::vector<CertToCheck> certs = certs_to_check(verified_chain);
  std::lock_guard lock(state_->mutex);
  Evaluation e = state_->evaluate_locked(certs, Clock::now());
  if (e.result) return *e.result;
  if (state_->jobs.size() >= state_->options.max_pending_checks) {
    return RevocationResult{RevocationStatus::unknown, 0,
                            "too many revocation checks waiting for CRLs"};
  }
  State::Job job;
  for (const CertToCheck& c : certs) job.chain.push_back(share(c.cert));
  if (!certs.empty()) job.chain.push_back(share(certs.back().issuer));
  job.done = std::move(on_done);
  state_->jobs.push_back(std::move(job));
  state_->work_ready.notify_one();
  return RevocationResult{RevocationStatus::pending, 0, {}};
}

RevocationChecker::Stats RevocationChecker::stats() const {
  Stats s;
  s.fetches = state_->fetches.load(std::memory_order_relaxed);
  s.fetch_failures = state_->fetch_failures.load(std::memory_order_relaxed);
  std::lock_guard lock(state_->mutex);
  s.cached_crls = state_->cache.size();
  return s;
}

}  // namespace tlsgate::tls
