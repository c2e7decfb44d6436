#include "threat/threat_lists.h"

#include <gtest/gtest.h>

#include <fstream>

#include "../support/temp_dir.h"
#include "threat/kernel_name_guard.h"

namespace tlsgate::threat {
namespace {

using policy::ThreatListFormat;
using policy::ThreatListSpec;

ThreatListSpec spec(std::string name, ThreatListFormat format) {
  return ThreatListSpec{std::move(name), "/unused", format, 1};
}

std::shared_ptr<const ThreatLists> lists_of(std::vector<ThreatListSpec> specs,
                                            std::vector<std::string> texts,
                                            std::vector<std::string> watched = {}) {
  return ThreatLists::from_text(specs, texts, watched);
}

std::string hit_text(const std::optional<ThreatHit>& hit) {
  return hit ? hit->list_name + ":" + hit->entry : "none";
}

TEST(ThreatLists, DomainEntryMatchesTheNameAndEveryNameBelow) {
  auto lists = lists_of({spec("malware", ThreatListFormat::domains)}, {"evil.example\n"});
  EXPECT_EQ(hit_text(lists->match_name("evil.example")), "malware:evil.example");
  EXPECT_EQ(hit_text(lists->match_name("a.b.evil.example")), "malware:evil.example");
  EXPECT_EQ(hit_text(lists->match_name("A.EVIL.example.")), "malware:evil.example");
  EXPECT_EQ(hit_text(lists->match_name("notevil.example")), "none");
  EXPECT_EQ(hit_text(lists->match_name("example")), "none");
  EXPECT_EQ(hit_text(lists->match_name("evil.example.org")), "none");
}

TEST(ThreatLists, HostEntryMatchesOnlyThatName) {
  auto lists = lists_of({spec("ads", ThreatListFormat::hosts)}, {"0.0.0.0 ads.example\n"});
  EXPECT_EQ(hit_text(lists->match_name("ads.example")), "ads:ads.example");
  EXPECT_EQ(hit_text(lists->match_name("x.ads.example")), "none");
  EXPECT_EQ(hit_text(lists->match_name("example")), "none");
}

TEST(ThreatLists, UrlEntryMatchesPathQueryAndDirectories) {
  auto lists =
      lists_of({spec("urlhaus", ThreatListFormat::urls)}, {"http://dl.example/bins/mozi.m\n"
                                                           "dl.example/kits/\n"
                                                           "dl.example/get?id=7\n"});
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/bins/mozi.m")),
            "urlhaus:dl.example/bins/mozi.m");
  EXPECT_EQ(hit_text(lists->match_request("DL.example:443", "/bins/mozi.m?x=1")),
            "urlhaus:dl.example/bins/mozi.m");
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/bins/mozi.m2")), "none");
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/bins/")), "none");
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/kits/a/b.zip")),
            "urlhaus:dl.example/kits/");
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/kits/")), "urlhaus:dl.example/kits/");
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/kits")), "none");
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/get?id=7")),
            "urlhaus:dl.example/get?id=7");
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/get?id=8")), "none");
  EXPECT_EQ(hit_text(lists->match_request("dl.example", "/%62ins/mozi.m")),
            "urlhaus:dl.example/bins/mozi.m");
  EXPECT_EQ(hit_text(lists->match_request("other.example", "/bins/mozi.m")), "none");
  // A URL entry never matches a name on its own.
  EXPECT_EQ(hit_text(lists->match_name("dl.example")), "none");
}

TEST(ThreatLists, UrlDirectoriesOfADeepPathAreAllLookedUp) {
  // More directories than one batch of lookups: the top one and the deepest
  // one are both found, and the earlier list wins whichever is deeper.
  std::string deep = "/";
  for (int i = 0; i < 40; ++i) deep += "d" + std::to_string(i) + "/";
  auto lists =
      lists_of({spec("first", ThreatListFormat::urls), spec("second", ThreatListFormat::urls)},
               {"deep.example/\n",
                "deep.example" + deep + "\ndeep.example/d0/\nother.example" + deep + "\n"});
  EXPECT_EQ(hit_text(lists->match_request("deep.example", deep + "file.bin?x")),
            "first:deep.example/");
  EXPECT_EQ(hit_text(lists->match_request("other.example", deep + "file.bin")),
            "second:other.example" + deep);
  EXPECT_EQ(hit_text(lists->match_request("other.example", "/d0/file.bin")), "none");
}

