// A build without the CUDA twins: no device, so callers fall back to the CPU ops; the twins throw.
// Defining them here keeps rtmer._C's functions (and so rtmer/_C.pyi) the same in every build.
// A CUDA build defines all of these in ops/cuda/ instead.
#ifndef RTMER_WITH_CUDA

#include <stdexcept>

#include "ops/flow_color.h"
#include "ops/remap.h"
#include "ops/residual_sum.h"
#include "ops/strain.h"
#include "ops/tvl1.h"

namespace rtmer::ops {
namespace {

[[noreturn]] void no_cuda() {
  throw std::runtime_error("rtmer._C was built without CUDA; rebuild on a machine with nvcc (RTMER_CUDA=1)");
}

}  // namespace

int cuda_device_count() { return 0; }

const char* cuda_device_name() { return ""; }

void residual_sum_cuda(const uint8_t*, int64_t, const uint8_t*, int64_t, uint16_t*) { no_cuda(); }

void optical_strain_cuda(const float*, int64_t, int64_t, float*) { no_cuda(); }

void flow_to_color_cuda(const float*, int64_t, int64_t, int, uint8_t*) { no_cuda(); }

void remap_bicubic_cuda(const float*, int, int, int, const float*, int, int, float, float*) { no_cuda(); }

Tvl1Stats tvl1_cuda(const float*, const float*, int, int, const float*, float*, const Tvl1Params&) { no_cuda(); }

}  // namespace rtmer::ops

#endif  // RTMER_WITH_CUDA
