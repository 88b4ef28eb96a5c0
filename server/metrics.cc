#include "server/metrics.h"

#include <cstdio>
#include <utility>

namespace pathwise::server {
namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

void Gauge(const std::string& name, const std::string& help, const std::string& labels,
           double value, std::string* out) {
  if (!help.empty()) *out += "# HELP " + name + " " + help + "\n# TYPE " + name + " gauge\n";
  *out += name + (labels.empty() ? "" : "{" + labels + "}") + " " + Num(value) + "\n";
}

}  // namespace

void Metrics::Histogram::Observe(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      ++buckets[i];
      break;
    }
  }
  ++count;
  sum += seconds;
}

void Metrics::Histogram::Render(const std::string& name, const std::string& labels,
                                std::string* out) const {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += buckets[i];
    *out += name + "_bucket{" + labels + ",le=\"" + Num(kBuckets[i]) + "\"} " +
            std::to_string(cumulative) + "\n";
  }
  *out += name + "_bucket{" + labels + ",le=\"+Inf\"} " + std::to_string(count) + "\n";
  *out += name + "_sum{" + labels + "} " + Num(sum) + "\n";
  *out += name + "_count{" + labels + "} " + std::to_string(count) + "\n";
}

void Metrics::RecordRequest(const std::string& endpoint, int status, double seconds) {
  MutexLock lock(&mu_);
  ++requests_[{endpoint, status}];
  request_latency_[endpoint].Observe(seconds);
}

void Metrics::RecordQueryStats(const nlohmann::json& stats) {
  // The engine reports stage times as "<stage>_us" keys (parse_us, bind_us, plan_us, exec_us,
  // and for RECOMMEND sources_us, filter_us, score_us, diversify_us, explain_us).
  if (!stats.is_object()) return;
  MutexLock lock(&mu_);
  for (const auto& [key, value] : stats.items()) {
    if (value.is_number() && key.size() > 3 && key.ends_with("_us")) {
      stage_latency_[key.substr(0, key.size() - 3)].Observe(value.get<double>() / 1e6);
    }
  }
}

void Metrics::RecordEvents(size_t applied, size_t duplicates, size_t rejected) {
  MutexLock lock(&mu_);
  events_applied_ += applied;
  events_duplicates_ += duplicates;
  events_rejected_ += rejected;
}

void Metrics::RecordOutcomes(size_t attributed, size_t unattributed) {
  MutexLock lock(&mu_);
  outcomes_attributed_ += attributed;
  outcomes_unattributed_ += unattributed;
}

void Metrics::RecordConnectionClosed(const std::string& reason) {
  MutexLock lock(&mu_);
  ++connections_closed_[reason];
}

std::string Metrics::Render(const nlohmann::json& db_stats) const {
  std::string out;
  {
    MutexLock lock(&mu_);
    out += "# HELP pathwise_http_requests_total HTTP requests by endpoint and status.\n";
    out += "# TYPE pathwise_http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      out += "pathwise_http_requests_total{endpoint=\"" + Escape(key.first) + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(count) + "\n";
    }
    out += "# HELP pathwise_http_request_seconds Request latency by endpoint.\n";
    out += "# TYPE pathwise_http_request_seconds histogram\n";
    for (const auto& [endpoint, histogram] : request_latency_) {
      histogram.Render("pathwise_http_request_seconds", "endpoint=\"" + Escape(endpoint) + "\"",
                       &out);
    }
    out += "# HELP pathwise_query_stage_seconds Query time by execution stage.\n";
    out += "# TYPE pathwise_query_stage_seconds histogram\n";
    for (const auto& [stage, histogram] : stage_latency_) {
      histogram.Render("pathwise_query_stage_seconds", "stage=\"" + Escape(stage) + "\"", &out);
    }
    out += "# HELP pathwise_events_total Events received by outcome.\n";
    out += "# TYPE pathwise_events_total counter\n";
    out += "pathwise_events_total{outcome=\"ingested\"} " + std::to_string(events_applied_) + "\n";
    out += "pathwise_events_total{outcome=\"deduplicated\"} " +
           std::to_string(events_duplicates_) + "\n";
    out += "pathwise_events_total{outcome=\"rejected\"} " + std::to_string(events_rejected_) +
           "\n";
    out += "# HELP pathwise_outcomes_total Applied events carrying a recommendation_id, by "
           "whether they were joined to its impression.\n# TYPE pathwise_outcomes_total counter\n";
    out += "pathwise_outcomes_total{attribution=\"attributed\"} " +
           std::to_string(outcomes_attributed_) + "\n";
    out += "pathwise_outcomes_total{attribution=\"unattributed\"} " +
           std::to_string(outcomes_unattributed_) + "\n";
    out += "# HELP pathwise_http_connections_closed_total Connections closed by a connection "
           "limit, by reason.\n# TYPE pathwise_http_connections_closed_total counter\n";
    for (const auto& [reason, count] : connections_closed_) {
      out += "pathwise_http_connections_closed_total{reason=\"" + Escape(reason) + "\"} " +
             std::to_string(count) + "\n";
    }
  }
  auto number = [&](const char* key) -> double {
    auto it = db_stats.find(key);
    return it != db_stats.end() && it->is_number() ? it->get<double>() : 0.0;
  };
  Gauge("pathwise_disk_bytes", "Bytes used by the data directory.", "", number("disk_bytes"),
        &out);
  Gauge("pathwise_nodes", "Nodes stored.", "", number("nodes"), &out);
  Gauge("pathwise_edges", "Edges stored.", "", number("edges"), &out);
  auto vectors = db_stats.find("vectors");
  out += "# HELP pathwise_vectors Vectors stored per vector space.\n# TYPE pathwise_vectors gauge\n";
  if (vectors != db_stats.end() && vectors->is_object()) {
    for (const auto& [space, count] : vectors->items()) {
      if (count.is_number()) {
        Gauge("pathwise_vectors", "", "space=\"" + Escape(space) + "\"", count.get<double>(), &out);
      }
    }
  }
  auto memory = db_stats.find("memory_bytes");
  out += "# HELP pathwise_memory_bytes In-memory index sizes by structure.\n"
         "# TYPE pathwise_memory_bytes gauge\n";
  if (memory != db_stats.end() && memory->is_object()) {
    for (const auto& [index, bytes] : memory->items()) {
      if (bytes.is_number()) {
        Gauge("pathwise_memory_bytes", "", "index=\"" + Escape(index) + "\"", bytes.get<double>(),
              &out);
      }
    }
  }
  return out;
}