TEST(ThreatLists, RequestToAnAddressIsLookedUpAsTheAddress) {
  auto lists =
      lists_of({spec("ips", ThreatListFormat::hosts), spec("urls", ThreatListFormat::urls)},
               {"192.0.2.7\n2001:db8::1\n", "http://[2001:db8::2]:8443/x/\n"});
  EXPECT_EQ(hit_text(lists->match_request("192.0.2.7:443", "/")), "ips:192.0.2.7");
  EXPECT_EQ(hit_text(lists->match_request("[2001:DB8:0::1]", "/")), "ips:2001:db8::1");
  EXPECT_EQ(hit_text(lists->match_request("[2001:db8::2]:8443", "/x/y")),
            "urls:[2001:db8::2]:8443/x/");
  EXPECT_EQ(hit_text(lists->match_request("[2001:db8::2]", "/x/y")), "none");
  EXPECT_EQ(hit_text(lists->match_request("[192.0.2.7]", "/")), "none");  // not IPv6
  EXPECT_EQ(hit_text(lists->match_request("1.2.3", "/")), "none");  // neither name nor address
}

TEST(ThreatLists, RequestHostIsCheckedAgainstNameLists) {
  auto lists = lists_of({spec("malware", ThreatListFormat::domains)}, {"evil.example\n"});
  EXPECT_EQ(hit_text(lists->match_request("www.evil.example:443", "/index.html")),
            "malware:evil.example");
  EXPECT_EQ(hit_text(lists->match_request("good.example", "/evil.example")), "none");
}

TEST(ThreatLists, FirstListInConfigurationOrderWins) {
  auto lists =
      lists_of({spec("first", ThreatListFormat::hosts), spec("second", ThreatListFormat::domains)},
               {"www.evil.example\n", "evil.example\nwww.evil.example\n"});
  EXPECT_EQ(hit_text(lists->match_name("www.evil.example")), "first:www.evil.example");
  EXPECT_EQ(hit_text(lists->match_name("evil.example")), "second:evil.example");
}

TEST(ThreatLists, MalformedLinesAreCountedWithLineNumbersAndNeverFatal) {
  std::string text = "# header\ngood.example\nbad..example\n\nalso good.example\nok.example\n";
  for (int i = 0; i < 30; ++i) text += "bad!" + std::to_string(i) + "\n";
  auto lists = lists_of({spec("l", ThreatListFormat::domains)}, {text});
  const auto& info = lists->lists().front();
  EXPECT_EQ(info.entries, 2u);
  EXPECT_EQ(info.malformed, 32u);
  ASSERT_EQ(info.malformed_lines.size(), ThreatListInfo::kMalformedShown);
  EXPECT_EQ(info.malformed_lines[0].line, 3u);
  EXPECT_NE(info.malformed_lines[0].problem.find("empty label"), std::string::npos);
  EXPECT_EQ(info.malformed_lines[1].line, 5u);
  EXPECT_EQ(info.malformed_lines[2].line, 7u);
  EXPECT_EQ(hit_text(lists->match_name("ok.example")), "l:ok.example");
}

