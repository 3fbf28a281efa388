// CUDA twin of optical_strain_cpu: LAENet paper (Lien, Chiang 2020), eq. (4)-(6), with
// numpy.gradient's finite differences (edge_order=1) so that the numpy twin matches.
#include <cstdint>

#include "ops/cuda/common.cuh"
#include "ops/strain.h"

namespace rtmer::ops {
namespace {

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;

// d/dt of f at index i of an axis of length n, stride s: central inside, one-sided on the border,
// 0 on an axis of length 1 (numpy.gradient, edge_order=1).
__device__ __forceinline__ float grad1(const float* f, int64_t i, int64_t n, int64_t s) {
  if (n < 2) return 0.0f;
  if (i == 0) return f[s] - f[0];
  if (i == n - 1) return f[0] - f[-s];
  return (f[s] - f[-s]) * 0.5f;
}

__global__ void strain_kernel(const float* __restrict__ flow, int64_t h, int64_t w, float* __restrict__ out) {
  const int64_t x = static_cast<int64_t>(blockIdx.x) * kBlockX + threadIdx.x;
  const int64_t y = static_cast<int64_t>(blockIdx.y) * kBlockY + threadIdx.y;
  if (x >= w || y >= h) return;
  const int64_t row = 2 * w;
  const float* p = flow + y * row + 2 * x;
  const float ux = grad1(p, x, w, 2);
  const float uy = grad1(p, y, h, row);
  const float vx = grad1(p + 1, x, w, 2);
  const float vy = grad1(p + 1, y, h, row);
  const float shear = uy + vx;
  // eq. (6): normal strains u_x, v_y and the two equal shear terms 0.5 * (u_y + v_x).
  out[y * w + x] = sqrtf(ux * ux + vy * vy + 0.5f * shear * shear);
}

}  // namespace

void optical_strain_cuda(const float* flow, int64_t h, int64_t w, float* out) {
  if (h <= 0 || w <= 0) return;
  const size_t n = static_cast<size_t>(h) * w;
  cuda::Stream stream;
  cuda::DeviceBuffer<float> d_flow(2 * n);
  cuda::DeviceBuffer<float> d_out(n);
  d_flow.upload(flow, 2 * n, stream.get());
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid(cuda::blocks_for(w, kBlockX), cuda::blocks_for(h, kBlockY));
  strain_kernel<<<grid, block, 0, stream.get()>>>(d_flow.get(), h, w, d_out.get());
  CUDA_CHECK_LAUNCH();
  d_out.download(out, n, stream.get());
  stream.synchronize();
}

}  // namespace rtmer::ops
