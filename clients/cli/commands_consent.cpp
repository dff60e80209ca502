// relais consent give, withdraw, show, notice.
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <set>

#include "cli.h"
#include "relais/store/consent.h"

namespace relais::cli {
namespace {

using nlohmann::json;

// Which options each subcommand takes; another one is a usage error, so a
// mistyped command line records nothing rather than half of what was meant.
struct Subcommand {
  std::string_view name;
  std::string_view usage;
  std::size_t positional;  // after the subcommand's name
  std::set<std::string> options;
};

const std::vector<Subcommand>& subcommands() {
  static const std::vector<Subcommand> all = {
      {"give",
       "give PERSON PURPOSE --method M [--notice-version N] [--language fr|en] "
       "[--guardian NAME --guardian-relation R]",
       2,
       {"method", "notice-version", "language", "guardian", "guardian-relation"}},
      {"withdraw", "withdraw PERSON PURPOSE --method M", 2, {"method"}},
      {"show", "show PERSON", 1, {}},
      {"notice",
       "notice PURPOSE [--notice-version N] [--language fr|en]",
       1,
       {"notice-version", "language"}},
  };
  return all;
}

Result<const Subcommand*> find_subcommand(const Args& args) {
  const std::string& name = args.positional[0];
  const auto& all = subcommands();
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& s) { return s.name == name; });
  if (it == all.end())
    return make_error(Errc::invalid_argument,
                      "unknown consent command '" + name + "' (give, withdraw, show or notice)");
  if (args.positional.size() != it->positional + 1)
    return make_error(Errc::invalid_argument, "usage: relais consent " + std::string(it->usage));
  for (const auto& [option, value] : args.options)
    if (!it->options.count(option))
      return make_error(Errc::invalid_argument,
                        "--" + option + " does not apply to consent " + std::string(it->name));
  return &*it;
}

Result<std::string> required_option(const Args& args, const std::string& name,
                                    std::string_view what) {
  auto value = args.option(name);
  if (!value || value->empty())
    return make_error(Errc::invalid_argument, "--" + name + " is required: " + std::string(what));
  return *value;
}

Result<std::optional<int>> version_option(const Args& args) {
  const auto text = args.option("notice-version");
  if (!text) return std::optional<int>();
  const auto n = parse_count(*text);
  if (!n || *n < 1 || *n > 1'000'000)
    return make_error(Errc::invalid_argument,
                      "--notice-version expects a version number (1, 2, ...), got '" + *text + "'");
  return std::optional<int>(static_cast<int>(*n));
}

constexpr std::string_view kMethods = "how it was expressed: oral_at_event, paper_form or online";

json entry_json(const store::ConsentEntry& e) {
  json j = {{"id", e.id},         {"purpose", e.purpose},
            {"status", e.status}, {"captured_at", e.captured_at},
            {"method", e.method}, {"collected_by", e.collected_by},
            {"device", e.device}, {"hlc", store::HybridClock::to_hex(e.hlc)},
            {"origin", e.origin}, {"counter", e.counter},
            {"minor", e.minor},   {"incomplete", e.incomplete}};
  if (e.notice_version) {
    j["notice_version"] = *e.notice_version;
    j["notice_language"] = e.notice_language;
    j["notice_hash"] = e.notice_hash;
  }
  if (!e.guardian_name.empty()) {
    j["guardian_name"] = e.guardian_name;
    j["guardian_relation"] = e.guardian_relation;
  }
  return j;
}

// The state of `purpose` as one word for people and programs.
std::string state_word(const store::ConsentState& s) {
  if (!s.latest) return "none";
  return s.latest->status;
}

