// Device query of a build without the CUDA twins: no device, so callers fall back to the CPU ops.
// A CUDA build defines these in ops/cuda/tvl1.cu instead.
#ifndef RTMER_WITH_CUDA

#include "ops/tvl1.h"

namespace rtmer::ops {

int cuda_device_count() { return 0; }

const char* cuda_device_name() { return ""; }

}  // namespace rtmer::ops

#endif  // RTMER_WITH_CUDA
