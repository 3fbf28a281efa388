// Pixel residual sums of the CropNet paper (Zhao, Chen, Luo 2021), eq. (5)-(7).
// All images are contiguous uint8 arrays of n elements (H*W or H*W*C, channels interleaved).
#pragma once

#include <cstdint>

namespace rtmer::ops {

// acc[i] = sum_k |frames[k*n + i] - ref[i]|, k < n_frames (eq. 5 and 6 before their last step).
// n_frames <= 257 keeps every sum inside uint16.
void residual_sum_cpu(const uint8_t* frames, int64_t n_frames, const uint8_t* ref, int64_t n, uint16_t* acc);

// acc[i] += |frame[i] - ref[i]|: the streaming update when one more key frame arrives.
void residual_accumulate_cpu(const uint8_t* frame, const uint8_t* ref, int64_t n, uint16_t* acc);

// out[i] = |frame[i] - ref[i]|: the running residual of the live engine.
void absdiff_cpu(const uint8_t* frame, const uint8_t* ref, int64_t n, uint8_t* out);

// eq. (5): ARS = acc mod 256.
void ars_from_sum_cpu(const uint16_t* acc, int64_t n, uint8_t* out);

// eq. (7): min-max stretch of acc to [gmin, gmax] with integer round-half-up:
// out = gmin + ((acc - lo) * (gmax - gmin) * 2 + (hi - lo)) / (2 * (hi - lo)); a flat acc gives gmin.
void rrs_from_sum_cpu(const uint16_t* acc, int64_t n, int gmin, int gmax, uint8_t* out);

// CUDA twin of residual_sum_cpu; host pointers in and out.
void residual_sum_cuda(const uint8_t* frames, int64_t n_frames, const uint8_t* ref, int64_t n, uint16_t* acc);

}  // namespace rtmer::ops
