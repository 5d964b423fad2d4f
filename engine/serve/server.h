#pragma once
// The HTTP side of `pmcmodel serve`: GET /metrics formats the sampler's last
// snapshot in the format the Accept header asks for, GET /healthz answers "ok", anything else is
// 404 (405 for another method on those two paths). Nothing a request does reaches the sampler.
// The HTTP server itself (cpp-httplib) is in the module pmcmodel-http.so, loaded by the first
// MetricsServer (engine/serve/http/http_api.h says why).
#include <memory>
#include <string>
#include <vector>

#include "engine/serve/sampler.h"

namespace pmc::serve {

inline constexpr const char* kHttpModuleName = "pmcmodel-http.so";

// Where the module is looked for, in order: $PMCMODEL_HTTP_MODULE alone when set; beside the
// running executable (the build tree's cli/); <prefix>/lib/pmcmodel/ of an installed bin/pmcmodel;
// the path it was built at.
std::vector<std::string> http_module_candidates();
// Loads the module once per process (MetricsServer does it too); throws std::runtime_error naming
// every place tried when it cannot.
void load_http_module();

class MetricsServer {
 public:
  // Throws std::runtime_error, naming every place tried, when the HTTP module cannot be loaded.
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
// The address as --listen takes it: "*:9648" for every address, "[::1]:9648" for an IPv6 host.
std::string format_listen_address(const std::string& host, int port);

}  // namespace pmc::serve
