#include "relais/schema/schema.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "builtin_files.h"

namespace relais::schema {
namespace {

using nlohmann::json;

constexpr std::string_view kFormat = "relais-schema";

struct TypeEntry {
  std::string_view name;
  FieldType type;
};

constexpr TypeEntry kTypes[] = {
    {"string", FieldType::string},
    {"text", FieldType::text},
    {"integer", FieldType::integer},
    {"boolean", FieldType::boolean},
    {"date", FieldType::date},
    {"enum", FieldType::enumeration},
    {"enum_set", FieldType::enum_set},
    {"reference", FieldType::reference},
    {"reference_set", FieldType::reference_set},
    {"phone", FieldType::phone},
    {"email", FieldType::email},
    {"postal_code", FieldType::postal_code},
    {"datetime", FieldType::datetime},
};

Error invalid(std::string message) {
  return make_error(Errc::schema_invalid, std::move(message));
}

// Reads the model with exceptions (nlohmann's way) and turns the first one
// into a schema_invalid Error at the boundary, in parse().
struct Reader {
  std::set<std::string> purpose_ids;
  std::set<std::string> retention_ids;

  static Label label(const json& j) {
    Label l;
    if (j.contains("label")) {
      l.fr = j.at("label").value("fr", "");
      l.en = j.at("label").value("en", "");
    }
    return l;
  }

  // A purpose's notices: required (at least one) for a consent-based
  // purpose and refused for any other, each with a non-empty French and
  // English text, versions from 1 strictly increasing in file order.
  static std::vector<Notice> notices(const json& j, const Purpose& p) {
    const std::string where = "purpose " + p.id;
    std::vector<Notice> out;
    if (!j.contains("notices")) {
      if (p.consent_based())
        throw std::runtime_error(where +
                                 ": a purpose based on consent needs 'notices', the texts "
                                 "shown to the young person");
      return out;
    }
    if (!p.consent_based())
      throw std::runtime_error(where + ": only purposes based on consent take 'notices'");
    if (!j.at("notices").is_array() || j.at("notices").empty())
      throw std::runtime_error(where + ": 'notices' must be a non-empty list");
    for (const auto& nj : j.at("notices")) {
      Notice n;
      n.version = nj.at("version").get<int>();
      n.fr = nj.at("fr").get<std::string>();
      n.en = nj.at("en").get<std::string>();
      const std::string at = where + " notice " + std::to_string(n.version);
      if (n.version < 1) throw std::runtime_error(at + ": versions start at 1");
      if (!out.empty() && n.version <= out.back().version)
        throw std::runtime_error(at + ": versions must be unique and increasing");
      if (n.fr.empty() || n.en.empty())
        throw std::runtime_error(at + ": needs a non-empty 'fr' and 'en' text");
      out.push_back(std::move(n));
    }
    return out;
  }

  static std::vector<std::string> strings(const json& j) {
    std::vector<std::string> out;
    for (const auto& v : j) out.push_back(v.get<std::string>());
    return out;
  }

  static FieldType type(const std::string& name, const std::string& where) {
    for (const auto& t : kTypes)
      if (t.name == name) return t.type;
    throw std::runtime_error(where + ": unknown type '" + name + "'");
  }

  Field field(const json& j, const Entity& entity) const {
    Field f;
    f.name = j.at("name").get<std::string>();
    const std::string where = entity.name + "." + f.name;
    f.type = type(j.at("type").get<std::string>(), where);
    f.required = j.value("required", false);
    if (j.contains("max_length")) f.max_length = j.at("max_length").get<std::size_t>();
    if (j.contains("values")) f.values = strings(j.at("values"));
    f.target = j.value("target", "");
    f.searchable = j.value("search", false);
    if (!j.contains("personal") || !j.contains("purposes"))
      throw std::runtime_error(where + ": every field declares 'personal' and 'purposes'");
    f.personal = j.at("personal").get<bool>();
    f.sensitive = j.value("sensitive", false);
    f.free_text = j.value("free_text", false);
    f.share_with_partners = j.value("share_with_partners", !f.free_text);
    f.purposes = strings(j.at("purposes"));
    f.retention = j.value("retention", entity.retention);
    f.label = label(j);
    check_field(f, where);
    return f;
  }

