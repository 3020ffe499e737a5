// Load tool: the fake site's own answer time at a fixed rate, with no broker
// in between. Sends the token request a BeginLogin makes (a password grant as
// a form body) straight to the site with libcurl, RATE requests a second on a
// fixed schedule (open loop; latency counted from when the request was handed
// to curl, so the tool's own sub-millisecond lateness is not the site's;
// connections kept alive and reused as the broker's are), and prints
// the latency percentiles in unary_load's RESULT form. Subtracting these from
// the broker's figures at the same rate leaves what the broker adds.
//
// usage: site_rate --url http://HOST:PORT [--rate 1000] [--duration-s 10]
//          [--warmup-s 1] --usernames a,b,c --password-env VAR [--label TEXT]
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string Flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return argv[i + 1];
  }
  return fallback;
}

std::string Escape(const std::string& text) {
  char* escaped = curl_easy_escape(nullptr, text.data(), static_cast<int>(text.size()));
  std::string out(escaped);
  curl_free(escaped);
  return out;
}

size_t Discard(char*, size_t size, size_t count, void*) { return size * count; }

struct Request {
  CURL* easy = nullptr;
  std::string body;
  Clock::time_point scheduled;
  Clock::time_point started;
};

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  const std::size_t index =
      std::min(sorted.size() - 1, static_cast<std::size_t>(p * static_cast<double>(sorted.size())));
  return sorted[index] / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string url = Flag(argc, argv, "--url", "") + "/api/v1/auth/access_token";
  const double rate = std::atof(Flag(argc, argv, "--rate", "1000").c_str());
  const double duration_s = std::atof(Flag(argc, argv, "--duration-s", "10").c_str());
  const double warmup_s = std::atof(Flag(argc, argv, "--warmup-s", "1").c_str());
  const std::string label = Flag(argc, argv, "--label", "site");
  const char* password = std::getenv(Flag(argc, argv, "--password-env", "").c_str());
  std::vector<std::string> bodies;
  const std::string names = Flag(argc, argv, "--usernames", "");
  for (std::size_t start = 0; start < names.size();) {
    std::size_t comma = names.find(',', start);
    if (comma == std::string::npos) comma = names.size();
    if (comma > start && password != nullptr) {
      bodies.push_back(
          "grant_type=password&username=" + Escape(names.substr(start, comma - start)) +
          "&password=" + Escape(password));
    }
    start = comma + 1;
  }
  if (url.rfind("http", 0) != 0 || rate <= 0 || duration_s <= 0 || bodies.empty()) {
    std::cerr << "usage: site_rate --url http://HOST:PORT [--rate 1000] [--duration-s 10]\n"
                 "  [--warmup-s 1] --usernames a,b,c --password-env VAR [--label TEXT]\n";
    return 2;
  }

  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_slist* headers =
      curl_slist_append(nullptr, "Content-Type: application/x-www-form-urlencoded");
  headers = curl_slist_append(headers, "Accept: application/json");
  std::deque<Request*> idle;  // finished handles, reused with their connections' cache
  std::map<CURL*, Request*> running;
  std::vector<uint32_t> latency_us;
  std::map<std::string, int64_t> failures;
  int64_t sent = 0;
  int64_t answered = 0;

  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from =
      start + std::chrono::microseconds(static_cast<int64_t>(warmup_s * 1e6));
  const Clock::time_point stop_at =
      measure_from + std::chrono::microseconds(static_cast<int64_t>(duration_s * 1e6));
  for (;;) {
    const Clock::time_point now = Clock::now();
    // Start every request whose time has come.
    for (;;) {
      const Clock::time_point due =
          start +
          std::chrono::nanoseconds(static_cast<int64_t>(static_cast<double>(sent) * 1e9 / rate));
      if (due > now || due >= stop_at) break;
      Request* request = nullptr;
      if (idle.empty()) {
        request = new Request;
        request->easy = curl_easy_init();
      } else {
        request = idle.front();
        idle.pop_front();
      }
      request->body = bodies[static_cast<std::size_t>(sent) % bodies.size()];
      request->scheduled = due;
      CURL* easy = request->easy;
      curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDS, request->body.c_str());
      curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, static_cast<long>(request->body.size()));
      curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, &Discard);
      request->started = Clock::now();
      curl_multi_add_handle(multi, easy);
      running[easy] = request;
      ++sent;
    }
    int still_running = 0;
    curl_multi_perform(multi, &still_running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) continue;
      Request* request = running[message->easy_handle];
      running.erase(message->easy_handle);
      curl_multi_remove_handle(multi, message->easy_handle);
      ++answered;
      if (request->scheduled >= measure_from) {
        latency_us.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - request->started)
                .count()));
        long status = 0;
        curl_easy_getinfo(message->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        if (message->data.result != CURLE_OK) {
          ++failures[curl_easy_strerror(message->data.result)];
        } else if (status >= 500) {
          ++failures["HTTP " + std::to_string(status)];
        }
      }
      idle.push_back(request);
    }
    if (Clock::now() >= stop_at && running.empty()) break;
    // Until a socket is ready or the next request is due (rounded up to a millisecond).
    curl_multi_poll(multi, nullptr, 0, 1, nullptr);
  }

  std::sort(latency_us.begin(), latency_us.end());
  int64_t failed = 0;
  for (const auto& [what, n] : failures) {
    std::cout << "  failed (" << what << "): " << n << "\n";
    failed += n;
  }
  char line[512];
  std::snprintf(line, sizeof(line),
                "RESULT label=%s calls=%zu ok=%lld failed=%lld seconds=%.3f qps=%.0f "
                "p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f answered=%lld",
                label.c_str(), latency_us.size(),
                static_cast<long long>(latency_us.size()) - static_cast<long long>(failed),
                static_cast<long long>(failed), duration_s,
                static_cast<double>(latency_us.size()) / duration_s, Percentile(latency_us, 0.50),
                Percentile(latency_us, 0.99), Percentile(latency_us, 0.999),
                latency_us.empty() ? 0.0 : latency_us.back() / 1000.0,
                static_cast<long long>(answered));
  std::cout << line << std::endl;
  for (Request* request : idle) {
    curl_easy_cleanup(request->easy);
    delete request;
  }
  curl_slist_free_all(headers);
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return failed == 0 && !latency_us.empty() ? 0 : 3;
}
