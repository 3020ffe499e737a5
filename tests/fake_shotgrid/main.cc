// fake-shotgrid: command-line front end for FakeShotgridSite. Parses flags, starts the site,
// announces the port, and waits for SIGTERM/SIGINT to stop cleanly.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "fixtures.h"
#include "settings.h"
#include "site.h"

namespace {

int Usage(const std::string& message) {
  std::cerr << "fake-shotgrid: " << message << "\n"
            << "usage: fake-shotgrid [--listen HOST:PORT] [--port-file PATH]\n"
               "         [--tls-cert PEM --tls-key PEM] [--two-factor]\n"
               "         [--auth-mode password|sso|identity] [--token-lifetime SECONDS]\n"
               "         [--session-token-lifetime SECONDS]\n"
               "         [--fixtures JSON_FILE] [--quiet]\n";
  return 2;
}

bool ParseInt(const std::string& text, long long min, long long max, long long* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return false;
  *out = v;
  return true;
}

// Temp file + rename in the same directory: a poller sees no file or the whole number.
bool WritePortFile(const std::string& path, int port) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return false;
    out << port << "\n";
    out.flush();
    if (!out) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  fake_shotgrid::SiteOptions options;
  options.quiet = false;
  std::string port_file;

  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    std::string value;
    auto inline_eq = flag.find('=');
    bool has_inline = flag.rfind("--", 0) == 0 && inline_eq != std::string::npos;
    if (has_inline) {
      value = flag.substr(inline_eq + 1);
      flag = flag.substr(0, inline_eq);
    }
    auto need_value = [&](std::string* out) {
      if (has_inline) {
        *out = value;
        return true;
      }
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    if (flag == "--two-factor" && !has_inline) {
      options.settings.two_factor = true;
    } else if (flag == "--quiet" && !has_inline) {
      options.quiet = true;
    } else if (flag == "--listen") {
      if (!need_value(&value)) return Usage("--listen needs HOST:PORT");
      auto colon = value.rfind(':');
      long long port = 0;
      if (colon == std::string::npos || colon == 0 ||
          !ParseInt(value.substr(colon + 1), 0, 65535, &port)) {
        return Usage("--listen wants HOST:PORT, got '" + value + "'");
      }
      options.host = value.substr(0, colon);
      options.port = static_cast<int>(port);
    } else if (flag == "--port-file") {
      if (!need_value(&port_file) || port_file.empty()) return Usage("--port-file needs a path");
    } else if (flag == "--tls-cert") {
      if (!need_value(&options.tls_cert)) return Usage("--tls-cert needs a PEM file");
    } else if (flag == "--tls-key") {
      if (!need_value(&options.tls_key)) return Usage("--tls-key needs a PEM file");
    } else if (flag == "--auth-mode") {
      if (!need_value(&value)) return Usage("--auth-mode needs password|sso|identity");
      auto mode = fake_shotgrid::ParseAuthMode(value);
      if (!mode) return Usage("--auth-mode must be password, sso or identity, got '" + value + "'");
      options.settings.auth_mode = *mode;
    } else if (flag == "--token-lifetime") {
      long long seconds = 0;
      if (!need_value(&value) || !ParseInt(value, 1, 365LL * 24 * 3600, &seconds)) {
        return Usage("--token-lifetime needs a positive number of seconds");
      }
      options.settings.token_lifetime = seconds;
    } else if (flag == "--session-token-lifetime") {
      long long seconds = 0;
      if (!need_value(&value) || !ParseInt(value, 1, 365LL * 24 * 3600, &seconds)) {
        return Usage("--session-token-lifetime needs a positive number of seconds");
      }
      options.settings.session_token_lifetime = seconds;
    } else if (flag == "--fixtures") {
      if (!need_value(&value)) return Usage("--fixtures needs a JSON file");
      std::string error;
      if (!fake_shotgrid::LoadFixturesFile(value, &options.fixtures, &error)) {
        return Usage("--fixtures: " + error);
      }
    } else {
      return Usage("unknown flag '" + std::string(argv[i]) + "'");
    }
  }
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return Usage(options.tls_cert.empty() ? "--tls-key needs --tls-cert"
                                          : "--tls-cert needs --tls-key");
  }

  // Block the stop signals before any server thread exists so only sigwait below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // A client hanging up mid-answer must not kill the site.
  signal(SIGPIPE, SIG_IGN);

  fake_shotgrid::FakeShotgridSite site(options);
  std::string error;
  if (!site.Start(&error)) {
    std::cerr << "fake-shotgrid: " << error << "\n";
    return 1;
  }
  std::cout << "fake-shotgrid listening on " << site.base_url() << std::endl;
  if (!port_file.empty() && !WritePortFile(port_file, site.port())) {
    std::cerr << "fake-shotgrid: cannot write --port-file " << port_file << "\n";
    site.Stop();
    return 1;
  }

  int sig = 0;
  sigwait(&stop_signals, &sig);
  site.Stop();
  return 0;
}