namespace {

// One metric without labels: its HELP and TYPE lines and its value (a count, printed whole).
void Single(const char* name, const char* type, const char* help, double value, std::string* out) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
          name + " " + std::to_string(static_cast<uint64_t>(value)) + "\n";
}

// Per (surface, variant): logged decisions, their item impressions, attributed clicks and
// conversions (docs/feedback-loop.md, "Report").
void RenderVariants(const nlohmann::json& variants, std::string* out) {
  const std::pair<const char*, const char*> counters[] = {
      {"decisions", "Logged decisions"},
      {"impressions", "Items served by logged decisions"},
      {"clicks", "Attributed events of the surface's click types"},
      {"conversions", "Attributed events of the surface's conversion types"}};
  for (const auto& [what, help] : counters) {
    std::string name = std::string("pathwise_variant_") + what + "_total";
    *out += "# HELP " + name + " " + help + ", per surface and A/B variant.\n# TYPE " + name +
            " counter\n";
    for (const auto& v : variants) {
      *out += name + "{surface=\"" + Escape(v.value("surface", "")) + "\",variant=\"" +
              Escape(v.value("variant", "")) + "\"} " + std::to_string(v.value(what, uint64_t{0})) +
              "\n";
    }
  }
}

}  // namespace

std::string Metrics::RenderDecisions(const nlohmann::json& counters,
                                     const nlohmann::json& breakers) {
  std::string out;
  auto count = [&](const std::string& key) {
    auto it = counters.find(key);
    return it != counters.end() && it->is_number() ? it->get<double>() : 0.0;
  };
  out += "# HELP pathwise_decisions_total Decisions by what served them.\n"
         "# TYPE pathwise_decisions_total counter\n";
  out += "# HELP pathwise_decision_reasons_total Reason codes given with decisions.\n"
         "# TYPE pathwise_decision_reasons_total counter\n";
  for (const auto& [key, value] : counters.items()) {
    if (!value.is_number()) continue;
    if (key.rfind("served_by:", 0) == 0) {
      out += "pathwise_decisions_total{served_by=\"" + Escape(key.substr(10)) + "\"} " +
             std::to_string(value.get<uint64_t>()) + "\n";
    } else if (key.rfind("reason:", 0) == 0) {
      out += "pathwise_decision_reasons_total{reason=\"" + Escape(key.substr(7)) + "\"} " +
             std::to_string(value.get<uint64_t>()) + "\n";
    }
  }
  Single("pathwise_decisions_degraded_total", "counter",
         "Decisions not served by the primary recipe or with a source dropped.",
         count("degraded"), &out);
  out += "# HELP pathwise_decision_steps_total Recipe steps by the thread they ran on: the "
         "deciding one (inline) or a worker (docs/decisions.md, How a step runs).\n"
         "# TYPE pathwise_decision_steps_total counter\n";
  for (const char* run : {"inline", "worker"}) {
    out += "pathwise_decision_steps_total{run=\"" + std::string(run) + "\"} " +
           std::to_string(static_cast<uint64_t>(count(std::string("steps_") + run))) + "\n";
  }
  Single("pathwise_decision_isolated_steps_total", "counter",
         "Recipe steps run on a worker because their recipe was isolated.",
         count("steps_isolated"), &out);
  Single("pathwise_decision_isolations_total", "counter",
         "Times a recipe became isolated after a run overran its step budget.",
         count("isolations"), &out);
  Single("pathwise_decision_isolated_recipes", "gauge",
         "Recipes isolated now (in their cool-down).", count("isolated_recipes"), &out);
  Single("pathwise_decisions_working", "gauge",
         "Decisions holding a token to work now (docs/decisions.md, Overload).",
         count("decisions_running"), &out);
  Single("pathwise_decisions_waiting", "gauge", "Decisions waiting for a token to work.",
         count("decisions_waiting"), &out);
  Single("pathwise_impression_writes_in_flight", "gauge",
         "Impression log writes running now (docs/feedback-loop.md, Impressions).",
         count("impression_writes_in_flight"), &out);
  Single("pathwise_impression_records_queued", "gauge",
         "Impression records waiting for the impression writer's threads.",
         count("impression_records_queued"), &out);
  Single("pathwise_decisions_shed_total", "counter",
         "Decisions that waited longer than their admission wait and answered from the popular "
         "list.",
         count("decisions_shed"), &out);
  out += "# HELP pathwise_impressions_total Decisions by what became of their impressions "
         "(docs/feedback-loop.md).\n# TYPE pathwise_impressions_total counter\n";
  for (const char* outcome : {"logged", "sampled_out", "log_failed"}) {
    const std::string key = std::string(outcome) == "logged"        ? "impressions_logged"
                            : std::string(outcome) == "sampled_out" ? "impressions_sampled_out"
                                                                    : "impression_log_failures";
    out += "pathwise_impressions_total{outcome=\"" + std::string(outcome) + "\"} " +
           std::to_string(static_cast<uint64_t>(count(key))) + "\n";
  }
  out += "# HELP pathwise_decision_cache_total Popular-list and candidate cache lookups and "
         "computations by outcome (docs/decisions.md, Caches).\n"
         "# TYPE pathwise_decision_cache_total counter\n";
  for (const auto& [field, name] : {std::pair<const char*, const char*>{"popular_cache", "popular"},
                                    {"candidate_cache", "candidates"}}) {
    auto cache = counters.find(field);
    if (cache == counters.end() || !cache->is_object()) continue;
    for (const auto& [outcome, n] : cache->items()) {
      if (outcome == "entries") continue;  // a gauge, below
      out += "pathwise_decision_cache_total{cache=\"" + std::string(name) + "\",outcome=\"" +
             Escape(outcome) + "\"} " + std::to_string(n.get<uint64_t>()) + "\n";
    }
  }
  Single("pathwise_candidate_cache_entries", "gauge", "Entries held by the candidate cache.",
         counters.value("candidate_cache", nlohmann::json::object()).value("entries", uint64_t{0}),
         &out);
  Single("pathwise_explored_items_total", "counter",
         "Items placed in exploration slots (docs/feedback-loop.md, Exploration).",
         count("explored_items"), &out);
  const nlohmann::json explore = counters.value("explore_counts", nlohmann::json::object());
  Single("pathwise_explore_posterior_keys", "gauge",
         "(surface, bucket, item) posterior counts held for exploration.",
         explore.value("keys", uint64_t{0}), &out);
  Single("pathwise_explore_posterior_evicted_total", "counter",
         "Posterior counts forgotten at the bound.", explore.value("evicted", uint64_t{0}), &out);
  Single("pathwise_frequency_index_decisions", "gauge",
         "Decisions held by the frequency-cap index.",
         counters.value("frequency_index", nlohmann::json::object()).value("decisions", uint64_t{0}),
         &out);
  RenderVariants(counters.value("variants", nlohmann::json::array()), &out);
  out += "# HELP pathwise_breaker_state Circuit breaker state (0 closed, 1 half-open, 2 open).\n"
         "# TYPE pathwise_breaker_state gauge\n";
  for (const auto& b : breakers) {
    std::string state = b.value("state", "closed");
    int v = state == "open" ? 2 : state == "half_open" ? 1 : 0;
    out += "pathwise_breaker_state{recipe=\"" + Escape(b.value("recipe", "")) + "\",source=\"" +
           Escape(b.value("source", "")) + "\"} " + std::to_string(v) + "\n";
  }
  return out;
}

}  // namespace pathwise::server
