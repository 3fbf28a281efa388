// Backward warping with Keys' bicubic kernel (parameter a; -0.5 is Catmull-Rom, -0.75 OpenCV's
// INTER_CUBIC) at full float precision: out(y, x) = img(map(y, x)), replicated border. OpenCV's remap rounds the sample
// positions to 1/32 px, the same order as a micro-expression's motion; rtmer renders synthetic
// motion and aligns face crops with this instead.
#pragma once

#include <cstdint>

namespace rtmer::ops {

// img: h*w*c float32 interleaved (1 <= c <= 4); map: oh*ow*2 float32 absolute (x, y) positions;
// out: oh*ow*c float32.
void remap_bicubic_cpu(const float* img, int h, int w, int c, const float* map, int oh, int ow, float a,
                       float* out);

void remap_bicubic_cuda(const float* img, int h, int w, int c, const float* map, int oh, int ow, float a,
                        float* out);

}  // namespace rtmer::ops
