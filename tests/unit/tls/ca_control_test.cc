// The `ca.*` control commands: each command's answer and refusals, the
// per-rule status, and exports that carry certificates only.
#include "ca/ca_control.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ca_test_support.h"
#include "test_pki.h"

namespace tlsgate::tls {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace testing;

constexpr UnixTime kStart = 1'750'000'000;

class CaControlTest : public ::testing::Test {
 protected:
  TempDir dir_;
  UnixTime now_ = kStart;
  std::unique_ptr<CaRegistry> registry_ = [this] {
    CaRegistry::Options o;
    o.now = [this] { return now_; };
    return CaRegistry::open(dir_.path(), std::move(o));
  }();
  std::vector<RuleCa> rules_ = {{"corp-rule", "corp"}, {"default", ""}};

  json run(json request) { return handle_ca_command(*registry_, request, rules_); }
  std::string error(json request) {
    try {
      run(std::move(request));
    } catch (const CaCommandError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(CaControlTest, InitStageActivateRetireAnswerWithTheRecord) {
  json created = run({{"command", "ca.init"}, {"name", "corp"}});
  EXPECT_EQ(created["id"], "corp.1");
  EXPECT_EQ(created["state"], "active");
  EXPECT_EQ(created["done"], "created");
  json staged = run({{"command", "ca.stage"}});  // name defaults to "default"
  EXPECT_EQ(staged["id"], "default.2");
  EXPECT_EQ(staged["state"], "staged");
  json scheduled = run({{"command", "ca.activate"}, {"name", "default"}, {"at", kStart + 5}});
  EXPECT_EQ(scheduled["done"], "scheduled");
  EXPECT_EQ(scheduled["activate_at"], rfc3339(kStart + 5));
  json activated = run({{"command", "ca.activate"}, {"name", "default"}});
  EXPECT_EQ(activated["done"], "activated");
  EXPECT_EQ(activated["state"], "active");
  json retired = run({{"command", "ca.retire"}, {"name", "default"}});
  EXPECT_EQ(retired["id"], "default.1");
  EXPECT_EQ(retired["done"], "retired");
  EXPECT_TRUE(is_ca_change("ca.retire"));
  EXPECT_FALSE(is_ca_change("ca.status"));
}

TEST_F(CaControlTest, BadRequestsAreRefusedWithAReason) {
  EXPECT_THAT(error({{"command", "ca.init"}, {"name", 5}}), HasSubstr("\"name\" is a string"));
  EXPECT_THAT(error({{"command", "ca.activate"}, {"at", "soon"}}),
              HasSubstr("\"at\" is an integer"));
  EXPECT_THAT(error({{"command", "ca.retire"}, {"generation", 0}}), HasSubstr("from 1"));
  EXPECT_THAT(error({{"command", "ca.import"}, {"cert_pem", "x"}}), HasSubstr("key_pem"));
  EXPECT_THAT(error({{"command", "ca.import"}, {"cross_pem", "x"}, {"key_pem", "y"}}),
              HasSubstr("either"));
  EXPECT_THAT(error({{"command", "ca.frobnicate"}}), HasSubstr("unknown command"));
}

TEST_F(CaControlTest, ListShowsEveryGenerationWithItsCertificates) {
  run({{"command", "ca.stage"}});
  run({{"command", "ca.activate"}});
  run({{"command", "ca.retire"}});
  json list = run({{"command", "ca.list"}});
  ASSERT_EQ(list["cas"].size(), 2u);
  EXPECT_EQ(list["cas"][0]["id"], "default.1");
  EXPECT_EQ(list["cas"][0]["state"], "retired");
  EXPECT_FALSE(list["cas"][0].contains("root"));
  const json& active = list["cas"][1];
  EXPECT_EQ(active["state"], "active");
  EXPECT_THAT(active["root"]["subject"].get<std::string>(), HasSubstr("tlsgate Root CA"));
  EXPECT_EQ(active["signer"]["issuer"], active["root"]["subject"]);
  EXPECT_EQ(active["root"]["sha256"].get<std::string>().size(), 64u);
  EXPECT_TRUE(active["cross"].empty());
}

TEST_F(CaControlTest, StatusGivesEachRuleItsSignerAndTheRotationState) {
  run({{"command", "ca.init"}, {"name", "corp"}});
  run({{"command", "ca.stage"}});
  run({{"command", "ca.activate"}});
  auto choice = registry_->signer_for(*IpAddress::parse("10.1.1.1"), "");
  registry_->report_rejection(*IpAddress::parse("10.1.1.1"), choice, "alert:unknown_ca");
  json status = run({{"command", "ca.status"}});
  ASSERT_EQ(status["rules"].size(), 2u);
  const json& corp = status["rules"][0];
  EXPECT_EQ(corp["rule"], "corp-rule");
  EXPECT_EQ(corp["ca"], "corp");
  EXPECT_EQ(corp["generation"], 1);
  EXPECT_EQ(corp["rotation_complete"], true);
  const auto corp_ca = registry_->find("corp", std::nullopt);
  EXPECT_EQ(corp["signer_subject"],
            certificate_json(corp_ca->ca->store.signer())["subject"].get<std::string>());
  EXPECT_EQ(corp["signer_issuer"],
            certificate_json(corp_ca->ca->store.root())["subject"].get<std::string>());
  const json& def = status["rules"][1];
  EXPECT_EQ(def["ca"], "default");
  EXPECT_EQ(def["generation"], 2);
  EXPECT_EQ(def["previous_generation"], 1);
  EXPECT_EQ(def["rotation_complete"], false);

  const json* ca = nullptr;
  for (const json& c : status["cas"]) {
    if (c["name"] == "default") ca = &c;
  }
  ASSERT_NE(ca, nullptr);
  EXPECT_EQ((*ca)["active_generation"], 2);
  EXPECT_EQ((*ca)["previous_generation"], 1);
  ASSERT_EQ((*ca)["rotation"]["clients"].size(), 1u);
  const json& client = (*ca)["rotation"]["clients"][0];
  EXPECT_EQ(client["client"], "10.1.1.1");
  EXPECT_EQ(client["state"], "falling_back");
  EXPECT_EQ(client["last_rejection"], "alert:unknown_ca");
  EXPECT_EQ(client["first_rejected"], rfc3339(kStart));

  run({{"command", "ca.retire"}});
  json later = run({{"command", "ca.status"}});
  for (const json& c : later["cas"]) {
    if (c["name"] == "default") {
      EXPECT_EQ(c["rotation"]["clients"][0]["state"], "not_adopted");
      EXPECT_EQ(c["rotation_complete"], false);
    }
  }
}

TEST_F(CaControlTest, ExportGivesCertificatesOnly) {
  run({{"command", "ca.stage"}});
  json active = run({{"command", "ca.export"}});
  EXPECT_THAT(active["pem"].get<std::string>(), HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(active["pem"].get<std::string>(), Not(HasSubstr("PRIVATE")));
  EXPECT_EQ(active["cas"], json::array({"default.1"}));
  json staged = run({{"command", "ca.export"}, {"generation", 2}});
  EXPECT_EQ(staged["cas"], json::array({"default.2"}));
  EXPECT_NE(staged["pem"], active["pem"]);
  json all = run({{"command", "ca.export"}, {"all", true}});
  EXPECT_EQ(all["cas"], json::array({"default.1", "default.2"}));
  EXPECT_EQ(all["pem"], active["pem"].get<std::string>() + staged["pem"].get<std::string>());
  EXPECT_THAT(error({{"command", "ca.export"}, {"name", "corp"}}), HasSubstr("no active CA"));

  // Without a daemon: the same answer from the state directory.
  EXPECT_EQ(export_from_state_dir(dir_.path(), {{"all", true}}), all);
  EXPECT_EQ(export_from_state_dir(dir_.path(), {{"generation", 2}}), staged);
}

TEST_F(CaControlTest, ExportWithoutARegistryReadsTheFirstCaLayout) {
  TempDir old;
  CaStore first = CaStore::open_or_create(old.path());
  json answer = export_from_state_dir(old.path(), json::object());
  EXPECT_EQ(answer["pem"], first.root_pem());
}

TEST_F(CaControlTest, ImportsAnEnterpriseRootAndACrossCertificate) {
  EnterpriseRoot ent("Example Corp Root");
  json imported = run({{"command", "ca.import"},
                       {"name", "corp"},
                       {"cert_pem", cert_pem(ent.root.cert.get())},
                       {"key_pem", key_pem(ent.root.key.get(), "pw")},
                       {"passphrase", "pw"}});
  EXPECT_EQ(imported["done"], "imported_active");
  EXPECT_EQ(imported["origin"], "imported_root");
  EXPECT_TRUE(imported["warnings"].empty());

  X509Ptr cross =
      cross_certify(registry_->find("default", std::nullopt)->ca->store.root(), ent.root);
  json crossed =
      run({{"command", "ca.import"}, {"name", "default"}, {"cross_pem", cert_pem(cross.get())}});
  EXPECT_EQ(crossed["done"], "cross_imported");
  json list = run({{"command", "ca.list"}});
  EXPECT_EQ(list["cas"][0]["cross"].size(), 1u);
  EXPECT_EQ(list["cas"][0]["served_chain"][0]["issuer"],
            certificate_json(ent.root.cert.get())["subject"]);
}

}  // namespace
}  // namespace tlsgate::tls
