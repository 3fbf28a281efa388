// TV-L1 optical flow: Zach, Pock, Bischof 2007 in the form of Sanchez, Meinhardt-Llopis, Facciolo,
// IPOL 2013, with the parameters, defaults and flow convention of OpenCV's DualTVL1OpticalFlow
// (flow maps prev -> next: prev(y, x) ~ next(y + v, x + u)).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/check.h"

namespace rtmer::ops {

struct Tvl1Params {
  float tau = 0.25f;
  float lambda = 0.15f;
  float theta = 0.3f;
  float epsilon = 0.01f;
  int scales = 5;
  float scale_step = 0.8f;
  int warps = 5;
  int inner_iterations = 30;
  int outer_iterations = 10;
  int median_filter = 5;  // 0 or 1: off; otherwise 3 or 5
};

// The parameters' ranges, checked here only: by both solvers, and by the Tvl1Params binding, so
// rtmer.motion.Tvl1Settings rejects what the solvers would. Messages name the Python keywords.
inline void check_params(const Tvl1Params& p) {
  RTMER_CHECK(p.tau > 0.0f && p.lambda > 0.0f && p.theta > 0.0f, "tau, lambda_ and theta must be positive, got ",
              p.tau, ", ", p.lambda, ", ", p.theta);
  RTMER_CHECK(p.epsilon >= 0.0f, "epsilon must be >= 0, got ", p.epsilon);
  RTMER_CHECK(p.scales >= 1 && p.warps >= 1, "scales and warps must be >= 1, got ", p.scales, ", ", p.warps);
  RTMER_CHECK(p.scale_step > 0.0f && p.scale_step < 1.0f, "scale_step must lie strictly between 0 and 1, got ",
              p.scale_step);
  RTMER_CHECK(p.inner_iterations >= 1 && p.outer_iterations >= 1, "inner_iterations and outer_iterations must be ",
              ">= 1, got ", p.inner_iterations, ", ", p.outer_iterations);
  RTMER_CHECK(p.median_filter == 0 || p.median_filter == 1 || p.median_filter == 3 || p.median_filter == 5,
              "median_filter must be 0, 1, 3 or 5 (as OpenCV's), got ", p.median_filter);
}

struct Tvl1Stats {
  int64_t work = 0;        // pixel-iterations of the primal-dual loop, summed over scales
  int64_t iterations = 0;  // primal-dual iterations, summed over scales and warps
  int scales_used = 0;
};

// Solver with preallocated buffers for one image size. The reference (I0) pyramid is kept, so a
// stream of frames against one onset frame pays for it once (rtmer's streaming warm start feeds
// each frame the previous frame's flow as init).
class Tvl1Solver {
 public:
  Tvl1Solver(int h, int w, const Tvl1Params& params);
  ~Tvl1Solver();
  Tvl1Solver(const Tvl1Solver&) = delete;
  Tvl1Solver& operator=(const Tvl1Solver&) = delete;

  // I0: h*w gray in [0, 255] float32.
  void set_reference(const float* i0);
  // I1: h*w gray float32 in [0, 255]; init: h*w*2 flow or nullptr; flow: h*w*2 output.
  Tvl1Stats compute(const float* i1, const float* init, float* flow);

  int height() const;
  int width() const;
  const Tvl1Params& params() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot convenience over Tvl1Solver.
Tvl1Stats tvl1_cpu(const float* i0, const float* i1, int h, int w, const float* init, float* flow,
                   const Tvl1Params& params);

// CUDA twin (same algorithm, same parameters); host pointers in and out.
Tvl1Stats tvl1_cuda(const float* i0, const float* i1, int h, int w, const float* init, float* flow,
                    const Tvl1Params& params);

// Device query for the CUDA build: number of usable devices (0 without a driver or GPU) and name.
int cuda_device_count();
const char* cuda_device_name();

}  // namespace rtmer::ops
