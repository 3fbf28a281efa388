// A portable float vector for the hand-fused kernels: GCC/Clang vector extensions at the widest
// width the build targets (AVX-512: 16 lanes, AVX: 8, otherwise 4), plus the two operations the
// compiler will not choose well on its own: sqrt and reciprocal from hardware estimates refined
// by one Newton step (relative error ~1e-7, a few ulp) instead of full-precision sqrt and
// division, each several times slower per vector.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#if defined(__AVX512F__)
#define RTMER_VEC_BYTES 64
#elif defined(__AVX__)
#define RTMER_VEC_BYTES 32
#else
#define RTMER_VEC_BYTES 16
#endif

namespace rtmer {

using vfloat = float __attribute__((vector_size(RTMER_VEC_BYTES)));
using vint = int32_t __attribute__((vector_size(RTMER_VEC_BYTES)));
constexpr int kLanes = RTMER_VEC_BYTES / 4;

inline vfloat vload(const float* p) {
  vfloat v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void vstore(float* p, vfloat v) { std::memcpy(p, &v, sizeof v); }
inline vfloat vsplat(float x) { return vfloat{} + x; }
inline vint viota() {
  vint r{};
  for (int i = 0; i < kLanes; ++i) r[i] = i;
  return r;
}
inline float vsum(vfloat v) {
  float s = 0.0f;
  for (int i = 0; i < kLanes; ++i) s += v[i];
  return s;
}

inline vfloat vfloor(vfloat v) {
#if defined(__AVX512F__)
  return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
#elif defined(__AVX__)
  return _mm256_floor_ps(v);
#elif defined(__SSE4_1__)
  return _mm_floor_ps(v);
#else
  vfloat out;
  for (int i = 0; i < kLanes; ++i) out[i] = std::floor(v[i]);
  return out;
#endif
}

inline vfloat vclamp(vfloat v, float lo, float hi) { return v < lo ? vsplat(lo) : (v > hi ? vsplat(hi) : v); }

// 1 / (1 + k * sqrt(s)) for s >= 0: the TV-L1 dual step's normaliser.
inline vfloat inv_one_plus_k_sqrt(vfloat s, float k) {
#if defined(__AVX512F__)
  const __m512 vs = _mm512_max_ps(s, _mm512_set1_ps(1e-30f));  // rsqrt(0) = inf; s * rsqrt(tiny) = 0
  __m512 r = _mm512_rsqrt14_ps(vs);
  r = r * (1.5f - 0.5f * vs * r * r);
  const __m512 d = 1.0f + k * (s * r);
  __m512 q = _mm512_rcp14_ps(d);
  return q * (2.0f - d * q);
#elif defined(__AVX__)
  const __m256 vs = _mm256_max_ps(s, _mm256_set1_ps(1e-30f));
  __m256 r = _mm256_rsqrt_ps(vs);
  r = r * (1.5f - 0.5f * vs * r * r);
  const __m256 d = 1.0f + k * (s * r);
  __m256 q = _mm256_rcp_ps(d);
  return q * (2.0f - d * q);
#else
  vfloat out;
  for (int i = 0; i < kLanes; ++i) out[i] = 1.0f / (1.0f + k * std::sqrt(s[i]));
  return out;
#endif
}

}  // namespace rtmer
