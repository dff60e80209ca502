#include "relais/sync/protocol.h"

#include <nlohmann/json.hpp>

namespace relais::sync {
namespace {

using nlohmann::json;

json changes_json(const std::vector<store::Change>& changes) {
  json a = json::array();
  for (const auto& c : changes) a.push_back(store::change_to_json(c));
  return a;
}

Result<std::vector<store::Change>> changes_from(const json& j, const schema::Schema& schema) {
  if (!j.is_array()) return make_error(Errc::protocol_malformed, "'changes' must be an array");
  std::vector<store::Change> out;
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    auto c = store::change_from_json(j[i], schema);
    if (!c)
      return make_error(c.error().code, "change " + std::to_string(i) + ": " + c.error().message);
    out.push_back(std::move(c).value());
  }
  return out;
}

// Typed member access that throws json::exception on absence or wrong type;
// decode() turns it into protocol_malformed naming the member.
template <class T>
T member(const json& j, const char* key) {
  return j.at(key).get<T>();
}

json erasures_json(const std::vector<ErasureNotice>& erasures) {
  json a = json::array();
  for (const auto& e : erasures) a.push_back({{"id", e.id}, {"person", e.person}});
  return a;
}

std::vector<ErasureNotice> erasures_from(const json& j) {
  std::vector<ErasureNotice> out;
  for (const auto& e : j.at("erasures"))
    out.push_back({member<std::string>(e, "id"), member<std::string>(e, "person")});
  return out;
}

struct Encoder {
  json operator()(const Hello& m) const {
    return {{"type", "hello"},      {"protocol", m.protocol}, {"schema_version", m.schema_version},
            {"replica", m.replica}, {"device", m.device},     {"credential", m.credential}};
  }
  json operator()(const Enroll& m) const {
    return {{"type", "enroll"},
            {"protocol", m.protocol},
            {"schema_version", m.schema_version},
            {"replica", m.replica},
            {"code", m.code}};
  }
  json operator()(const Push& m) const {
    return {{"type", "push"}, {"batch", m.batch}, {"changes", changes_json(m.changes)}};
  }
  json operator()(const Pull& m) const { return {{"type", "pull"}, {"cursor", m.cursor}}; }
  json operator()(const Welcome& m) const {
    json out{{"type", "welcome"},
             {"protocol", m.protocol},
             {"schema_version", m.schema_version},
             {"server", m.server},
             {"device", m.device},
             {"site", m.site},
             {"central", m.central},
             {"knowledge", store::knowledge_to_json(m.knowledge)},
             {"feed", m.feed},
             {"erasures", erasures_json(m.erasures)},
             {"max_offline_days", m.max_offline_days}};
    if (m.accounts) {
      json a = json::array();
      for (const auto& acc : *m.accounts)
        a.push_back({{"user", acc.user},
                     {"role", acc.role},
                     {"site", acc.site},
                     {"verifier", acc.verifier}});
      out["accounts"] = std::move(a);
    }
    return out;
  }
  json operator()(const Receipt& m) const {
    return {{"type", "receipt"}, {"erasures", m.erasures}};
  }
  json operator()(const Access& m) const {
    json a = json::array();
    for (const auto& e : m.entries)
      a.push_back({{"seq", e.seq},
                   {"at", e.at},
                   {"user", e.user},
                   {"device", e.device},
                   {"person", e.person},
                   {"action", e.action},
                   {"prev", e.prev},
                   {"hash", e.hash}});
    return {{"type", "access"}, {"entries", std::move(a)}};
  }
  json operator()(const AccessAck& m) const {
    return {{"type", "access_ack"}, {"through", m.through}};
  }
  json operator()(const Enrolled& m) const {
    return {{"type", "enrolled"},         {"server", m.server}, {"device", m.device},
            {"credential", m.credential}, {"site", m.site},     {"user", m.user},
            {"central", m.central}};
  }
  json operator()(const Ack& m) const {
    return {{"type", "ack"},
            {"batch", m.batch},
            {"applied", m.applied},
            {"duplicates", m.duplicates},
            {"purged", m.purged}};
  }
  json operator()(const Changes& m) const {
    return {{"type", "changes"},
            {"changes", changes_json(m.changes)},
            {"cursor", m.cursor},
            {"caught_up", m.caught_up}};
  }
  json operator()(const ErrorReply& m) const {
    return {{"type", "error"},           {"code", static_cast<int>(m.code)},
            {"name", errc_name(m.code)}, {"message", m.message},
            {"fatal", m.fatal},          {"batch", m.batch}};
  }
};

Result<Message> decode_fields(const std::string& type, const json& j,
                              const schema::Schema& schema) {
  if (type == "hello")
    return Message(Hello{member<int>(j, "protocol"), member<int>(j, "schema_version"),
                         member<std::string>(j, "replica"), member<std::string>(j, "device"),
                         member<std::string>(j, "credential")});
  if (type == "enroll")
    return Message(Enroll{member<int>(j, "protocol"), member<int>(j, "schema_version"),
                          member<std::string>(j, "replica"), member<std::string>(j, "code")});
  if (type == "push") {
    auto changes = changes_from(j.at("changes"), schema);
    if (!changes) return changes.error();
    return Message(Push{member<std::uint64_t>(j, "batch"), std::move(changes).value()});
  }
  if (type == "pull") return Message(Pull{member<std::uint64_t>(j, "cursor")});
  if (type == "welcome") {
    auto k = store::knowledge_from_json(j.at("knowledge"));
    if (!k) return k.error();
    Welcome w{member<int>(j, "protocol"),
              member<int>(j, "schema_version"),
              member<std::string>(j, "server"),
              member<std::string>(j, "device"),
              member<std::string>(j, "site"),
              member<bool>(j, "central"),
              std::move(k).value(),
              member<std::string>(j, "feed"),
              erasures_from(j),
              j.value("max_offline_days", 0),
              std::nullopt};
    if (j.contains("accounts")) {
      w.accounts.emplace();
      for (const auto& a : j.at("accounts"))
        w.accounts->push_back({member<std::string>(a, "user"), member<std::string>(a, "role"),
                               member<std::string>(a, "site"), member<std::string>(a, "verifier")});
    }
    return Message(std::move(w));
  }
  if (type == "enrolled")
    return Message(Enrolled{member<std::string>(j, "server"), member<std::string>(j, "device"),
                            member<std::string>(j, "credential"), member<std::string>(j, "site"),
                            member<std::string>(j, "user"), member<bool>(j, "central")});
  if (type == "ack")
    return Message(Ack{member<std::uint64_t>(j, "batch"), member<std::size_t>(j, "applied"),
                       member<std::size_t>(j, "duplicates"), member<std::size_t>(j, "purged")});
  if (type == "access") {
    Access a;
    for (const auto& e : j.at("entries"))
      a.entries.push_back({member<std::uint64_t>(e, "seq"), member<std::string>(e, "at"),
                           member<std::string>(e, "user"), member<std::string>(e, "device"),
                           member<std::string>(e, "person"), member<std::string>(e, "action"),
                           member<std::string>(e, "prev"), member<std::string>(e, "hash")});
    return Message(std::move(a));
  }
  if (type == "access_ack") return Message(AccessAck{member<std::uint64_t>(j, "through")});
  if (type == "receipt") return Message(Receipt{member<std::vector<std::string>>(j, "erasures")});
  if (type == "changes") {
    auto changes = changes_from(j.at("changes"), schema);
    if (!changes) return changes.error();
    return Message(Changes{std::move(changes).value(), member<std::uint64_t>(j, "cursor"),
                           member<bool>(j, "caught_up")});
  }
  if (type == "error")
    return Message(ErrorReply{static_cast<Errc>(member<int>(j, "code")),
                              member<std::string>(j, "message"), member<bool>(j, "fatal"),
                              j.value("batch", std::uint64_t{0})});
  return make_error(Errc::unknown_message, "unknown message type '" + type + "'");
}

}  // namespace

std::string encode(const Message& message) {
  return std::visit(Encoder{}, message).dump();
}

Result<Message> decode(std::string_view text, const schema::Schema& schema) {
  if (text.size() > kMaxMessageBytes)
    return make_error(Errc::message_too_large,
                      "message of " + std::to_string(text.size()) + " bytes exceeds the limit");
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return make_error(Errc::protocol_malformed, "message is not valid JSON");
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return make_error(Errc::protocol_malformed, "message needs a string member 'type'");
  const std::string type = j["type"].get<std::string>();
  try {
    return decode_fields(type, j, schema);
  } catch (const nlohmann::json::exception& e) {
    return make_error(Errc::protocol_malformed,
                      "'" + type + "' message: missing or mistyped member (" + e.what() + ")");
  }
}

std::string_view type_name(const Message& message) {
  static constexpr std::string_view kNames[] = {"hello",   "enroll",   "push",   "pull",
                                                "welcome", "enrolled", "ack",    "changes",
                                                "error",   "receipt",  "access", "access_ack"};
  return kNames[message.index()];
}

}  // namespace relais::sync
