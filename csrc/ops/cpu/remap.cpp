// Bicubic backward warping (see ops/remap.h). The channels are packed four to a pixel so one
// 16-byte load fetches every channel of a tap; the shared bicubic helpers are TV-L1's warp.
#include "ops/remap.h"

#include <vector>

#include "common/image.h"

namespace rtmer::ops {

void remap_bicubic_cpu(const float* img, int h, int w, int c, const float* map, int oh, int ow, float a,
                       float* out) {
  std::vector<float4v> packed(static_cast<size_t>(h) * w);
  for (size_t i = 0; i < packed.size(); ++i) {
    float4v p = {0, 0, 0, 0};
    for (int k = 0; k < c; ++k) p[k] = img[i * c + k];
    packed[i] = p;
  }
#pragma omp parallel for schedule(static) if (static_cast<int64_t>(oh) * ow >= (1 << 16))
  for (int y = 0; y < oh; ++y) {
    float wx[4], wy[4];
    for (int x = 0; x < ow; ++x) {
      const float* m = map + (static_cast<size_t>(y) * ow + x) * 2;
      const float fx = std::floor(m[0]), fy = std::floor(m[1]);
      cubic_weights(m[0] - fx, wx, 1, a);
      cubic_weights(m[1] - fy, wy, 1, a);
      // Far outside the image every tap clamps to the border; keep the int conversion in range.
      const int x0 = static_cast<int>(std::fmin(std::fmax(fx, -4.0f), w + 4.0f)) - 1;
      const int y0 = static_cast<int>(std::fmin(std::fmax(fy, -4.0f), h + 4.0f)) - 1;
      const float4v s = bicubic_taps(packed.data(), h, w, x0, y0, wx, wy, 1);
      float* o = out + (static_cast<size_t>(y) * ow + x) * c;
      for (int k = 0; k < c; ++k) o[k] = s[k];
    }
  }
}

}  // namespace rtmer::ops
