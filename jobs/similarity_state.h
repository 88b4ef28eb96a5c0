// Internal to jobs/: what a similarity run leaves for the next incremental one (docs/jobs.md,
// "Incremental mode"): the parameters and the fingerprints of the relation the model was
// computed from, stored as one meta key per output edge type.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "graph/similarity.h"
#include "storage/status.h"

namespace pathwise::jobs {

struct SimilarityState {
  // The parameters that decide the model (edge, output, measure, k, alpha, shrink, caps,
  // weighted, min_cooccurrence), normalised; an incremental run needs equal ones.
  nlohmann::json params;
  graph::SimilarityFingerprints fingerprints;
};

// "similarity/<output edge type>".
std::string SimilarityStateKey(std::string_view output);

// The stored form: {"version": 1, "params": {...}, "items": HEX, "users": HEX}, 32 hex digits
// per node (its id, then its fingerprint), about 32 bytes per item and per user.
std::string EncodeSimilarityState(const SimilarityState& state);
// Corruption for anything EncodeSimilarityState did not write.
Result<SimilarityState> DecodeSimilarityState(std::string_view stored);

}  // namespace pathwise::jobs
