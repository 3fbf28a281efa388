// LAENet paper (Lien, Chiang 2020), eq. (4)-(6): optical strain magnitude from the flow's
// spatial derivatives, with numpy.gradient's finite differences so the numpy twin matches.
#include "ops/strain.h"

#include <cmath>

namespace rtmer::ops {
namespace {

// d/dt of f at index i of an axis of length n, stride s (numpy.gradient, edge_order=1).
inline float grad1(const float* f, int64_t i, int64_t n, int64_t s) {
  if (n < 2) return 0.0f;
  if (i == 0) return f[s] - f[0];
  if (i == n - 1) return f[0] - f[-s];
  return (f[s] - f[-s]) * 0.5f;
}

}  // namespace

void optical_strain_cpu(const float* flow, int64_t h, int64_t w, float* out) {
  const int64_t row = 2 * w;
#pragma omp parallel for schedule(static) if (h * w >= (1 << 16))
  for (int64_t y = 0; y < h; ++y) {
    for (int64_t x = 0; x < w; ++x) {
      const float* p = flow + y * row + 2 * x;
      const float ux = grad1(p, x, w, 2);
      const float uy = grad1(p, y, h, row);
      const float vx = grad1(p + 1, x, w, 2);
      const float vy = grad1(p + 1, y, h, row);
      const float shear = uy + vx;
      // eq. (6): normal strains u_x, v_y and the two equal shear terms 0.5 * (u_y + v_x).
      out[y * w + x] = std::sqrt(ux * ux + vy * vy + 0.5f * shear * shear);
    }
  }
}

}  // namespace rtmer::ops
