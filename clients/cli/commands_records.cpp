// relais init, info, schema, add, edit, delete, show, list.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <iomanip>
#include <iostream>
#include <map>

#include "cli.h"
#include "relais/schema/register.h"
#include "relais/schema/validate.h"
#include "relais/store/access_log.h"
#include "relais/store/consent.h"
#include "relais/store/duplicates.h"
#include "relais/sync/client.h"

namespace relais::cli {
namespace {

using nlohmann::json;

Status cmd_init(Context& ctx) {
  const auto site = ctx.args().option("site");
  const auto user = ctx.args().option("user");
  if (!site || !user)
    return make_error(Errc::invalid_argument, "init needs --site SITE and --user USER");
  auto r = store::Replica::create(ctx.args().replica_path, *site, *user, schema::Schema::builtin());
  if (!r) return r.error();
  const auto& info = (*r)->info();
  if (ctx.json()) {
    ctx.out() << json{{"replica", info.replica_id},
                      {"site", info.site},
                      {"user", info.user},
                      {"schema_version", info.schema_version},
                      {"path", ctx.args().replica_path}}
              << "\n";
  } else {
    ctx.out() << "created replica " << info.replica_id << " for site " << info.site << " in "
              << ctx.args().replica_path << "\n";
  }
  return Status::Ok();
}

Status cmd_info(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const auto& info = (*r)->info();
  auto counts = (*r)->counts();
  if (!counts) return counts.error();
  const auto knowledge = (*r)->knowledge();
  if (ctx.json()) {
    ctx.out() << json{{"replica", info.replica_id},
                      {"site", info.site},
                      {"user", info.user},
                      {"schema_version", info.schema_version},
                      {"records", *counts},
                      {"knowledge", store::knowledge_to_json(knowledge)}}
              << "\n";
    return Status::Ok();
  }
  ctx.out() << "replica        " << info.replica_id << "\nsite           " << info.site
            << "\nuser           " << info.user << "\nschema version " << info.schema_version
            << "\nrecords\n";
  for (const auto& [entity, n] : *counts)
    ctx.out() << "  " << std::left << std::setw(13) << entity << n << "\n";
  ctx.out() << "operations held, by origin replica\n";
  for (const auto& [origin, counter] : knowledge)
    ctx.out() << "  " << origin << (origin == info.replica_id ? " (this one) " : " ") << counter
              << "\n";
  return Status::Ok();
}

json field_json(const schema::Field& f) {
  json j = {{"name", f.name},           {"type", schema::type_name(f.type)},
            {"required", f.required},   {"personal", f.personal},
            {"sensitive", f.sensitive}, {"purposes", f.purposes},
            {"retention", f.retention}, {"label", {{"fr", f.label.fr}, {"en", f.label.en}}}};
  j["free_text"] = f.free_text;
  j["share_with_partners"] = f.share_with_partners;
  if (!f.values.empty()) j["values"] = f.values;
  if (!f.target.empty()) j["target"] = f.target;
  if (f.max_length) j["max_length"] = *f.max_length;
  return j;
}

Status cmd_schema(Context& ctx) {
  const auto& s = schema::Schema::builtin();
  // The register comes from the program's model: no replica is needed.
  if (ctx.args().flag("register")) {
    if (!ctx.args().positional.empty())
      return make_error(Errc::invalid_argument,
                        "--register prints the whole register; it takes no ENTITY");
    if (ctx.json())
      return make_error(Errc::invalid_argument,
                        "--register prints Markdown; it does not combine with --json");
    ctx.out() << schema::processing_register(s);
    return Status::Ok();
  }
  std::vector<const schema::Entity*> shown;
  if (ctx.args().positional.empty()) {
    for (const auto& e : s.entities()) shown.push_back(&e);
  } else {
    auto e = s.find_entity(ctx.args().positional[0]);
    if (!e) return e.error();
    shown.push_back(*e);
  }
  if (ctx.json()) {
    json out = json::array();
    for (const auto* e : shown) {
      json fields = json::array();
      for (const auto& f : e->fields) fields.push_back(field_json(f));
      out.push_back({{"entity", e->name},
                     {"scope", e->scope == schema::Scope::site     ? "site"
                               : e->scope == schema::Scope::person ? "person"
                                                                   : "shared"},
                     {"retention", e->retention},
                     {"fields", fields}});
    }
    ctx.out() << json{{"version", s.version()}, {"entities", out}} << "\n";
    return Status::Ok();
  }
  for (const auto* e : shown) {
    ctx.out() << e->name << " (" << e->label.en << ")\n";
    for (const auto& f : e->fields) {
      ctx.out() << "  " << std::left << std::setw(18) << f.name << std::setw(14)
                << schema::type_name(f.type) << (f.required ? "required " : "         ")
                << (f.personal ? "personal " : "         ");
      if (!f.values.empty()) {
        std::string values;
        for (const auto& v : f.values) values += (values.empty() ? "" : "|") + v;
        ctx.out() << values;
      }
      if (!f.target.empty()) ctx.out() << "-> " << f.target;
      ctx.out() << "\n";
    }
  }
  return Status::Ok();
}

Status cmd_add(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const std::string& entity = ctx.args().positional[0];
  auto fields = parse_assignments(**r, entity, ctx.args().positional, 1);
  if (!fields) return fields.error();
  // Through the consent module, so that a withdrawal stops new referrals.
  auto id = store::create_record_with_consent(**r, entity, *fields);
  if (!id) return id.error();
  if (ctx.json())
    ctx.out() << json{{"id", *id}, {"entity", entity}} << "\n";
  else
    ctx.out() << *id << "\n";
  return Status::Ok();
}

Status cmd_edit(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const auto& pos = ctx.args().positional;
  auto fields = parse_assignments(**r, pos[0], pos, 2);
  if (!fields) return fields.error();
  if (Status s = (*r)->update_record(pos[0], pos[1], *fields); !s) return s;
  if (ctx.json())
    ctx.out() << json{{"id", pos[1]}, {"entity", pos[0]}} << "\n";
  else
    ctx.out() << "updated " << pos[0] << " " << pos[1] << "\n";
  return Status::Ok();
}

Status cmd_delete(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const auto& pos = ctx.args().positional;
  if (Status s = (*r)->delete_record(pos[0], pos[1]); !s) return s;
  if (ctx.json())
    ctx.out() << json{{"id", pos[1]}, {"entity", pos[0]}, {"deleted", true}} << "\n";
  else
    ctx.out() << "deleted " << pos[0] << " " << pos[1] << "\n";
  return Status::Ok();
}

json record_json(const store::Record& rec) {
  return {{"entity", rec.entity}, {"id", rec.id}, {"deleted", rec.deleted}, {"fields", rec.fields}};
}

}  // namespace

Status log_reads(store::Replica& replica, const std::vector<store::Record>& records,
                 std::string_view action) {
  return sync::record_reads(replica, records, action);
}

Status log_reads_of(store::Replica& replica,
                    const std::vector<std::pair<std::string, std::string>>& entity_ids,
                    std::string_view action) {
  std::vector<store::Record> records;
  for (const auto& [entity, id] : entity_ids)
    if (auto rec = replica.get(entity, id)) records.push_back(std::move(rec).value());
  return log_reads(replica, records, action);
}

namespace {

Status cmd_show(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  const auto& pos = ctx.args().positional;
  auto rec = (*r)->get(pos[0], pos[1]);
  if (!rec) return rec.error();
  if (Status s = log_reads(**r, {*rec}, "open"); !s) return s;
  if (ctx.json()) {
    ctx.out() << record_json(*rec) << "\n";
    return Status::Ok();
  }
  ctx.out() << rec->entity << " " << rec->id << (rec->deleted ? "  (deleted)" : "") << "\n";
  for (const auto& f : (*r)->schema().entity(rec->entity)->fields)
    if (auto it = rec->fields.find(f.name); it != rec->fields.end())
      ctx.out() << "  " << std::left << std::setw(18) << f.name << display(*it) << "\n";
  return Status::Ok();
}

Status cmd_list(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  auto limit = limit_option(ctx.args(), 1000);
  if (!limit) return limit.error();
  auto records = (*r)->list(ctx.args().positional[0], *limit);
  if (!records) return records.error();
  if (Status s = log_reads(**r, *records, "list"); !s) return s;
  if (ctx.json()) {
    json out = json::array();
    for (const auto& rec : *records) out.push_back(record_json(rec));
    ctx.out() << out << "\n";
    return Status::Ok();
  }
  const auto& fields = (*r)->schema().entity(ctx.args().positional[0])->fields;
  for (const auto& rec : *records) {
    ctx.out() << rec.id;
    std::size_t shown = 0;
    for (const auto& f : fields) {
      if (shown == 4) break;
      if (auto it = rec.fields.find(f.name); it != rec.fields.end()) {
        ctx.out() << "  " << f.name << "=" << display(*it);
        ++shown;
      }
    }
    ctx.out() << "\n";
  }
  ctx.out() << records->size() << " " << ctx.args().positional[0] << " record(s)\n";
  return Status::Ok();
}

}  // namespace

Result<json> parse_assignments(const store::Replica& replica, const std::string& entity_name,
                               const std::vector<std::string>& args, std::size_t from) {
  auto entity = replica.schema().find_entity(entity_name);
  if (!entity) return entity.error();
  json fields = json::object();
  for (std::size_t i = from; i < args.size(); ++i) {
    const auto eq = args[i].find('=');
    if (eq == std::string::npos || eq == 0)
      return make_error(Errc::invalid_argument, "expected field=value, got '" + args[i] + "'");
    auto field = schema::Schema::find_field(**entity, args[i].substr(0, eq));
    if (!field) return field.error();
    auto value =
        schema::parse_value_text(**entity, **field, std::string_view(args[i]).substr(eq + 1));
    if (!value) return value.error();
    fields[(*field)->name] = std::move(value).value();
  }
  return fields;
}

std::optional<std::size_t> parse_count(std::string_view text) {
  std::size_t n = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return std::nullopt;
  return n;
}

Result<std::size_t> limit_option(const Args& args, std::size_t fallback) {
  const auto text = args.option("limit");
  if (!text) return fallback;
  const auto n = parse_count(*text);
  if (!n)
    return make_error(Errc::invalid_argument, "--limit expects a number, got '" + *text + "'");
  return *n;
}

std::string display(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array()) {
    std::string out;
    for (const auto& v : value) out += (out.empty() ? "" : ", ") + display(v);
    return out;
  }
  return value.dump();
}

