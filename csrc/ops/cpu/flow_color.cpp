// MJFN paper (Li et al. 2021), eq. (5)-(6): flow rendered with the Middlebury colour wheel
// (Baker et al. 2011, "A database and evaluation methodology for optical flow").
#include "ops/flow_color.h"

#include <algorithm>
#include <cmath>

#include "common/check.h"

namespace rtmer::ops {

std::vector<float> color_wheel(int n_hues) {
  RTMER_CHECK(n_hues >= 6, "n_hues must be at least 6 (one hue per wheel segment), got ", n_hues);
  // Middlebury segment lengths for 55 hues: red-yellow, yellow-green, green-cyan, cyan-blue,
  // blue-magenta, magenta-red. Other hue counts scale them; the largest absorbs rounding.
  const int base[6] = {15, 6, 4, 11, 13, 6};
  int seg[6];
  int total = 0;
  for (int i = 0; i < 6; ++i) {
    seg[i] = std::max(1, static_cast<int>(std::lround(base[i] * n_hues / 55.0)));
    total += seg[i];
  }
  seg[0] += n_hues - total;
  RTMER_CHECK(seg[0] >= 1, "cannot split ", n_hues, " hues into the six wheel segments");
  std::vector<float> wheel(static_cast<size_t>(n_hues) * 3, 0.0f);
  int k = 0;
  // Each segment ramps one channel while another stays at 255 (columns: R, G, B).
  const int hold[6] = {0, 1, 1, 2, 2, 0};
  const int ramp[6] = {1, 0, 2, 1, 0, 2};
  const bool up[6] = {true, false, true, false, true, false};
  for (int s = 0; s < 6; ++s) {
    for (int i = 0; i < seg[s]; ++i, ++k) {
      const float r = std::floor(255.0f * static_cast<float>(i) / static_cast<float>(seg[s]));
      wheel[k * 3 + hold[s]] = 255.0f;
      wheel[k * 3 + ramp[s]] = up[s] ? r : 255.0f - r;
    }
  }
  return wheel;
}

void flow_to_color_cpu(const float* flow, int64_t h, int64_t w, int n_hues, uint8_t* out) {
  const std::vector<float> wheel = color_wheel(n_hues);
  const int64_t n = h * w;
  float maxrad = 0.0f;
#pragma omp parallel for reduction(max : maxrad) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const float u = flow[2 * i], v = flow[2 * i + 1];
    if (std::isfinite(u) && std::isfinite(v)) maxrad = std::max(maxrad, std::sqrt(u * u + v * v));
  }
  // eq. (6): magnitude normalised by the image maximum; a still image stays white.
  if (maxrad == 0.0f) maxrad = 1.0f;
  const float pi = 3.14159265358979323846f;
#pragma omp parallel for schedule(static) if (n >= (1 << 16))
  for (int64_t i = 0; i < n; ++i) {
    const float u0 = flow[2 * i], v0 = flow[2 * i + 1];
    uint8_t* o = out + 3 * i;
    if (!(std::isfinite(u0) && std::isfinite(v0))) {
      o[0] = o[1] = o[2] = 0;
      continue;
    }
    const float u = u0 / maxrad, v = v0 / maxrad;
    const float r = std::sqrt(u * u + v * v);
    // eq. (5): the hue indexes the wheel by the flow direction.
    const float a = std::atan2(-v, -u) / pi;
    const float fk = (a + 1.0f) / 2.0f * static_cast<float>(n_hues - 1);
    const int k0 = static_cast<int>(std::floor(fk));
    const int k1 = k0 + 1 == n_hues ? 0 : k0 + 1;
    const float f = fk - static_cast<float>(k0);
    for (int c = 0; c < 3; ++c) {
      float col = ((1.0f - f) * wheel[k0 * 3 + c] + f * wheel[k1 * 3 + c]) / 255.0f;
      col = r <= 1.0f ? 1.0f - r * (1.0f - col) : col * 0.75f;
      o[c] = static_cast<uint8_t>(std::floor(255.0f * col));
    }
  }
}

}  // namespace rtmer::ops
