// CUDA twin of flow_to_color_cpu: MJFN paper (Li et al. 2021), eq. (5)-(6), the Middlebury colour
// coding of Baker et al. 2011. The maximum magnitude is reduced on the device, so the flow crosses
// the bus once each way.
#include <cstdint>
#include <vector>

#include "ops/cuda/common.cuh"
#include "ops/flow_color.h"

namespace rtmer::ops {
namespace {

constexpr int kThreads = 256;
constexpr unsigned int kMaxBlocks = 4096;

__device__ __forceinline__ bool finite_flow(float u, float v) { return isfinite(u) && isfinite(v); }

// eq. (6) denominator: max over finite pixels of |flow|. Magnitudes are >= +0, and for
// non-negative IEEE floats the bit patterns order like the values, so an integer atomicMax on the
// bits is an exact, order-independent float max.
__global__ void max_radius_kernel(const float* __restrict__ flow, int64_t n, float* __restrict__ maxrad) {
  float m = 0.0f;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float u = flow[2 * i], v = flow[2 * i + 1];
    if (finite_flow(u, v)) m = fmaxf(m, sqrtf(u * u + v * v));
  }
  for (int off = 16; off > 0; off >>= 1) m = fmaxf(m, __shfl_down_sync(0xffffffffu, m, off));
  __shared__ float warp_max[kThreads / 32];
  if ((threadIdx.x & 31) == 0) warp_max[threadIdx.x >> 5] = m;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int k = 1; k < kThreads / 32; ++k) m = fmaxf(m, warp_max[k]);
    atomicMax(reinterpret_cast<int*>(maxrad), __float_as_int(m));
  }
}

__global__ void color_kernel(const float* __restrict__ flow, int64_t n, const float* __restrict__ wheel, int n_hues,
                             const float* __restrict__ maxrad_ptr, uint8_t* __restrict__ out) {
  // A still image (max 0) stays white rather than dividing by zero.
  const float maxrad = *maxrad_ptr == 0.0f ? 1.0f : *maxrad_ptr;
  const float pi = 3.14159265358979323846f;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float u0 = flow[2 * i], v0 = flow[2 * i + 1];
    uint8_t* o = out + 3 * i;
    if (!finite_flow(u0, v0)) {
      o[0] = o[1] = o[2] = 0;
      continue;
    }
    const float u = u0 / maxrad, v = v0 / maxrad;
    const float r = sqrtf(u * u + v * v);
    // eq. (5): the flow direction indexes the wheel, interpolating between neighbouring hues.
    const float a = atan2f(-v, -u) / pi;
    const float fk = (a + 1.0f) / 2.0f * static_cast<float>(n_hues - 1);
    const int k0 = static_cast<int>(floorf(fk));
    const int k1 = k0 + 1 == n_hues ? 0 : k0 + 1;
    const float f = fk - static_cast<float>(k0);
    for (int c = 0; c < 3; ++c) {
      float col = ((1.0f - f) * wheel[k0 * 3 + c] + f * wheel[k1 * 3 + c]) / 255.0f;
      // eq. (6): saturation grows with the normalised magnitude; beyond the radius, darker.
      col = r <= 1.0f ? 1.0f - r * (1.0f - col) : col * 0.75f;
      o[c] = static_cast<uint8_t>(floorf(255.0f * col));
    }
  }
}

}  // namespace

void flow_to_color_cuda(const float* flow, int64_t h, int64_t w, int n_hues, uint8_t* out) {
  // The wheel is built (and n_hues validated) on the host by the CPU file's color_wheel.
  const std::vector<float> wheel = color_wheel(n_hues);
  const int64_t n = h * w;
  if (n <= 0) return;
  cuda::Stream stream;
  cuda::DeviceBuffer<float> d_flow(static_cast<size_t>(2 * n));
  cuda::DeviceBuffer<float> d_wheel(wheel.size());
  cuda::DeviceBuffer<float> d_maxrad(1);
  cuda::DeviceBuffer<uint8_t> d_out(static_cast<size_t>(3 * n));
  d_flow.upload(flow, d_flow.size(), stream.get());
  d_wheel.upload(wheel.data(), wheel.size(), stream.get());
  CUDA_CHECK(cudaMemsetAsync(d_maxrad.get(), 0, sizeof(float), stream.get()));
  const unsigned int blocks = cuda::blocks_for(n, kThreads, kMaxBlocks);
  max_radius_kernel<<<blocks, kThreads, 0, stream.get()>>>(d_flow.get(), n, d_maxrad.get());
  CUDA_CHECK_LAUNCH();
  color_kernel<<<blocks, kThreads, 0, stream.get()>>>(d_flow.get(), n, d_wheel.get(), n_hues, d_maxrad.get(),
                                                      d_out.get());
  CUDA_CHECK_LAUNCH();
  d_out.download(out, d_out.size(), stream.get());
  stream.synchronize();
}

}  // namespace rtmer::ops