  void check_field(const Field& f, const std::string& where) const {
    const bool enumerated = f.type == FieldType::enumeration || f.type == FieldType::enum_set;
    if (enumerated && f.values.empty())
      throw std::runtime_error(where + ": an enum needs a non-empty 'values' list");
    if (!enumerated && !f.values.empty())
      throw std::runtime_error(where + ": only enum fields take 'values'");
    if (f.searchable && f.type != FieldType::string && f.type != FieldType::email &&
        f.type != FieldType::phone)
      throw std::runtime_error(where + ": only string, email and phone fields take 'search'");
    const bool ref = f.type == FieldType::reference || f.type == FieldType::reference_set;
    if (ref != !f.target.empty())
      throw std::runtime_error(where + ": 'target' is required for references, and only there");
    if (f.type == FieldType::text && !f.max_length)
      throw std::runtime_error(where + ": free text needs a max_length");
    if (f.purposes.empty()) throw std::runtime_error(where + ": needs at least one purpose");
    for (const auto& p : f.purposes)
      if (!purpose_ids.count(p)) throw std::runtime_error(where + ": unknown purpose '" + p + "'");
    if (!retention_ids.count(f.retention))
      throw std::runtime_error(where + ": unknown retention rule '" + f.retention + "'");
    if (!is_identifier(f.name) || f.name == "id")
      throw std::runtime_error(where +
                               ": a field name is lower-case letters, digits and '_', "
                               "starts with a letter, and is not 'id'");
  }

  // Names become SQL identifiers and JSON keys: keep them plain.
  static bool is_identifier(const std::string& name) {
    if (name.empty() || name.size() > 48 || name[0] < 'a' || name[0] > 'z') return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
  }

  Entity entity(const json& j) const {
    Entity e;
    e.name = j.at("name").get<std::string>();
    static const std::set<std::string> kStoreTables = {"meta",  "origins",  "changes",
                                                       "heads", "settings", "sqlite_sequence"};
    if (!is_identifier(e.name) || kStoreTables.count(e.name) || e.name.starts_with("srv_"))
      throw std::runtime_error("entity '" + e.name +
                               "': not a plain lower-case name, or the "
                               "name of one of the store's own tables");
    const std::string scope = j.at("scope").get<std::string>();
    if (scope == "site")
      e.scope = Scope::site;
    else if (scope == "person")
      e.scope = Scope::person;
    else if (scope == "shared")
      e.scope = Scope::shared;
    else
      throw std::runtime_error(e.name + ": unknown scope '" + scope + "'");
    e.retention = j.at("retention").get<std::string>();
    if (!retention_ids.count(e.retention))
      throw std::runtime_error(e.name + ": unknown retention rule '" + e.retention + "'");
    e.label = label(j);
    e.append_only = j.value("append_only", false);
    std::set<std::string> names;
    for (const auto& fj : j.at("fields")) {
      e.fields.push_back(field(fj, e));
      if (!names.insert(e.fields.back().name).second)
        throw std::runtime_error(e.name + ": field '" + e.fields.back().name + "' twice");
    }
    return e;
  }

