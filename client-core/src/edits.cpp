// Local edits: validation against the schema, then one Change per edit
// merged through the same path as remote changes, in one transaction.
#include "relais/schema/validate.h"
#include "relais/store/replica.h"
#include "replica_internal.h"

namespace relais::store {
namespace {

using nlohmann::json;

// Records of an append-only entity are proof (a consent, a withdrawal): the
// replica writes them once and refuses to change them, so what was recorded
// stays as it was recorded. A correction is a new record.
Status refuse_if_append_only(const schema::Entity& entity, std::string_view what) {
  if (!entity.append_only) return Status::Ok();
  return make_error(Errc::append_only, entity.name + " records are append-only and cannot be " +
                                           std::string(what) +
                                           ": record a new one instead (for a consent, give or "
                                           "withdraw it again)");
}

}  // namespace

Result<std::vector<OpId>> Replica::heads_of(const std::string& id, const std::string& field) {
  auto s = statement("SELECT origin, counter FROM heads WHERE record = ? AND field = ?");
  if (!s) return s.error();
  (*s)->bind(1, id).bind(2, field);
  std::vector<OpId> heads;
  while ((*s)->step())
    heads.push_back({origins_[static_cast<std::size_t>((*s)->int64(0))],
                     static_cast<std::uint64_t>((*s)->int64(1))});
  if (!(*s)->status()) return (*s)->status().error();
  return heads;
}

Status Replica::check_references(const schema::Entity& entity, const json& fields) {
  for (const auto& f : entity.fields) {
    auto it = fields.find(f.name);
    if (it == fields.end() || it->is_null() || f.target.empty()) continue;
    const schema::Entity& target = *schema_.entity(f.target);
    const json ids = it->is_array() ? *it : json::array({*it});
    for (const auto& id : ids) {
      auto s = statement(entity_sql(target).exists_live);
      if (!s) return s.error();
      (*s)->bind(1, id.get<std::string>());
      if (!(*s)->step()) {
        if (!(*s)->status()) return (*s)->status();
        return make_error(Errc::unknown_record, entity.name + "." + f.name + ": no " + target.name +
                                                    " with id " + id.get<std::string>() +
                                                    " on this replica");
      }
    }
  }
  return Status::Ok();
}

Result<Change> Replica::make_local_change(const schema::Entity& entity, const std::string& id,
                                          ChangeKind kind, const json& fields) {
  auto row = load_row(entity, id);
  if (!row) return row.error();
  Change c{info_.replica_id, counter_ + 1, clock_.now(), info_.user, entity.name, id, kind, {}};
  auto add_op = [&](const std::string& name, const json& value) -> Status {
    FieldOp op{name, value, {}};
    if (name != kDeletedField) {
      // The author replaces what they see: every head if the field is in
      // conflict, else the current winner, else nothing.
      auto heads = heads_of(id, name);
      if (!heads) return heads.error();
      op.prev = std::move(heads).value();
      const auto& clock = *row ? (*row)->clocks[field_index(entity, name)] : std::nullopt;
      if (op.prev.empty() && clock) op.prev.push_back({origins_[clock->origin], clock->counter});
    }
    c.ops.push_back(std::move(op));
    return Status::Ok();
  };
  if (kind == ChangeKind::remove) {
    if (Status s = add_op(std::string(kDeletedField), true); !s) return s.error();
    return c;
  }
  for (const auto& f : entity.fields)  // schema order, so logs read the same everywhere
    if (auto it = fields.find(f.name); it != fields.end())
      if (Status s = add_op(f.name, *it); !s) return s.error();
  return c;
}

// Makes the change inside the transaction that writes it, after catching up
// with what other processes wrote, so that its counter and `prev` are current.
Status Replica::commit_local(const schema::Entity& entity, const std::string& id, ChangeKind kind,
                             const json& fields) {
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  auto fail = [&](Error e) -> Status {
    tx->reset();
    (void)load();
    return e;
  };
  if (Status s = refresh(); !s) return fail(s.error());
  auto change = make_local_change(entity, id, kind, fields);
  if (!change) return fail(change.error());
  auto origin = origin_index(info_.replica_id);
  if (!origin) return fail(origin.error());
  auto applied = apply_one(*change, *origin);
  if (!applied) return fail(applied.error());
  counter_ = change->last();
  if (Status s = save_knowledge(); !s) return fail(s.error());
  if (Status s = (*tx)->commit(); !s) return fail(s.error());
  return Status::Ok();
}

Result<std::string> Replica::create_record(const std::string& entity_name, json fields) {
  auto entity = schema_.find_entity(entity_name);
  if (!entity) return entity.error();
  const schema::Entity& e = **entity;
  if (fields.is_object() && e.field("site") && !fields.contains("site"))
    fields["site"] = info_.site;
  auto values = schema::normalize_fields(e, fields);
  if (!values) return values.error();
  for (auto it = values->begin(); it != values->end();)
    it = it->is_null() ? values->erase(it) : std::next(it);
  if (Status s = schema::check_required(e, *values); !s) return s.error();
  if (Status s = check_references(e, *values); !s) return s.error();

  const std::string id = new_uuid();
  if (Status s = commit_local(e, id, ChangeKind::edit, *values); !s) return s.error();
  return id;
}

Status Replica::update_record(const std::string& entity_name, const std::string& id, json fields) {
  auto entity = schema_.find_entity(entity_name);
  if (!entity) return entity.error();
  const schema::Entity& e = **entity;
  if (Status s = refuse_if_append_only(e, "edited"); !s) return s;
  auto current = get(entity_name, id);
  if (!current) return current.error();
  if (current->deleted) return make_error(Errc::record_deleted, e.name + " " + id + " was deleted");
  auto values = schema::normalize_fields(e, fields);
  if (!values) return values.error();
  if (values->empty())
    return make_error(Errc::invalid_argument, "nothing to change: give at least one field=value");
  for (const auto& f : e.fields)
    if (f.required && values->contains(f.name) && (*values)[f.name].is_null())
      return make_error(Errc::missing_required, e.name + "." + f.name + " is required");
  if (Status s = check_references(e, *values); !s) return s.error();

  return commit_local(e, id, ChangeKind::edit, *values);
}

Status Replica::delete_record(const std::string& entity_name, const std::string& id) {
  auto entity = schema_.find_entity(entity_name);
  if (!entity) return entity.error();
  if (Status s = refuse_if_append_only(**entity, "deleted"); !s) return s;
  auto current = get(entity_name, id);
  if (!current) return current.error();
  if (current->deleted)
    return make_error(Errc::record_deleted, entity_name + " " + id + " is already deleted");
  return commit_local(*schema_.entity(entity_name), id, ChangeKind::remove, nullptr);
}

// The edits' own transactions become savepoints of this one. On failure the
// state kept in memory (counter, clock, knowledge) is read again from the
// file, which the rollback has returned to what it was.
Status Replica::atomically(const std::function<Status()>& edits) {
  auto tx = Transaction::begin(db_);
  if (!tx) return tx.error();
  Status s = Status::Ok();
  try {
    s = edits();
  } catch (...) {
    tx->reset();
    (void)load();
    throw;
  }
  if (s) s = (*tx)->commit();
  if (!s) {
    tx->reset();
    (void)load();
  }
  return s;
}

Status Replica::settle(const std::string& id, const std::string& field, const json& value) {
  auto all = conflicts();
  if (!all) return all.error();
  auto it = std::find_if(all->begin(), all->end(),
                         [&](const Conflict& c) { return c.record == id && c.field == field; });
  if (it == all->end())
    return make_error(Errc::no_such_conflict, "no open conflict on " + field + " of " + id);
  const schema::Entity& e = *schema_.entity(it->entity);
  if (Status s = refuse_if_append_only(e, "settled"); !s) return s;
  auto v = schema::normalize_value(e, *e.field(field), value);
  if (!v) return v.error();
  if (v->is_null() && e.field(field)->required)
    return make_error(Errc::missing_required, e.name + "." + field + " is required");

  return commit_local(e, id, ChangeKind::settle, json{{field, *v}});
}

}  // namespace relais::store
