#include "engine/serve/server.h"

#include <cerrno>
#include <charconv>
#include <cstring>

#include <httplib.h>

namespace pmc::serve {

struct MetricsServer::Impl {
  const Sampler& sampler;
  httplib::Server http;
  int port = -1;
  explicit Impl(const Sampler& s) : sampler(s) {}
};

MetricsServer::MetricsServer(const Sampler& sampler) : impl_(std::make_unique<Impl>(sampler)) {
  auto* impl = impl_.get();
  impl->http.Get("/metrics", [impl](const httplib::Request& req, httplib::Response& res) {
    auto format = negotiate_format(req.get_header_value("Accept"));
    auto snapshot = impl->sampler.snapshot();  // a shared pointer: the sampler may publish anew
    res.set_content(format_metrics(snapshot->families, format), content_type(format));
  });
  impl->http.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain; charset=utf-8");
  });
  auto not_allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
  };
  for (const char* path : {"/metrics", "/healthz"}) {
    impl->http.Post(path, not_allowed);
    impl->http.Put(path, not_allowed);
    impl->http.Delete(path, not_allowed);
    impl->http.Patch(path, not_allowed);
  }
}

MetricsServer::~MetricsServer() {
  stop();
}

bool MetricsServer::bind(const std::string& host, int port, std::string* error) {
  errno = 0;
  if (port == 0) {
    impl_->port = impl_->http.bind_to_any_port(host.empty() ? "0.0.0.0" : host);
  } else {
    impl_->port = impl_->http.bind_to_port(host.empty() ? "0.0.0.0" : host, port) ? port : -1;
  }
  if (impl_->port < 0) {
    if (error)
      *error = "cannot listen on " + (host.empty() ? std::string("*") : host) + ":" +
               std::to_string(port) + (errno ? std::string(": ") + std::strerror(errno) : "");
    return false;
  }
  return true;
}

int MetricsServer::port() const {
  return impl_->port;
}

void MetricsServer::serve() {
  impl_->http.listen_after_bind();
}

void MetricsServer::stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

bool parse_listen_address(const std::string& text, std::string* host, int* port) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  std::string h = text.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']')
    h = h.substr(1, h.size() - 2);
  else if (h.find(':') != std::string::npos)
    return false;  // an IPv6 host needs brackets
  std::string_view p(text.data() + colon + 1, text.size() - colon - 1);
  int value = -1;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc{} || end != p.data() + p.size() || value < 0 || value > 65535) return false;
  *host = h;
  *port = value;
  return true;
}

}  // namespace pmc::serve