TEST(ThreatLists, LoadsFilesAndKeepsHitCountersAcrossReloads) {
  test_support::TempDir dir;
  const auto file = dir.path() / "list.txt";
  std::ofstream(file) << "\xEF\xBB\xBF"
                         "evil.example\n";
  std::vector<ThreatListSpec> specs{{"malware", file, ThreatListFormat::domains, 3}};
  auto first = ThreatLists::load(specs);
  ASSERT_EQ(first->lists().size(), 1u);
  EXPECT_EQ(first->lists()[0].entries, 1u);
  first->lists()[0].counters->sni_hits += 5;

  std::ofstream(file) << "other.example\n";
  auto second = ThreatLists::load(specs, first.get());
  EXPECT_EQ(second->lists()[0].counters->sni_hits.load(), 5u);
  EXPECT_EQ(hit_text(second->match_name("evil.example")), "none");
  EXPECT_EQ(hit_text(second->match_name("other.example")), "malware:other.example");
  // The old set still answers as it did for whoever holds it.
  EXPECT_EQ(hit_text(first->match_name("evil.example")), "malware:evil.example");
}

TEST(ThreatLists, UnreadableFileIsAnErrorNamingListAndFile) {
  std::vector<ThreatListSpec> specs{
      {"malware", "/nonexistent/tlsgate/list.txt", ThreatListFormat::domains, 3}};
  try {
    ThreatLists::load(specs);
    FAIL() << "no error";
  } catch (const ThreatListError& e) {
    EXPECT_NE(std::string(e.what()).find("threat list 'malware'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tlsgate/list.txt"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("No such file"), std::string::npos);
  }
}

TEST(ThreatLists, ManyEntriesAllFoundAndOthersNot) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "host" + std::to_string(i) + ".example\n";
  auto lists = lists_of({spec("big", ThreatListFormat::hosts)}, {text});
  EXPECT_EQ(lists->lists()[0].entries, 20000u);
  for (int i = 0; i < 20000; i += 97) {
    EXPECT_TRUE(lists->match_name("host" + std::to_string(i) + ".example")) << i;
    EXPECT_FALSE(lists->match_name("host" + std::to_string(i) + ".example.org")) << i;
    EXPECT_FALSE(lists->match_name("host" + std::to_string(i + 20000) + ".example")) << i;
  }
}

policy::RuleSet bypass_rules(std::vector<std::string> patterns) {
  policy::RuleSet rules;
  policy::Rule rule;
  rule.name = "banks";
  rule.action = policy::Action::bypass;
  for (const auto& p : patterns) rule.sni.push_back(*policy::SniPattern::parse(p, nullptr));
  rules.rules.push_back(rule);
  return rules;
}

std::vector<std::string> kernel_names(const policy::KernelRules& compiled) {
  std::vector<std::string> out;
  for (const auto& e : compiled.sni_bypass) out.push_back((e.wildcard ? "*." : "") + e.name);
  return out;
}

TEST(KernelNameGuard, ThreatListedNamesNeverStayKernelBypassed) {
  const auto rules = bypass_rules(
      {"bank.example", "evil.example", "*.cdn.example", "*.safe.example", "*.sub.bad.example"});
  const std::vector<uint16_t> ports{443};
  auto compiled = policy::compile_kernel_rules(rules, ports);
  ASSERT_EQ(compiled.sni_bypass.size(), 5u);
  auto lists = lists_of(
      {spec("malware", ThreatListFormat::domains), spec("ads", ThreatListFormat::hosts)},
      {"evil.example\nbad.example\n", "tracker.cdn.example\n"}, wildcard_suffixes(compiled));
  withhold_threatened_names(compiled, rules, *lists);
  EXPECT_EQ(kernel_names(compiled), (std::vector<std::string>{"bank.example", "*.safe.example"}));
  ASSERT_EQ(compiled.not_compiled.size(), 3u);
  EXPECT_NE(compiled.not_compiled[0].find("banks: evil.example is decided in userspace"),
            std::string::npos);
  EXPECT_NE(compiled.not_compiled[1].find("*.cdn.example"), std::string::npos);
  EXPECT_NE(compiled.not_compiled[1].find("tracker.cdn.example"), std::string::npos);
  EXPECT_NE(compiled.not_compiled[2].find("'bad.example'"), std::string::npos);
}

}  // namespace
}  // namespace tlsgate::threat
