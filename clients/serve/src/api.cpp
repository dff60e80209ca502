// The JSON API of `relais serve`: docs/api.md is its specification.
//
// One mutex guards the replica, the sessions and the login counters: the
// replica is one SQLite connection, and requests are short. The slow part
// of a login (PBKDF2) runs outside it.
#include "relais/serve/api.h"

#include <openssl/rand.h>

#include <algorithm>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "relais/schema/validate.h"
#include "relais/store/consent.h"
#include "relais/store/replica.h"
#include "relais/sync/accounts.h"
#include "relais/sync/client.h"

namespace relais::serve {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::string_view kSessionCookie = "relais_session";
constexpr std::string_view kCsrfHeader = "x-relais-csrf";
constexpr std::size_t kMaxList = 500;
constexpr std::size_t kMaxSearch = 100;
constexpr std::size_t kMaxRelated = 1000;

// The HTTP status that fits an error of the registry (docs/api.md).
int http_status(Errc code) {
  const int n = static_cast<int>(code);
  if (code == Errc::unknown_record || code == Errc::record_deleted ||
      code == Errc::no_such_conflict)
    return 404;
  if (n >= 100 && n < 200) return 400;
  if (n >= 700 && n < 800) return 409;
  if (code == Errc::erased_record) return 410;
  if (code == Errc::offline_too_long) return 423;
  if (code == Errc::role_required) return 403;
  if (code == Errc::store_busy) return 503;
  return 500;
}

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json; charset=utf-8");
  r.headers.emplace_back("Cache-Control", "no-store");
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

HttpResponse no_content() {
  HttpResponse r;
  r.status = 204;
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

HttpResponse refusal(int status, std::string_view name, Errc code, const std::string& message,
                     const std::string& field = "") {
  json e{{"code", static_cast<int>(code)}, {"name", name}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  return json_response(status, {{"error", e}});
}

// The field an error of the model names: "person.last_name is required",
// "unknown field 'x' for person", "person.email: ...".
std::string field_named(const std::string& entity, const std::string& message) {
  const std::string prefix = entity + ".";
  if (message.rfind(prefix, 0) == 0) {
    std::size_t end = prefix.size();
    while (end < message.size() && (std::isalnum(message[end] & 0xff) || message[end] == '_'))
      ++end;
    return message.substr(prefix.size(), end - prefix.size());
  }
  const std::string quoted = "field '";
  if (auto at = message.find(quoted); at != std::string::npos) {
    const auto from = at + quoted.size();
    if (auto to = message.find('\'', from); to != std::string::npos)
      return message.substr(from, to - from);
  }
  return "";
}

HttpResponse failure(const Error& e, const std::string& entity = "") {
  return refusal(http_status(e.code), errc_name(e.code), e.code, e.message,
                 entity.empty() ? "" : field_named(entity, e.message));
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && s[i] == '+') ? ' ' : s[i];
  }
  return out;
}

std::map<std::string, std::string> parse_query(std::string_view query) {
  std::map<std::string, std::string> out;
  std::size_t start = 0;
  while (start <= query.size()) {
    auto end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const auto pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const auto eq = pair.find('=');
      out[percent_decode(pair.substr(0, eq), true)] =
          eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1), true);
    }
    start = end + 1;
  }
  return out;
}

std::string cookie_value(const std::string& header, std::string_view name) {
  std::size_t start = 0;
  while (start < header.size()) {
    auto end = header.find(';', start);
    if (end == std::string::npos) end = header.size();
    auto item = std::string_view(header).substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    if (item.size() > name.size() && item.substr(0, name.size()) == name &&
        item[name.size()] == '=')
      return std::string(item.substr(name.size() + 1));
    start = end + 1;
  }
  return "";
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1)
    throw std::runtime_error("no random bytes");
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : buf) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

// Today's date where the counsellor is: the machine's local time.
std::string today() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[11];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

json record_json(const store::Record& r) {
  return {{"entity", r.entity}, {"id", r.id}, {"deleted", r.deleted}, {"fields", r.fields}};
}

json person_summary(const store::Record& r) {
  json out{{"id", r.id}};
  for (const char* f : {"first_name", "last_name", "phone", "email", "birth_date", "commune"})
    out[f] = r.fields.value(f, json());
  return out;
}

std::string person_name(const store::Record& r) {
  return r.fields.value("first_name", std::string()) + " " +
         r.fields.value("last_name", std::string());
}

