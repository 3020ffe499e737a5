// Bodies are untrusted: the site's request id goes into a URL path, so only
// plain ids are accepted, and the approval page must be an http(s) URL.
#include "broker/upstream/launcher_answer.h"

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/common/errors.h"

namespace credbroker {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMaxTokenBytes = 4096;
constexpr std::size_t kMaxLoginBytes = 256;

// A JSON object, or the reason the answer is unusable.
absl::StatusOr<json> ObjectBody(const SiteAnswer& answer, absl::string_view what) {
  if (IsUnavailableStatus(answer.http_status)) return SiteUnavailable(answer);
  if (answer.http_status != 200) {
    return SiteProtocolError(absl::StrCat(what, " answered HTTP ", answer.http_status));
  }
  json doc = json::parse(answer.body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return SiteProtocolError(absl::StrCat(what, " answered no JSON object"));
  return doc;
}

// The string at `key` when it is one of 1..max bytes.
std::optional<std::string> StringField(const json& doc, const char* key, std::size_t max) {
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_string()) return std::nullopt;
  const std::string& value = it->get_ref<const std::string&>();
  if (value.empty() || value.size() > max) return std::nullopt;
  return value;
}

}  // namespace

bool IsPlausibleLauncherId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxIdBytes) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  }
  return true;
}

absl::StatusOr<LauncherRequest> MapLauncherCreated(const SiteAnswer& answer) {
  absl::StatusOr<json> doc = ObjectBody(answer, "the app session launcher");
  if (!doc.ok()) return doc.status();
  LauncherRequest request;
  // tk-core reads the id as given; some sites may send a number.
  if (const auto id = doc->find("sessionRequestId"); id != doc->end()) {
    if (id->is_string()) request.site_request_id = id->get<std::string>();
    if (id->is_number_unsigned()) request.site_request_id = std::to_string(id->get<uint64_t>());
  }
  if (!IsPlausibleLauncherId(request.site_request_id)) {
    return SiteProtocolError("the app session launcher answered no usable sessionRequestId");
  }
  std::optional<std::string> url = StringField(*doc, "url", kMaxUrlBytes);
  if (!url || !(absl::StartsWith(*url, "https://") || absl::StartsWith(*url, "http://"))) {
    return SiteProtocolError("the app session launcher answered no usable approval url");
  }
  request.approval_url = *std::move(url);
  return request;
}

absl::StatusOr<LauncherState> MapLauncherPoll(const SiteAnswer& answer) {
  if (answer.http_status == 404) {
    return BrokerError(Reason::kChallengeNotFound,
                       "the sign-in request was rejected or has expired; start the login again");
  }
  absl::StatusOr<json> doc = ObjectBody(answer, "the app session launcher");
  if (!doc.ok()) return doc.status();
  const auto approved = doc->find("approved");
  if (approved == doc->end() || !approved->is_boolean()) {
    return SiteProtocolError("the app session launcher answered no approval state");
  }
  LauncherState state;
  if (!approved->get<bool>()) return state;
  std::optional<std::string> token = StringField(*doc, "sessionToken", kMaxTokenBytes);
  std::optional<std::string> login = StringField(*doc, "userLogin", kMaxLoginBytes);
  if (!token || !login) {
    return SiteProtocolError("the app session launcher approved without a session token or login");
  }
  state.approved = true;
  state.session_token = *std::move(token);
  state.user_login = *std::move(login);
  return state;
}

}  // namespace credbroker
