#include "des/des.hpp"

#include <simgrid/s4u.hpp>
#include <stdexcept>
#include <unordered_map>

namespace sg4 = simgrid::s4u;

#if defined(__SANITIZE_ADDRESS__)
#define AIDC_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AIDC_ADDRESS_SANITIZER 1
#endif
#endif
#if AIDC_ADDRESS_SANITIZER
#include <sanitizer/lsan_interface.h>
#endif

namespace aidc::des {
namespace {

long long g_event_count = 0;
std::unique_ptr<sg4::Engine> g_engine;
std::unordered_map<sg4::Mailbox*, std::deque<std::unique_ptr<Message>>> g_notices;  // by inbox

std::vector<std::string> engine_arguments() {
  return {"aidc",
#if AIDC_ADDRESS_SANITIZER
          // Under AddressSanitizer, actors run as threads: ASan cannot follow raw context switches
          // (Debian's SimGrid lacks its fiber annotations), reports stale redzones on reused actor
          // stacks as overflows, and LeakSanitizer faults on their mprotect'ed guard pages.
          "--cfg=contexts/factory:thread",
#else
          "--cfg=contexts/factory:raw",        // fastest context switches (reference: 0.51 us)
#endif
          "--cfg=network/crosstraffic:0",      // no TCP ack flows: halves the cost of each message
          // Requests ride established HTTP connections: latency + size / bandwidth (CM02), without
          // LV08's slow-start factors (13x latency), which model fresh TCP flows.
          "--cfg=network/model:CM02",
          "--log=root.thresh:critical",        // aidc reports; SimGrid stays quiet
          "--log=xbt_cfg.thresh:critical"};
}

// What SimGrid's solver can take. It bounds a flow's rate by a constant over its latency, so a latency
// of 1e-320 s makes that bound infinite and SimGrid abort ("The Impossible Did Happen"); latencies
// below its timing precision (1 ns) are therefore taken as 0. A bandwidth or latency out of these
// bounds is a loader bug (the scenario schema's ranges are tighter), refused here before SimGrid sees it.
constexpr double kMinLatencyS = 1e-9, kMaxLatencyS = 1e3;
constexpr double kMinBytesPerS = 1, kMaxBytesPerS = 1e16;

sg4::Link* make_link(sg4::NetZone* zone, const std::string& name, const LinkParams& params) {
  if (!(params.bytes_per_s >= kMinBytesPerS && params.bytes_per_s <= kMaxBytesPerS) ||
      !(params.latency_s >= 0 && params.latency_s <= kMaxLatencyS))
    throw std::invalid_argument("link " + name + ": bandwidth " + std::to_string(params.bytes_per_s) + " B/s or latency " +
                                std::to_string(params.latency_s) + " s is outside what the simulator can time");
  const double latency_s = params.latency_s < kMinLatencyS ? 0.0 : params.latency_s;
  return zone->create_link(name, params.bytes_per_s)->set_latency(latency_s)->seal();
}

// A link seen from its two ends: `up` carries what leaves a server (or rack), `down` what arrives; one
// shared link unless the link is full duplex.
struct DuplexLink {
  sg4::Link *up, *down;
};
DuplexLink make_duplex_link(sg4::NetZone* zone, const std::string& name, const LinkParams& params) {
  if (!params.full_duplex) {
    sg4::Link* shared = make_link(zone, name, params);
    return {shared, shared};
  }
  return {make_link(zone, name + "-up", params), make_link(zone, name + "-down", params)};
}

// One route each way: `forward` from src to dst, `backward` from dst to src.
void add_routes(sg4::NetZone* zone, simgrid::kernel::routing::NetPoint* src, simgrid::kernel::routing::NetPoint* dst,
                simgrid::kernel::routing::NetPoint* gw_src, simgrid::kernel::routing::NetPoint* gw_dst,
                const std::vector<sg4::Link*>& forward, const std::vector<sg4::Link*>& backward) {
  auto in_route = [](const std::vector<sg4::Link*>& links) {
    std::vector<sg4::LinkInRoute> route;
    for (sg4::Link* link : links) route.emplace_back(link);
    return route;
  };
  zone->add_route(src, dst, gw_src, gw_dst, in_route(forward), false);
  zone->add_route(dst, src, gw_dst, gw_src, in_route(backward), false);
}

}  // namespace

Simulation::Simulation() {
#if AIDC_ADDRESS_SANITIZER
  // SimGrid ends a run by dropping its actors without unwinding their stacks, so whatever they still
  // hold is never freed. LeakSanitizer ignores what this thread allocates while a simulation exists
  // (the actors' threads are covered by scripts/sanitize.supp); before and after, leaks are reported.
  __lsan_disable();
#endif
  std::vector<std::string> args = engine_arguments();
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  int argc = static_cast<int>(argv.size());
  g_engine = std::make_unique<sg4::Engine>(&argc, argv.data());
  g_event_count = 0;
  sg4::Engine::on_time_advance_cb([](double) { ++g_event_count; });
}

Simulation::~Simulation() {
  sg4::Actor::kill_all();
  g_notices.clear();
  g_engine.reset();
#if AIDC_ADDRESS_SANITIZER
  __lsan_enable();
#endif
}

// Root (full routing) holds a frontend zone (users, balancer, border router) and one zone per rack
// (servers and a ToR router). Inter-zone routes cross the rack uplink and the spine.
Platform Simulation::build(const NetworkLayout& layout) {
  Platform platform;
  auto* root = sg4::create_full_zone("datacenter");
  auto* frontend = sg4::create_full_zone("frontend");
  frontend->set_parent(root);
  auto* users = frontend->create_host("users", 1e9);
  auto* balancer = frontend->create_host("balancer", 1e9);
  auto* border = frontend->create_router("border");
  auto* frontend_link = make_link(frontend, "frontend-link", layout.frontend);
  auto* balancer_link = make_link(frontend, "balancer-link", layout.balancer);
  frontend->add_route(users->get_netpoint(), balancer->get_netpoint(), nullptr, nullptr,
                      {sg4::LinkInRoute(frontend_link)});
  frontend->add_route(balancer->get_netpoint(), border, nullptr, nullptr, {sg4::LinkInRoute(balancer_link)});
  frontend->add_route(users->get_netpoint(), border, nullptr, nullptr,
                      {sg4::LinkInRoute(frontend_link), sg4::LinkInRoute(balancer_link)});
  frontend->seal();
  platform.users.host = users;
  platform.balancer.host = balancer;

  auto* spine = make_link(root, "spine", layout.spine);
  struct BuiltRack {
    sg4::NetZone* zone;
    simgrid::kernel::routing::NetPoint* tor;
    DuplexLink uplink;
  };
  std::vector<BuiltRack> racks;
  for (const auto& rack : layout.racks) {
    auto* zone = sg4::create_full_zone(rack.name);
    zone->set_parent(root);
    auto* tor = zone->create_router(rack.name + "-tor");
    std::vector<HostRef> hosts;
    std::vector<DuplexLink> nics;
    for (const auto& server : rack.servers) {
      auto* host = zone->create_host(server, 1e9);
      const DuplexLink nic = make_duplex_link(zone, server + "-nic", rack.server_link);
      add_routes(zone, host->get_netpoint(), tor, nullptr, nullptr, {nic.up}, {nic.down});
      if (hosts.size() < rack.nvlinks.size()) {
        sg4::Link* nvlink = make_link(zone, server + "-nvlink", rack.nvlinks[hosts.size()]);
        zone->add_route(host->get_netpoint(), host->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(nvlink)}, false);
      }
      hosts.push_back({host});
      nics.push_back(nic);
    }
    for (std::size_t a = 0; a < hosts.size(); ++a)
      for (std::size_t b = a + 1; b < hosts.size(); ++b)
        add_routes(zone, hosts[a].host->get_netpoint(), hosts[b].host->get_netpoint(), nullptr, nullptr, {nics[a].up, nics[b].down},
                   {nics[b].up, nics[a].down});
    zone->seal();
    racks.push_back({zone, tor, make_duplex_link(root, rack.name + "-uplink", rack.uplink)});
    platform.servers.push_back(std::move(hosts));
  }
  for (std::size_t a = 0; a < racks.size(); ++a) {
    add_routes(root, racks[a].zone->get_netpoint(), frontend->get_netpoint(), racks[a].tor, border, {racks[a].uplink.up, spine},
               {spine, racks[a].uplink.down});
    for (std::size_t b = a + 1; b < racks.size(); ++b)
      add_routes(root, racks[a].zone->get_netpoint(), racks[b].zone->get_netpoint(), racks[a].tor, racks[b].tor,
                 {racks[a].uplink.up, spine, racks[b].uplink.down}, {racks[b].uplink.up, spine, racks[a].uplink.down});
  }
  root->seal();
  return platform;
}

