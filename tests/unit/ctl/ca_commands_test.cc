// tlsgatectl ca: --at times, the import request built from files, and the
// text printed for the daemon's answers.
#include "ctl/ca_commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tlsgate::ctl {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int64_t kNow = 1'740'830'400;  // 2025-03-01T12:00:00Z

class Files {
 public:
  Files() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ca-ctl-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  ~Files() { std::filesystem::remove_all(dir_); }
  std::filesystem::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name, std::ios::binary) << text;
    return dir_ / name;
  }

 private:
  std::filesystem::path dir_;
};

TEST(CaCommands, AtTakesNowDelaysAndTimes) {
  std::string error;
  EXPECT_EQ(parse_at("now", kNow, &error), kNow);
  EXPECT_EQ(parse_at("+90s", kNow, &error), kNow + 90);
  EXPECT_EQ(parse_at("+10m", kNow, &error), kNow + 600);
  EXPECT_EQ(parse_at("+2h", kNow, &error), kNow + 7200);
  EXPECT_EQ(parse_at("+3d", kNow, &error), kNow + 3 * 86400);
  EXPECT_EQ(parse_at("2025-03-01T13:00:00Z", kNow, &error), kNow + 3600);
  EXPECT_EQ(parse_at("2025-03-01T14:00:00+01:00", kNow, &error), kNow + 3600);
  for (const char* bad : {"", "+", "+5", "+5w", "5m", "+-5m", "tomorrow", "+99999d"}) {
    error.clear();
    EXPECT_FALSE(parse_at(bad, kNow, &error)) << bad;
    EXPECT_THAT(error, HasSubstr("+10m")) << bad;
  }
}

TEST(CaCommands, ImportRequestCarriesTheFilesAndThePassphraseLine) {
  Files f;
  CaImportFiles files;
  files.name = "corp";
  files.cert = f.write("ca.pem", "CERT");
  files.key = f.write("ca.key", "KEY");
  files.passphrase = f.write("pass", "s3cret\r\nsecond line\n");
  files.chain = f.write("chain.pem", "CHAIN");
  const json request = ca_import_request(files);
  EXPECT_EQ(request, (json{{"command", "ca.import"},
                           {"name", "corp"},
                           {"cert_pem", "CERT"},
                           {"key_pem", "KEY"},
                           {"passphrase", "s3cret"},
                           {"chain_pem", "CHAIN"}}));
}

TEST(CaCommands, ImportIsACaOrACrossCertificate) {
  Files f;
  CaImportFiles cross;
  cross.name = "default";
  cross.cross = f.write("cross.pem", "CROSS");
  EXPECT_EQ(ca_import_request(cross),
            (json{{"command", "ca.import"}, {"name", "default"}, {"cross_pem", "CROSS"}}));
  cross.key = f.write("k", "KEY");
  EXPECT_THROW(ca_import_request(cross), std::runtime_error);
  CaImportFiles half;
  half.cert = f.write("c", "CERT");
  EXPECT_THROW(ca_import_request(half), std::runtime_error);
  half.key = "/nonexistent/key.pem";
  try {
    ca_import_request(half);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/nonexistent/key.pem"));
  }
  EXPECT_THROW(read_passphrase_file(f.write("empty", "\n")), std::runtime_error);
}

TEST(CaCommands, ListPrintsEachGenerationAndItsCertificates) {
  const json answer = {{"cas",
                        {{{"id", "default.1"},
                          {"state", "retired"},
                          {"origin", "generated"},
                          {"retired", "2025-03-01T12:00:00Z"}},
                         {{"id", "default.2"},
                          {"state", "active"},
                          {"origin", "imported_root"},
                          {"activated", "2025-03-01T12:00:00Z"},
                          {"root",
                           {{"subject", "CN=Corp Root"},
                            {"issuer", "CN=Corp Root"},
                            {"sha256", "ab"},
                            {"not_after", "2030-01-01T00:00:00Z"}}},
                          {"signer",
                           {{"subject", "CN=tlsgate Intermediate"},
                            {"issuer", "CN=Corp Root"},
                            {"sha256", "cd"},
                            {"not_after", "2029-01-01T00:00:00Z"}}},
                          {"served_chain", json::array()}}}}};
  const std::string text = format_ca_list(answer);
  EXPECT_THAT(text, HasSubstr("default.1  retired  generated, retired 2025-03-01T12:00:00Z\n"));
  EXPECT_THAT(text, HasSubstr("default.2  active  imported_root, activated 2025-03-01T12:00:00Z"));
  EXPECT_THAT(text, HasSubstr("signer CN=tlsgate Intermediate\n      issuer CN=Corp Root"));
  EXPECT_EQ(format_ca_list({{"cas", json::array()}}), "no CA\n");
}

TEST(CaCommands, StatusPrintsRulesAndAdoptionPerClient) {
  const json answer = {{"rules",
                        {{{"rule", "default"},
                          {"ca", "default"},
                          {"generation", 2},
                          {"signer_subject", "CN=new"},
                          {"signer_issuer", "CN=root2"},
                          {"rotation_complete", false}}}},
                       {"cas",
                        {{{"name", "default"},
                          {"active_generation", 2},
                          {"previous_generation", 1},
                          {"previous_retire_at", "2025-04-01T00:00:00Z"},
                          {"rotation_complete", false},
                          {"rotation",
                           {{"from", 1},
                            {"to", 2},
                            {"started", "2025-03-01T12:00:00Z"},
                            {"untracked_clients", 0},
                            {"clients",
                             {{{"client", "10.0.0.2"},
                               {"state", "adopted"},
                               {"accepted_at", "2025-03-01T12:00:05Z"},
                               {"rejections", 0},
                               {"fallback_served", 0}},
                              {{"client", "10.0.0.3"},
                               {"state", "falling_back"},
                               {"rejections", 1},
                               {"last_rejection", "alert:unknown_ca"},
                               {"last_rejected", "2025-03-01T12:00:06Z"},
                               {"fallback_served", 4}}}}}}}}}};
  const std::string text = format_ca_status(answer);
  EXPECT_THAT(text, HasSubstr("default: CA default.2, rotation in progress\n"
                              "    signer CN=new\n    issued by CN=root2\n"));
  EXPECT_THAT(text, HasSubstr("CA default: active generation 2, previous 1 until "
                              "2025-04-01T00:00:00Z, rotation in progress"));
  EXPECT_THAT(text, HasSubstr("10.0.0.2  adopted, accepted the new CA 2025-03-01T12:00:05Z\n"));
  EXPECT_THAT(text, HasSubstr("10.0.0.3  falling_back, rejected it 1x (alert:unknown_ca, last "
                              "2025-03-01T12:00:06Z), served by the previous CA 4x\n"));
}

TEST(CaCommands, ChangeIsOneLinePlusWarnings) {
  EXPECT_EQ(format_ca_change({{"id", "default.2"},
                              {"done", "scheduled"},
                              {"state", "staged"},
                              {"activate_at", "2025-03-01T12:00:02Z"}}),
            "default.2: scheduled (staged, activates 2025-03-01T12:00:02Z)\n");
  EXPECT_THAT(format_ca_change({{"id", "corp.1"},
                                {"done", "imported_active"},
                                {"state", "active"},
                                {"warnings", {"has name constraints"}}}),
              HasSubstr("warning: has name constraints\n"));
}

}  // namespace
}  // namespace tlsgate::ctl
