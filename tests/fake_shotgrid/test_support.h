// Shared helpers for the fake site's own tests: an in-process site per test and small
// wrappers for form posts and control calls.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "fixtures.h"
#include "site.h"
#include "totp.h"

namespace fake_shotgrid::testing {

using Form = std::vector<std::pair<std::string, std::string>>;

inline std::string EncodeForm(const Form& form) {
  std::string out;
  for (const auto& [k, v] : form) {
    if (!out.empty()) out += "&";
    out += httplib::detail::encode_query_param(k) + "=" + httplib::detail::encode_query_param(v);
  }
  return out;
}

inline nlohmann::json Json(const httplib::Result& r) { return nlohmann::json::parse(r->body); }

class SiteTest : public ::testing::Test {
 protected:
  virtual SiteOptions Options() {
    SiteOptions o;
    o.threads = 64;
    return o;
  }
  void SetUp() override {
    site_ = std::make_unique<FakeShotgridSite>(Options());
    std::string error;
    ASSERT_TRUE(site_->Start(&error)) << error;
    client_ = std::make_unique<httplib::Client>("127.0.0.1", site_->port());
  }
  void TearDown() override {
    client_.reset();
    site_.reset();
  }

  httplib::Result Token(const Form& form, const std::string& version = "v1") {
    return client_->Post(("/api/" + version + "/auth/access_token").c_str(), EncodeForm(form),
                         "application/x-www-form-urlencoded");
  }
  httplib::Result Control(const std::string& path, const nlohmann::json& body) {
    return client_->Post(path.c_str(), body.dump(), "application/json");
  }
  nlohmann::json Stats() { return Json(client_->Get("/_fake/stats")); }
  int64_t SiteNow() { return site_->settings().Now(); }

  std::unique_ptr<FakeShotgridSite> site_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace fake_shotgrid::testing
