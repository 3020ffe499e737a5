// The fake site's plain-HTTP server: cpp-httplib's, with the wait between two requests on a
// kept-alive connection done by one blocking poll. cpp-httplib 0.11 waits by polling each idle
// connection every 10 ms and sleeping 1 ms in between, so 1,000 idle connections cost it about
// 90,000 wake-ups a second: a load run against the fake site measured that instead of the
// client. Routing, answers and headers are cpp-httplib's own (Server::process_request).
#pragma once

#include <httplib.h>

namespace fake_shotgrid {

class KeepAliveServer final : public httplib::Server {
 public:
  KeepAliveServer();
  ~KeepAliveServer() override;

  // Ends every connection's wait for its next request; call after stop(), so that the
  // listening thread's workers finish without waiting out the keep-alive timeout.
  void ReleaseIdle();

 private:
  bool process_and_close_socket(socket_t sock) override;

  // An eventfd, readable once ReleaseIdle has been called.
  int release_fd_ = -1;
};

}  // namespace fake_shotgrid
