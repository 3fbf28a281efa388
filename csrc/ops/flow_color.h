// Flow colour coding of the MJFN paper (Li et al. 2021) eq. (5)-(6): the Middlebury colour wheel
// (Baker et al. 2011) with n_hues hues; hue from the direction, saturation from the magnitude
// normalised by the image's maximum magnitude.
#pragma once

#include <cstdint>
#include <vector>

namespace rtmer::ops {

// The colour wheel: n_hues rows of RGB in [0, 255]. For n_hues = 55 it is the Middlebury wheel
// (segments RY 15, YG 6, GC 4, CB 11, BM 13, MR 6); other counts scale those segments.
std::vector<float> color_wheel(int n_hues);

// flow: h*w*2 float32 (u, v); out: h*w*3 uint8 RGB. Non-finite flow is drawn black.
void flow_to_color_cpu(const float* flow, int64_t h, int64_t w, int n_hues, uint8_t* out);

void flow_to_color_cuda(const float* flow, int64_t h, int64_t w, int n_hues, uint8_t* out);

}  // namespace rtmer::ops
