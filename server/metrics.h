// server/: counters and latency histograms rendered in the Prometheus text format (GET /metrics).
// Thread-safe; one mutex, taken for a few map operations per request.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "storage/mutex.h"

namespace pathwise::server {

class Metrics {
 public:
  // endpoint: the route ("POST /v1/query"), not the raw path, so label sets stay bounded.
  void RecordRequest(const std::string& endpoint, int status, double seconds);
  // Per-stage times from a QueryResult's stats: numeric members named "<stage>_ms" and the
  // members of a "stages" object (stage -> milliseconds).
  void RecordQueryStats(const nlohmann::json& stats);
  void RecordEvents(size_t applied, size_t duplicates, size_t rejected);
  // Applied events with a recommendation_id: joined to its impression or not.
  void RecordOutcomes(size_t attributed, size_t unattributed);
  // A connection the server closed before serving it: reason "per_client_cap" (refused with
  // 503) or "header_timeout" (408; see server/connection_loop.h).
  void RecordConnectionClosed(const std::string& reason);

  // The exposition text; db_stats is Database::Stats() (counts, disk bytes, index sizes).
  std::string Render(const nlohmann::json& db_stats) const;
  // Decision counters (decide::Decider::Metrics) and breaker states (Decider::Breakers).
  static std::string RenderDecisions(const nlohmann::json& counters, const nlohmann::json& breakers);

 private:
  static constexpr std::array<double, 14> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                      0.025,  0.05,  0.1,    0.25,  0.5,
                                                      1,      2.5,   5,      10};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};  // non-cumulative
    uint64_t count = 0;
    double sum = 0;
    void Observe(double seconds);
    void Render(const std::string& name, const std::string& labels, std::string* out) const;
  };

  mutable Mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_ PW_GUARDED_BY(mu_);
  std::map<std::string, Histogram> request_latency_ PW_GUARDED_BY(mu_);
  std::map<std::string, Histogram> stage_latency_ PW_GUARDED_BY(mu_);
  uint64_t events_applied_ PW_GUARDED_BY(mu_) = 0;
  uint64_t events_duplicates_ PW_GUARDED_BY(mu_) = 0;
  uint64_t events_rejected_ PW_GUARDED_BY(mu_) = 0;
  uint64_t outcomes_attributed_ PW_GUARDED_BY(mu_) = 0;
  uint64_t outcomes_unattributed_ PW_GUARDED_BY(mu_) = 0;
  // Every reason present from the start, so the series exist at 0.
  std::map<std::string, uint64_t> connections_closed_ PW_GUARDED_BY(mu_) = {{"body_timeout", 0},
                                                          {"header_timeout", 0},
                                                          {"per_client_cap", 0},
                                                          {"tls_handshake_failed", 0}};
};

}  // namespace pathwise::server
