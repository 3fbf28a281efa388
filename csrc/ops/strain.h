// Optical strain magnitude, LAENet paper (Lien, Chiang 2020) eq. (4)-(6):
// eps = sqrt(u_x^2 + v_y^2 + 0.5 * (u_y + v_x)^2).
// Derivatives follow numpy.gradient (edge_order=1): central differences inside, one-sided
// differences on the border; an axis of length 1 has derivative 0.
#pragma once

#include <cstdint>

namespace rtmer::ops {

// flow: h*w*2 float32 interleaved (u, v); out: h*w float32.
void optical_strain_cpu(const float* flow, int64_t h, int64_t w, float* out);

void optical_strain_cuda(const float* flow, int64_t h, int64_t w, float* out);

}  // namespace rtmer::ops
