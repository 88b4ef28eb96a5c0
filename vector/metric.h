// Internal to vector/: similarities and distances of two float vectors in a space's metric,
// without hnswlib (the flat spaces' scans and VectorIndex::Similarity use these).
#pragma once

#include <cmath>
#include <cstddef>

#include "storage/schema.h"

namespace pathwise::vector {

// The sums a metric reads over n floats at a and b, in double. Eight independent accumulators
// per sum keep the loop free of a serial dependency chain (no -ffast-math needed for the
// compiler to pipeline it); partial sums are added in double. Each metric accumulates only the
// sums it reads (inner product: the dot product alone), each sum with the same operations in the
// same order whichever metric it serves, so a result does not depend on what else is computed.
struct MetricSums {
  double dot = 0, norm_a = 0, norm_b = 0, l2 = 0;
};

template <Metric kMetric>
MetricSums SumsIn(const float* a, const float* b, size_t n) {
  constexpr bool kDot = kMetric != Metric::kL2;
  constexpr bool kNorms = kMetric == Metric::kCosine;
  constexpr bool kL2 = kMetric == Metric::kL2;
  constexpr size_t kLanes = 8;
  float dot[kLanes] = {}, na[kLanes] = {}, nb[kLanes] = {}, l2[kLanes] = {};
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (size_t l = 0; l < kLanes; ++l) {
      float x = a[i + l], y = b[i + l];
      if constexpr (kDot) dot[l] += x * y;
      if constexpr (kNorms) {
        na[l] += x * x;
        nb[l] += y * y;
      }
      if constexpr (kL2) {
        float d = x - y;
        l2[l] += d * d;
      }
    }
  }
  MetricSums s;
  for (size_t l = 0; l < kLanes; ++l) {
    s.dot += dot[l];
    s.norm_a += na[l];
    s.norm_b += nb[l];
    s.l2 += l2[l];
  }
  for (; i < n; ++i) {
    double x = a[i], y = b[i];
    s.dot += x * y;
    s.norm_a += x * x;
    s.norm_b += y * y;
    s.l2 += (x - y) * (x - y);
  }
  return s;
}

// Similarity in kMetric (see Hit::similarity) of n floats at a and b; neither need be
// normalised.
template <Metric kMetric>
float SimilarityIn(const float* a, const float* b, size_t n) {
  const MetricSums s = SumsIn<kMetric>(a, b, n);
  switch (kMetric) {
    case Metric::kCosine:
      return (s.norm_a == 0 || s.norm_b == 0) ? 0.0f
                                              : static_cast<float>(s.dot / std::sqrt(s.norm_a * s.norm_b));
    case Metric::kInnerProduct:
      return static_cast<float>(s.dot);
    case Metric::kL2:
      return static_cast<float>(1.0 / (1.0 + s.l2));
  }
  return 0.0f;
}

inline float MetricSimilarity(Metric metric, const float* a, const float* b, size_t n) {
  switch (metric) {
    case Metric::kCosine: return SimilarityIn<Metric::kCosine>(a, b, n);
    case Metric::kInnerProduct: return SimilarityIn<Metric::kInnerProduct>(a, b, n);
    case Metric::kL2: return SimilarityIn<Metric::kL2>(a, b, n);
  }
  return 0.0f;
}

// The distance an index reports (Hit::distance) between a stored vector and a prepared query
// (both normalised for cosine): 1 - dot for cosine and ip, the squared distance for l2, as
// hnswlib's spaces define them.
template <Metric kMetric>
float DistanceIn(const float* a, const float* b, size_t n) {
  if constexpr (kMetric == Metric::kL2) {
    return static_cast<float>(SumsIn<Metric::kL2>(a, b, n).l2);
  } else {
    return static_cast<float>(1.0 - SumsIn<Metric::kInnerProduct>(a, b, n).dot);
  }
}

// Hit::similarity from Hit::distance.
inline float SimilarityFromDistance(Metric metric, float distance) {
  return metric == Metric::kL2 ? 1.0f / (1.0f + distance) : 1.0f - distance;
}

}  // namespace pathwise::vector
