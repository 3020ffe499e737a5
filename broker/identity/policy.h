// Who may do what: per caller identity, the methods it may call, the keyring
// scripts it may use and the users it may act as (sudo_as_login). Exact names
// or glob patterns ("render-*", "*"). Anything not granted is denied.
//
// Policy file (YAML):
//   callers:
//     - identity: spiffe://studio.example/ns/pipeline/sa/ingest
//       methods: [IssueScriptSession]
//       scripts: [ingest-bot]
//       sudo_as: ["pipeline-*"]
//     - identity: lambda-webhooks          # the service token of that name
//       methods: [IssueScriptSession]
//     - identity: dns:render.studio.example
//       methods: [IssueScriptSession]
//     - identity: anonymous
//       methods: ["*"]
//
// Identities are matched exactly against the caller's (caller_identity.h). An
// entry without ':' other than "anonymous" names a service token: it stands
// for "token:NAME".
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/identity/caller_identity.h"

namespace credbroker {

struct CallerGrant {
  // The caller identity it grants to (after PolicyEntryIdentity).
  std::string identity;
  std::vector<std::string> methods;
  std::vector<std::string> scripts;
  std::vector<std::string> sudo_as;
};

class Policy {
 public:
  // An empty policy: everything denied.
  Policy() = default;
  // Parses the YAML text; `source` names the file in messages.
  static absl::StatusOr<Policy> Parse(const std::string& yaml_text, const std::string& source);

  // Whether `identity` has an entry at all.
  bool Knows(absl::string_view identity) const;
  bool AllowsMethod(absl::string_view identity, absl::string_view method) const;
  bool AllowsScript(absl::string_view identity, absl::string_view script) const;
  // An empty `sudo_as` (acting as the script itself) is always allowed.
  bool AllowsSudo(absl::string_view identity, absl::string_view sudo_as) const;

 private:
  const CallerGrant* Find(absl::string_view identity) const;
  std::vector<CallerGrant> grants_;
};

// The caller identity a policy entry's `identity` stands for: "ingest" →
// "token:ingest"; "anonymous" and names with a scheme stay as written.
std::string PolicyEntryIdentity(absl::string_view entry);

// Whether `name` matches `pattern`, where '*' stands for any run of characters.
bool MatchesPattern(absl::string_view pattern, absl::string_view name);

// The policy in force, swapped whole when its file changes.
class LivePolicy {
 public:
  // No file: an empty policy.
  explicit LivePolicy(std::string path);
  // Reads the file again; on error keeps the policy in force.
  absl::Status Reload();
  std::shared_ptr<const Policy> Current() const;
  const std::string& path() const { return path_; }

 private:
  const std::string path_;
  mutable std::mutex mu_;
  std::shared_ptr<const Policy> current_;
};

}  // namespace credbroker
