#pragma once
// The boundary between `pmcmodel serve` and its HTTP module (pmcmodel-http.so, built from
// http_module.cpp with cpp-httplib). The module is loaded with dlopen by serve alone: Debian's
// cpp-httplib brings libssl, libcrypto, zlib and brotli, whose loading and relocation every other
// command would otherwise pay at start-up (docs/PERFORMANCE.md). Both sides are built together,
// so C++ types may cross; the version guards against a stale module from another build.
#include <string>

namespace pmc::serve {

inline constexpr int kHttpApiVersion = 1;

// Answers GET /metrics: the Accept header in, the body and its content type out.
using HttpMetricsHandler = void (*)(void* context, const std::string& accept, std::string& body,
                                    std::string& content_type);

struct HttpApi {
  int version;
  void* (*create)(HttpMetricsHandler handler, void* context);
  // Binds host:port (port 0: any free port). The port bound, or -1 with errno set.
  int (*bind)(void* server, const std::string& host, int port);
  void (*listen)(void* server);  // serves until stop()
  bool (*running)(void* server);
  void (*stop)(void* server);
  void (*destroy)(void* server);
};

}  // namespace pmc::serve

// The module's one exported symbol.
extern "C" const pmc::serve::HttpApi* pmcmodel_http_api();
