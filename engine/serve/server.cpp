#include "engine/serve/server.h"

#include <dlfcn.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "engine/serve/http/http_api.h"
#include "engine/system/self_exe.h"

namespace pmc::serve {
namespace fs = std::filesystem;

namespace {

// Loaded once per process and never unloaded (httplib's threads may outlive a server object).
const HttpApi* load_http_api() {
  static const HttpApi* api = nullptr;
  static std::string failure;
  if (api) return api;
  if (!failure.empty()) throw std::runtime_error(failure);
  std::vector<std::string> tried;
  for (const auto& path : http_module_candidates()) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      tried.push_back(path + " (absent)");
      continue;
    }
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char* why = dlerror();
      tried.push_back(path + " (" + (why ? why : "dlopen failed") + ")");
      continue;
    }
    auto* entry = reinterpret_cast<const HttpApi* (*)()>(dlsym(handle, "pmcmodel_http_api"));
    const HttpApi* found = entry ? entry() : nullptr;
    if (!found || found->version != kHttpApiVersion) {
      tried.push_back(path + " (not this build's module)");
      dlclose(handle);
      continue;
    }
    api = found;
    return api;
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : "; ") + t;
  failure = "serve's HTTP module " + std::string(kHttpModuleName) +
            " cannot be loaded (it is installed beside pmcmodel, in lib/pmcmodel/): tried " + list;
  throw std::runtime_error(failure);
}

void answer_metrics(void* context, const std::string& accept, std::string& body,
                    std::string& type) {
  const auto& sampler = *static_cast<const Sampler*>(context);
  auto format = negotiate_format(accept);
  auto snapshot = sampler.snapshot();  // a shared pointer: the sampler may publish anew
  body = format_metrics(snapshot->families, format);
  type = content_type(format);
}

}  // namespace

std::vector<std::string> http_module_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("PMCMODEL_HTTP_MODULE"); env != nullptr && *env != '\0')
    return {env};
  if (fs::path exe = self_executable(); !exe.empty()) {
    out.push_back((exe.parent_path() / kHttpModuleName).string());
    out.push_back((exe.parent_path().parent_path() / "lib" / "pmcmodel" / kHttpModuleName)
                      .lexically_normal()
                      .string());
  }
  out.push_back(PMCMODEL_HTTP_MODULE_BUILT);
  return out;
}

void load_http_module() {
  load_http_api();
}

struct MetricsServer::Impl {
  const HttpApi* api;
  void* server;
  int port = -1;
};

MetricsServer::MetricsServer(const Sampler& sampler) {
  const HttpApi* api = load_http_api();
  impl_ = std::make_unique<Impl>(
      Impl{api, api->create(answer_metrics, const_cast<Sampler*>(&sampler))});
}

MetricsServer::~MetricsServer() {
  stop();
  impl_->api->destroy(impl_->server);
}

namespace {

// Why binding `host` failed, after the attempt (errno as the attempt left it): a host that does
// not resolve says so, which errno does not.
std::string bind_failure(const std::string& host) {
  int saved = errno;
  if (!host.empty()) {
    addrinfo hints{};
    hints.ai_flags = AI_PASSIVE;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &found);
    if (found != nullptr) ::freeaddrinfo(found);
    if (rc != 0)
      return std::string(": the host does not resolve to an address (") + ::gai_strerror(rc) +
             "); expected an address or a name of this machine";
  }
  return saved != 0 ? std::string(": ") + std::strerror(saved) : "";
}

}  // namespace

bool MetricsServer::bind(const std::string& host, int port, std::string* error) {
  errno = 0;
  impl_->port = impl_->api->bind(impl_->server, host.empty() ? "0.0.0.0" : host, port);
  if (impl_->port < 0) {
    if (error)
      *error = "cannot listen on " + format_listen_address(host, port) + bind_failure(host);
    return false;
  }
  return true;
}

int MetricsServer::port() const {
  return impl_->port;
}

void MetricsServer::serve() {
  impl_->api->listen(impl_->server);
}

void MetricsServer::stop() {
  if (impl_->api->running(impl_->server)) impl_->api->stop(impl_->server);
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

std::string format_listen_address(const std::string& host, int port) {
  std::string shown = host.empty()                          ? "*"
                      : host.find(':') != std::string::npos ? "[" + host + "]"
                                                            : host;
  return shown + ":" + std::to_string(port);
}

}  // namespace pmc::serve
