#pragma once
// The only door to SimGrid. Everything else in aidc talks to the discrete-event engine through
// these few types, so a SimGrid upgrade touches this folder alone.
#include <deque>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace simgrid::s4u {
class Host;
class Mailbox;
class Comm;
}  // namespace simgrid::s4u

namespace aidc::des {

// Base of every typed message actors exchange.
struct Message {
  virtual ~Message() = default;
};

struct LinkParams {
  double bytes_per_s = 1e9;
  double latency_s = 1e-6;
  // Full duplex: each direction has bytes_per_s of its own (a NIC or switch port); else both share it.
  bool full_duplex = false;
};

struct RackLayout {
  std::string name;
  std::vector<std::string> servers;
  LinkParams server_link;  // each server's NIC to the top-of-rack switch
  LinkParams uplink;       // the ToR's uplinks to the spine, aggregated (oversubscription lives here)
  // Per server, from the first: a loopback carrying transfers between the server's own GPUs (NVLink);
  // a server without one cannot send to itself.
  std::vector<LinkParams> nvlinks;
};

// Users reach the load balancer over the frontend link; the balancer reaches racks through a
// border router and the spine; responses take the reverse path (the balancer is a proxy).
struct NetworkLayout {
  LinkParams frontend;
  LinkParams balancer;
  LinkParams spine;
  std::vector<RackLayout> racks;
};

struct HostRef {
  simgrid::s4u::Host* host = nullptr;
};

struct Platform {
  HostRef users, balancer;
  std::vector<std::vector<HostRef>> servers;  // [rack][server]
};

// Bytes from one server to another.
struct Transfer {
  HostRef from, to;
  double bytes = 0;
};
// Starts every transfer now and returns when the last has arrived: the seconds they took together on
// the platform's links, contention included. Called from an actor.
double transfer_all(const std::vector<Transfer>& transfers);

class Simulation {
 public:
  Simulation();  // one per process: SimGrid allows a single engine
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  Platform build(const NetworkLayout& layout);
  // The simulation ends when the last non-daemon actor returns; daemons are stopped then.
  void spawn(const std::string& name, HostRef host, std::function<void()> body, bool daemon = true);
  void run_until(double end_time);
  long long events() const;  // distinct event times the engine processed
};

double now();
void sleep_until(double time);
// Lets every other actor ready at this instant run first.
void yield();

// A named mailbox with one receive kept posted, so messages flow while its owner is busy.
class Inbox {
 public:
  explicit Inbox(const std::string& name);
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Waits for a message until `deadline` (simulated seconds); nullptr when the deadline passes first.
  std::unique_ptr<Message> receive_until(double deadline = std::numeric_limits<double>::infinity());
  // A message that has already arrived, or nullptr.
  std::unique_ptr<Message> try_receive();
  // When the last message received finished crossing the network (its owner may take it later).
  double last_arrival() const { return last_arrival_; }
  // Sends without waiting; `bytes` on the wire between the sender's host and the receiver's.
  void deliver(std::unique_ptr<Message> message, double bytes);

  // Notices: messages that take no network time and wake nobody. They carry what a component learns
  // beside an exchange the model already times (the balancer counting a response that passes it, a
  // health check's verdict, the facility setting a replica's clock): the owner reads them with
  // take_notice() before its next decision, so each acts at the simulated time it was sent.
  void notify(std::unique_ptr<Message> message);
  std::unique_ptr<Message> take_notice();  // the oldest notice, or nullptr

 private:
  void post_receive();
  struct PostedReceive;
  simgrid::s4u::Mailbox* mailbox_;
  std::deque<std::unique_ptr<Message>>* notices_;  // shared by every Inbox of this name
  std::unique_ptr<PostedReceive> posted_;
  bool receiver_set_ = false;
  double last_arrival_ = 0;
};

}  // namespace aidc::des
