#include "relais/sync/client.h"

namespace relais::sync {
namespace {

Error from_reply(const ErrorReply& e) {
  return make_error(e.code, "server: " + e.message);
}

std::string key(std::string_view k) {
  return std::string(k);
}

}  // namespace

ClientSession::ClientSession(store::Replica& replica, std::size_t batch_ops)
    : replica_(replica), batch_ops_(batch_ops) {}

Result<std::string> ClientSession::start() {
  auto device = replica_.setting(key(kDeviceKey));
  auto credential = replica_.setting(key(kCredentialKey));
  if (!device || !credential)
    return make_error(Errc::not_enrolled,
                      "this replica is not enrolled with a server (run `relais enroll` first)");
  welcomed_ = pushed_all_ = caught_up_ = false;
  in_flight_.reset();
  outbox_.reset();
  return encode(Hello{kProtocolVersion, replica_.info().schema_version, replica_.info().replica_id,
                      *device, *credential});
}

Result<std::vector<std::string>> ClientSession::receive(std::string_view text) {
  auto message = decode(text, replica_.schema());
  if (!message) return message.error();
  if (auto* e = std::get_if<ErrorReply>(&*message)) return from_reply(*e);
  if (!welcomed_ && !std::holds_alternative<Welcome>(*message))
    return make_error(Errc::unexpected_message,
                      "expected 'welcome', got '" + std::string(type_name(*message)) + "'");
  if (auto* w = std::get_if<Welcome>(&*message)) return on_welcome(*w);
  if (auto* a = std::get_if<Ack>(&*message)) return on_ack(*a);
  if (auto* c = std::get_if<Changes>(&*message)) return on_changes(*c);
  return make_error(Errc::unexpected_message,
                    "unexpected '" + std::string(type_name(*message)) + "' from the server");
}

Result<std::vector<std::string>> ClientSession::on_welcome(const Welcome& w) {
  if (welcomed_) return make_error(Errc::unexpected_message, "a second 'welcome'");
  const auto pinned = replica_.setting(key(kServerIdKey));
  if (pinned && *pinned != w.server)
    return make_error(Errc::wrong_server, "the server is " + w.server +
                                              ", but this replica is enrolled with " + *pinned);
  welcomed_ = true;
  // A cursor counts in one feed: after the server's store was restored from
  // a backup, its feed has a new id and positions start over, so pull all
  // again (what is already held is skipped).
  if (replica_.setting(key(kFeedKey)) != w.feed)
    if (Status s = replica_.set_settings({{key(kFeedKey), w.feed}, {key(kCursorKey), "0"}}); !s)
      return s.error();
  outbox_ = std::make_unique<exchange::Outbox>(replica_, w.knowledge, batch_ops_);
  const auto cursor = replica_.setting(key(kCursorKey));
  auto out = push_next();
  if (!out) return out;
  out->push_back(encode(Pull{cursor ? std::stoull(*cursor) : 0}));
  return out;
}

Result<std::vector<std::string>> ClientSession::push_next() {
  std::vector<std::string> out;
  if (in_flight_) return out;
  auto batch = outbox_->next();
  if (!batch) return batch.error();
  if (!*batch) {
    pushed_all_ = true;
    return out;
  }
  pushed_all_ = false;
  in_flight_ = next_batch_++;
  in_flight_changes_ = (*batch)->size();
  out.push_back(encode(Push{*in_flight_, std::move(**batch)}));
  return out;
}

Result<std::vector<std::string>> ClientSession::on_ack(const Ack& a) {
  if (!in_flight_ || a.batch != *in_flight_)
    return make_error(Errc::unexpected_message,
                      "acknowledgement of batch " + std::to_string(a.batch) + ", not in flight");
  in_flight_.reset();
  counts_.pushed += in_flight_changes_;
  return push_next();
}

Result<std::vector<std::string>> ClientSession::on_changes(Changes& c) {
  // The cursor is written in the same transaction as the changes: a crash
  // never skips nor repeats a batch.
  auto stats = replica_.apply(c.changes, {{key(kCursorKey), std::to_string(c.cursor)}});
  if (!stats) return stats.error();
  counts_.pulled += c.changes.size();
  counts_.pulled_new += stats->applied;
  caught_up_ = c.caught_up;
  return std::vector<std::string>();
}

Result<std::vector<std::string>> ClientSession::local_changed() {
  if (!welcomed_) return std::vector<std::string>();
  return push_next();
}

Enrollment::Enrollment(store::Replica& replica, std::string server_url, std::string code)
    : replica_(replica), server_url_(std::move(server_url)), code_(std::move(code)) {}

std::string Enrollment::start() const {
  return encode(
      Enroll{kProtocolVersion, replica_.info().schema_version, replica_.info().replica_id, code_});
}

Result<Enrolled> Enrollment::receive(std::string_view text) {
  auto message = decode(text, replica_.schema());
  if (!message) return message.error();
  if (auto* e = std::get_if<ErrorReply>(&*message)) return from_reply(*e);
  auto* enrolled = std::get_if<Enrolled>(&*message);
  if (!enrolled)
    return make_error(Errc::unexpected_message,
                      "expected 'enrolled', got '" + std::string(type_name(*message)) + "'");
  Status s = replica_.set_settings({{key(kServerUrlKey), server_url_},
                                    {key(kServerIdKey), enrolled->server},
                                    {key(kDeviceKey), enrolled->device},
                                    {key(kCredentialKey), enrolled->credential},
                                    {key(kCursorKey), "0"}});
  if (!s) return s.error();
  return *enrolled;
}

}  // namespace relais::sync
