// CaRegistry: the first CA's migration, every command and state transition
// (staged -> active -> retiring -> retired, scheduled ones on the clock),
// persistence, per-rule CA names and the forged cache keyed by CA.
#include "ca/ca_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "ca_test_support.h"
#include "forging/forged_cert_cache.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace testing;

constexpr UnixTime kStart = 1'750'000'000;
constexpr auto kRetireAfter = std::chrono::hours(24 * 7);

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

IpAddress ip(const char* text) {
  return *IpAddress::parse(text);
}

class CaRegistryTest : public ::testing::Test {
 protected:
  TempDir dir_;
  UnixTime now_ = kStart;
  std::vector<nlohmann::json> events_;

  std::unique_ptr<CaRegistry> open() {
    CaRegistry::Options o;
    o.retire_after = kRetireAfter;
    o.fallback_retry = std::chrono::hours(1);
    o.now = [this] { return now_; };
    o.on_event = [this](nlohmann::json e) { events_.push_back(std::move(e)); };
    return CaRegistry::open(dir_.path(), std::move(o));
  }

  static std::vector<std::string> states(const CaRegistry& r) {
    std::vector<std::string> out;
    for (const CaRecord& rec : r.records()) {
      out.push_back(rec.id() + ":" + std::string(to_string(rec.state)));
    }
    return out;
  }

  std::vector<std::string> steps() const {
    std::vector<std::string> out;
    for (const auto& e : events_) {
      out.push_back(e["step"].get<std::string>() + ":" + e["ca"].get<std::string>() + "." +
                    std::to_string(e["generation"].get<unsigned>()));
    }
    return out;
  }

