// Policy::Parse, the Allows* checks, MatchesPattern and LivePolicy reloads: a
// broken policy file never replaces a working one.
#include "broker/identity/policy.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "gtest/gtest.h"

namespace credbroker {
namespace {

void ExpectRefused(const absl::Status& status, absl::string_view must_mention) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find(must_mention), absl::string_view::npos)
      << "message does not mention '" << must_mention << "': " << status.message();
}

constexpr char kPolicy[] = R"(
callers:
  - identity: spiffe://studio.example/ns/pipeline/sa/ingest
    methods: [IssueScriptSession]
    scripts: [ingest-bot, "render-*"]
    sudo_as: ["pipeline-*", alice]
  - identity: anonymous
    methods: ["*"]
  - identity: admin
    methods: ["*"]
    scripts: ["*"]
    sudo_as: ["*"]
)";

TEST(PolicyTest, ParsesValidPolicy) {
  absl::StatusOr<Policy> policy = Policy::Parse(kPolicy, "policy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->Knows("spiffe://studio.example/ns/pipeline/sa/ingest"));
  EXPECT_TRUE(policy->Knows("anonymous"));
  // A bare name is the service token of that name.
  EXPECT_TRUE(policy->Knows("token:admin"));
  EXPECT_FALSE(policy->Knows("admin"));
  EXPECT_FALSE(policy->Knows("stranger"));
}

TEST(PolicyTest, BareNamesAreServiceTokensAndSchemesAreExact) {
  absl::StatusOr<Policy> policy = Policy::Parse(
      "callers:\n"
      "  - identity: lambda-webhooks\n    methods: [IssueScriptSession]\n"
      "  - identity: token:render\n    methods: [IssueScriptSession]\n"
      "  - identity: dns:ingest.studio.example\n    methods: [BeginLogin]\n"
      "  - identity: cn:legacy-tool\n    methods: [RefreshSession]\n"
      "  - identity: spiffe://studio.example/ns/web/sa/login\n    methods: [RevokeSession]\n",
      "p");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(policy->AllowsMethod("token:lambda-webhooks", "IssueScriptSession"));
  EXPECT_TRUE(policy->AllowsMethod("token:render", "IssueScriptSession"));
  EXPECT_TRUE(policy->AllowsMethod("dns:ingest.studio.example", "BeginLogin"));
  EXPECT_TRUE(policy->AllowsMethod("cn:legacy-tool", "RefreshSession"));
  EXPECT_TRUE(policy->AllowsMethod("spiffe://studio.example/ns/web/sa/login", "RevokeSession"));
  // A certificate carrying the token's name is a different caller.
  for (const char* other :
       {"lambda-webhooks", "cn:lambda-webhooks", "dns:lambda-webhooks", "render", "cn:render",
        "ingest.studio.example", "token:dns:ingest.studio.example", "legacy-tool"}) {
    EXPECT_FALSE(policy->Knows(other)) << other;
    EXPECT_FALSE(policy->AllowsMethod(other, "IssueScriptSession")) << other;
  }
}

TEST(PolicyTest, BareAndPrefixedTokenNameAreTheSameEntry) {
  ExpectRefused(
      Policy::Parse("callers:\n  - identity: render\n  - identity: token:render\n", "p").status(),
      "callers[1].identity 'token:render' is listed twice");
  ExpectRefused(
      Policy::Parse("callers:\n  - identity: token:render\n  - identity: render\n", "p").status(),
      "callers[1].identity 'render' is listed twice (as 'token:render')");
}

TEST(PolicyTest, PolicyEntryIdentity) {
  EXPECT_EQ(PolicyEntryIdentity("ingest"), "token:ingest");
  EXPECT_EQ(PolicyEntryIdentity("anonymous"), "anonymous");
  EXPECT_EQ(PolicyEntryIdentity("token:ingest"), "token:ingest");
  EXPECT_EQ(PolicyEntryIdentity("dns:a.example"), "dns:a.example");
  EXPECT_EQ(PolicyEntryIdentity("cn:a"), "cn:a");
  EXPECT_EQ(PolicyEntryIdentity("spiffe://s/x"), "spiffe://s/x");
}

TEST(PolicyTest, UnknownKeysAreNamed) {
  ExpectRefused(Policy::Parse("callers: []\nrules: []\n", "policy.yaml").status(), "'rules'");
  ExpectRefused(
      Policy::Parse("callers:\n  - identity: a\n    method: [X]\n", "policy.yaml").status(),
      "callers[0].method");
}

TEST(PolicyTest, ErrorsNameTheSource) {
  ExpectRefused(Policy::Parse("bogus: 1\n", "/etc/broker/policy.yaml").status(),
                "/etc/broker/policy.yaml");
}

TEST(PolicyTest, DuplicateIdentityRefused) {
  ExpectRefused(
      Policy::Parse("callers:\n  - identity: a\n  - identity: b\n  - identity: a\n", "policy.yaml")
          .status(),
      "callers[2].identity 'a' is listed twice");
}

TEST(PolicyTest, MissingOrEmptyIdentityRefused) {
  ExpectRefused(Policy::Parse("callers:\n  - methods: [X]\n", "p").status(),
                "callers[0].identity is required");
  ExpectRefused(Policy::Parse("callers:\n  - identity: \"\"\n", "p").status(),
                "callers[0].identity is required");
  ExpectRefused(Policy::Parse("callers:\n  - identity: [a, b]\n", "p").status(),
                "callers[0].identity is required");
}

TEST(PolicyTest, NonListFieldsRefused) {
  ExpectRefused(
      Policy::Parse("callers:\n  - identity: a\n    methods: IssueScriptSession\n", "p").status(),
      "callers[0].methods must be a list");
  ExpectRefused(Policy::Parse("callers:\n  - identity: a\n    scripts: {x: 1}\n", "p").status(),
                "callers[0].scripts must be a list");
  ExpectRefused(Policy::Parse("callers:\n  - identity: a\n    sudo_as: bob\n", "p").status(),
                "callers[0].sudo_as must be a list");
  ExpectRefused(Policy::Parse("callers:\n  - identity: a\n    methods: [\"\"]\n", "p").status(),
                "callers[0].methods");
  ExpectRefused(Policy::Parse("callers:\n  - identity: a\n    scripts: [[x]]\n", "p").status(),
                "callers[0].scripts");
  ExpectRefused(Policy::Parse("callers: anonymous\n", "p").status(), "'callers' must be a list");
  ExpectRefused(Policy::Parse("callers:\n  - anonymous\n", "p").status(), "must be a mapping");
  ExpectRefused(Policy::Parse("- a\n- b\n", "p").status(), "must be a mapping");
}

TEST(PolicyTest, BadYamlRefused) {
  ExpectRefused(Policy::Parse("callers: [\n  - identity: a\n", "p").status(), "not valid YAML");
  ExpectRefused(Policy::Parse("callers:\n  - identity: a\n   methods: [x\n", "p").status(),
                "not valid YAML");
}

TEST(PolicyTest, EmptyFileDeniesEverything) {
  for (const char* text : {"", "\n", "# nothing yet\n", "callers: []\n"}) {
    absl::StatusOr<Policy> policy = Policy::Parse(text, "p");
    ASSERT_TRUE(policy.ok()) << text << ": " << policy.status();
    EXPECT_FALSE(policy->Knows("anonymous")) << text;
    EXPECT_FALSE(policy->AllowsMethod("anonymous", "IssueScriptSession")) << text;
    EXPECT_FALSE(policy->AllowsScript("anonymous", "ingest-bot")) << text;
    EXPECT_FALSE(policy->AllowsSudo("anonymous", "alice")) << text;
  }
  const Policy empty;
  EXPECT_FALSE(empty.AllowsMethod("anonymous", "IssueScriptSession"));
  EXPECT_TRUE(empty.AllowsSudo("anonymous", ""));
}

// Bug: `callers:` with every entry commented out is a null node, refused as
// "'callers' must be a list". LivePolicy then keeps the previous policy, so
// revoking every grant this way leaves them all in force.
TEST(PolicyTest, CallersWithEveryEntryCommentedOutDeniesEverything) {
  absl::StatusOr<Policy> policy =
      Policy::Parse("callers:\n#  - identity: anonymous\n#    methods: [\"*\"]\n", "p");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_FALSE(policy->AllowsMethod("anonymous", "IssueScriptSession"));
}

TEST(PolicyTest, AllowsExactNamesAndGlobs) {
  absl::StatusOr<Policy> policy = Policy::Parse(kPolicy, "p");
  ASSERT_TRUE(policy.ok()) << policy.status();
  const std::string ingest = "spiffe://studio.example/ns/pipeline/sa/ingest";

  EXPECT_TRUE(policy->AllowsMethod(ingest, "IssueScriptSession"));
  EXPECT_FALSE(policy->AllowsMethod(ingest, "IssueUserSession"));
  EXPECT_FALSE(policy->AllowsMethod(ingest, "issuescriptsession"));  // case matters
  EXPECT_FALSE(policy->AllowsMethod(ingest, "IssueScriptSessionX"));

  EXPECT_TRUE(policy->AllowsScript(ingest, "ingest-bot"));
  EXPECT_TRUE(policy->AllowsScript(ingest, "render-farm"));
  EXPECT_TRUE(policy->AllowsScript(ingest, "render-"));  // '*' matches nothing too
  EXPECT_FALSE(policy->AllowsScript(ingest, "render"));
  EXPECT_FALSE(policy->AllowsScript(ingest, "xrender-farm"));
  EXPECT_FALSE(policy->AllowsScript(ingest, "ingest-bot2"));

  EXPECT_TRUE(policy->AllowsSudo(ingest, "alice"));
  EXPECT_TRUE(policy->AllowsSudo(ingest, "pipeline-ops"));
  EXPECT_FALSE(policy->AllowsSudo(ingest, "bob"));
  EXPECT_TRUE(policy->AllowsSudo(ingest, ""));

  // anonymous: any method, but no scripts and no sudo listed.
  EXPECT_TRUE(policy->AllowsMethod("anonymous", "IssueScriptSession"));
  EXPECT_TRUE(policy->AllowsMethod("anonymous", "Anything"));
  EXPECT_FALSE(policy->AllowsScript("anonymous", "ingest-bot"));
  EXPECT_FALSE(policy->AllowsSudo("anonymous", "alice"));
  EXPECT_TRUE(policy->AllowsSudo("anonymous", ""));

  EXPECT_TRUE(policy->AllowsScript("token:admin", "anything-at-all"));
  EXPECT_TRUE(policy->AllowsSudo("token:admin", "root"));
}

TEST(PolicyTest, UnknownIdentityDenied) {
  absl::StatusOr<Policy> policy = Policy::Parse(kPolicy, "p");
  ASSERT_TRUE(policy.ok()) << policy.status();
  for (const char* who : {"stranger", "", "Anonymous", "admin", "token:admin ", "cn:admin",
                          "spiffe://studio.example"}) {
    EXPECT_FALSE(policy->AllowsMethod(who, "IssueScriptSession")) << who;
    EXPECT_FALSE(policy->AllowsScript(who, "ingest-bot")) << who;
    EXPECT_FALSE(policy->AllowsSudo(who, "alice")) << who;
    // Acting as the script itself needs no grant.
    EXPECT_TRUE(policy->AllowsSudo(who, "")) << who;
  }
}

TEST(MatchesPatternTest, ExactAndStar) {
  EXPECT_TRUE(MatchesPattern("abc", "abc"));
  EXPECT_FALSE(MatchesPattern("abc", "abcd"));
  EXPECT_FALSE(MatchesPattern("abc", "ab"));
  EXPECT_FALSE(MatchesPattern("abc", ""));
  EXPECT_TRUE(MatchesPattern("*", ""));
  EXPECT_TRUE(MatchesPattern("*", "anything"));
  EXPECT_TRUE(MatchesPattern("", ""));
  EXPECT_FALSE(MatchesPattern("", "a"));
  EXPECT_TRUE(MatchesPattern("a*c", "ac"));
  EXPECT_TRUE(MatchesPattern("a*c", "abbbc"));
  EXPECT_FALSE(MatchesPattern("a*c", "abcd"));
  EXPECT_TRUE(MatchesPattern("*-bot", "ingest-bot"));
  EXPECT_TRUE(MatchesPattern("a**b", "ab"));
}

TEST(MatchesPatternTest, StarCrossesSlashesAndLeadingDots) {
  // Identities are URIs: '*' must span '/' (no FNM_PATHNAME).
  EXPECT_TRUE(MatchesPattern("spiffe://studio.example/*", "spiffe://studio.example/ns/a/sa/b"));
  EXPECT_TRUE(MatchesPattern("*", ".hidden"));
  EXPECT_TRUE(MatchesPattern("render-*", "render-a/b"));
}

TEST(MatchesPatternTest, BackslashIsOrdinary) {
  EXPECT_TRUE(MatchesPattern("a\\*", "a\\xyz"));
  EXPECT_FALSE(MatchesPattern("a\\*", "a*"));
  EXPECT_TRUE(MatchesPattern("DOMAIN\\user", "DOMAIN\\user"));
}

TEST(MatchesPatternTest, CaseSensitive) { EXPECT_FALSE(MatchesPattern("Render-*", "render-farm")); }

// The header promises that only '*' is special. fnmatch also treats '?' and
// '[...]' as wildcards, so a grant for "render-?" or "[ab]" matches names it
// does not spell.
TEST(MatchesPatternTest, OnlyStarIsSpecial) {
  EXPECT_FALSE(MatchesPattern("render-?", "render-x"));
  EXPECT_TRUE(MatchesPattern("render-?", "render-?"));
  EXPECT_FALSE(MatchesPattern("[ab]", "a"));
  EXPECT_TRUE(MatchesPattern("[ab]", "[ab]"));
}

// A temporary policy file, removed afterwards.
class PolicyFile {
 public:
  PolicyFile() {
    char dir[] = "/tmp/policy_test.XXXXXX";
    dir_ = mkdtemp(dir);
    path_ = dir_ + "/policy.yaml";
  }
  ~PolicyFile() {
    std::remove(path_.c_str());
    rmdir(dir_.c_str());
  }
  void Write(const std::string& text) {
    // Written whole then renamed, as a ConfigMap update would be.
    const std::string tmp = path_ + ".new";
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
    ASSERT_EQ(std::rename(tmp.c_str(), path_.c_str()), 0);
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

TEST(LivePolicyTest, StartsEmptyAndReloadsFromFile) {
  PolicyFile file;
  file.Write("callers:\n  - identity: a\n    methods: [M]\n");
  LivePolicy live(file.path());
  EXPECT_EQ(live.path(), file.path());
  EXPECT_FALSE(live.Current()->Knows("token:a"));  // nothing read yet: deny all
  ASSERT_TRUE(live.Reload().ok());
  EXPECT_TRUE(live.Current()->AllowsMethod("token:a", "M"));

  file.Write("callers:\n  - identity: b\n    methods: [M]\n");
  const std::shared_ptr<const Policy> before = live.Current();
  ASSERT_TRUE(live.Reload().ok());
  EXPECT_FALSE(live.Current()->Knows("token:a"));
  EXPECT_TRUE(live.Current()->AllowsMethod("token:b", "M"));
  // A reader holding the old policy keeps a consistent view.
  EXPECT_TRUE(before->AllowsMethod("token:a", "M"));
}

TEST(LivePolicyTest, BrokenFileKeepsThePreviousPolicy) {
  PolicyFile file;
  file.Write("callers:\n  - identity: a\n    methods: [M]\n");
  LivePolicy live(file.path());
  ASSERT_TRUE(live.Reload().ok());
  const std::shared_ptr<const Policy> good = live.Current();

  for (const char* broken : {"callers: [\n", "callers:\n  - identity: a\n  - identity: a\n",
                             "callers:\n  - identity: a\n    methods: M\n", "bogus: 1\n"}) {
    file.Write(broken);
    const absl::Status status = live.Reload();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << broken;
    EXPECT_NE(status.message().find(file.path()), absl::string_view::npos) << status;
    EXPECT_EQ(live.Current(), good) << broken;
    EXPECT_TRUE(live.Current()->AllowsMethod("token:a", "M")) << broken;
  }
}

TEST(LivePolicyTest, MissingFileErrorsAndKeepsThePolicy) {
  PolicyFile file;
  file.Write("callers:\n  - identity: a\n    methods: [M]\n");
  LivePolicy live(file.path());
  ASSERT_TRUE(live.Reload().ok());
  std::remove(file.path().c_str());
  const absl::Status status = live.Reload();
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find(file.path()), absl::string_view::npos) << status;
  EXPECT_TRUE(live.Current()->AllowsMethod("token:a", "M"));

  LivePolicy never(file.path() + ".absent");
  EXPECT_FALSE(never.Reload().ok());
  EXPECT_FALSE(never.Current()->Knows("token:a"));
}

TEST(LivePolicyTest, NoPathMeansEmptyPolicy) {
  LivePolicy live("");
  EXPECT_TRUE(live.Reload().ok());
  EXPECT_FALSE(live.Current()->AllowsMethod("anonymous", "IssueScriptSession"));
}

}  // namespace
}  // namespace credbroker
