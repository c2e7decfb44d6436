// Rule edits made through the control socket keep the administrator's file
// as written: only the edited [[rule]] block changes.
#include "config/rule_editor.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_file_writer.h"
#include "config/config_loader.h"

namespace tlsgate::config {
namespace {

const std::string kFile = R"(# Gateway of the lab.
[gateway]
lan_interfaces = ["eth1"]   # the LAN

# Banks keep their own certificates.
[[rule]]
name = "banks"
action = "bypass"
sni = [
  "*.bank.example",  # every branch
  "bank.example",
]

# Trackers are refused.
# (two comment lines)
[[rule]]
name = "trackers"
action = "block"
sni = "tracker.example"

[upstream]
trust_store = ""
)";

std::vector<std::string> names(const GatewayConfig& c) {
  std::vector<std::string> out;
  for (const auto& r : c.rules.rules) out.push_back(r.name);
  return out;
}

RuleSpec bypass_spec(std::string name, std::string sni) {
  RuleSpec spec;
  spec.name = std::move(name);
  spec.action = "bypass";
  spec.sni = {std::move(sni)};
  return spec;
}

TEST(RuleBlockText, WritesEveryMatcherAndEscapesStrings) {
  RuleSpec spec;
  spec.name = "a \"quoted\" \\ name";
  spec.action = "block";
  spec.sni = {"a.example", "*.b.example"};
  spec.dst = {"192.0.2.0/24"};
  spec.client = {"2001:db8::/32"};
  spec.port = {443, 8443};
  EXPECT_EQ(rule_block_text(spec),
            "[[rule]]\nname = \"a \\\"quoted\\\" \\\\ name\"\naction = \"block\"\n"
            "sni = [\"a.example\", \"*.b.example\"]\ndst = [\"192.0.2.0/24\"]\n"
            "client = [\"2001:db8::/32\"]\nport = [443, 8443]");
}

TEST(RuleEditor, AppendsAfterTheLastRuleAndKeepsEveryOtherLine) {
  const auto edited = add_rule(kFile, "gw.toml", bypass_spec("new", "n.example"), std::nullopt);
  EXPECT_EQ(names(edited.config), (std::vector<std::string>{"banks", "trackers", "new"}));
  EXPECT_EQ(edited.text, kFile +
                             "\n[[rule]]\nname = \"new\"\naction = \"bypass\"\n"
                             "sni = [\"n.example\"]\n");
}

TEST(RuleEditor, InsertsAtAPositionAboveThatRulesComments) {
  const auto edited = add_rule(kFile, "gw.toml", bypass_spec("first", "f.example"), 1);
  EXPECT_EQ(names(edited.config), (std::vector<std::string>{"first", "banks", "trackers"}));
  const auto at = edited.text.find("[[rule]]\nname = \"first\"");
  ASSERT_NE(at, std::string::npos);
  // Directly after the [gateway] section's blank line, before "# Banks ...".
  EXPECT_EQ(edited.text.substr(0, at), kFile.substr(0, kFile.find("# Banks")));
  EXPECT_NE(edited.text.find("sni = [\"f.example\"]\n\n# Banks keep"), std::string::npos);

  const auto second = add_rule(kFile, "gw.toml", bypass_spec("second", "s.example"), 2);
  EXPECT_EQ(names(second.config), (std::vector<std::string>{"banks", "second", "trackers"}));
  EXPECT_NE(second.text.find("sni = [\"s.example\"]\n\n# Trackers are refused."),
            std::string::npos);
}

TEST(RuleEditor, PositionPastTheEndAppends) {
  const auto edited = add_rule(kFile, "gw.toml", bypass_spec("last", "l.example"), 99);
  EXPECT_EQ(names(edited.config), (std::vector<std::string>{"banks", "trackers", "last"}));
}

TEST(RuleEditor, RefusesWhatTheLoaderRefuses) {
  auto expect_refused = [](const RuleSpec& spec, const std::string& fragment) {
    try {
      add_rule(kFile, "gw.toml", spec, std::nullopt);
      ADD_FAILURE() << "accepted " << rule_block_text(spec);
    } catch (const RuleEditError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  expect_refused(bypass_spec("banks", "x.example"), "duplicate rule name 'banks'");
  expect_refused(bypass_spec("wild", "*"), "would match every name");
  expect_refused(bypass_spec("", "x.example"), "needs a name");
  expect_refused(bypass_spec("default", "x.example"), "reserved");
  RuleSpec bad_action = bypass_spec("act", "x.example");
  bad_action.action = "allow";
  expect_refused(bad_action, "'action'");
  RuleSpec host_bits;
  host_bits.name = "hb";
  host_bits.action = "bypass";
  host_bits.dst = {"10.0.0.1/8"};
  expect_refused(host_bits, "host bits set");
  RuleSpec port;
  port.name = "port";
  port.action = "block";
  port.port = {8443};
  expect_refused(port, "not an intercept port");
}

TEST(RuleEditor, DeletesTheBlockWithItsCommentsOnly) {
  const auto edited = delete_rule(kFile, "gw.toml", "banks");
  EXPECT_EQ(names(edited.config), std::vector<std::string>{"trackers"});
  EXPECT_EQ(edited.text.find("Banks keep"), std::string::npos);
  EXPECT_EQ(edited.text.find("bank.example"), std::string::npos);
  const std::string expected =
      "# Gateway of the lab.\n[gateway]\nlan_interfaces = [\"eth1\"]   "
      "# the LAN\n\n# Trackers are refused.\n";
  EXPECT_TRUE(edited.text.starts_with(expected)) << edited.text;

  const auto last = delete_rule(kFile, "gw.toml", "trackers");
  EXPECT_EQ(names(last.config), std::vector<std::string>{"banks"});
  EXPECT_NE(last.text.find("  \"bank.example\",\n]\n\n[upstream]\n"), std::string::npos)
      << last.text;
}

TEST(RuleEditor, AddThenDeleteGivesBackTheFile) {
  const auto added = add_rule(kFile, "gw.toml", bypass_spec("tmp", "t.example"), 2);
  EXPECT_EQ(delete_rule(added.text, "gw.toml", "tmp").text, kFile);
  const auto appended = add_rule(kFile, "gw.toml", bypass_spec("tmp", "t.example"), std::nullopt);
  EXPECT_EQ(delete_rule(appended.text, "gw.toml", "tmp").text, kFile);
}

TEST(RuleEditor, AddThenDeleteGivesBackAFileWithoutBlankLines) {
  const std::string tight =
      "[gateway]\nlan_interfaces = [\"eth1\"]\n[[rule]]\nname = \"a\"\n"
      "action = \"block\"\nsni = \"a.example\"\n";
  const auto added = add_rule(tight, "gw.toml", bypass_spec("tmp", "t.example"), 1);
  EXPECT_EQ(delete_rule(added.text, "gw.toml", "tmp").text, tight);
}

TEST(RuleEditor, UnnamedRulesAreAddressedByTheirNumber) {
  const std::string text =
      "[gateway]\nlan_interfaces = [\"eth1\"]\n[[rule]]\naction = "
      "\"block\"\nsni = \"a.example\"\n[[rule]]\naction = \"bypass\"\n"
      "sni = \"b.example\"\n";
  const auto edited = delete_rule(text, "gw.toml", "rule-1");
  ASSERT_EQ(edited.config.rules.rules.size(), 1u);
  EXPECT_EQ(edited.config.rules.rules[0].name, "rule-1");  // renumbered
  EXPECT_EQ(edited.config.rules.rules[0].sni[0].to_string(), "b.example");
  // Inserting in front renumbers the unnamed rules after it, which is expected.
  const auto added = add_rule(text, "gw.toml", bypass_spec("x", "x.example"), 1);
  EXPECT_EQ(names(added.config), (std::vector<std::string>{"x", "rule-2", "rule-3"}));
}

TEST(RuleEditor, RefusesUnknownNamesInlineRulesAndBrokenFiles) {
  EXPECT_THROW(delete_rule(kFile, "gw.toml", "nope"), RuleEditError);
  const std::string inline_rules =
      "rule = [{ name = \"a\", action = \"block\", sni = \"a.example\" }]\n"
      "[gateway]\nlan_interfaces = [\"eth1\"]\n";
  ASSERT_NO_THROW(load_config_text(inline_rules, "gw.toml"));
  EXPECT_THROW(delete_rule(inline_rules, "gw.toml", "a"), RuleEditError);
  EXPECT_THROW(add_rule(inline_rules, "gw.toml", bypass_spec("b", "b.example"), std::nullopt),
               RuleEditError);
  try {
    add_rule("[gateway]\nworkers = 1\n", "gw.toml", bypass_spec("b", "b.example"), std::nullopt);
    ADD_FAILURE() << "edited a file that does not load";
  } catch (const RuleEditError& e) {
    EXPECT_NE(std::string(e.what()).find("fix the file first"), std::string::npos) << e.what();
  }
}

TEST(RuleEditor, FileWithoutFinalNewlineOrRules) {
  const std::string text = "[gateway]\nlan_interfaces = [\"eth1\"]";
  const auto edited = add_rule(text, "gw.toml", bypass_spec("a", "a.example"), 1);
  EXPECT_EQ(edited.text, text + "\n\n" + rule_block_text(bypass_spec("a", "a.example")) + "\n");
}

class ConfigFileWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tlsgate-writer-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::filesystem::path dir_;
};

TEST_F(ConfigFileWriterTest, ReplacesTheFileKeepingItsModeAndLeavesNoTemporary) {
  const auto file = dir_ / "tlsgate.toml";
  std::ofstream(file) << "old\n";
  ASSERT_EQ(::chmod(file.c_str(), 0640), 0);
  replace_config_file(file, "new text\n");
  EXPECT_EQ(read(file), "new text\n");
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(ConfigFileWriterTest, FollowsASymlinkToTheRealFile) {
  const auto real = dir_ / "real.toml";
  const auto link = dir_ / "tlsgate.toml";
  std::ofstream(real) << "old\n";
  std::filesystem::create_symlink(real, link);
  replace_config_file(link, "new\n");
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  EXPECT_EQ(read(real), "new\n");
}

TEST_F(ConfigFileWriterTest, MissingFileIsAnError) {
  EXPECT_THROW(replace_config_file(dir_ / "absent.toml", "x"), std::system_error);
}

}  // namespace
}  // namespace tlsgate::config
