// Fault injection: a process applying a large bundle is killed with SIGKILL
// part way. The replica file must come back consistent, hold whole batches
// only, and converge once the same bundle is applied again.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "relais/exchange/bundle.h"
#include "relais/exchange/outbox.h"
#include "relais/store/ids.h"
#include "replicas.h"

namespace relais::exchange {
namespace {

using schema::Schema;
using store::Change;
using store::ChangeKind;
using store::FieldOp;
using store::OpId;
using store::Replica;
using testing::must;

constexpr std::size_t kChanges = 20'000;
constexpr std::size_t kBatchOps = 100;
constexpr std::size_t kBatchesBeforeKill = 20;

// Changes a field laptop could have made: a thousand people created, then
// edited one field at a time, each edit naming the value it replaces.
std::vector<Change> field_laptop_history(std::size_t count) {
  const std::string origin = store::new_uuid();
  const std::vector<std::string> fields = {"commune", "counsellor"};
  std::vector<Change> out;
  std::vector<std::string> people;
  std::map<std::pair<std::string, std::string>, OpId> last_set;  // (record, field) -> op
  std::uint64_t counter = 1, hlc = store::HybridClock::pack(1767225600000, 0);
  for (std::size_t i = 0; i < count; ++i, ++hlc) {
    Change c{origin, counter, hlc, "alice", "person", "", ChangeKind::edit, {}};
    if (i < 1000) {
      c.record = store::new_uuid();
      people.push_back(c.record);
      c.ops = {FieldOp{"first_name", "Prénom " + std::to_string(i), {}},
               FieldOp{"last_name", "Nom", {}}, FieldOp{"site", "nord", {}}};
    } else {
      c.record = people[(i * 7919) % people.size()];
      const std::string& field = fields[i % fields.size()];
      const auto key = std::make_pair(c.record, field);
      std::vector<OpId> prev;
      if (auto it = last_set.find(key); it != last_set.end()) prev.push_back(it->second);
      c.ops = {FieldOp{field, "Valeur " + std::to_string(i % 13), prev}};
      last_set.insert_or_assign(key, c.op_id(0));
    }
    counter += c.ops.size();
    out.push_back(std::move(c));
  }
  return out;
}

// PRAGMA integrity_check's answer, read with SQLite alone.
std::string integrity_check(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open";
  }
  std::string answer;
  sqlite3_exec(
      db, "PRAGMA integrity_check",
      [](void* out, int, char** values, char**) {
        *static_cast<std::string*>(out) += values[0] ? values[0] : "NULL";
        return 0;
      },
      &answer, nullptr);
  sqlite3_close(db);
  return answer;
}

// The child: applies `changes` to a new replica at `path` in small batches
// and, after a few commits, tells the parent through `ready` that it may kill.
// Never returns; touches nothing of GoogleTest.
[[noreturn]] void apply_until_killed(const std::string& path, const std::vector<Change>& changes,
                                     int ready) {
  int code = 0;
  try {
    auto target = Replica::create(path, "nord", "bruno", Schema::builtin());
    if (!target) _exit(2);
    std::size_t batches = 0;
    auto signal_parent = [&](std::size_t) {
      const char byte = 'k';
      if (++batches == kBatchesBeforeKill && write(ready, &byte, 1) != 1) _exit(3);
    };
    code = apply_in_batches(**target, changes, kBatchOps, signal_parent).ok() ? 0 : 4;
  } catch (...) {
    code = 5;
  }
  _exit(code);
}

// A source replica with a large history, and that history as a decoded bundle.
class Crash : public testing::ReplicaTest {
 protected:
  void SetUp() override {
    source_ = make("source");
    must(source_->apply(field_laptop_history(kChanges)));
    BundleHeader header{kBundleFormatVersion,       2,
                        source_->info().replica_id, "nord",
                        "2026-01-01T00:00:00Z",     source_->knowledge()};
    const std::string bytes = encode_bundle(header, must(source_->changes_after({}, SIZE_MAX)));
    changes_ = must(decode_bundle(bytes, Schema::builtin())).changes;
  }

  // Forks a child that applies the bundle to replica `name`, and kills it
  // with SIGKILL once it has committed a few batches.
  void apply_and_kill(const std::string& name) {
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) apply_until_killed(path(name), changes_, ready[1]);
    close(ready[1]);
    char byte = 0;
    const ssize_t got = read(ready[0], &byte, 1);
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(ready[0]);
    ASSERT_EQ(got, 1) << "the child stopped before signalling, status " << status;
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child was not killed mid-apply; status " << status;
  }

  std::unique_ptr<Replica> source_;
  std::vector<Change> changes_;
};

TEST_F(Crash, AKilledApplyLeavesAConsistentReplicaThatResumesAndConverges) {
  ASSERT_EQ(changes_.size(), kChanges);

  apply_and_kill("target");

  EXPECT_EQ(integrity_check(path("target")), "ok");
  auto target = reopen("target");
  const std::size_t held = history_size(*target);
  EXPECT_GE(held, kBatchesBeforeKill) << "at least the signalled batches were committed";
  EXPECT_LT(held, changes_.size()) << "the kill came after the whole bundle was applied";

  // What survived is exactly the first `held` changes: whole batches, no part of one.
  auto prefix = make("prefix");
  must(prefix->apply({changes_.begin(), changes_.begin() + static_cast<std::ptrdiff_t>(held)}));
  EXPECT_EQ(digest(*target), digest(*prefix));
  EXPECT_EQ(target->knowledge(), prefix->knowledge());

  const auto resumed = must(apply_in_batches(*target, changes_, 5000));
  EXPECT_EQ(resumed.duplicates, held);
  EXPECT_EQ(resumed.applied, changes_.size() - held);
  EXPECT_EQ(digest(*target), digest(*source_));
  EXPECT_EQ(target->knowledge(), source_->knowledge());
  EXPECT_EQ(integrity_check(path("target")), "ok");
}

}  // namespace
}  // namespace relais::exchange