Status print_recorded(Context& ctx, store::Replica& r, const std::string& id) {
  auto record = r.get(std::string(store::kConsentEntity), id);
  if (!record) return record.error();
  const std::string person = record->fields.value("person", "");
  const std::string purpose = record->fields.value("purpose", "");
  auto states = store::consent_status(r, person);
  if (!states) return states.error();
  bool incomplete = false;
  for (const auto& s : *states)
    if (s.purpose == purpose && s.latest && s.latest->id == id) incomplete = s.incomplete();
  if (ctx.json()) {
    json out = {{"id", id}, {"entity", store::kConsentEntity}, {"incomplete", incomplete}};
    for (const auto& [name, value] : record->fields.items()) out[name] = value;
    ctx.out() << out << "\n";
  } else {
    ctx.out() << id << "\n";
  }
  // On standard error so that scripts reading the id keep one line.
  if (incomplete)
    std::cerr << "relais: warning: the person was under 15 on that day: the consent is "
                 "recorded but incomplete until a parent or guardian agrees "
                 "(--guardian NAME --guardian-relation parent|legal_guardian)\n";
  return Status::Ok();
}

Status give(Context& ctx, store::Replica& r) {
  const auto& args = ctx.args();
  auto method = required_option(args, "method", kMethods);
  if (!method) return method.error();
  auto version = version_option(args);
  if (!version) return version.error();
  store::ConsentRequest request;
  request.person = args.positional[1];
  request.purpose = args.positional[2];
  request.method = *method;
  request.notice_version = *version;
  request.language = args.option("language").value_or("fr");
  request.guardian_name = args.option("guardian").value_or("");
  request.guardian_relation = args.option("guardian-relation").value_or("");
  auto id = store::give_consent(r, request);
  if (!id) return id.error();
  return print_recorded(ctx, r, *id);
}

Status withdraw(Context& ctx, store::Replica& r) {
  const auto& args = ctx.args();
  auto method = required_option(args, "method", kMethods);
  if (!method) return method.error();
  auto id = store::withdraw_consent(r, {args.positional[1], args.positional[2], *method});
  if (!id) return id.error();
  return print_recorded(ctx, r, *id);
}

Status show(Context& ctx, store::Replica& r) {
  const std::string& person = ctx.args().positional[1];
  auto states = store::consent_status(r, person);
  if (!states) return states.error();
  auto history = store::consent_history(r, person);
  if (!history) return history.error();
  auto objections = store::objections(r, person);
  if (!objections) return objections.error();
  auto objected = [&](const std::string& purpose) {
    return std::find(objections->begin(), objections->end(), purpose) != objections->end();
  };
  if (Status s = log_reads_of(r, {{"person", person}}, "consent"); !s) return s;
  if (ctx.json()) {
    json purposes = json::array();
    for (const auto& s : *states)
      purposes.push_back({{"purpose", s.purpose},
                          {"status", state_word(s)},
                          {"incomplete", s.incomplete()},
                          {"objected", objected(s.purpose)},
                          {"may_process", s.allows_processing() && !objected(s.purpose)},
                          {"latest", s.latest ? json(s.latest->id) : json(nullptr)}});
    json entries = json::array();
    for (const auto& e : *history) entries.push_back(entry_json(e));
    ctx.out() << json{{"person", person},
                      {"purposes", purposes},
                      {"objections", *objections},
                      {"history", entries}}
              << "\n";
    return Status::Ok();
  }
  ctx.out() << "consent of person " << person << "\n";
  for (const auto& s : *states) {
    ctx.out() << "  " << std::left << std::setw(16) << s.purpose;
    if (!s.latest) {
      ctx.out() << "none" << (objected(s.purpose) ? "  OBJECTED" : "") << "\n";
      continue;
    }
    ctx.out() << std::setw(10) << s.latest->status << "on " << s.latest->captured_at << " ("
              << s.latest->method << ")"
              << (s.incomplete() ? "  INCOMPLETE: under 15, no parent or guardian" : "")
              << (objected(s.purpose) ? "  OBJECTED" : "") << "\n";
  }
  // Objections cover every purpose, not only those based on consent.
  std::string listed;
  for (const auto& o : *objections) listed += (listed.empty() ? "" : ", ") + o;
  ctx.out() << "objections or restrictions: " << (listed.empty() ? "none" : listed) << "\n";
  ctx.out() << "history, in clock order (oldest first)\n";
  for (const auto& e : *history) {
    ctx.out() << "  " << store::HybridClock::to_display(e.hlc) << "  " << std::setw(16) << e.purpose
              << std::setw(10) << e.status << std::setw(15) << e.method << "captured "
              << e.captured_at << " by " << e.collected_by;
    if (e.notice_version)
      ctx.out() << "  notice v" << *e.notice_version << " " << e.notice_language << " "
                << e.notice_hash.substr(0, 12);
    if (!e.guardian_name.empty())
      ctx.out() << "  with " << e.guardian_relation << " " << e.guardian_name;
    ctx.out() << "\n";
  }
  if (history->empty()) ctx.out() << "  (nothing recorded on this replica)\n";
  return Status::Ok();
}

