// Counters of relais-server, rendered in the Prometheus text format at
// /metrics. Only counts and durations: no ids, no personal data.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>

namespace relais::server {

class Metrics {
 public:
  // Upper bounds of the push batch latency histogram, in milliseconds.
  static constexpr std::array<double, 10> kLatencyBucketsMs = {1,   5,   10,  25,   50,
                                                               100, 250, 500, 1000, 5000};

  std::atomic<std::int64_t> connections_open{0};
  std::atomic<std::uint64_t> connections_total{0};
  std::atomic<std::uint64_t> ops_received{0};  // field operations pushed to the server
  std::atomic<std::uint64_t> ops_applied{0};   // of which new to the server
  std::atomic<std::uint64_t> ops_refused{0};   // in batches refused whole
  std::atomic<std::uint64_t> protocol_errors{0};

  void observe_batch_ms(double ms);
  // `store_bytes`: the size of the store on disk.
  std::string render(std::uint64_t store_bytes) const;

 private:
  std::array<std::atomic<std::uint64_t>, kLatencyBucketsMs.size() + 1> buckets_{};
  std::atomic<std::uint64_t> batch_count_{0};
  std::atomic<std::uint64_t> batch_sum_us_{0};
};

}  // namespace relais::server