// "Inès Lefèvre, 2008-05-14, 0612345678" of a person record, for review.
std::string person_line(const store::Record& p) {
  std::string line = p.fields.value("first_name", std::string()) + " " +
                     p.fields.value("last_name", std::string());
  for (const char* f : {"birth_date", "phone", "email", "site"})
    if (auto it = p.fields.find(f); it != p.fields.end() && it->is_string())
      line += ", " + it->get<std::string>();
  return line;
}

Status cmd_duplicates(Context& ctx) {
  auto r = ctx.replica();
  if (!r) return r.error();
  store::DuplicateOptions options;
  auto limit = limit_option(ctx.args(), options.limit);
  if (!limit) return limit.error();
  options.limit = *limit;
  if (auto text = ctx.args().option("min-score")) {
    char* end = nullptr;
    const double v = std::strtod(text->c_str(), &end);
    if (text->empty() || *end != '\0' || !(v >= 0 && v <= 1))
      return make_error(Errc::invalid_argument,
                        "--min-score takes a number from 0 to 1, not '" + *text + "'");
    options.min_score = v;
  }
  auto pairs = store::find_duplicates(**r, options);
  if (!pairs) return pairs.error();
  std::vector<store::Record> shown;
  std::map<std::string, std::size_t> at;
  for (const auto& p : *pairs)
    for (const auto* id : {&p.a, &p.b})
      if (!at.count(*id)) {
        auto rec = (*r)->get("person", *id);
        if (!rec) return rec.error();
        at[*id] = shown.size();
        shown.push_back(std::move(rec).value());
      }
  if (Status s = log_reads(**r, shown, "duplicates"); !s) return s;
  if (ctx.json()) {
    json out = json::array();
    for (const auto& p : *pairs)
      out.push_back({{"score", std::round(p.score * 100) / 100},
                     {"persons", {record_json(shown[at[p.a]]), record_json(shown[at[p.b]])}},
                     {"reasons", p.reasons}});
    ctx.out() << out << "\n";
    return Status::Ok();
  }
  for (const auto& p : *pairs) {
    ctx.out() << std::fixed << std::setprecision(2) << p.score << "  ";
    for (std::size_t i = 0; i < p.reasons.size(); ++i) ctx.out() << (i ? "; " : "") << p.reasons[i];
    ctx.out() << "\n";
    for (const auto* id : {&p.a, &p.b})
      ctx.out() << "      " << *id << "  " << person_line(shown[at[*id]]) << "\n";
  }
  ctx.out() << pairs->size() << " pair(s) to review\n";
  return Status::Ok();
}

