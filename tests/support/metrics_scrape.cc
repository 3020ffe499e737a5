// Parses only what prometheus-cpp writes: one sample per line, labels sorted
// by name, values without escapes the tests' labels would need.
#include "metrics_scrape.h"

#include <httplib.h>

#include <sstream>

namespace credbroker::testing {

std::string ScrapeMetrics(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  httplib::Result result = client.Get("/metrics");
  if (!result || result->status != 200) return "";
  return result->body;
}

std::optional<double> SampleValue(const std::string& text, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  std::string series = name;
  if (!labels.empty()) {
    series += "{";
    bool first = true;
    for (const auto& [label, value] : labels) {
      if (!first) series += ",";
      first = false;
      series += label + "=\"" + value + "\"";
    }
    series += "}";
  }
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

}  // namespace credbroker::testing
