#include "relais/exchange/outbox.h"

#include <algorithm>

namespace relais::exchange {

Outbox::Outbox(store::Replica& replica, store::Knowledge theirs, std::size_t max_ops)
    : replica_(replica), theirs_(std::move(theirs)), max_ops_(std::max<std::size_t>(max_ops, 1)) {}

Result<std::optional<std::vector<store::Change>>> Outbox::next() {
  auto batch = replica_.changes_after(theirs_, max_ops_);
  if (!batch) return batch.error();
  if (batch->empty()) return std::optional<std::vector<store::Change>>();
  for (const auto& c : *batch) {
    auto& known = theirs_[c.origin];
    known = std::max(known, c.last());
  }
  return std::optional<std::vector<store::Change>>(std::move(batch).value());
}

void Outbox::peer_has(const std::vector<store::Change>& changes) {
  for (const auto& c : changes) {
    auto& known = theirs_[c.origin];
    // Knowledge counts contiguous operations: move on only if nothing of
    // that origin is missing before the change.
    if (c.first <= known + 1) known = std::max(known, c.last());
  }
}

Result<store::ApplyStats> apply_in_batches(store::Replica& replica,
                                           const std::vector<store::Change>& changes,
                                           std::size_t max_ops,
                                           const std::function<void(std::size_t)>& progress) {
  store::ApplyStats total;
  std::size_t begin = 0;
  while (begin < changes.size()) {
    std::size_t end = begin, ops = 0;
    while (end < changes.size() && (end == begin || ops < max_ops))
      ops += changes[end++].ops.size();
    std::vector<store::Change> batch(changes.begin() + static_cast<std::ptrdiff_t>(begin),
                                     changes.begin() + static_cast<std::ptrdiff_t>(end));
    auto stats = replica.apply(batch);
    if (!stats) return stats.error();
    total.applied += stats->applied;
    total.duplicates += stats->duplicates;
    total.purged += stats->purged;
    begin = end;
    if (progress) progress(begin);
  }
  return total;
}

}  // namespace relais::exchange