json consent_entry_json(const store::ConsentEntry& e) {
  json out{{"id", e.id},
           {"purpose", e.purpose},
           {"status", e.status},
           {"captured_at", e.captured_at},
           {"method", e.method},
           {"collected_by", e.collected_by},
           {"device", e.device},
           {"notice_language", e.notice_language},
           {"notice_hash", e.notice_hash},
           {"guardian_name", e.guardian_name},
           {"guardian_relation", e.guardian_relation},
           {"minor", e.minor},
           {"incomplete", e.incomplete}};
  out["notice_version"] = e.notice_version ? json(*e.notice_version) : json();
  return out;
}

json consent_state_json(const store::ConsentState& s) {
  return {{"purpose", s.purpose},
          {"status", s.latest ? s.latest->status : "none"},
          {"incomplete", s.incomplete()},
          {"allows_processing", s.allows_processing()},
          {"captured_at", s.latest ? json(s.latest->captured_at) : json()}};
}

std::string content_type(const fs::path& p) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  auto it = kTypes.find(p.extension().string());
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

bool may_read_records(const std::string& role) {
  return role == "counsellor" || role == "site_manager" || role == "central";
}
bool may_delete(const std::string& role) {
  return role == "site_manager" || role == "central";
}

struct Session {
  std::string user;
  std::string role;
  std::string site;
  std::string csrf;
  Clock::time_point expires;
};

json session_json(const Session& s) {
  return {{"user", s.user}, {"role", s.role}, {"site", s.site}, {"csrf", s.csrf}};
}

// A request being served: its parts, decoded.
struct Call {
  const HttpRequest& http;
  std::vector<std::string> parts;  // path segments after /api
  std::map<std::string, std::string> query;
  const Session* session = nullptr;
  json body;

  const std::string& method() const { return http.method; }
  bool is(std::string_view m, std::initializer_list<std::string_view> path) const {
    if (http.method != m || parts.size() != path.size()) return false;
    std::size_t i = 0;
    for (auto p : path) {
      if (p != "*" && parts[i] != p) return false;
      ++i;
    }
    return true;
  }
};

Result<std::size_t> limit_of(const Call& c, std::size_t fallback, std::size_t max) {
  auto it = c.query.find("limit");
  if (it == c.query.end() || it->second.empty()) return fallback;
  std::size_t n = 0;
  for (char ch : it->second) {
    if (ch < '0' || ch > '9' || n > 1000000)
      return make_error(Errc::invalid_argument, "limit must be a number, not '" + it->second + "'");
    n = n * 10 + static_cast<std::size_t>(ch - '0');
  }
  return std::min(n, max);
}

}  // namespace

struct Api::Impl {
  ApiOptions options;
  std::function<SyncState()> sync_state;
  std::mutex mutex;
  std::unique_ptr<store::Replica> replica;
  std::map<std::string, Session> sessions;
  std::map<std::string, std::deque<Clock::time_point>> failures;  // "user:x" or "addr:y"

  HttpResponse handle(const HttpRequest& request);
  HttpResponse login(const HttpRequest& request);
  HttpResponse serve_file(const HttpRequest& request);
  HttpResponse route(Call& c);

  bool locked_out(const std::string& key, Clock::time_point now, Clock::time_point* until);
  void note_failure(const std::string& key, Clock::time_point now);

  HttpResponse model();
  HttpResponse list_records(Call& c, const std::string& entity);
  HttpResponse get_record(const std::string& entity, const std::string& id);
  HttpResponse create_record(Call& c, const std::string& entity);
  HttpResponse update_record(Call& c, const std::string& entity, const std::string& id);
  HttpResponse delete_record(Call& c, const std::string& entity, const std::string& id);
  HttpResponse capture(Call& c);
  HttpResponse search(Call& c);
  HttpResponse person_file(const std::string& id);
  HttpResponse event_persons(const std::string& id);
  HttpResponse pipeline();
  HttpResponse advance(Call& c, const std::string& id);
  HttpResponse tasks_today(Call& c);
  HttpResponse consent(const std::string& person);
  HttpResponse give_consent(Call& c, const std::string& person);
  HttpResponse withdraw_consent(Call& c, const std::string& person);
  HttpResponse conflicts();
  HttpResponse settle(Call& c);
  HttpResponse sync();

  // Checks every field of `fields` against `entity` (and required fields
  // for a new record): the normalised fields, or the refusal naming the
  // first field at fault.
  Result<json> checked_fields(const schema::Entity& entity, const json& fields, bool creating);
  Status reads(const std::vector<store::Record>& records, std::string_view action) {
    return sync::record_reads(*replica, records, action);
  }
};

