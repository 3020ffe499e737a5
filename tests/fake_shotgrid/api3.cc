// /api3/json method dispatch. Check order follows the REST token endpoint (password before code),
// except that a wrong or spent 2FA code answers 106 here, as real sites do on this door.
#include "api3.h"

#include "fixtures.h"

namespace fake_shotgrid {

namespace {

std::string Str(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string Tail(const std::string& token) {
  return token.size() > 4 ? token.substr(token.size() - 4) : token;
}

// The kind of AUTH object, judged the way shotgun_api3 builds it.
std::string AuthKind(const nlohmann::json& auth) {
  if (!auth.is_object()) return "invalid";
  if (auth.contains("user_login") || auth.contains("user_password")) return "user";
  if (auth.contains("script_name") || auth.contains("script_key")) return "script";
  if (auth.contains("session_token")) return "session_token";
  return "invalid";
}

// Simple "is" conditions on id and name from shotgun_api3's translated filters; anything else
// is ignored and matches.
bool Matches(const fixtures::BuiltinProject& p, const nlohmann::json& filters) {
  if (!filters.is_object() || !filters.contains("conditions")) return true;
  for (const auto& c : filters["conditions"]) {
    if (!c.is_object() || c.value("relation", "") != "is" || !c.contains("values")) continue;
    const auto& values = c["values"];
    if (!values.is_array() || values.empty()) continue;
    const std::string path = c.value("path", "");
    if (path == "id" && values[0].is_number_integer() && values[0].get<int>() != p.id) return false;
    if (path == "name" && values[0].is_string() && values[0].get<std::string>() != p.name) {
      return false;
    }
  }
  return true;
}

}  // namespace

ApiReply Api3Error(int code, const std::string& message) {
  return {200, {{"exception", true}, {"error_code", code}, {"message", message}}};
}

ApiReply Api3::Handle(const std::string& body) {
  nlohmann::json request;
  try {
    request = nlohmann::json::parse(body);
  } catch (const std::exception&) {
    counters_.CountApi3("other", "invalid");
    return Api3Error(103, "Invalid JSON body");
  }
  if (!request.is_object() || !request.contains("method_name") ||
      !request["method_name"].is_string()) {
    counters_.CountApi3("other", "invalid");
    return Api3Error(103, "method_name is missing");
  }
  const std::string method = request["method_name"].get<std::string>();
  nlohmann::json params = request.value("params", nlohmann::json::array());
  if (!params.is_array()) params = nlohmann::json::array();

  if (method == "info") {
    counters_.CountApi3("info", "none");
    return Info();
  }
  const nlohmann::json auth = params.empty() ? nlohmann::json() : params[0];
  Caller caller;
  caller.kind = AuthKind(auth);
  counters_.CountApi3(method, caller.kind);
  ApiReply error;
  if (!Authenticate(auth, &caller, &error)) return error;

  if (method == "get_session_token") {
    return {200, {{"results", {{"session_id", endpoint_.MintSessionToken(caller.holder)}}}}};
  }
  if (method == "read") {
    return Read(params.size() > 1 ? params[1] : nlohmann::json::object());
  }
  return Api3Error(103, "Unknown method '" + method + "'");
}

bool Api3::Authenticate(const nlohmann::json& auth, Caller* caller, ApiReply* error) {
  if (caller->kind == "user") {
    const std::string login = Str(auth, "user_login");
    const UserFixture* user = nullptr;
    switch (
        endpoint_.CheckUser(login, Str(auth, "user_password"), Str(auth, "auth_token"), &user)) {
      case UserCheck::kOk:
        caller->holder = {"HumanUser", user->id, user->login};
        break;
      case UserCheck::kSsoSite:
        *error = Api3Error(108,
                           "Authentication using username/password is not allowed for an "
                           "SSO-enabled site");
        return false;
      case UserCheck::kIdentitySite:
        *error = Api3Error(110,
                           "Authentication using username/password is not allowed for an "
                           "Autodesk Identity enabled site");
        return false;
      case UserCheck::kMissingArgument:
        *error = Api3Error(102, "Missing or invalid authentication arguments");
        return false;
      case UserCheck::kBadCredentials:
        *error = Api3Error(102, "Can't authenticate user '" + login + "'.");
        return false;
      case UserCheck::kCodeMissing:
        *error = Api3Error(106, "Missing argument for 2FA login");
        return false;
      case UserCheck::kBadCode:
        *error = Api3Error(106, "Invalid or already used 2FA code for user '" + login + "'.");
        return false;
    }
  } else if (caller->kind == "script") {
    const std::string name = Str(auth, "script_name");
    const ScriptFixture* script = endpoint_.CheckScript(name, Str(auth, "script_key"));
    if (script == nullptr) {
      *error = Api3Error(102, "Can't authenticate script '" + name + "'");
      return false;
    }
    caller->holder = {"ApiUser", script->id, script->name};
  } else if (caller->kind == "session_token") {
    const std::string token = Str(auth, "session_token");
    auto holder = endpoint_.ResolveSessionToken(token);
    if (!holder) {
      *error = Api3Error(102, "Can't authenticate session token ending with '" + Tail(token) +
                                  "': unknown or expired session");
      return false;
    }
    caller->holder = *holder;
  } else {
    *error = Api3Error(102, "Missing or invalid authentication arguments");
    return false;
  }
  if (auth.contains("sudo_as_login")) {
    std::string refusal = endpoint_.SudoRefusal(Str(auth, "sudo_as_login"));
    if (!refusal.empty()) {
      *error = Api3Error(102, refusal);
      return false;
    }
  }
  return true;
}

ApiReply Api3::Info() const {
  const char* method = "default";
  switch (settings_.Get().auth_mode) {
    case AuthMode::kSso:
      method = "saml2";
      break;
    case AuthMode::kIdentity:
      method = "oxygen";
      break;
    default:
      break;
  }
  const auto& v = kApi3Version;
  return {200,
          {{"results",
            {{"version", {v[0], v[1], v[2]}},
             {"full_version", {v[0], v[1], v[2], 0}},
             {"user_authentication_method", method},
             {"api_max_entities_per_page", 500},
             {"s3_uploads_enabled", false}}}}};
}

ApiReply Api3::Read(const nlohmann::json& params) const {
  if (!params.is_object() || params.value("type", "") != "Project") {
    return Api3Error(103, "API read() only Project entities are served by this site");
  }
  nlohmann::json fields = params.value("return_fields", nlohmann::json::array({"id"}));
  const nlohmann::json paging = params.value("paging", nlohmann::json::object());
  const int per_page = paging.value("entities_per_page", 500);
  const int page = paging.value("current_page", 1);

  std::vector<nlohmann::json> matched;
  for (const auto& p : fixtures::kProjects) {
    if (!Matches(p, params.value("filters", nlohmann::json::object()))) continue;
    nlohmann::json record = {{"type", "Project"}, {"id", p.id}};
    for (const auto& f : fields) {
      if (!f.is_string() || f == "type" || f == "id") continue;
      record[f.get<std::string>()] = f == "name" ? nlohmann::json(p.name) : nlohmann::json();
    }
    matched.push_back(std::move(record));
  }
  nlohmann::json entities = nlohmann::json::array();
  const size_t first = per_page > 0 && page > 0 ? static_cast<size_t>(per_page) * (page - 1) : 0;
  for (size_t i = first; i < matched.size() && (per_page <= 0 || i < first + per_page); ++i) {
    entities.push_back(matched[i]);
  }
  const bool more = per_page > 0 && first + per_page < matched.size();
  return {200,
          {{"results",
            {{"entities", entities},
             {"paging_info",
              {{"has_next_page", more}, {"entity_count", static_cast<int>(matched.size())}}}}}}};
}

}  // namespace fake_shotgrid