  static std::string command_error(const std::function<void()>& f) {
    try {
      f();
    } catch (const CaCommandError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(CaRegistryTest, FirstStartCreatesDefaultInTheFirstCaLayout) {
  auto r = open();
  EXPECT_THAT(states(*r), ElementsAre("default.1:active"));
  EXPECT_TRUE(fs::exists(dir_.path() / "ca" / "root.pem"));
  EXPECT_TRUE(fs::exists(dir_.path() / "ca" / "registry.json"));
  // The untrusted CA still finds the gateway CA where it always was.
  EXPECT_NO_THROW(CaStore::open_or_create_untrusted(dir_.path()));
}

TEST_F(CaRegistryTest, AnExistingSingleCaIsMigratedAsDefaultOneUnchanged) {
  const std::string signer = CaStore::open_or_create(dir_.path()).signer_id();
  auto r = open();
  EXPECT_THAT(states(*r), ElementsAre("default.1:active"));
  SignerChoice choice = r->signer_for(ip("10.0.0.2"), "");
  EXPECT_EQ(choice.ca->store.signer_id(), signer);
  EXPECT_FALSE(choice.previous);
  EXPECT_FALSE(choice.tracked);
  // And `ca export` of the old days reads the same root.
  EXPECT_EQ(CaStore::open_existing(dir_.path()).root_pem(), choice.ca->store.root_pem());
}

TEST_F(CaRegistryTest, RegistryFileHoldsNoKeyAndNewKeysArePrivate) {
  auto r = open();
  r->stage("default");
  r->init("corp");
  EXPECT_THAT(read_all(dir_.path() / "ca" / "registry.json"), Not(HasSubstr("PRIVATE")));
  for (const auto& entry : fs::recursive_directory_iterator(dir_.path() / "ca")) {
    if (entry.path().extension() != ".key") continue;
    struct stat st {};
    ASSERT_EQ(::stat(entry.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << entry.path();
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "ca" / "generations").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);
}

TEST_F(CaRegistryTest, AnUnnamedGenerationDirectoryIsNeitherReusedNorRemoved) {
  auto r = open();
  const fs::path orphan = dir_.path() / "ca" / "generations" / "default.2";
  fs::create_directories(orphan);
  std::ofstream(orphan / "intermediate.key") << "kept";
  const CaRecord staged = r->stage("default");
  EXPECT_EQ(staged.directory, "generations/default.2-2");
  EXPECT_EQ(read_all(orphan / "intermediate.key"), "kept");
}

TEST_F(CaRegistryTest, GenerationsWithoutTheirRegistryAreRefused) {
  open()->stage("default");
  fs::remove(dir_.path() / "ca" / "registry.json");
  try {
    open();
    FAIL() << "opened without knowing which generation signs";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("restore the registry"));
  }
}

TEST_F(CaRegistryTest, InitCreatesANewActiveNameAndRefusesAnExistingOrBadOne) {
  auto r = open();
  const CaRecord corp = r->init("corp");
  EXPECT_EQ(corp.id(), "corp.1");
  EXPECT_EQ(corp.state, CaState::active);
  EXPECT_EQ(corp.directory, "generations/corp.1");
  EXPECT_NE(r->signer_for(ip("10.0.0.2"), "corp").ca->store.signer_id(),
            r->signer_for(ip("10.0.0.2"), "").ca->store.signer_id());
  EXPECT_THAT(command_error([&] { r->init("corp"); }), HasSubstr("exists"));
  EXPECT_THAT(command_error([&] { r->init("default"); }), HasSubstr("exists"));
  EXPECT_THAT(command_error([&] { r->init("Bad Name"); }), HasSubstr("invalid CA name"));
  EXPECT_THAT(command_error([&] { r->init("../x"); }), HasSubstr("invalid CA name"));
  EXPECT_THAT(steps(), ElementsAre("created:corp.1"));
}

TEST_F(CaRegistryTest, StagedIsPublishedButDoesNotSign) {
  auto r = open();
  const std::string active = r->signer_for(ip("10.0.0.2"), "").ca->store.signer_id();
  const CaRecord staged = r->stage("default");
  EXPECT_EQ(staged.id(), "default.2");
  EXPECT_EQ(staged.state, CaState::staged);
  EXPECT_EQ(r->signer_for(ip("10.0.0.2"), "").ca->store.signer_id(), active);
  ASSERT_EQ(r->published().size(), 2u);
  EXPECT_EQ(r->published()[1].record.id(), "default.2");
  EXPECT_THAT(command_error([&] { r->stage("default"); }), HasSubstr("already has a staged"));
  EXPECT_THAT(command_error([&] { r->stage("nosuch"); }), HasSubstr("no CA named"));
}

TEST_F(CaRegistryTest, ActivateSwapsTheActiveGenerationIntoRetiring) {
  auto r = open();
  EXPECT_THAT(command_error([&] { r->activate("default", std::nullopt); }),
              HasSubstr("no staged generation"));
  const std::string old_signer = r->signer_for(ip("10.0.0.2"), "").ca->store.signer_id();
  r->stage("default");
  now_ += 60;
  const CaRecord active = r->activate("default", std::nullopt);
  EXPECT_EQ(active.state, CaState::active);
  EXPECT_EQ(active.activated, kStart + 60);
  EXPECT_THAT(states(*r), ElementsAre("default.1:retiring", "default.2:active"));
  EXPECT_EQ(r->records()[0].retire_at, kStart + 60 + std::chrono::seconds(kRetireAfter).count());
  SignerChoice choice = r->signer_for(ip("10.0.0.2"), "");
  EXPECT_EQ(choice.ca->generation, 2u);
  EXPECT_NE(choice.ca->store.signer_id(), old_signer);
  EXPECT_TRUE(choice.tracked);  // a rotation in progress
  EXPECT_FALSE(r->rotation_complete("default"));
  EXPECT_EQ(r->published().size(), 2u);  // the retiring one stays published
  EXPECT_THAT(steps(),
              ElementsAre("created:default.2", "retiring:default.1", "activated:default.2"));
}

TEST_F(CaRegistryTest, ActivationAtATimeHappensOnTheClockWithoutARestart) {
  auto r = open();
  r->stage("default");
  const CaRecord scheduled = r->activate("default", kStart + 2);
  EXPECT_EQ(scheduled.state, CaState::staged);
  EXPECT_EQ(scheduled.activate_at, kStart + 2);
  now_ = kStart + 1;
  EXPECT_FALSE(r->tick());
  EXPECT_EQ(r->signer_for(ip("10.0.0.2"), "").ca->generation, 1u);
  now_ = kStart + 2;
  EXPECT_TRUE(r->tick());
  EXPECT_EQ(r->signer_for(ip("10.0.0.2"), "").ca->generation, 2u);
  EXPECT_THAT(states(*r), ElementsAre("default.1:retiring", "default.2:active"));
  EXPECT_EQ(r->records()[1].activated, kStart + 2);
  EXPECT_FALSE(r->records()[1].activate_at.has_value());
  EXPECT_THAT(steps(), ElementsAre("created:default.2", "activation_scheduled:default.2",
                                   "retiring:default.1", "activated:default.2"));
}

TEST_F(CaRegistryTest, ActivationDueWhileStoppedHappensAtTheNextTick) {
  {
    auto r = open();
    r->stage("default");
    r->activate("default", kStart + 10);
  }
  now_ = kStart + 3600;
  auto r = open();
  EXPECT_EQ(r->signer_for(ip("10.0.0.2"), "").ca->generation, 1u);
  EXPECT_TRUE(r->tick());
  EXPECT_EQ(r->signer_for(ip("10.0.0.2"), "").ca->generation, 2u);
}

TEST_F(CaRegistryTest, RetiringEndsAtItsDateOrByHand) {
  auto r = open();
  r->stage("default");
  r->activate("default", std::nullopt);
  now_ += std::chrono::seconds(kRetireAfter).count() - 1;
  EXPECT_FALSE(r->tick());
  now_ += 1;
  EXPECT_TRUE(r->tick());
  EXPECT_THAT(states(*r), ElementsAre("default.1:retired", "default.2:active"));
  EXPECT_EQ(r->published().size(), 1u);

  r->stage("default");
  r->activate("default", std::nullopt);
  EXPECT_THAT(command_error([&] { r->retire("default", 3, std::nullopt); }),
              HasSubstr("is active"));
  EXPECT_THAT(command_error([&] { r->retire("default", 1, std::nullopt); }),
              HasSubstr("is retired"));
  const CaRecord later = r->retire("default", std::nullopt, now_ + 5);
  EXPECT_EQ(later.state, CaState::retiring);
  EXPECT_EQ(later.retire_at, now_ + 5);
  const CaRecord gone = r->retire("default", std::nullopt, std::nullopt);
  EXPECT_EQ(gone.id(), "default.2");
  EXPECT_EQ(gone.state, CaState::retired);
  EXPECT_THAT(command_error([&] { r->retire("default", std::nullopt, std::nullopt); }),
              HasSubstr("no retiring generation"));
  EXPECT_THAT(states(*r),
              ElementsAre("default.1:retired", "default.2:retired", "default.3:active"));
}

TEST_F(CaRegistryTest, RetiringAStagedGenerationWithdrawsIt) {
  auto r = open();
  r->stage("default");
  r->activate("default", kStart + 100);
  r->retire("default", 2, std::nullopt);
  EXPECT_THAT(states(*r), ElementsAre("default.1:active", "default.2:retired"));
  EXPECT_FALSE(r->records()[1].activate_at.has_value());
  now_ += 200;
  EXPECT_FALSE(r->tick());  // the withdrawn activation never happens
  EXPECT_EQ(r->published().size(), 1u);
  EXPECT_EQ(r->stage("default").id(), "default.3");
}

TEST_F(CaRegistryTest, ANewActivationRetiresTheRotationBefore) {
  auto r = open();
  r->stage("default");
  r->activate("default", std::nullopt);
  r->stage("default");
  r->activate("default", std::nullopt);
  EXPECT_THAT(states(*r),
              ElementsAre("default.1:retired", "default.2:retiring", "default.3:active"));
}

TEST_F(CaRegistryTest, StateSurvivesAReopen) {
  std::vector<CaRecord> before;
  std::string corp_signer;
  {
    auto r = open();
    r->init("corp");
    r->stage("default");
    r->activate("default", std::nullopt);
    r->stage("corp");
    r->activate("corp", kStart + 50);
    before = r->records();
    corp_signer = r->signer_for(ip("10.0.0.2"), "corp").ca->store.signer_id();
  }
  auto r = open();
  EXPECT_EQ(r->records(), before);
  EXPECT_EQ(r->signer_for(ip("10.0.0.2"), "corp").ca->store.signer_id(), corp_signer);
  EXPECT_EQ(r->signer_for(ip("10.0.0.2"), "").ca->generation, 2u);
}

TEST_F(CaRegistryTest, RulesMayOnlyNameCasThatSign) {
  auto r = open();
  EXPECT_EQ(r->check_names({"", "default"}), "");
  EXPECT_THAT(r->check_names({"", "corp"}), HasSubstr("'corp'"));
  EXPECT_THROW(r->signer_for(ip("10.0.0.2"), "corp"), CaCommandError);
  r->init("corp");
  EXPECT_EQ(r->check_names({"", "corp"}), "");
}

TEST_F(CaRegistryTest, NoLeafOfTheOldCaIsServedAfterARotation) {
  auto r = open();
  ForgedCertCache cache;
  TestPki pki;
  X509Ptr upstream = pki.leaf(server_spec("DNS:host.lab.test"));
  auto old_choice = r->signer_for(ip("10.0.0.2"), "");
  auto old_leaf = cache.get_or_forge(old_choice.ca->forger, upstream.get());
  r->stage("default");
  r->activate("default", std::nullopt);
  auto new_choice = r->signer_for(ip("10.0.0.2"), "");
  auto new_leaf = cache.get_or_forge(new_choice.ca->forger, upstream.get());
  EXPECT_NE(old_leaf.get(), new_leaf.get());
  EXPECT_EQ(X509_check_issued(new_choice.ca->store.signer(), new_leaf->leaf.get()), X509_V_OK);
  EXPECT_EQ(verify_as_client(new_leaf->leaf.get(), new_leaf->chain, {new_choice.ca->store.root()}),
            X509_V_OK);
}

TEST_F(CaRegistryTest, ImportedRootBecomesAStagedGenerationThenSigns) {
  auto r = open();
  EnterpriseRoot ent("Example Corp Root", /*rsa=*/true);
  std::vector<std::string> warnings;
  const CaRecord rec = r->import_ca(
      "default", {cert_pem(ent.root.cert.get()), key_pem(ent.root.key.get(), "pw"), "pw", ""},
      &warnings);
  EXPECT_EQ(rec.id(), "default.2");
  EXPECT_EQ(rec.state, CaState::staged);
  EXPECT_EQ(rec.origin, CaOrigin::imported_root);
  EXPECT_FALSE(fs::exists(dir_.path() / "ca" / rec.directory / "root.key"));
  r->activate("default", std::nullopt);
  auto choice = r->signer_for(ip("10.0.0.2"), "");
  EXPECT_EQ(verify_forged(choice.ca->forger, {ent.root.cert.get()}), X509_V_OK);
  // Reopened: a generation without root.key loads.
  r.reset();
  r = open();
  EXPECT_EQ(verify_forged(r->signer_for(ip("10.0.0.2"), "").ca->forger, {ent.root.cert.get()}),
            X509_V_OK);
  EXPECT_THAT(command_error([&] {
                r->import_ca("corp", {cert_pem(ent.root.cert.get()), "junk", "", ""}, nullptr);
              }),
              HasSubstr("import refused"));
}

TEST_F(CaRegistryTest, ImportUnderANewNameIsActiveAtOnce) {
  auto r = open();
  TestPki corp("Corp");
  const CaRecord rec =
      r->import_ca("corp",
                   {cert_pem(corp.intermediate.cert.get()), key_pem(corp.intermediate.key.get()),
                    "", cert_pem(corp.root.cert.get())},
                   nullptr);
  EXPECT_EQ(rec.state, CaState::active);
  EXPECT_EQ(rec.origin, CaOrigin::imported_intermediate);
  auto choice = r->signer_for(ip("10.0.0.2"), "corp");
  EXPECT_EQ(X509_cmp(choice.ca->store.signer(), corp.intermediate.cert.get()), 0);
  EXPECT_EQ(verify_forged(choice.ca->forger, {corp.root.cert.get()}), X509_V_OK);
}

TEST_F(CaRegistryTest, CrossCertificateLetsClientsOfTheEnterpriseRootAcceptOurLeaves) {
  auto r = open();
  EnterpriseRoot ent("Example Corp Root");
  auto before = r->signer_for(ip("10.0.0.2"), "");
  X509* our_root = before.ca->store.root();
  EXPECT_NE(verify_forged(before.ca->forger, {ent.root.cert.get()}), X509_V_OK);

  X509Ptr cross = cross_certify(our_root, ent.root);
  const CaRecord rec = r->import_cross("default", cert_pem(cross.get()));
  EXPECT_EQ(rec.id(), "default.1");
  auto after = r->signer_for(ip("10.0.0.2"), "");
  ASSERT_EQ(after.ca->store.served_chain().size(), 2u);
  EXPECT_EQ(X509_cmp(after.ca->store.served_chain()[1].get(), cross.get()), 0);
  EXPECT_NE(after.ca->store.cache_id(), before.ca->store.cache_id());
  EXPECT_EQ(after.ca->store.signer_id(), before.ca->store.signer_id());
  EXPECT_EQ(verify_forged(after.ca->forger, {ent.root.cert.get()}), X509_V_OK);
  EXPECT_EQ(verify_forged(after.ca->forger, {our_root}), X509_V_OK);  // and ours still works

  EXPECT_THAT(command_error([&] { r->import_cross("default", cert_pem(cross.get())); }),
              HasSubstr("already served"));
  TempDir other;
  CaStore stranger = CaStore::open_or_create(other.path());
  X509Ptr foreign = cross_certify(stranger.root(), ent.root);
  EXPECT_THAT(command_error([&] { r->import_cross("default", cert_pem(foreign.get())); }),
              HasSubstr("not the root"));
  // Survives a restart (cross.pem next to the first CA).
  r.reset();
  r = open();
  EXPECT_EQ(verify_forged(r->signer_for(ip("10.0.0.2"), "").ca->forger, {ent.root.cert.get()}),
            X509_V_OK);
  EXPECT_THAT(steps(), ElementsAre("cross_imported:default.1"));
}

TEST_F(CaRegistryTest, EveryCertificateCoversEveryStateOriginAndCrossCertificate) {
  auto r = open();
  auto has = [&](X509* cert, const std::string& id) {
    for (const OwnCaCertificate& c : r->every_certificate()) {
      if (X509_cmp(c.cert.get(), cert) == 0) return c.ca_id == id;
    }
    return false;
  };
  // default.1 will be retired, default.2 retiring, default.3 active (imported), 4 staged.
  X509Ptr first_root = share(r->signer_for(ip("10.0.0.2"), "").ca->store.root());
  X509Ptr first_signer = share(r->signer_for(ip("10.0.0.2"), "").ca->store.signer());
  EnterpriseRoot ent("Example Corp Root");
  X509Ptr cross = cross_certify(first_root.get(), ent.root);
  r->import_cross("default", cert_pem(cross.get()));
  r->stage("default");
  r->activate("default", std::nullopt);
  r->retire("default", 1, std::nullopt);
  X509Ptr second_root = share(r->signer_for(ip("10.0.0.2"), "").ca->store.root());
  TestPki corp("Corp");
  r->import_ca("default",
               {cert_pem(corp.intermediate.cert.get()), key_pem(corp.intermediate.key.get()), "",
                cert_pem(corp.root.cert.get())},
               nullptr);
  r->activate("default", std::nullopt);
  r->stage("default");
  ASSERT_THAT(states(*r), ElementsAre("default.1:retired", "default.2:retiring", "default.3:active",
                                      "default.4:staged"));
  X509Ptr staged_root = share(r->find("default", 4)->ca->store.root());

  EXPECT_TRUE(has(first_root.get(), "default.1"));              // retired: read from disk
  EXPECT_TRUE(has(first_signer.get(), "default.1"));            // its intermediate too
  EXPECT_TRUE(has(cross.get(), "default.1"));                   // and its cross-certificate
  EXPECT_TRUE(has(second_root.get(), "default.2"));             // retiring
  EXPECT_TRUE(has(corp.intermediate.cert.get(), "default.3"));  // imported, active
  EXPECT_TRUE(has(corp.root.cert.get(), "default.3"));
  EXPECT_TRUE(has(staged_root.get(), "default.4"));     // staged
  EXPECT_FALSE(has(ent.root.cert.get(), "default.1"));  // the cross-signer is not ours
}

}  // namespace
}  // namespace tlsgate::tls
