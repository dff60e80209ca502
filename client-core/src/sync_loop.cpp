// transport::watch: the reconnecting loop of a live replica.
#include <random>
#include <thread>

#include "relais/transport/sync_conversation.h"

namespace relais::transport {
namespace {

// Refusals that the same replica would meet again at once: a person must act
// (update Relais, enroll again, add the author's user on the server, move
// the records back to their site) before a retry can go through.
bool retrying_cannot_help(Errc code) {
  return code == Errc::not_enrolled || code == Errc::device_revoked ||
         code == Errc::bad_credential || code == Errc::wrong_server ||
         code == Errc::protocol_version || code == Errc::client_schema_older ||
         code == Errc::client_schema_newer || code == Errc::out_of_scope ||
         code == Errc::author_not_allowed || code == Errc::op_id_overlap;
}

std::chrono::milliseconds next_backoff(std::chrono::milliseconds previous, std::mt19937& rng) {
  const auto ceiling = std::min<std::chrono::milliseconds>(previous * 2, std::chrono::seconds(30));
  std::uniform_int_distribution<long> pick(ceiling.count() / 2, ceiling.count());
  return std::chrono::milliseconds(pick(rng));
}

}  // namespace

Status watch(store::Replica& replica, const ClientOptions& options, const WatchEvents& events) {
  const auto url = replica.setting(std::string(sync::kServerUrlKey));
  if (!url)
    return make_error(Errc::not_enrolled, "this replica is not enrolled (run `relais enroll`)");
  auto stopped = [&] { return options.stop && options.stop->load(); };
  std::mt19937 rng(std::random_device{}());
  std::chrono::milliseconds backoff(250);
  while (!stopped()) {
    sync::ClientSession session(replica);
    SyncConversation conversation(session, true, events.in_sync);
    Status s = converse(*url, conversation, options);
    // An erasure's clean-up that another reader blocked: try again now.
    if (session.needs_compact()) (void)replica.compact();
    if (stopped()) break;
    if (!s && retrying_cannot_help(s.error().code)) return s;
    if (session.in_sync()) backoff = std::chrono::milliseconds(250);
    backoff = next_backoff(backoff, rng);
    if (events.disconnected)
      events.disconnected(s ? std::nullopt : std::optional<Error>(s.error()), backoff);
    const auto until = std::chrono::steady_clock::now() + backoff;
    while (!stopped() && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::Ok();
}

}  // namespace relais::transport