Result<json> Api::Impl::checked_fields(const schema::Entity& entity, const json& fields,
                                       bool creating) {
  if (!fields.is_object())
    return make_error(Errc::invalid_argument, "'fields' must be an object of field names");
  auto normalized = schema::normalize_fields(entity, fields);
  if (!normalized) return normalized.error();
  json out = std::move(normalized).value();
  if (creating) {
    json with_site = out;
    if (auto site = schema::Schema::find_field(entity, "site"); site && !with_site.contains("site"))
      with_site["site"] = replica->info().site;
    if (Status s = schema::check_required(entity, with_site); !s) return s.error();
  }
  return out;
}

bool Api::Impl::locked_out(const std::string& key, Clock::time_point now,
                           Clock::time_point* until) {
  auto it = failures.find(key);
  if (it == failures.end()) return false;
  auto& times = it->second;
  while (!times.empty() && now - times.front() > options.login_window) times.pop_front();
  if (static_cast<int>(times.size()) < options.max_login_failures) return false;
  *until = std::max(*until, times.front() + options.login_window);
  return true;
}

void Api::Impl::note_failure(const std::string& key, Clock::time_point now) {
  failures[key].push_back(now);
}

HttpResponse Api::Impl::login(const HttpRequest& request) {
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.value("user", json()).is_string() ||
      !body.value("password", json()).is_string())
    return refusal(400, "bad_request", Errc::invalid_argument,
                   "a login is {\"user\": ..., \"password\": ...}");
  const std::string user = body["user"];
  const std::string password = body["password"];
  const auto now = Clock::now();
  const std::string user_key = "user:" + user, addr_key = "addr:" + request.peer;
  std::optional<sync::Account> account;
  {
    std::lock_guard lock(mutex);
    Clock::time_point until = now;
    const bool user_out = locked_out(user_key, now, &until);
    const bool addr_out = locked_out(addr_key, now, &until);
    if (user_out || addr_out) {
      auto r = refusal(429, "too_many_attempts", Errc::bad_credential,
                       "too many failed logins; try again later");
      const auto wait = std::chrono::duration_cast<std::chrono::seconds>(until - now).count() + 1;
      r.headers.emplace_back("Retry-After", std::to_string(wait));
      return r;
    }
    auto accounts = sync::Accounts::open(*replica);
    if (!accounts) return failure(accounts.error());
    auto found = accounts->find(user);
    if (!found) return failure(found.error());
    account = *found;
  }
  // Slow on purpose, and outside the lock. An unknown user costs the same
  // time as a wrong password, so the answer does not tell them apart.
  static const std::string kDecoy = [] {
    auto v = sync::make_password_verifier("not a password of anyone");
    return v ? *v : std::string();
  }();
  const bool ok = sync::check_password(account ? account->verifier : kDecoy, password) && account;
  std::lock_guard lock(mutex);
  if (!ok) {
    note_failure(user_key, now);
    note_failure(addr_key, now);
    return refusal(401, "bad_credentials", Errc::bad_credential, "wrong user name or password");
  }
  failures.erase(user_key);
  // Expired sessions go when a new one comes.
  std::erase_if(sessions, [&](const auto& s) { return s.second.expires < now; });
  Session s{account->user, account->role, account->site, random_hex(32),
            now + options.session_lifetime};
  const std::string token = random_hex(32);
  sessions[token] = s;
  auto r = json_response(200, session_json(s));
  r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) + "=" + token +
                                           "; Path=/; HttpOnly; SameSite=Strict" +
                                           (request.tls ? "; Secure" : ""));
  return r;
}

