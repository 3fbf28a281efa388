// CUDA twin of residual_sum_cpu: CropNet paper (Zhao, Chen, Luo 2021), eq. (5)-(6) before their
// last step, acc[i] = sum_k |frames[k][i] - ref[i]|.
#include <cstdint>

#include "ops/cuda/common.cuh"
#include "ops/residual_sum.h"

namespace rtmer::ops {
namespace {

constexpr int kThreads = 256;
constexpr unsigned int kMaxBlocks = 4096;

// One thread per element, looping over the frames: reads of one frame are coalesced across the
// warp and the running sum stays in a register. n_frames <= 257 keeps it inside uint16 (header).
__global__ void residual_sum_kernel(const uint8_t* __restrict__ frames, int64_t n_frames,
                                    const uint8_t* __restrict__ ref, int64_t n, uint16_t* __restrict__ acc) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int r = ref[i];
    unsigned int s = 0;
    for (int64_t k = 0; k < n_frames; ++k) s += static_cast<unsigned int>(abs(static_cast<int>(frames[k * n + i]) - r));
    acc[i] = static_cast<uint16_t>(s);
  }
}

}  // namespace

void residual_sum_cuda(const uint8_t* frames, int64_t n_frames, const uint8_t* ref, int64_t n, uint16_t* acc) {
  if (n <= 0) return;
  cuda::Stream stream;
  cuda::DeviceBuffer<uint8_t> d_frames(static_cast<size_t>(n_frames > 0 ? n_frames : 0) * n);
  cuda::DeviceBuffer<uint8_t> d_ref(n);
  cuda::DeviceBuffer<uint16_t> d_acc(n);
  d_frames.upload(frames, d_frames.size(), stream.get());
  d_ref.upload(ref, n, stream.get());
  const unsigned int blocks = cuda::blocks_for(n, kThreads, kMaxBlocks);
  residual_sum_kernel<<<blocks, kThreads, 0, stream.get()>>>(d_frames.get(), n_frames, d_ref.get(), n, d_acc.get());
  CUDA_CHECK_LAUNCH();
  d_acc.download(acc, n, stream.get());
  stream.synchronize();
}

}  // namespace rtmer::ops