  static Migration migration(const json& j) {
    Migration m;
    m.version = j.at("version").get<int>();
    m.description = j.value("description", "");
    for (const auto& sj : j.at("steps")) {
      MigrationStep s;
      if (sj.contains("add_entity")) {
        s.kind = MigrationStep::Kind::add_entity;
        s.entity = sj.at("add_entity").get<std::string>();
      } else if (sj.contains("add_field")) {
        s.kind = MigrationStep::Kind::add_field;
        s.entity = sj.at("add_field").at("entity").get<std::string>();
        s.field = sj.at("add_field").at("field").get<std::string>();
      } else if (sj.contains("add_values")) {
        s.kind = MigrationStep::Kind::add_values;
        s.entity = sj.at("add_values").at("entity").get<std::string>();
        s.field = sj.at("add_values").at("field").get<std::string>();
        s.values = strings(sj.at("add_values").at("values"));
      } else {
        throw std::runtime_error("migration " + std::to_string(m.version) + ": unknown step " +
                                 sj.dump());
      }
      m.steps.push_back(std::move(s));
    }
    return m;
  }
};

}  // namespace

std::string_view type_name(FieldType type) {
  for (const auto& t : kTypes)
    if (t.type == type) return t.name;
  return "unknown";
}

bool Field::allows(std::string_view value) const {
  return std::find(values.begin(), values.end(), value) != values.end();
}

const Field* Entity::field(std::string_view wanted) const {
  for (const auto& f : fields)
    if (f.name == wanted) return &f;
  return nullptr;
}

const std::string* Notice::text(std::string_view language) const {
  if (language == "fr") return &fr;
  if (language == "en") return &en;
  return nullptr;
}

const Notice* Purpose::notice(int wanted) const {
  for (const auto& n : notices)
    if (n.version == wanted) return &n;
  return nullptr;
}

const Notice* Purpose::latest_notice() const {
  return notices.empty() ? nullptr : &notices.back();
}

const Purpose* Schema::purpose(std::string_view id) const {
  for (const auto& p : purposes_)
    if (p.id == id) return &p;
  return nullptr;
}

const Entity* Schema::entity(std::string_view name) const {
  for (const auto& e : entities_)
    if (e.name == name) return &e;
  return nullptr;
}

Result<const Entity*> Schema::find_entity(std::string_view name) const {
  if (const Entity* e = entity(name)) return e;
  std::string known;
  for (const auto& e : entities_) known += (known.empty() ? "" : ", ") + e.name;
  return make_error(Errc::unknown_entity,
                    "unknown entity '" + std::string(name) + "' (known: " + known + ")");
}

Result<const Field*> Schema::find_field(const Entity& entity, std::string_view name) {
  if (const Field* f = entity.field(name)) return f;
  std::string known;
  for (const auto& f : entity.fields) known += (known.empty() ? "" : ", ") + f.name;
  return make_error(Errc::unknown_field, "unknown field '" + std::string(name) + "' for " +
                                             entity.name + " (fields: " + known + ")");
}

// Checks that migrations are numbered 2..version without gaps and that every
// step names something the model has, then stamps since_version on what they add.
static void apply_migration_marks(std::vector<Entity>& entities, std::vector<Migration>& ms,
                                  int version) {
  std::sort(ms.begin(), ms.end(), [](auto& a, auto& b) { return a.version < b.version; });
  for (std::size_t i = 0; i < ms.size(); ++i)
    if (ms[i].version != static_cast<int>(i) + 2)
      throw std::runtime_error("migrations must be numbered 2, 3, ... without gaps; found " +
                               std::to_string(ms[i].version));
  if (static_cast<int>(ms.size()) + 1 != version)
    throw std::runtime_error("schema version " + std::to_string(version) + " needs migrations 2.." +
                             std::to_string(version) + ", found " + std::to_string(ms.size()));
  auto find_entity = [&](const std::string& name) -> Entity& {
    for (auto& e : entities)
      if (e.name == name) return e;
    throw std::runtime_error("migration step names unknown entity '" + name + "'");
  };
  for (const auto& m : ms) {
    for (const auto& s : m.steps) {
      Entity& e = find_entity(s.entity);
      if (s.kind == MigrationStep::Kind::add_entity) {
        e.since_version = m.version;
        for (auto& f : e.fields) f.since_version = m.version;
        continue;
      }
      auto it = std::find_if(e.fields.begin(), e.fields.end(),
                             [&](const Field& f) { return f.name == s.field; });
      if (it == e.fields.end())
        throw std::runtime_error("migration step names unknown field '" + s.entity + "." + s.field +
                                 "'");
      if (s.kind == MigrationStep::Kind::add_field) it->since_version = m.version;
      for (const auto& v : s.values)
        if (!it->allows(v))
          throw std::runtime_error("migration adds value '" + v + "' missing from the model");
    }
  }
}

Result<Schema> Schema::parse(std::string_view model_json,
                             const std::vector<std::string>& migration_jsons) {
  try {
    const json model = json::parse(model_json);
    if (model.value("format", "") != kFormat)
      return invalid("the model file does not declare format '" + std::string(kFormat) + "'");
    Schema s;
    s.version_ = model.at("version").get<int>();
    Reader r;
    for (const auto& rj : model.at("retention")) {
      RetentionRule rule;
      rule.id = rj.at("id").get<std::string>();
      if (!rj.at("period_months").is_null()) rule.period_months = rj.at("period_months").get<int>();
      rule.from = rj.at("from").get<std::string>();
      rule.label = Reader::label(rj);
      if (!r.retention_ids.insert(rule.id).second)
        return invalid("retention rule '" + rule.id + "' twice");
      s.retention_.push_back(std::move(rule));
    }
    for (const auto& pj : model.at("purposes")) {
      Purpose p;
      p.id = pj.at("id").get<std::string>();
      p.legal_basis = pj.at("legal_basis").get<std::string>();
      p.retention = pj.at("retention").get<std::string>();
      p.label = Reader::label(pj);
      p.notices = Reader::notices(pj, p);
      if (pj.contains("sent_to_partners") && !pj.at("sent_to_partners").is_boolean())
        return invalid("purpose " + p.id + ": 'sent_to_partners' must be true or false");
      p.sent_to_partners = pj.value("sent_to_partners", false);
      if (!r.retention_ids.count(p.retention))
        return invalid("purpose " + p.id + ": unknown retention rule '" + p.retention + "'");
      if (!r.purpose_ids.insert(p.id).second) return invalid("purpose '" + p.id + "' twice");
      s.purposes_.push_back(std::move(p));
    }
    for (const auto& ej : model.at("entities")) {
      s.entities_.push_back(r.entity(ej));
      if (std::count_if(s.entities_.begin(), s.entities_.end(),
                        [&](const Entity& e) { return e.name == s.entities_.back().name; }) > 1)
        return invalid("entity '" + s.entities_.back().name + "' is declared twice");
    }
    for (const auto& e : s.entities_)
      for (const auto& f : e.fields)
        if (!f.target.empty() && !s.entity(f.target))
          return invalid(e.name + "." + f.name + ": unknown target entity '" + f.target + "'");
    for (const auto& mj : migration_jsons)
      s.migrations_.push_back(Reader::migration(json::parse(mj)));
    apply_migration_marks(s.entities_, s.migrations_, s.version_);
    return s;
  } catch (const std::exception& e) {
    return invalid(std::string("schema: ") + e.what());
  }
}

const Schema& Schema::builtin() {
  static const Schema schema = [] {
    std::vector<std::string> migrations;
    for (std::string_view m : builtin_migration_files()) migrations.emplace_back(m);
    auto parsed = Schema::parse(builtin_model_file(), migrations);
    if (!parsed) {
      std::cerr << "relais: the embedded schema is invalid: " << parsed.error().message << "\n";
      std::abort();
    }
    return std::move(parsed).value();
  }();
  return schema;
}

Schema Schema::at_version(int version) const {
  Schema old = *this;
  old.version_ = version;
  while (!old.migrations_.empty() && old.migrations_.back().version > version) {
    const Migration& m = old.migrations_.back();
    for (auto s = m.steps.rbegin(); s != m.steps.rend(); ++s) {
      auto e = std::find_if(old.entities_.begin(), old.entities_.end(),
                            [&](const Entity& x) { return x.name == s->entity; });
      if (s->kind == MigrationStep::Kind::add_entity) {
        old.entities_.erase(e);
        continue;
      }
      auto f = std::find_if(e->fields.begin(), e->fields.end(),
                            [&](const Field& x) { return x.name == s->field; });
      if (s->kind == MigrationStep::Kind::add_field) {
        e->fields.erase(f);
        continue;
      }
      for (const auto& v : s->values) std::erase(f->values, v);
    }
    old.migrations_.pop_back();
  }
  return old;
}

}  // namespace relais::schema
