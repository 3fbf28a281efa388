// CUDA twin of remap_bicubic_cpu: backward warping with Keys' bicubic kernel (parameter a) at full
// float precision, replicated border, 1 to 4 interleaved channels.
#include "ops/cuda/common.cuh"
#include "ops/remap.h"

namespace rtmer::ops {
namespace {

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

__device__ __forceinline__ void keys_weights(float t, float c[4], float A) {
  c[0] = ((A * (t + 1.0f) - 5.0f * A) * (t + 1.0f) + 8.0f * A) * (t + 1.0f) - 4.0f * A;
  c[1] = ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
  c[2] = ((A + 2.0f) * (1.0f - t) - (A + 3.0f)) * (1.0f - t) * (1.0f - t) + 1.0f;
  c[3] = 1.0f - c[0] - c[1] - c[2];
}

__device__ __forceinline__ int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

__global__ void remap_kernel(const float* __restrict__ img, int h, int w, int c, const float* __restrict__ map,
                             int oh, int ow, float a, float* __restrict__ out) {
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  if (x >= ow || y >= oh) return;
  const size_t i = static_cast<size_t>(y) * ow + x;
  const float sx = map[2 * i], sy = map[2 * i + 1];
  const float fx = floorf(sx), fy = floorf(sy);
  float cx[4], cy[4];
  keys_weights(sx - fx, cx, a);
  keys_weights(sy - fy, cy, a);
  // Far outside the image every tap clamps to the border; keep the int conversion in range.
  const int x0 = static_cast<int>(fminf(fmaxf(fx, -4.0f), w + 4.0f)) - 1;
  const int y0 = static_cast<int>(fminf(fmaxf(fy, -4.0f), h + 4.0f)) - 1;
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  for (int j = 0; j < 4; ++j) {
    const float* row = img + static_cast<size_t>(clampi(y0 + j, 0, h - 1)) * w * c;
    for (int k = 0; k < 4; ++k) {
      const float* px = row + static_cast<size_t>(clampi(x0 + k, 0, w - 1)) * c;
      const float wgt = cy[j] * cx[k];
      for (int ch = 0; ch < c; ++ch) acc[ch] += wgt * px[ch];
    }
  }
  for (int ch = 0; ch < c; ++ch) out[i * c + ch] = acc[ch];
}

}  // namespace

void remap_bicubic_cuda(const float* img, int h, int w, int c, const float* map, int oh, int ow, float a,
                        float* out) {
  if (h <= 0 || w <= 0 || oh <= 0 || ow <= 0) return;
  const size_t n_in = static_cast<size_t>(h) * w * c;
  const size_t n_out = static_cast<size_t>(oh) * ow;
  cuda::Stream stream;
  cuda::DeviceBuffer<float> d_img(n_in);
  cuda::DeviceBuffer<float> d_map(2 * n_out);
  cuda::DeviceBuffer<float> d_out(n_out * c);
  d_img.upload(img, n_in, stream.get());
  d_map.upload(map, 2 * n_out, stream.get());
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid(cuda::blocks_for(ow, kBlockX), cuda::blocks_for(oh, kBlockY));
  remap_kernel<<<grid, block, 0, stream.get()>>>(d_img.get(), h, w, c, d_map.get(), oh, ow, a, d_out.get());
  CUDA_CHECK_LAUNCH();
  d_out.download(out, n_out * c, stream.get());
  stream.synchronize();
}

}  // namespace rtmer::ops