void Simulation::spawn(const std::string& name, HostRef host, std::function<void()> body, bool daemon) {
  auto actor = sg4::Actor::create(name, host.host, std::move(body));
  if (daemon) actor->daemonize();
}

void Simulation::run_until(double end_time) { g_engine->run_until(end_time); }

long long Simulation::events() const { return g_event_count; }

double now() { return sg4::Engine::get_clock(); }

double transfer_all(const std::vector<Transfer>& transfers) {
  const double start = now();
  std::vector<sg4::CommPtr> comms;
  for (const Transfer& t : transfers)
    comms.push_back(sg4::Comm::sendto_async(t.from.host, t.to.host, static_cast<uint64_t>(t.bytes)));
  sg4::Comm::wait_all(comms);
  return now() - start;
}

void sleep_until(double time) { sg4::this_actor::sleep_until(time); }

void yield() { sg4::this_actor::yield(); }

struct Inbox::PostedReceive {
  std::vector<sg4::ActivityPtr> comms;  // the one posted receive, in the form wait_any_for takes
  Message* slot = nullptr;
};

Inbox::Inbox(const std::string& name) : mailbox_(sg4::Mailbox::by_name(name)), notices_(&g_notices[mailbox_]) {}

Inbox::~Inbox() = default;

void Inbox::post_receive() {
  if (posted_ && !posted_->comms.empty()) return;
  // A permanent receiver lets messages travel while the owner is busy, as a NIC would.
  if (!receiver_set_) {
    mailbox_->set_receiver(sg4::Actor::self());
    receiver_set_ = true;
  }
  if (!posted_) posted_ = std::make_unique<PostedReceive>();
  posted_->comms.assign(1, mailbox_->get_async<Message>(&posted_->slot));
}

