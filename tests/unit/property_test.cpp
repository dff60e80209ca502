// Convergence under random use: several replicas edit, delete and settle at
// random, exchanging changes in small batches that arrive shuffled, repeated
// or not at all; after a final full exchange every replica shows the same
// state and the same conflicts.
//
// RELAIS_PROPERTY_SEED and RELAIS_PROPERTY_EDITS override the seed and the
// number of random actions, for longer runs; the seed is printed either way.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "fake_clock.h"
#include "relais/exchange/outbox.h"
#include "relais/store/replica.h"
#include "replicas.h"

namespace relais::store {
namespace {

using nlohmann::json;
using schema::Field;
using schema::FieldType;
using testing::must;
using testing::to_json;

constexpr std::uint64_t kDefaultSeed = 20260101;
constexpr std::size_t kDefaultEdits = 2000;
constexpr std::size_t kReplicas = 5;

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

struct RecordRef {
  std::string entity;
  std::string id;
};

// What happened, so the test can show it exercised what it claims to.
struct Tally {
  std::size_t creates = 0, edits = 0, deletes = 0, settles = 0, exchanges = 0;
  std::size_t duplicated = 0, dropped = 0;
};

// The replicas, the records made so far, and the random choices.
class World {
 public:
  // Each replica has its own wall clock, all starting together; they seldom
  // move, sometimes back, so timestamps mostly count logically and those of
  // different replicas are often equal: ties get broken.
  World(const testing::TempDir& dir, std::uint64_t seed) : rng_(seed), clocks_(kReplicas) {
    for (std::size_t i = 0; i < kReplicas; ++i)
      replicas_.push_back(must(Replica::create(dir.file("r" + std::to_string(i) + ".db"), "nord",
                                               "user" + std::to_string(i),
                                               schema::Schema::builtin(), clocks_[i].fn())));
  }

  // One random action: mostly edits, some creates, deletes, settles and exchanges.
  void step() {
    const std::size_t which = pick(kReplicas);
    Replica& r = *replicas_[which];
    if (chance(5)) clocks_[which].advance(1);
    if (chance(1)) clocks_[which].set(clocks_[which].ms() - pick(20));
    const std::size_t roll = pick(100);
    if (roll < 12 || records_.empty())
      create(r);
    else if (roll < 70)
      edit(r);
    else if (roll < 74)
      remove(r);
    else if (roll < 79)
      settle(r);
    else
      exchange(*replicas_[pick(kReplicas)], r);
  }

  // Everyone sends everything to replica 0, which sends everything back.
  void exchange_all() {
    for (std::size_t i = 1; i < kReplicas; ++i) testing::send(*replicas_[i], *replicas_[0], 50);
    for (std::size_t i = 1; i < kReplicas; ++i) testing::send(*replicas_[0], *replicas_[i], 50);
  }

  std::vector<std::unique_ptr<Replica>>& replicas() { return replicas_; }
  const Tally& tally() const { return tally_; }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_);
  }
  bool chance(int percent) { return pick(100) < static_cast<std::size_t>(percent); }
  template <class T>
  const T& pick_of(const std::vector<T>& v) {
    return v[pick(v.size())];
  }

  static bool live(Replica& r, const RecordRef& ref) {
    auto rec = r.get(ref.entity, ref.id);
    return rec.ok() && !rec->deleted;
  }

  // A record of `entity` live on `r`, preferring recent ones, or nullptr.
  const RecordRef* live_record(Replica& r, const std::string& entity) {
    for (int attempt = 0; attempt < 8; ++attempt) {
      const std::size_t n = records_.size();
      const RecordRef& ref = chance(50) && n > 60 ? records_[n - 1 - pick(60)] : pick_of(records_);
      if ((entity.empty() || ref.entity == entity) && live(r, ref)) return &ref;
    }
    return nullptr;
  }

