// pmcmodel-http.so: serve's HTTP side on cpp-httplib, loaded by engine/serve/server.cpp only when
// `pmcmodel serve` runs. GET /metrics calls the handler, GET /healthz answers "ok", another
// method on those two paths is 405, anything else 404.
#include <cerrno>

#include <httplib.h>

#include "engine/serve/http/http_api.h"

namespace {

struct Server {
  httplib::Server http;
};

void* create(pmc::serve::HttpMetricsHandler handler, void* context) {
  auto* s = new Server;
  // SO_REUSEADDR alone: httplib's default also sets SO_REUSEPORT, with which a second exporter
  // binds the port that a first one holds and the kernel splits the scrapes between them, where
  // the second should stop with "Address already in use".
  s->http.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  s->http.Get("/metrics", [handler, context](const httplib::Request& req, httplib::Response& res) {
    std::string body, type;
    handler(context, req.get_header_value("Accept"), body, type);
    res.set_content(body, type);
  });
  s->http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
  };
  for (const char* path : {"/metrics", "/healthz"}) {
    s->http.Post(path, not_allowed);
    s->http.Put(path, not_allowed);
    s->http.Delete(path, not_allowed);
    s->http.Patch(path, not_allowed);
    s->http.Options(path, not_allowed);
  }
  return s;
}

int bind(void* server, const std::string& host, int port) {
  auto& http = static_cast<Server*>(server)->http;
  errno = 0;
  if (port == 0) return http.bind_to_any_port(host);
  return http.bind_to_port(host, port) ? port : -1;
}

void listen(void* server) {
  static_cast<Server*>(server)->http.listen_after_bind();
}

bool running(void* server) {
  return static_cast<Server*>(server)->http.is_running();
}

void stop(void* server) {
  static_cast<Server*>(server)->http.stop();
}

void destroy(void* server) {
  delete static_cast<Server*>(server);
}

constexpr pmc::serve::HttpApi kApi{
    pmc::serve::kHttpApiVersion, create, bind, listen, running, stop, destroy};

}  // namespace

extern "C" __attribute__((visibility("default"))) const pmc::serve::HttpApi* pmcmodel_http_api() {
  return &kApi;
}
