#include "tools/cli_session.hpp"

#include "lib/common/config.hpp"
#include "lib/net/security.hpp"
#include "tools/status.hpp"

#include <iostream>

namespace troupe::tools {

namespace {

net::security cli_security() {
  try {
    net::settle_security("", false, false);
    return net::security_from_env("cli");
  } catch (const std::exception& e) {
    throw std::runtime_error(e.what());
  }
}

} // namespace

cli_session::cli_session(const std::string& host, std::uint16_t port) {
  auto sec = cli_security();
  insecure_ = sec.insecure;
  cluster_id_ = sec.cluster_id;
  cfg_ = detail::make_system_config();
  sys_ = std::make_unique<caf::actor_system>(*cfg_);
  transport_ = std::make_unique<net::transport>(*sys_, std::move(sec));
  auto cs = net::remote_actor<control_store_actor>(*sys_, host, port);
  if (!cs)
    throw std::runtime_error("cannot reach a troupe node at " + host + ":"
                             + std::to_string(port) + ": " + sys_->render(cs.error()));
  cs_ = *cs;
}

int run_on_cluster(const char* command, std::string address,
                   const std::function<int(cli_session&)>& body) {
  std::string host, why;
  std::uint16_t port = 0;
  if (auto rc = parse_address(address, host, port, why); rc != 0) {
    std::cerr << "troupe " << command << ": " << why << "\n";
    return rc;
  }
  try {
    cli_session s{host, port};
    return body(s);
  } catch (const std::exception& e) {
    std::cerr << "troupe " << command << ": " << e.what() << "\n";
    return 1;
  }
}

cli_session::~cli_session() {
  cs_ = nullptr;
  transport_.reset(); // before the actor system it runs in
}

} // namespace troupe::tools
