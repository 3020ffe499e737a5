// A policy that fails to parse never replaces a working one: a typo in a
// ConfigMap must not open or close the broker by accident. Entries are
// turned into the caller identities they stand for once, at parse time, so
// that a lookup is an exact comparison.
#include "broker/identity/policy.h"

#include <yaml-cpp/yaml.h>

#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/file_contents.h"

namespace credbroker {
namespace {

absl::Status PolicyError(const std::string& source, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": ", problem));
}

absl::StatusOr<std::vector<std::string>> ReadList(const YAML::Node& entry, const char* key,
                                                  const std::string& where) {
  std::vector<std::string> out;
  const YAML::Node node = entry[key];
  if (!node) return out;
  if (!node.IsSequence())
    return absl::InvalidArgumentError(absl::StrCat(where, key, " must be a list"));
  for (const YAML::Node& item : node) {
    if (!item.IsScalar() || item.Scalar().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, key, " holds an empty or non-text item"));
    }
    out.push_back(item.Scalar());
  }
  return out;
}

bool AnyMatches(const std::vector<std::string>& patterns, absl::string_view name) {
  for (const std::string& pattern : patterns) {
    if (MatchesPattern(pattern, name)) return true;
  }
  return false;
}

}  // namespace

std::string PolicyEntryIdentity(absl::string_view entry) {
  // Policy files written before identities carried their source name service
  // tokens bare; a name with a scheme (spiffe://, dns:, cn:, token:) is exact.
  if (entry == kAnonymousCaller || absl::StrContains(entry, ':')) return std::string(entry);
  return absl::StrCat(kServiceTokenPrefix, entry);
}

bool MatchesPattern(absl::string_view pattern, absl::string_view name) {
  // Only '*' is special: identities and logins may contain '?', '[' or '\\'.
  // Greedy matching with backtracking to the last '*'.
  std::size_t p = 0, n = 0, star = absl::string_view::npos, resume = 0;
  while (n < name.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = n;
    } else if (p < pattern.size() && pattern[p] == name[n]) {
      ++p;
      ++n;
    } else if (star != absl::string_view::npos) {
      p = star + 1;
      n = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

absl::StatusOr<Policy> Policy::Parse(const std::string& yaml_text, const std::string& source) {
  static const std::set<std::string> kEntryKeys = {"identity", "methods", "scripts", "sudo_as"};
  Policy policy;
  try {
    const YAML::Node root = YAML::Load(yaml_text);
    if (!root || root.IsNull()) return policy;
    if (!root.IsMap()) return PolicyError(source, "must be a mapping with a 'callers' list");
    for (const auto& item : root) {
      if (item.first.as<std::string>() != "callers") {
        return PolicyError(source,
                           absl::StrCat("unknown policy key '", item.first.as<std::string>(), "'"));
      }
    }
    const YAML::Node callers = root["callers"];
    // `callers:` with every entry commented out is an empty list: deny all.
    if (callers && !callers.IsNull() && !callers.IsSequence()) {
      return PolicyError(source, "'callers' must be a list");
    }
    for (std::size_t i = 0; callers && i < callers.size(); ++i) {
      const YAML::Node entry = callers[i];
      const std::string where = absl::StrCat("callers[", i, "].");
      if (!entry.IsMap()) {
        return PolicyError(source, absl::StrCat("callers[", i, "] must be a mapping"));
      }
      for (const auto& field : entry) {
        if (kEntryKeys.count(field.first.as<std::string>()) == 0) {
          return PolicyError(source, absl::StrCat("unknown policy key '", where,
                                                  field.first.as<std::string>(), "'"));
        }
      }
      CallerGrant grant;
      if (!entry["identity"] || !entry["identity"].IsScalar() ||
          entry["identity"].Scalar().empty()) {
        return PolicyError(source, absl::StrCat(where, "identity is required"));
      }
      const std::string written = entry["identity"].Scalar();
      grant.identity = PolicyEntryIdentity(written);
      if (policy.Find(grant.identity) != nullptr) {
        return PolicyError(
            source,
            absl::StrCat(
                where, "identity '", written, "' is listed twice",
                written == grant.identity ? "" : absl::StrCat(" (as '", grant.identity, "')")));
      }
      for (auto [key, list] :
           {std::pair{"methods", &grant.methods}, std::pair{"scripts", &grant.scripts},
            std::pair{"sudo_as", &grant.sudo_as}}) {
        absl::StatusOr<std::vector<std::string>> values = ReadList(entry, key, where);
        if (!values.ok()) return PolicyError(source, values.status().message());
        *list = *std::move(values);
      }
      policy.grants_.push_back(std::move(grant));
    }
  } catch (const YAML::Exception& e) {
    return PolicyError(source, absl::StrCat("not valid YAML: line ", e.mark.line + 1, ": ", e.msg));
  }
  return policy;
}

const CallerGrant* Policy::Find(absl::string_view identity) const {
  for (const CallerGrant& grant : grants_) {
    if (grant.identity == identity) return &grant;
  }
  return nullptr;
}

bool Policy::Knows(absl::string_view identity) const { return Find(identity) != nullptr; }

bool Policy::AllowsMethod(absl::string_view identity, absl::string_view method) const {
  const CallerGrant* grant = Find(identity);
  return grant != nullptr && AnyMatches(grant->methods, method);
}

bool Policy::AllowsScript(absl::string_view identity, absl::string_view script) const {
  const CallerGrant* grant = Find(identity);
  return grant != nullptr && AnyMatches(grant->scripts, script);
}

bool Policy::AllowsSudo(absl::string_view identity, absl::string_view sudo_as) const {
  if (sudo_as.empty()) return true;
  const CallerGrant* grant = Find(identity);
  return grant != nullptr && AnyMatches(grant->sudo_as, sudo_as);
}

LivePolicy::LivePolicy(std::string path)
    : path_(std::move(path)), current_(std::make_shared<const Policy>()) {}

absl::Status LivePolicy::Reload() {
  if (path_.empty()) return absl::OkStatus();
  std::optional<std::string> text = ReadFileContents(path_);
  if (!text) return absl::UnavailableError(absl::StrCat("cannot read policy file '", path_, "'"));
  absl::StatusOr<Policy> parsed = Policy::Parse(*text, path_);
  if (!parsed.ok()) return parsed.status();
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::make_shared<const Policy>(*std::move(parsed));
  return absl::OkStatus();
}

std::shared_ptr<const Policy> LivePolicy::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

}  // namespace credbroker