std::unique_ptr<Message> Inbox::receive_until(double deadline) {
  post_receive();
  const double timeout = deadline == std::numeric_limits<double>::infinity() ? -1.0 : std::max(0.0, deadline - now());
  if (sg4::Activity::wait_any_for(posted_->comms, timeout) < 0) return nullptr;
  last_arrival_ = posted_->comms.front()->get_finish_time();
  posted_->comms.clear();
  return std::unique_ptr<Message>(posted_->slot);
}

// Through a zero-timeout wait rather than Comm::test(): in SimGrid 3.32 a receive completed by test()
// stays in the receiving actor's activity list, which then grows with every message and makes each
// later completion scan it (quadratic slow-down over a long run).
std::unique_ptr<Message> Inbox::try_receive() { return receive_until(now()); }

void Inbox::deliver(std::unique_ptr<Message> message, double bytes) {
  mailbox_->put_init(message.release(), static_cast<uint64_t>(bytes))
      ->detach([](void* payload) { delete static_cast<Message*>(payload); });
}

void Inbox::notify(std::unique_ptr<Message> message) { notices_->push_back(std::move(message)); }

std::unique_ptr<Message> Inbox::take_notice() {
  if (notices_->empty()) return nullptr;
  std::unique_ptr<Message> notice = std::move(notices_->front());
  notices_->pop_front();
  return notice;
}

}  // namespace aidc::des