HttpResponse Api::Impl::handle(const HttpRequest& request) {
  if (request.path.rfind("/api/", 0) != 0 && request.path != "/api") return serve_file(request);
  Call c{request, {}, parse_query(request.query), nullptr, json()};
  {
    std::string_view rest = std::string_view(request.path).substr(4);
    while (!rest.empty()) {
      rest.remove_prefix(1);
      const auto slash = rest.find('/');
      c.parts.push_back(percent_decode(rest.substr(0, slash), false));
      rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    }
  }
  if (c.is("POST", {"login"})) return login(request);

  const std::string token = cookie_value(request.header("cookie"), kSessionCookie);
  std::lock_guard lock(mutex);
  auto it = sessions.find(token);
  if (token.empty() || it == sessions.end() || it->second.expires < Clock::now()) {
    if (it != sessions.end()) sessions.erase(it);
    return refusal(401, "not_logged_in", Errc::unknown_user, "log in first");
  }
  c.session = &it->second;
  if (request.method != "GET" && request.method != "HEAD") {
    if (request.header(kCsrfHeader) != it->second.csrf)
      return refusal(403, "csrf", Errc::bad_credential,
                     "this request lacks the session's CSRF token (header X-Relais-CSRF)");
    const std::string& origin = request.header("origin");
    if (!origin.empty()) {
      const std::string expected =
          std::string(request.tls ? "https://" : "http://") + request.header("host");
      if (origin != expected)
        return refusal(403, "csrf", Errc::bad_credential,
                       "a request from another origin (" + origin + ") is refused");
    }
  }
  if (c.is("POST", {"logout"})) {
    sessions.erase(it);
    auto r = no_content();
    r.headers.emplace_back("Set-Cookie", std::string(kSessionCookie) +
                                             "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    return r;
  }
  if (c.is("GET", {"session"})) return json_response(200, session_json(it->second));
  if (!request.body.empty()) {
    c.body = json::parse(request.body, nullptr, false);
    if (c.body.is_discarded() || !c.body.is_object())
      return refusal(400, "bad_request", Errc::invalid_argument,
                     "the request body must be a JSON object");
  } else {
    c.body = json::object();
  }
  replica->set_user(it->second.user);
  try {
    return route(c);
  } catch (const json::exception& e) {
    return refusal(400, "bad_request", Errc::invalid_argument,
                   std::string("malformed request: ") + e.what());
  }
}

HttpResponse Api::Impl::route(Call& c) {
  if (c.is("GET", {"sync"})) return sync();
  if (c.is("GET", {"model"})) return model();
  if (!may_read_records(c.session->role))
    return refusal(403, "role_required", Errc::role_required,
                   "the role " + c.session->role + " does not work on records in this app");
  const auto& p = c.parts;
  if (!p.empty() && p[0] == "records") {
    if (p.size() < 2 || p.size() > 3)
      return refusal(404, "not_found", Errc::invalid_argument, "no such API path");
    const std::string& entity = p[1];
    auto e = replica->schema().find_entity(entity);
    if (!e) return failure(e.error());
    if (entity == store::kConsentEntity && c.method() != "GET")
      return refusal(400, "bad_request", Errc::append_only,
                     "consent records are written through /api/persons/ID/consent");
    if (c.is("GET", {"records", "*"})) return list_records(c, entity);
    if (c.is("POST", {"records", "*"})) return create_record(c, entity);
    if (c.is("GET", {"records", "*", "*"})) return get_record(entity, p[2]);
    if (c.is("PATCH", {"records", "*", "*"})) return update_record(c, entity, p[2]);
    if (c.is("DELETE", {"records", "*", "*"})) return delete_record(c, entity, p[2]);
    return refusal(405, "method_not_allowed", Errc::invalid_argument,
                   c.method() + " is not allowed here");
  }
  if (c.is("POST", {"capture"})) return capture(c);
  if (c.is("GET", {"search"})) return search(c);
  if (c.is("GET", {"persons", "*", "file"})) return person_file(p[1]);
  if (c.is("GET", {"persons", "*", "consent"})) return consent(p[1]);
  if (c.is("POST", {"persons", "*", "consent"})) return give_consent(c, p[1]);
  if (c.is("POST", {"persons", "*", "consent", "withdraw"})) return withdraw_consent(c, p[1]);
  if (c.is("GET", {"events", "*", "persons"})) return event_persons(p[1]);
  if (c.is("GET", {"pipeline"})) return pipeline();
  if (c.is("POST", {"referrals", "*", "advance"})) return advance(c, p[1]);
  if (c.is("GET", {"tasks", "today"})) return tasks_today(c);
  if (c.is("GET", {"conflicts"})) return conflicts();
  if (c.is("POST", {"conflicts", "settle"})) return settle(c);
  return refusal(404, "not_found", Errc::invalid_argument,
                 "no API route " + c.method() + " " + c.http.path);
}

HttpResponse Api::Impl::model() {
  const auto& schema = replica->schema();
  json entities = json::array();
  for (const auto& e : schema.entities()) {
    json fields = json::array();
    for (const auto& f : e.fields) {
      json jf{{"name", f.name},
              {"type", schema::type_name(f.type)},
              {"required", f.required},
              {"personal", f.personal},
              {"label", {{"fr", f.label.fr}, {"en", f.label.en}}}};
      if (!f.values.empty()) jf["values"] = f.values;
      if (!f.target.empty()) jf["target"] = f.target;
      if (f.max_length) jf["max_length"] = *f.max_length;
      fields.push_back(std::move(jf));
    }
    entities.push_back({{"name", e.name},
                        {"scope", e.scope == schema::Scope::site     ? "site"
                                  : e.scope == schema::Scope::person ? "person"
                                                                     : "shared"},
                        {"label", {{"fr", e.label.fr}, {"en", e.label.en}}},
                        {"append_only", e.append_only},
                        {"fields", std::move(fields)}});
  }
  json purposes = json::array();
  for (const auto& p : schema.purposes()) {
    if (!p.consent_based() || p.notices.empty()) continue;
    const auto& n = p.notices.back();
    purposes.push_back({{"id", p.id},
                        {"label", {{"fr", p.label.fr}, {"en", p.label.en}}},
                        {"notice", {{"version", n.version}, {"fr", n.fr}, {"en", n.en}}}});
  }
  return json_response(200, {{"version", schema.version()},
                             {"site", replica->info().site},
                             {"entities", std::move(entities)},
                             {"consent_purposes", std::move(purposes)}});
}

HttpResponse Api::Impl::list_records(Call& c, const std::string& entity) {
  auto limit = limit_of(c, kMaxList, kMaxList);
  if (!limit) return failure(limit.error());
  auto records = replica->list(entity, *limit);
  if (!records) return failure(records.error());
  if (Status s = reads(*records, "list"); !s) return failure(s.error());
  json out = json::array();
  for (const auto& r : *records) out.push_back(record_json(r));
  return json_response(200, {{"records", std::move(out)}});
}

HttpResponse Api::Impl::get_record(const std::string& entity, const std::string& id) {
  auto rec = replica->get(entity, id);
  if (!rec) return failure(rec.error());
  if (Status s = reads({*rec}, "open"); !s) return failure(s.error());
  return json_response(200, record_json(*rec));
}

HttpResponse Api::Impl::create_record(Call& c, const std::string& entity) {
  const auto* e = replica->schema().entity(entity);
  auto fields = checked_fields(*e, c.body.value("fields", json::object()), true);
  if (!fields) return failure(fields.error(), entity);
  auto id = store::create_record_with_consent(*replica, entity, *fields);
  if (!id) return failure(id.error(), entity);
  return json_response(201, {{"id", *id}});
}

HttpResponse Api::Impl::update_record(Call& c, const std::string& entity, const std::string& id) {
  const auto* e = replica->schema().entity(entity);
  auto fields = checked_fields(*e, c.body.value("fields", json::object()), false);
  if (!fields) return failure(fields.error(), entity);
  if (Status s = replica->update_record(entity, id, *fields); !s) return failure(s.error(), entity);
  return get_record(entity, id);
}

HttpResponse Api::Impl::delete_record(Call& c, const std::string& entity, const std::string& id) {
  if (!may_delete(c.session->role))
    return refusal(403, "role_required", Errc::role_required,
                   "deleting a record needs the role site_manager or central");
  if (Status s = replica->delete_record(entity, id); !s) return failure(s.error(), entity);
  return no_content();
}

HttpResponse Api::Impl::capture(Call& c) {
  const auto& schema = replica->schema();
  const auto* person = schema.entity("person");
  json given = c.body.value("person", json::object());
  auto fields = checked_fields(*person, given, true);
  if (!fields) return failure(fields.error(), "person");
  const std::string event = c.body.value("event", std::string());
  if (!event.empty()) {
    auto ev = replica->get("event", event);
    if (!ev || ev->deleted)
      return refusal(400, "unknown_record", Errc::unknown_record, "no event with id " + event,
                     "event");
    if (!fields->contains("met_at")) (*fields)["met_at"] = event;
    if (!fields->contains("channel")) (*fields)["channel"] = "event";
  }
  if (!fields->contains("counsellor")) (*fields)["counsellor"] = c.session->user;
  // Every consent is checked before anything is written.
  std::vector<store::ConsentRequest> consents;
  const auto* consent_entity = schema.entity(store::kConsentEntity);
  for (const auto& j : c.body.value("consents", json::array())) {
    store::ConsentRequest r;
    r.purpose = j.value("purpose", std::string());
    r.method = j.value("method", std::string("oral_at_event"));
    r.language = j.value("language", std::string("fr"));
    r.guardian_name = j.value("guardian_name", std::string());
    r.guardian_relation = j.value("guardian_relation", std::string());
    if (auto p = store::consent_purpose(schema, r.purpose); !p) return failure(p.error());
    for (const auto& [name, value] :
         {std::pair<const char*, const std::string&>{"method", r.method},
          {"notice_language", r.language}})
      if (auto v = schema::normalize_value(
              *consent_entity, *schema::Schema::find_field(*consent_entity, name).value(), value);
          !v)
        return failure(v.error(), "consent");
    if (r.guardian_name.empty() != r.guardian_relation.empty())
      return refusal(400, "missing_required", Errc::missing_required,
                     "a guardian needs both a name and a relation", "guardian_name");
    if (!r.guardian_relation.empty())
      if (auto v = schema::normalize_value(
              *consent_entity,
              *schema::Schema::find_field(*consent_entity, "guardian_relation").value(),
              r.guardian_relation);
          !v)
        return failure(v.error(), "consent");
    consents.push_back(std::move(r));
  }
  // The person, their consents and their meeting: all of it, or nothing.
  std::string id;
  std::string failed_on;
  Status written = replica->atomically([&]() -> Status {
    failed_on = "person";
    auto made = replica->create_record("person", *fields);
    if (!made) return made.error();
    id = *made;
    failed_on.clear();
    for (auto& r : consents) {
      r.person = id;
      if (auto done = store::give_consent(*replica, r); !done) return done.error();
    }
    if (event.empty()) return Status::Ok();
    json interaction{{"person", id},
                     {"date", today()},
                     {"channel", "event"},
                     {"event", event},
                     {"counsellor", c.session->user}};
    if (auto done = store::create_record_with_consent(*replica, "interaction", interaction); !done)
      return done.error();
    return Status::Ok();
  });
  if (!written) return failure(written.error(), failed_on);
  auto states = store::consent_status(*replica, id);
  if (!states) return failure(states.error());
  json out = json::array();
  for (const auto& s : *states) out.push_back(consent_state_json(s));
  return json_response(201, {{"id", id}, {"consents", std::move(out)}});
}

HttpResponse Api::Impl::search(Call& c) {
  auto limit = limit_of(c, 20, kMaxSearch);
  if (!limit) return failure(limit.error());
  auto found = replica->search("person", c.query["q"], *limit);
  if (!found) return failure(found.error());
  if (Status s = reads(*found, "search"); !s) return failure(s.error());
  json out = json::array();
  for (const auto& r : *found) out.push_back(person_summary(r));
  return json_response(200, {{"persons", std::move(out)}});
}

HttpResponse Api::Impl::person_file(const std::string& id) {
  auto person = replica->get("person", id);
  if (!person) return failure(person.error());
  if (person->deleted)
    return refusal(404, "record_deleted", Errc::record_deleted, "person " + id + " was deleted");
  json out{{"person", record_json(*person)}};
  std::vector<store::Record> shown{*person};
  for (const char* entity : {"interaction", "referral", "task"}) {
    auto related = replica->referring(entity, "person", id, kMaxRelated);
    if (!related) return failure(related.error());
    if (std::string_view(entity) == "interaction")
      std::stable_sort(related->begin(), related->end(), [](const auto& a, const auto& b) {
        return a.fields.value("date", std::string()) > b.fields.value("date", std::string());
      });
    json list = json::array();
    for (const auto& r : *related) list.push_back(record_json(r));
    out[std::string(entity) + "s"] = std::move(list);
  }
  auto states = store::consent_status(*replica, id);
  if (!states) return failure(states.error());
  auto history = store::consent_history(*replica, id);
  if (!history) return failure(history.error());
  auto objections = store::objections(*replica, id);
  if (!objections) return failure(objections.error());
  if (Status s = reads(shown, "open"); !s) return failure(s.error());
  out["consents"] = json::array();
  for (const auto& s : *states) out["consents"].push_back(consent_state_json(s));
  out["consent_history"] = json::array();
  for (const auto& e : *history) out["consent_history"].push_back(consent_entry_json(e));
  out["objections"] = *objections;
  return json_response(200, out);
}

HttpResponse Api::Impl::event_persons(const std::string& id) {
  auto event = replica->get("event", id);
  if (!event) return failure(event.error());
  auto met = replica->referring("person", "met_at", id, kMaxRelated);
  if (!met) return failure(met.error());
  auto interactions = replica->referring("interaction", "event", id, kMaxRelated);
  if (!interactions) return failure(interactions.error());
  std::vector<store::Record> persons = std::move(met).value();
  std::set<std::string> seen;
  for (const auto& p : persons) seen.insert(p.id);
  for (const auto& i : *interactions) {
    const std::string person = i.fields.value("person", std::string());
    if (person.empty() || !seen.insert(person).second) continue;
    if (auto p = replica->get("person", person); p && !p->deleted) persons.push_back(*p);
  }
  if (Status s = reads(persons, "list"); !s) return failure(s.error());
  json out = json::array();
  for (const auto& p : persons) out.push_back(person_summary(p));
  return json_response(200, {{"event", record_json(*event)}, {"persons", std::move(out)}});
}

HttpResponse Api::Impl::pipeline() {
  const auto* referral = replica->schema().entity("referral");
  const auto& stages = schema::Schema::find_field(*referral, "stage").value()->values;
  auto referrals = replica->list("referral", 100000);
  if (!referrals) return failure(referrals.error());
  std::map<std::string, std::optional<store::Record>> cache;
  auto lookup = [&](const std::string& entity, const std::string& id) -> const store::Record* {
    if (id.empty()) return nullptr;
    auto [it, fresh] = cache.try_emplace(entity + "/" + id);
    if (fresh)
      if (auto r = replica->get(entity, id); r && !r->deleted) it->second = std::move(r).value();
    return it->second ? &*it->second : nullptr;
  };
  std::map<std::string, json> by_stage;
  std::vector<store::Record> shown;
  for (const auto& r : *referrals) {
    const auto* person = lookup("person", r.fields.value("person", std::string()));
    if (!person) continue;
    shown.push_back(*person);
    const std::string stage = r.fields.value("stage", std::string());
    const auto* programme = lookup("programme", r.fields.value("programme", std::string()));
    const auto* partner = lookup("partner", r.fields.value("partner", std::string()));
    by_stage[stage].push_back(
        {{"id", r.id},
         {"person", person->id},
         {"person_name", person_name(*person)},
         {"programme_name", programme ? programme->fields.value("name", json()) : json()},
         {"partner_name", partner ? partner->fields.value("name", json()) : json()},
         {"since", r.fields.value(stage + "_on", json())}});
  }
  if (Status s = reads(shown, "list"); !s) return failure(s.error());
  json out = json::array();
  for (const auto& stage : stages)
    out.push_back(
        {{"stage", stage}, {"referrals", by_stage.count(stage) ? by_stage[stage] : json::array()}});
  return json_response(200, {{"stages", std::move(out)}});
}

HttpResponse Api::Impl::advance(Call& c, const std::string& id) {
  const std::string stage = c.body.value("stage", std::string());
  const auto* referral = replica->schema().entity("referral");
  json fields{{"stage", stage}};
  if (schema::Schema::find_field(*referral, stage + "_on")) fields[stage + "_on"] = today();
  auto checked = checked_fields(*referral, fields, false);
  if (!checked) return failure(checked.error(), "referral");
  if (Status s = replica->update_record("referral", id, *checked); !s)
    return failure(s.error(), "referral");
  return get_record("referral", id);
}

HttpResponse Api::Impl::tasks_today(Call& c) {
  auto tasks = replica->list("task", 100000);
  if (!tasks) return failure(tasks.error());
  const std::string now = today();
  std::vector<store::Record> due;
  for (auto& t : *tasks)
    if (!t.fields.value("done", false) && t.fields.value("due_date", std::string("9")) <= now)
      due.push_back(std::move(t));
  const std::string& me = c.session->user;
  std::stable_sort(due.begin(), due.end(), [&](const auto& a, const auto& b) {
    const bool am = a.fields.value("owner", std::string()) == me;
    const bool bm = b.fields.value("owner", std::string()) == me;
    if (am != bm) return am;
    return a.fields.value("due_date", std::string()) < b.fields.value("due_date", std::string());
  });
  std::vector<store::Record> persons;
  json out = json::array();
  for (const auto& t : due) {
    json j = record_json(t);
    j["overdue"] = t.fields.value("due_date", std::string()) < now;
    j["person_name"] = json();
    if (const std::string pid = t.fields.value("person", std::string()); !pid.empty())
      if (auto p = replica->get("person", pid); p && !p->deleted) {
        j["person_name"] = person_name(*p);
        persons.push_back(std::move(p).value());
      }
    out.push_back(std::move(j));
  }
  if (Status s = reads(persons, "list"); !s) return failure(s.error());
  return json_response(200, {{"tasks", std::move(out)}});
}

HttpResponse Api::Impl::consent(const std::string& person) {
  auto states = store::consent_status(*replica, person);
  if (!states) return failure(states.error());
  auto history = store::consent_history(*replica, person);
  if (!history) return failure(history.error());
  if (auto p = replica->get("person", person); p)
    if (Status s = reads({*p}, "consent"); !s) return failure(s.error());
  json out{{"states", json::array()}, {"history", json::array()}};
  for (const auto& s : *states) out["states"].push_back(consent_state_json(s));
  for (const auto& e : *history) out["history"].push_back(consent_entry_json(e));
  return json_response(200, out);
}

HttpResponse Api::Impl::give_consent(Call& c, const std::string& person) {
  store::ConsentRequest r;
  r.person = person;
  r.purpose = c.body.value("purpose", std::string());
  r.method = c.body.value("method", std::string());
  r.language = c.body.value("language", std::string("fr"));
  r.guardian_name = c.body.value("guardian_name", std::string());
  r.guardian_relation = c.body.value("guardian_relation", std::string());
  if (c.body.contains("notice_version")) r.notice_version = c.body["notice_version"].get<int>();
  auto id = store::give_consent(*replica, r);
  if (!id) return failure(id.error(), "consent");
  return json_response(201, {{"id", *id}});
}

HttpResponse Api::Impl::withdraw_consent(Call& c, const std::string& person) {
  store::WithdrawalRequest r{person, c.body.value("purpose", std::string()),
                             c.body.value("method", std::string())};
  auto id = store::withdraw_consent(*replica, r);
  if (!id) return failure(id.error(), "consent");
  return json_response(201, {{"id", *id}});
}

HttpResponse Api::Impl::conflicts() {
  auto list = replica->conflicts();
  if (!list) return failure(list.error());
  std::vector<store::Record> shown;
  json out = json::array();
  for (const auto& c : *list) {
    json values = json::array();
    for (const auto& v : c.values)
      values.push_back({{"value", v.value}, {"author", v.author}, {"hlc", v.hlc}});
    out.push_back(
        {{"entity", c.entity}, {"record", c.record}, {"field", c.field}, {"values", values}});
    if (auto r = replica->get(c.entity, c.record)) shown.push_back(std::move(r).value());
  }
  if (Status s = reads(shown, "conflicts"); !s) return failure(s.error());
  return json_response(200, {{"conflicts", std::move(out)}});
}

HttpResponse Api::Impl::settle(Call& c) {
  const std::string record = c.body.value("record", std::string());
  const std::string field = c.body.value("field", std::string());
  if (record.empty() || field.empty() || !c.body.contains("value"))
    return refusal(400, "bad_request", Errc::invalid_argument,
                   "settling needs 'record', 'field' and 'value'");
  if (Status s = replica->settle(record, field, c.body["value"]); !s) return failure(s.error());
  return no_content();
}

HttpResponse Api::Impl::sync() {
  SyncState state = sync_state ? sync_state() : SyncState{};
  auto waiting = sync::changes_waiting(*replica);
  if (!waiting) return failure(waiting.error());
  const auto server = replica->setting(std::string(sync::kServerUrlKey));
  const auto last = replica->setting(std::string(sync::kLastSyncKey));
  return json_response(200, {{"enrolled", server.has_value()},
                             {"server", server ? json(*server) : json()},
                             {"state", state.state},
                             {"last_sync", last ? json(*last) : json()},
                             {"waiting", *waiting},
                             {"last_error", state.last_error},
                             {"offline_since", state.offline_since}});
}

HttpResponse Api::Impl::serve_file(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD")
    return refusal(405, "method_not_allowed", Errc::invalid_argument,
                   request.method + " is not allowed here");
  if (options.web_root.empty())
    return refusal(404, "not_found", Errc::invalid_argument,
                   "this server has no web app (start it with --web DIR)");
  const std::string path = percent_decode(request.path, false);
  if (path.find("..") != std::string::npos || path.find('\0') != std::string::npos)
    return refusal(400, "bad_request", Errc::invalid_argument, "malformed path");
  fs::path file = fs::path(options.web_root) / fs::path(path).relative_path();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) {
    // The app's own routes (/person/..., /events) are pages of index.html;
    // a missing asset is a 404.
    if (fs::path(path).has_extension())
      return refusal(404, "not_found", Errc::invalid_argument, "no file " + path);
    file = fs::path(options.web_root) / "index.html";
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return refusal(404, "not_found", Errc::invalid_argument, "no file " + path);
  std::ostringstream body;
  body << in.rdbuf();
  HttpResponse r;
  r.headers.emplace_back("Content-Type", content_type(file));
  const bool hashed = path.rfind("/assets/", 0) == 0;
  r.headers.emplace_back("Cache-Control",
                         hashed ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("X-Frame-Options", "DENY");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'self'; img-src 'self' data:; style-src 'self' "
                         "'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'");
  if (request.method == "GET") r.body = body.str();
  return r;
}

Api::Api(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Api::~Api() = default;

Result<std::unique_ptr<Api>> Api::open(const ApiOptions& options, const schema::Schema& schema,
                                       std::function<SyncState()> sync_state) {
  auto replica = store::Replica::open(options.replica, schema);
  if (!replica) return replica.error();
  if (!options.web_root.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(fs::path(options.web_root) / "index.html", ec))
      return make_error(Errc::invalid_argument,
                        "no web app in '" + options.web_root +
                            "' (index.html missing: build clients/web with `npm run build`)");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->sync_state = std::move(sync_state);
  impl->replica = std::move(replica).value();
  return std::unique_ptr<Api>(new Api(std::move(impl)));
}

HttpResponse Api::handle(const HttpRequest& request) {
  return impl_->handle(request);
}

}  // namespace relais::serve
