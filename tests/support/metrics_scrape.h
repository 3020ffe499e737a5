// Reads a broker's /metrics the way Prometheus does (an HTTP GET of the text
// format) and finds one sample in it, so tests check the values an operator's
// dashboards would show.
#pragma once

#include <map>
#include <optional>
#include <string>

namespace credbroker::testing {

// The body of GET http://127.0.0.1:PORT/metrics; empty when it fails.
std::string ScrapeMetrics(int port);

// The value of the sample `name` whose labels are exactly `labels`, or
// nothing when no such sample is in `text`.
std::optional<double> SampleValue(const std::string& text, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {});

}  // namespace credbroker::testing