Status notice(Context& ctx) {
  const auto& args = ctx.args();
  auto purpose = store::consent_purpose(schema::Schema::builtin(), args.positional[1]);
  if (!purpose) return purpose.error();
  auto version = version_option(args);
  if (!version) return version.error();
  const schema::Notice* n = *version ? (*purpose)->notice(**version) : (*purpose)->latest_notice();
  if (n == nullptr)
    return make_error(Errc::unknown_notice, "purpose '" + (*purpose)->id +
                                                "' has no notice version " +
                                                std::to_string(version->value_or(0)));
  const std::string language = args.option("language").value_or("fr");
  auto hash = store::notice_sha256(*n, language);
  if (!hash) return hash.error();
  const std::string& text = *n->text(language);
  if (ctx.json()) {
    ctx.out() << json{{"purpose", (*purpose)->id},
                      {"version", n->version},
                      {"language", language},
                      {"text", text},
                      {"sha256", *hash}}
              << "\n";
  } else {
    ctx.out() << (*purpose)->id << ", notice version " << n->version << " (" << language << ")\n\n"
              << text << "\n\nsha256 " << *hash << "\n";
  }
  return Status::Ok();
}

Status cmd_consent(Context& ctx) {
  auto sub = find_subcommand(ctx.args());
  if (!sub) return sub.error();
  // The notice is in the program's model: no replica is needed to read it.
  if ((*sub)->name == "notice") return notice(ctx);
  auto r = ctx.replica();
  if (!r) return r.error();
  if ((*sub)->name == "give") return give(ctx, **r);
  if ((*sub)->name == "withdraw") return withdraw(ctx, **r);
  return show(ctx, **r);
}

}  // namespace

const std::vector<Command>& consent_commands() {
  static const std::vector<Command> commands = {
      {"consent",
       "(give|withdraw|show|notice) ...",
       "record, withdraw and show consent with its proof",
       "  relais consent give PERSON PURPOSE --method M [--notice-version N]\n"
       "                      [--language fr|en] [--guardian NAME --guardian-relation R]\n"
       "  relais consent withdraw PERSON PURPOSE --method M\n"
       "  relais consent show PERSON\n"
       "  relais consent notice PURPOSE [--notice-version N] [--language fr|en]\n\n"
       "PURPOSE is a purpose based on consent (referral, programme_news). M is how the\n"
       "young person expressed it: oral_at_event, paper_form or online. `give` records\n"
       "the notice shown (default: the latest version, in French) with its SHA-256, the\n"
       "time, this replica's user and id. Under 15, a parent or guardian agrees too\n"
       "(R: parent or legal_guardian); without one the consent is recorded but\n"
       "incomplete. `withdraw` needs a consent given before. Consent records are never\n"
       "edited or deleted. `show` prints the state per purpose and every record in\n"
       "clock order, and the purposes the person objected to or had restricted\n"
       "(recorded with relais edit person ID objections=PURPOSE,...); `notice` prints\n"
       "the text to read out and its SHA-256.",
       {{"method", "notice-version", "language", "guardian", "guardian-relation"}},
       2,
       3,
       cmd_consent},
  };
  return commands;
}

}  // namespace relais::cli
