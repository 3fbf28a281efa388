// CropNet paper (Zhao, Chen, Luo 2021), eq. (5)-(7): absolute and relative pixel residual sums.
// Loops run over contiguous bytes with no branches so the compiler vectorises them (widening
// uint8 -> uint16 adds); OpenMP splits them into large chunks only when the array is big enough
// for the fork to pay.
#include "ops/residual_sum.h"

#include <algorithm>
#include <cstdlib>

namespace rtmer::ops {
namespace {

constexpr int64_t kParallelMin = 1 << 18;

inline uint8_t absdiff(uint8_t a, uint8_t b) { return a > b ? a - b : b - a; }

}  // namespace

void residual_sum_cpu(const uint8_t* frames, int64_t n_frames, const uint8_t* ref, int64_t n, uint16_t* acc) {
#pragma omp parallel for schedule(static) if (n * n_frames >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) acc[i] = 0;
  for (int64_t k = 0; k < n_frames; ++k) residual_accumulate_cpu(frames + k * n, ref, n, acc);
}

void residual_accumulate_cpu(const uint8_t* frame, const uint8_t* ref, int64_t n, uint16_t* acc) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) acc[i] = static_cast<uint16_t>(acc[i] + absdiff(frame[i], ref[i]));
}

void absdiff_cpu(const uint8_t* frame, const uint8_t* ref, int64_t n, uint8_t* out) {
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = absdiff(frame[i], ref[i]);
}

void ars_from_sum_cpu(const uint16_t* acc, int64_t n, uint8_t* out) {
  // eq. (5): the sum wraps modulo 256, as the paper stores it in an 8-bit image.
#pragma omp parallel for simd schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(acc[i] & 0xFF);
}

void rrs_from_sum_cpu(const uint16_t* acc, int64_t n, int gmin, int gmax, uint8_t* out) {
  if (n == 0) return;
  uint16_t lo = acc[0], hi = acc[0];
#pragma omp parallel for simd reduction(min : lo) reduction(max : hi) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, acc[i]);
    hi = std::max(hi, acc[i]);
  }
  // eq. (7) with min/max over the whole image (eq. 6); [rtmer] a flat residual maps to gmin.
  const int64_t span = static_cast<int64_t>(hi) - lo;
  if (span == 0) {
    std::fill(out, out + n, static_cast<uint8_t>(gmin));
    return;
  }
  const int64_t range2 = 2 * static_cast<int64_t>(gmax - gmin);
  const int64_t den = 2 * span;
#pragma omp parallel for schedule(static) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<uint8_t>(gmin + ((acc[i] - lo) * range2 + span) / den);
}

}  // namespace rtmer::ops
