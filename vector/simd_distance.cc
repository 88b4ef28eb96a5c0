#include "vector/simd_distance.h"

#include <immintrin.h>

#include <cstdlib>
#include <cstring>

namespace pathwise::vector {
namespace {

size_t Dim(const void* dim) { return *static_cast<const size_t*>(dim); }

__attribute__((target("avx2,fma"))) float HorizontalSum(__m256 v) {
  __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Two accumulators of 8 lanes; the tail in scalar code.
__attribute__((target("avx2,fma"))) float DotAvx2(const float* x, const float* y, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), s1);
  }
  if (i + 8 <= n) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), s0);
    i += 8;
  }
  float sum = HorizontalSum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) sum += x[i] * y[i];
  return sum;
}

__attribute__((target("avx2,fma"))) float L2Avx2(const float* x, const float* y, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8));
    s0 = _mm256_fmadd_ps(d0, d0, s0);
    s1 = _mm256_fmadd_ps(d1, d1, s1);
  }
  if (i + 8 <= n) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i));
    s0 = _mm256_fmadd_ps(d, d, s0);
    i += 8;
  }
  float sum = HorizontalSum(_mm256_add_ps(s0, s1));
  for (; i < n; ++i) sum += (x[i] - y[i]) * (x[i] - y[i]);
  return sum;
}

template <float (*kDot)(const float*, const float*, size_t)>
float InnerProductDistance(const void* a, const void* b, const void* dim) {
  return 1.0f - kDot(static_cast<const float*>(a), static_cast<const float*>(b), Dim(dim));
}

template <float (*kL2)(const float*, const float*, size_t)>
float L2SquaredDistance(const void* a, const void* b, const void* dim) {
  return kL2(static_cast<const float*>(a), static_cast<const float*>(b), Dim(dim));
}

DistanceKernels Choose() {
  DistanceKernels k;
  const char* forced = std::getenv("PATHWISE_SIMD");
  if (forced != nullptr && std::strcmp(forced, "sse") == 0) return k;
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    k.inner_product = InnerProductDistance<DotAvx2>;
    k.l2_squared = L2SquaredDistance<L2Avx2>;
  }
  return k;
}

}  // namespace

const DistanceKernels& HostDistanceKernels() {
  static const DistanceKernels kernels = Choose();
  return kernels;
}

}  // namespace pathwise::vector