  // A random valid value for `f`, or nullopt if none can be made on `r`.
  std::optional<json> value(Replica& r, const Field& f) {
    static const std::vector<std::string> towns = {"Lille", "Roubaix", "Douai", "Arras", "Lens"};
    static const std::vector<std::string> dates = {"2025-02-28", "2024-02-29", "2025-12-31"};
    static const std::vector<std::string> phones = {"0612345678", "+33 6 12 34 56 79"};
    static const std::vector<std::string> emails = {"a@x.fr", "B@Y.FR", "c.d@z.org"};
    if (!f.required && chance(8)) return json(nullptr);
    switch (f.type) {
      case FieldType::boolean:
        return json(chance(50));
      case FieldType::integer:
        return json(pick(5));
      case FieldType::date:
        return json(pick_of(dates));
      case FieldType::phone:
        return json(pick_of(phones));
      case FieldType::email:
        return json(pick_of(emails));
      case FieldType::postal_code:
        return json(chance(50) ? "59000" : "62300");
      case FieldType::enumeration:
        return json(pick_of(f.values));
      case FieldType::enum_set: {
        json set = json::array();
        for (std::size_t i = pick(4); i > 0; --i) set.push_back(pick_of(f.values));
        return set;
      }
      case FieldType::reference: {
        const RecordRef* target = records_.empty() ? nullptr : live_record(r, f.target);
        if (target != nullptr) return json(target->id);
        return f.required ? std::nullopt : std::optional<json>(json(nullptr));
      }
      case FieldType::reference_set: {
        const RecordRef* target = records_.empty() ? nullptr : live_record(r, f.target);
        return target != nullptr ? json::array({target->id}) : json::array();
      }
      default: {
        const std::string text = pick_of(towns) + (chance(50) ? "" : " " + std::to_string(pick(3)));
        return json(text.substr(0, f.max_length.value_or(text.size())));
      }
    }
  }

  void create(Replica& r) {
    static const std::vector<std::string> entities = {"person", "person",      "person", "event",
                                                      "task",   "interaction", "partner"};
    const schema::Entity& e = *schema::Schema::builtin().entity(pick_of(entities));
    json fields = json::object();
    for (const Field& f : e.fields) {
      if (!f.required && !chance(30)) continue;
      auto v = value(r, f);
      if (!v) return;  // a required reference with nothing to point at
      if (!v->is_null()) fields[f.name] = *v;
    }
    records_.push_back({e.name, must(r.create_record(e.name, fields))});
    ++tally_.creates;
  }

  // Edits one to three fields, often the first few of the entity, so that
  // replicas keep editing the same fields concurrently.
  void edit(Replica& r) {
    const RecordRef* ref = live_record(r, "");
    if (ref == nullptr) return;
    const schema::Entity& e = *schema::Schema::builtin().entity(ref->entity);
    json fields = json::object();
    for (std::size_t n = 1 + pick(3); n > 0; --n) {
      const Field& f = chance(60) ? e.fields[pick(std::min<std::size_t>(3, e.fields.size()))]
                                  : pick_of(e.fields);
      if (auto v = value(r, f)) fields[f.name] = *v;
    }
    if (fields.empty()) return;
    must(r.update_record(ref->entity, ref->id, fields));
    ++tally_.edits;
  }

  void remove(Replica& r) {
    if (const RecordRef* ref = live_record(r, "")) {
      must(r.delete_record(ref->entity, ref->id));
      ++tally_.deletes;
    }
  }

  // Settles a random open conflict with one of its values or a new one.
  void settle(Replica& r) {
    const auto open = must(r.conflicts());
    if (open.empty()) return;
    const Conflict& c = pick_of(open);
    const schema::Entity& e = *schema::Schema::builtin().entity(c.entity);
    std::optional<json> v = pick_of(c.values).value;
    if (chance(30)) v = value(r, *e.field(c.field));
    if (!v || (v->is_null() && e.field(c.field)->required)) return;
    must(r.settle(c.record, c.field, *v));
    ++tally_.settles;
  }

