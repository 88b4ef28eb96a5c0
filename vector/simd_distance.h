// Internal to vector/: the distance kernels the HNSW spaces use, in hnswlib's DISTFUNC<float>
// form (a, b, pointer to the dimension as size_t). hnswlib 0.6.2 picks its AVX kernels only
// when the whole translation unit is compiled for AVX, and Pathwise is built for x86-64-v2
// (SSE4.2) so that it runs on any x86-64 server; these kernels are compiled for AVX2 with FMA
// function by function and chosen once, at run time, when the CPU has both. (AVX-512 kernels
// measured no faster than AVX2 on the 1M bench: the search waits for memory, docs/benchmarks.md.)
#pragma once

#include <cstddef>

namespace pathwise::vector {

using DistanceKernel = float (*)(const void* a, const void* b, const void* dim);

struct DistanceKernels {
  // 1 - the dot product (hnswlib's InnerProductSpace distance; cosine spaces store normalised
  // vectors) and the squared Euclidean distance (hnswlib's L2Space), over any dimension.
  // Both null when the CPU lacks AVX2 or FMA: hnswlib's own (SSE) kernels then.
  DistanceKernel inner_product = nullptr;
  DistanceKernel l2_squared = nullptr;
};

// The kernels for this CPU (decided on the first call; safe to call from any thread).
// PATHWISE_SIMD=sse in the environment forces hnswlib's kernels (for side-by-side measurements).
const DistanceKernels& HostDistanceKernels();

}  // namespace pathwise::vector
