// What one replica sends another, and how a receiver applies it, expressed
// without any I/O: the file bundles and the network sync both drive these.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "relais/error.h"
#include "relais/store/change.h"
#include "relais/store/replica.h"

namespace relais::exchange {

// Field operations per batch unless told otherwise: large enough to amortise
// a transaction, small enough that a batch stays a few megabytes.
inline constexpr std::size_t kDefaultBatchOps = 5000;

// Walks the changes `replica` holds that a peer with knowledge `theirs`
// lacks, in batches of about `max_ops` field operations (a change is never
// split). The replica must outlive the Outbox.
class Outbox {
 public:
  Outbox(store::Replica& replica, store::Knowledge theirs, std::size_t max_ops = kDefaultBatchOps);

  // The next batch, or nullopt when the peer will have everything.
  Result<std::optional<std::vector<store::Change>>> next();
  // The peer sent us `changes`, so it holds them: they are not to be sent
  // back (a live replica would otherwise echo everything it receives).
  void peer_has(const std::vector<store::Change>& changes);
  // The peer's knowledge once it has applied every batch returned so far.
  const store::Knowledge& peer_knowledge() const { return theirs_; }

 private:
  store::Replica& replica_;
  store::Knowledge theirs_;
  std::size_t max_ops_;
};

// Applies `changes` in transactions of about `max_ops` field operations, so
// that a crash keeps what was committed and a retry resumes (each change is
// idempotent). `progress`, if set, is called after each committed batch with
// the number of changes handled so far.
Result<store::ApplyStats> apply_in_batches(
    store::Replica& replica, const std::vector<store::Change>& changes,
    std::size_t max_ops = kDefaultBatchOps,
    const std::function<void(std::size_t)>& progress = nullptr);

}  // namespace relais::exchange
