// Error envelope construction; each error gets its own random id like a real site's.
#include "errors.h"

#include "random_id.h"

namespace fake_shotgrid {

nlohmann::json ErrorEnvelope(int status, int code, const std::string& title, nlohmann::json source,
                             nlohmann::json detail) {
  // ordered_json would be prettier, but clients must not depend on key order anyway.
  nlohmann::json error = {{"id", RandomHex(16)},
                          {"status", status},
                          {"code", code},
                          {"title", title},
                          {"source", std::move(source)},
                          {"detail", std::move(detail)},
                          {"meta", nullptr}};
  return {{"errors", nlohmann::json::array({std::move(error)})}};
}

ApiReply ErrorReply(int status, int code, const std::string& title, nlohmann::json source,
                    nlohmann::json detail) {
  return {status, ErrorEnvelope(status, code, title, std::move(source), std::move(detail))};
}

}  // namespace fake_shotgrid
