// Helpers shared by the tests that drive replicas: unwrapping results, moving
// changes between replicas the way a sync does, and a fixture that makes
// replica files in a private temporary directory.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "relais/error.h"
#include "relais/exchange/outbox.h"
#include "relais/schema/schema.h"
#include "relais/store/replica.h"
#include "temp_dir.h"

namespace relais {

// Lets GoogleTest print error codes by name.
inline void PrintTo(Errc code, std::ostream* os) {
  *os << (code == Errc{} ? std::string_view("ok") : errc_name(code));
}

namespace store {

inline void PrintTo(const OpId& id, std::ostream* os) {
  *os << id.str();
}

}  // namespace store
}  // namespace relais

namespace relais::testing {

inline std::string describe(const Error& e) {
  return std::string(errc_name(e.code)) + ": " + e.message;
}

// The value of `r`; throws, so that the test fails naming the error, if
// there is none. Keeps the happy path of a test to one line per step.
template <class T>
T must(Result<T> r) {
  if (!r) throw std::runtime_error(describe(r.error()));
  return std::move(r).value();
}

inline void must(const Status& s) {
  if (!s) throw std::runtime_error(describe(s.error()));
}

// The code a Result or Status failed with, or Errc{} (printed "ok") if it succeeded.
template <class R>
Errc code_of(const R& r) {
  return r.ok() ? Errc{} : r.error().code;
}

#define RELAIS_EXPECT_OK(expr)                                                     \
  do {                                                                             \
    const auto& relais_r_ = (expr);                                                \
    EXPECT_TRUE(relais_r_.ok()) << ::relais::testing::describe(relais_r_.error()); \
  } while (0)

// The batches an Outbox of `from` yields for a peer that knows what `to` knows.
inline std::vector<std::vector<store::Change>> outbox_batches(
    store::Replica& from, store::Replica& to, std::size_t max_ops = exchange::kDefaultBatchOps) {
  exchange::Outbox outbox(from, to.knowledge(), max_ops);
  std::vector<std::vector<store::Change>> batches;
  while (auto batch = must(outbox.next())) batches.push_back(std::move(*batch));
  return batches;
}

// Every change `from` holds that `to` lacks, in the Outbox's order.
inline std::vector<store::Change> missing_changes(store::Replica& from, store::Replica& to) {
  std::vector<store::Change> all;
  for (auto& batch : outbox_batches(from, to))
    for (auto& c : batch) all.push_back(std::move(c));
  return all;
}

// Applies to `to`, batch by batch, what `from` holds and `to` lacks.
inline store::ApplyStats send(store::Replica& from, store::Replica& to,
                              std::size_t max_ops = exchange::kDefaultBatchOps) {
  store::ApplyStats total;
  for (const auto& batch : outbox_batches(from, to, max_ops)) {
    const auto stats = must(to.apply(batch));
    total.applied += stats.applied;
    total.duplicates += stats.duplicates;
  }
  return total;
}

// Both ways, so that each holds what either held.
inline void sync(store::Replica& a, store::Replica& b) {
  send(a, b);
  send(b, a);
}

// Conflicts as JSON, to compare replicas and print the difference.
inline nlohmann::json to_json(const std::vector<store::Conflict>& conflicts) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : conflicts) {
    nlohmann::json values = nlohmann::json::array();
    for (const auto& v : c.values)
      values.push_back(
          {{"op", v.op.str()}, {"value", v.value}, {"author", v.author}, {"hlc", v.hlc}});
    out.push_back({{"entity", c.entity},
                   {"record", c.record},
                   {"field", c.field},
                   {"values", std::move(values)}});
  }
  return out;
}

// The required fields of a person (its site defaults to the replica's).
inline nlohmann::json person(const std::string& first, const std::string& last) {
  return {{"first_name", first}, {"last_name", last}};
}

// Makes replica files in a temporary directory owned by the test.
class ReplicaTest : public ::testing::Test {
 protected:
  // A new replica of site "nord" whose default author is `user`.
  std::unique_ptr<store::Replica> make(
      const std::string& name, const std::string& user = "counsellor",
      store::HybridClock::WallClock wall = store::HybridClock::system_wall_ms,
      const schema::Schema& schema = schema::Schema::builtin()) {
    return must(store::Replica::create(path(name), "nord", user, schema, std::move(wall)));
  }

  std::unique_ptr<store::Replica> reopen(const std::string& name,
                                         const schema::Schema& schema = schema::Schema::builtin()) {
    return must(store::Replica::open(path(name), schema));
  }

  std::string path(const std::string& name) const { return dir_.file(name + ".db"); }

  static std::string digest(store::Replica& r) { return must(r.digest()); }
  static std::size_t history_size(store::Replica& r) {
    return must(r.history({}, SIZE_MAX)).size();
  }

  TempDir dir_;
};

}  // namespace relais::testing
