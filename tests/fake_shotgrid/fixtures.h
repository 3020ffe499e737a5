// The people and scripts the fake site knows. The built-in set is documented here as constants
// so tests name the exact credentials they use; a --fixtures JSON file of the same shape replaces
// it.
#pragma once

#include <string>
#include <vector>

namespace fake_shotgrid {

struct UserFixture {
  std::string login;
  std::string password;
  std::string totp_secret;  // base32
  std::vector<std::string> backup_codes;
  bool active = true;
  std::string session_token;
  int id = 0;  // HumanUser id; assigned in order (101, 102, ...) when the file omits it
};

struct ScriptFixture {
  std::string name;
  std::string key;
  int id = 0;  // ApiUser id; assigned in order (201, 202, ...) when the file omits it
};

struct Fixtures {
  std::vector<UserFixture> users;
  std::vector<ScriptFixture> scripts;
};

// Built-in fixtures. One user per test keeps TOTP codes (single use per 30 s step) from
// colliding between tests, hence the long list.
namespace fixtures {

struct BuiltinUser {
  const char* login;
  const char* password;
  const char* totp_secret;
  const char* backup_code_1;
  const char* backup_code_2;
  const char* session_token;
  bool active;
};

inline constexpr BuiltinUser kAlice{"alice",     "alice-password-1", "JBSWY3DPEHPK3PXP",
                                    "7391-5520", "4820-1177",        "alice-session-token-0001",
                                    true};
inline constexpr BuiltinUser kBob{"bob",       "bob-password-1", "KRUGKIDCN5RCA43F",
                                  "2604-9813", "5137-0462",      "bob-session-token-0001",
                                  true};
inline constexpr BuiltinUser kCarol{"carol",     "carol-password-1", "MNQXE33MFVZWKY3S",
                                    "8845-2290", "3071-6658",        "carol-session-token-0001",
                                    true};
inline constexpr BuiltinUser kDave{"dave",      "dave-password-1", "MRQXMZJNONSWG4TF",
                                   "1958-7346", "6402-3815",       "dave-session-token-0001",
                                   true};
inline constexpr BuiltinUser kErin{"erin",      "erin-password-1", "MVZGS3RNONSWG4TF",
                                   "4417-8023", "9260-1584",       "erin-session-token-0001",
                                   true};
inline constexpr BuiltinUser kFrank{"frank",     "frank-password-1", "MZZGC3TLFVZWKY3S",
                                    "5583-0719", "2846-9930",        "frank-session-token-0001",
                                    true};
inline constexpr BuiltinUser kGrace{"grace",     "grace-password-1", "M5ZGCY3FFVZWKY3S",
                                    "7026-4461", "1390-5578",        "grace-session-token-0001",
                                    true};
inline constexpr BuiltinUser kHeidi{"heidi",     "heidi-password-1", "NBSWSZDJFVZWKY3S",
                                    "3652-1108", "8714-2295",        "heidi-session-token-0001",
                                    true};
// Inactive: logins fail like a wrong password and sudo_as to her is refused.
inline constexpr BuiltinUser kMallory{
    "mallory",   "mallory-password-1", "NVQWY3DPOJ4S243F",
    "6129-3307", "0481-7762",          "mallory-session-token-0001",
    false};

inline constexpr BuiltinUser kUsers[] = {kAlice, kBob,   kCarol, kDave,   kErin,
                                         kFrank, kGrace, kHeidi, kMallory};

inline constexpr const char* kIngestBotName = "ingest-bot";
inline constexpr const char* kIngestBotKey = "ingest-bot-key-0001";
inline constexpr const char* kRenderFarmName = "render-farm";
inline constexpr const char* kRenderFarmKey = "render-farm-key-0002";

// The projects every authenticated read returns, over REST and /api3/json alike.
struct BuiltinProject {
  int id;
  const char* name;
};
inline constexpr BuiltinProject kProjects[] = {{1, "Feature Film A"}, {2, "Commercial B"}};

// First HumanUser / ApiUser ids handed out in fixture order.
inline constexpr int kFirstUserId = 101;
inline constexpr int kFirstScriptId = 201;

}  // namespace fixtures

Fixtures BuiltinFixtures();

// Parses the --fixtures file; on failure returns false and says why in *error.
bool LoadFixturesFile(const std::string& path, Fixtures* out, std::string* error);
bool ParseFixturesJson(const std::string& text, Fixtures* out, std::string* error);

}  // namespace fake_shotgrid
