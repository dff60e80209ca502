#include "relais/server/metrics.h"

#include <sstream>

namespace relais::server {

void Metrics::observe_batch_ms(double ms) {
  std::size_t i = 0;
  while (i < kLatencyBucketsMs.size() && ms > kLatencyBucketsMs[i]) ++i;
  ++buckets_[i];
  ++batch_count_;
  batch_sum_us_ += static_cast<std::uint64_t>(ms * 1000.0);
}

std::string Metrics::render(std::uint64_t store_bytes) const {
  std::ostringstream o;
  auto metric = [&](const char* name, const char* type, const char* help, auto value) {
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << " " << value << "\n";
  };
  metric("relais_connections_open", "gauge", "Connections open now.", connections_open.load());
  metric("relais_connections_total", "counter", "Connections accepted.", connections_total.load());
  metric("relais_ops_received_total", "counter", "Field operations pushed by replicas.",
         ops_received.load());
  metric("relais_ops_applied_total", "counter", "Pushed field operations new to the server.",
         ops_applied.load());
  metric("relais_ops_refused_total", "counter", "Field operations in refused batches.",
         ops_refused.load());
  metric("relais_protocol_errors_total", "counter", "Messages refused as malformed or unexpected.",
         protocol_errors.load());
  metric("relais_store_bytes", "gauge", "Size of the store on disk.", store_bytes);

  o << "# HELP relais_push_batch_seconds Time to validate and commit a pushed batch.\n"
       "# TYPE relais_push_batch_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBucketsMs.size(); ++i) {
    cumulative += buckets_[i].load();
    o << "relais_push_batch_seconds_bucket{le=\"" << kLatencyBucketsMs[i] / 1000.0 << "\"} "
      << cumulative << "\n";
  }
  cumulative += buckets_.back().load();
  o << "relais_push_batch_seconds_bucket{le=\"+Inf\"} " << cumulative << "\n"
    << "relais_push_batch_seconds_sum " << static_cast<double>(batch_sum_us_.load()) / 1e6 << "\n"
    << "relais_push_batch_seconds_count " << batch_count_.load() << "\n";
  return o.str();
}

}  // namespace relais::server
