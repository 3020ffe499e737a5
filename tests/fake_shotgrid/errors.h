// The JSON:API error envelope ShotGrid answers with, built in one place so every error the fake
// sends has the exact shape the broker parses.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace fake_shotgrid {

// What a handler wants sent: HTTP status equals the envelope's "status" for errors.
struct ApiReply {
  int status = 200;
  nlohmann::json body;
};

// {"errors":[{"id":<32 hex>,"status":S,"code":C,"title":T,"source":..,"detail":..,"meta":null}]}
nlohmann::json ErrorEnvelope(int status, int code, const std::string& title,
                             nlohmann::json source = nullptr, nlohmann::json detail = nullptr);

ApiReply ErrorReply(int status, int code, const std::string& title, nlohmann::json source = nullptr,
                    nlohmann::json detail = nullptr);

}  // namespace fake_shotgrid
