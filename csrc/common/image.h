// Float image planes and the small image helpers the flow solvers share: pyramid resizing,
// centred gradients and bicubic sampling.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace rtmer {

// Padding around each row of a Plane, in floats: one full vector on the left (rows stay
// 64-byte aligned and x = -1 is a readable zero) and at least one full vector on the right (a
// vector load at any x < w, or at x + 1, stays inside the row's storage).
constexpr int kPadLeft = 16;
constexpr int kPadRight = 32;

// One float32 plane, row-major, rows padded (see kPadLeft / kPadRight) with zeros.
struct Plane {
  int h = 0, w = 0, stride = 0;
  std::vector<float> d;

  void resize(int hh, int ww) {
    h = hh;
    w = ww;
    stride = kPadLeft + (w + kPadRight + 15) / 16 * 16;
    d.assign(static_cast<size_t>(h) * stride + kPadLeft, 0.0f);
  }
  float* row(int y) { return d.data() + static_cast<size_t>(y) * stride + kPadLeft; }
  const float* row(int y) const { return d.data() + static_cast<size_t>(y) * stride + kPadLeft; }
  void assign(const float* src);  // src: h*w contiguous
  void fill(float v);             // the image only; the padding keeps its values
  void scale(float s);
  void copy_rows_from(const Plane& src, int y0, int y1);
};

// Bilinear resize with OpenCV's INTER_LINEAR geometry: dst pixel x samples src at
// (x + 0.5) * inv - 0.5, clamped to the image. inv is src/dst along each axis.
void resize_bilinear(const Plane& src, Plane& dst, double inv_x, double inv_y);
// Resize by a scale factor (OpenCV's resize(src, dst, Size(), s, s)): inv = 1 / s.
void resize_bilinear_scale(const Plane& src, Plane& dst, float scale);
// Resize to dst's size (OpenCV's resize(src, dst, dst.size())): inv = src size / dst size.
void resize_bilinear_size(const Plane& src, Plane& dst);

// 0.5 * (f[x+1] - f[x-1]) inside, 0.5 * one-sided differences on the border (OpenCV's TV-L1).
void centred_gradient(const Plane& src, Plane& gx, Plane& gy);

using float4v = float __attribute__((vector_size(16)));

// Three planes of equal size interleaved as 4 floats per pixel (a, b, c, 0), so one bicubic tap
// fetches all three with one 16-byte load.
void pack3(const Plane& a, const Plane& b, const Plane& c, std::vector<float4v>& out);

// Keys' cubic convolution weights of the four taps around a sample at fraction t, written to
// c[0], c[stride], c[2 * stride], c[3 * stride]. T: float or a float vector (then c receives one
// vector per tap). A = -0.75 is OpenCV's INTER_CUBIC (TV-L1 keeps it, to match OpenCV); A = -0.5
// (Catmull-Rom) reproduces linear and quadratic intensity exactly, which rendering needs: with
// -0.75 a sub-pixel shift of a ramp comes out up to 0.05 px off.
template <class T>
inline void cubic_weights(T t, float* c, int stride, float A = -0.75f) {
  const T c0 = ((A * (t + 1) - 5 * A) * (t + 1) + 8 * A) * (t + 1) - 4 * A;
  const T c1 = ((A + 2) * t - (A + 3)) * t * t + 1;
  const T c2 = ((A + 2) * (1 - t) - (A + 3)) * (1 - t) * (1 - t) + 1;
  const T c3 = 1.0f - c0 - c1 - c2;
  std::memcpy(c, &c0, sizeof(T));
  std::memcpy(c + stride, &c1, sizeof(T));
  std::memcpy(c + 2 * stride, &c2, sizeof(T));
  std::memcpy(c + 3 * stride, &c3, sizeof(T));
}

// Bicubic sample of a packed h x w image from the 4 x 4 taps starting at (x0, y0), with weights
// wx[k * stride], wy[k * stride]; taps outside the image replicate its border.
inline float4v bicubic_taps(const float4v* img, int h, int w, int x0, int y0, const float* wx,
                            const float* wy, int stride) {
  int xs[4];
  const bool inside_x = x0 >= 0 && x0 + 3 < w;
  for (int k = 0; k < 4; ++k) xs[k] = inside_x ? x0 + k : std::min(std::max(x0 + k, 0), w - 1);
  const float a0 = wx[0], a1 = wx[stride], a2 = wx[2 * stride], a3 = wx[3 * stride];
  float4v acc = {0, 0, 0, 0};
  for (int j = 0; j < 4; ++j) {
    const float4v* r = img + static_cast<size_t>(std::min(std::max(y0 + j, 0), h - 1)) * w;
    acc += (r[xs[0]] * a0 + r[xs[1]] * a1 + r[xs[2]] * a2 + r[xs[3]] * a3) * wy[j * stride];
  }
  return acc;
}

// (u, v) interleaved h*w*2 <-> two planes.
void deinterleave(const float* uv, Plane& u, Plane& v);
void interleave(const Plane& u, const Plane& v, float* uv);

}  // namespace rtmer
