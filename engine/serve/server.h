#pragma once
// The HTTP side of `pmcmodel serve` (cpp-httplib): GET /metrics formats the sampler's last
// snapshot in the format the Accept header asks for, GET /healthz answers "ok", anything else is
// 404 (405 for another method on those two paths). Nothing a request does reaches the sampler.
#include <memory>
#include <string>

#include "engine/serve/sampler.h"

namespace pmc::serve {

class MetricsServer {
 public:
  explicit MetricsServer(const Sampler& sampler);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds host:port (port 0: any free port); false with `error` set when it cannot.
  bool bind(const std::string& host, int port, std::string* error);
  int port() const;
  // Serves until stop() is called from another thread (or a signal-handling thread).
  void serve();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "HOST:PORT", ":PORT" (every address), "[v6]:PORT". False when it is none of these.
bool parse_listen_address(const std::string& text, std::string* host, int* port);

}  // namespace pmc::serve