const std::vector<Command>& record_commands() {
  static const std::vector<Command> commands = {
      {"init",
       "--site SITE --user USER",
       "create a replica for a site",
       "Creates a new replica file (see --replica) with a fresh replica id. USER is the\n"
       "author recorded on every edit made with this replica.",
       {{"site", "user"}},
       0,
       0,
       cmd_init},
      {"info",
       "",
       "show the replica's id, site, schema version and contents",
       "Shows what the replica is and holds: record counts per entity and, per origin\n"
       "replica, how many of its operations it holds.",
       {},
       0,
       0,
       cmd_info},
      {"schema",
       "[ENTITY] | --register",
       "list entities and their fields, or print the RGPD register",
       "Lists the fields of each entity (or of ENTITY): type, whether required or\n"
       "personal, the allowed values or the referenced entity.\n"
       "--register prints the register of processing activities (RGPD art. 30) as\n"
       "Markdown, generated from the model: purposes, legal bases, retention, data,\n"
       "people concerned, recipients, security measures. Needs no replica.",
       {{}, {"register"}},
       0,
       1,
       cmd_schema},
      {"add",
       "ENTITY FIELD=VALUE...",
       "create a record and print its id",
       "Creates a record after checking every value against the schema. Sets are\n"
       "comma-separated (interests=digital,retail); booleans take true/false or oui/non.\n"
       "`site` defaults to the replica's site. Example:\n"
       "  relais add person first_name=Lina last_name=Benali phone='06 12 34 56 78'",
       {},
       1,
       SIZE_MAX,
       cmd_add},
      {"edit",
       "ENTITY ID FIELD=VALUE...",
       "change fields of a record",
       "Sets the given fields; FIELD= (nothing after =) clears an optional field.",
       {},
       3,
       SIZE_MAX,
       cmd_edit},
      {"delete",
       "ENTITY ID",
       "delete a record",
       "Deletes a record everywhere once synced. The deletion wins over edits made\n"
       "concurrently elsewhere.",
       {},
       2,
       2,
       cmd_delete},
      {"show",
       "ENTITY ID",
       "show one record",
       "Shows every field of a record that has a value.",
       {},
       2,
       2,
       cmd_show},
      {"list",
       "ENTITY [--limit N]",
       "list live records",
       "Lists records of ENTITY in creation order (default limit 1000).",
       {{"limit"}},
       1,
       1,
       cmd_list},
      {"duplicates",
       "[--min-score S] [--limit N]",
       "list persons who look recorded twice",
       "Lists pairs of live persons that look like one young person recorded twice\n"
       "(two events, two sites), best first, with a score from 0 to 1 and its reasons:\n"
       "names alike once accents, case, spacing and small typos are set aside (first\n"
       "and last names possibly swapped), the same phone in any format, the same\n"
       "e-mail, the same birth date; a different birth date, or a first or last name\n"
       "that clearly differs (brothers and sisters), counts against. Pairs from\n"
       "--min-score (default 0.75) are listed, at most --limit (default 500). Nothing\n"
       "is changed: a person reviews each pair.",
       {{"min-score", "limit"}},
       0,
       0,
       cmd_duplicates},
  };
  return commands;
}

}  // namespace relais::cli
