// Exact k x k median filter (k = 3 or 5) on float planes with replicated borders, the same
// filter as OpenCV's medianBlur on CV_32F. A pruned Batcher odd-even merge network selects the
// median; it runs on 16 pixels at a time in vector registers, so the filter costs a few cycles
// per pixel and TV-L1's outer iterations (which filter the flow each time) stay cheap.
#pragma once

#include "common/image.h"

namespace rtmer {

class MedianFilter {
 public:
  explicit MedianFilter(int k);  // k <= 1: inactive
  bool active() const { return k_ > 1; }
  // dst rows [y0, y1) = median of src around them; src and dst of equal size, distinct.
  void apply(const Plane& src, Plane& dst, int y0, int y1) const;

 private:
  int k_;
};

}  // namespace rtmer
