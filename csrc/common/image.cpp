#include "common/image.h"

#include <algorithm>
#include <cmath>

namespace rtmer {

void Plane::assign(const float* src) {
  for (int y = 0; y < h; ++y) std::copy(src + static_cast<size_t>(y) * w, src + static_cast<size_t>(y + 1) * w, row(y));
}
void Plane::fill(float v) {
  for (int y = 0; y < h; ++y) std::fill(row(y), row(y) + w, v);
}
void Plane::scale(float s) {
  for (int y = 0; y < h; ++y) {
    float* r = row(y);
    for (int x = 0; x < w; ++x) r[x] *= s;
  }
}
void Plane::copy_rows_from(const Plane& src, int y0, int y1) {
  for (int y = y0; y < y1; ++y) std::copy(src.row(y), src.row(y) + w, row(y));
}

void resize_bilinear(const Plane& src, Plane& dst, double inv_x, double inv_y) {
  const int sw = src.w, sh = src.h;
  std::vector<int> x0(dst.w);
  std::vector<float> ax(dst.w);
  for (int x = 0; x < dst.w; ++x) {
    const float fx = static_cast<float>((x + 0.5) * inv_x - 0.5);
    int sx = static_cast<int>(std::floor(fx));
    float a = fx - sx;
    if (sx < 0) sx = 0, a = 0.0f;
    if (sx >= sw - 1) sx = sw - 1, a = 0.0f;
    x0[x] = sx;
    ax[x] = a;
  }
  for (int y = 0; y < dst.h; ++y) {
    const float fy = static_cast<float>((y + 0.5) * inv_y - 0.5);
    int sy = static_cast<int>(std::floor(fy));
    float b = fy - sy;
    if (sy < 0) sy = 0, b = 0.0f;
    if (sy >= sh - 1) sy = sh - 1, b = 0.0f;
    const float* r0 = src.row(sy);
    const float* r1 = src.row(std::min(sy + 1, sh - 1));
    float* o = dst.row(y);
    for (int x = 0; x < dst.w; ++x) {
      const int sx = x0[x];
      const int sx1 = std::min(sx + 1, sw - 1);
      const float a = ax[x];
      const float top = r0[sx] + a * (r0[sx1] - r0[sx]);
      const float bot = r1[sx] + a * (r1[sx1] - r1[sx]);
      o[x] = top + b * (bot - top);
    }
  }
}

void resize_bilinear_scale(const Plane& src, Plane& dst, float scale) {
  resize_bilinear(src, dst, 1.0 / scale, 1.0 / scale);
}

void resize_bilinear_size(const Plane& src, Plane& dst) {
  resize_bilinear(src, dst, static_cast<double>(src.w) / dst.w, static_cast<double>(src.h) / dst.h);
}

void centred_gradient(const Plane& src, Plane& gx, Plane& gy) {
  const int h = src.h, w = src.w;
  for (int y = 0; y < h; ++y) {
    const float* r = src.row(y);
    const float* up = src.row(std::max(y - 1, 0));
    const float* dn = src.row(std::min(y + 1, h - 1));
    float* ox = gx.row(y);
    float* oy = gy.row(y);
    for (int x = 0; x < w; ++x) {
      const int xl = std::max(x - 1, 0), xr = std::min(x + 1, w - 1);
      ox[x] = 0.5f * (r[xr] - r[xl]);
      oy[x] = 0.5f * (dn[x] - up[x]);
    }
  }
}

void pack3(const Plane& a, const Plane& b, const Plane& c, std::vector<float4v>& out) {
  out.resize(static_cast<size_t>(a.h) * a.w);
  for (int y = 0; y < a.h; ++y) {
    const float *ra = a.row(y), *rb = b.row(y), *rc = c.row(y);
    float4v* o = out.data() + static_cast<size_t>(y) * a.w;
    for (int x = 0; x < a.w; ++x) o[x] = float4v{ra[x], rb[x], rc[x], 0.0f};
  }
}

void deinterleave(const float* uv, Plane& u, Plane& v) {
  for (int y = 0; y < u.h; ++y) {
    const float* s = uv + static_cast<size_t>(y) * u.w * 2;
    float *ru = u.row(y), *rv = v.row(y);
    for (int x = 0; x < u.w; ++x) {
      ru[x] = s[2 * x];
      rv[x] = s[2 * x + 1];
    }
  }
}

void interleave(const Plane& u, const Plane& v, float* uv) {
  for (int y = 0; y < u.h; ++y) {
    float* o = uv + static_cast<size_t>(y) * u.w * 2;
    const float *ru = u.row(y), *rv = v.row(y);
    for (int x = 0; x < u.w; ++x) {
      o[2 * x] = ru[x];
      o[2 * x + 1] = rv[x];
    }
  }
}

}  // namespace rtmer