  // Sends what `to` lacks in small batches delivered in a random order, some
  // twice, some lost (a later exchange sends them again), some shuffled inside.
  void exchange(Replica& from, Replica& to) {
    if (&from == &to) return;
    auto batches = testing::outbox_batches(from, to, 1 + pick(40));
    std::vector<std::vector<Change>> delivered;
    for (auto& batch : batches) {
      if (chance(5)) {
        ++tally_.dropped;
        continue;
      }
      if (chance(30)) std::shuffle(batch.begin(), batch.end(), rng_);
      if (chance(15)) {
        delivered.push_back(batch);
        ++tally_.duplicated;
      }
      delivered.push_back(std::move(batch));
    }
    std::shuffle(delivered.begin(), delivered.end(), rng_);
    for (const auto& batch : delivered) must(to.apply(batch));
    ++tally_.exchanges;
  }

  std::mt19937_64 rng_;
  std::vector<testing::FakeWallClock> clocks_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::vector<RecordRef> records_;
  Tally tally_;
};

TEST(Property, RandomEditsAndExchangesConvergeOnEveryReplica) {
  const std::uint64_t seed = env_number("RELAIS_PROPERTY_SEED", kDefaultSeed);
  const std::size_t edits = env_number("RELAIS_PROPERTY_EDITS", kDefaultEdits);
  std::cout << "[ property ] seed=" << seed << " edits=" << edits
            << " (override with RELAIS_PROPERTY_SEED, RELAIS_PROPERTY_EDITS)" << std::endl;
  SCOPED_TRACE("RELAIS_PROPERTY_SEED=" + std::to_string(seed));
  testing::TempDir dir;
  World world(dir, seed);

  for (std::size_t i = 0; i < edits; ++i) world.step();
  world.exchange_all();

  auto& rs = world.replicas();
  const std::string digest = must(rs[0]->digest());
  const json conflicts = to_json(must(rs[0]->conflicts()));
  for (std::size_t i = 1; i < rs.size(); ++i) {
    EXPECT_EQ(must(rs[i]->digest()), digest) << "replica " << i;
    EXPECT_EQ(to_json(must(rs[i]->conflicts())), conflicts) << "replica " << i;
    EXPECT_EQ(rs[i]->knowledge(), rs[0]->knowledge()) << "replica " << i;
  }
  const Tally& t = world.tally();
  std::cout << "[ property ] creates=" << t.creates << " edits=" << t.edits
            << " deletes=" << t.deletes << " settles=" << t.settles << " exchanges=" << t.exchanges
            << " duplicated=" << t.duplicated << " dropped=" << t.dropped
            << " open conflicts at the end=" << conflicts.size() << std::endl;
  if (edits >= 1000) {  // the run really exercised conflicts and their settling
    EXPECT_GT(t.settles, 10u);
    EXPECT_GT(t.deletes, 10u);
    EXPECT_GT(t.duplicated, 10u);
  }
}

TEST(Property, AFreshReplicaGivenEverythingInARandomOrderShowsTheSameState) {
  const std::uint64_t seed = env_number("RELAIS_PROPERTY_SEED", kDefaultSeed) + 1;
  SCOPED_TRACE("RELAIS_PROPERTY_SEED=" + std::to_string(seed - 1));
  testing::TempDir dir;
  World world(dir, seed);
  for (std::size_t i = 0; i < env_number("RELAIS_PROPERTY_EDITS", kDefaultEdits) / 5; ++i)
    world.step();
  world.exchange_all();
  auto all = must(world.replicas()[0]->changes_after({}, SIZE_MAX));
  std::shuffle(all.begin(), all.end(), world.rng());
  auto fresh = must(Replica::create(dir.file("fresh.db"), "nord", "x", schema::Schema::builtin()));

  must(exchange::apply_in_batches(*fresh, all, 20));

  EXPECT_EQ(must(fresh->digest()), must(world.replicas()[0]->digest()));
  EXPECT_EQ(to_json(must(fresh->conflicts())), to_json(must(world.replicas()[0]->conflicts())));
}

}  // namespace
}  // namespace relais::store
