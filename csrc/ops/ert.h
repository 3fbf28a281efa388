// Face alignment with an ensemble of regression trees (Kazemi, Sullivan 2014) exactly as dlib's
// shape_predictor::operator() evaluates it (dlib/image_processing/shape_predictor.h), with the
// model rtmer.face.ert reads from dlib's file. One difference: the points come out in float
// pixels, where dlib rounds them to whole pixels.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace rtmer::ops {

// Sizes of a model: `parts` points; `cascades` levels, each with `features` pixels and `trees`
// full binary trees of `depth` levels (2^depth - 1 splits, 2^depth leaves of parts * 2 floats).
struct ErtSizes {
  int parts = 0, cascades = 0, trees = 0, depth = 0, features = 0;
};

class ErtPredictor {
 public:
  // initial: parts * 2 (x, y in the box's unit square); anchor: cascades * features point indices;
  // deltas: cascades * features * 2; split_idx: cascades * trees * splits * 2 feature indices;
  // thresh: cascades * trees * splits; leaves: cascades * trees * 2^depth * parts * 2. The arrays are
  // copied; an index out of range or a degenerate initial shape throws std::invalid_argument.
  ErtPredictor(const ErtSizes& sizes, const float* initial, const int64_t* anchor, const float* deltas,
               const int64_t* split_idx, const float* thresh, const float* leaves);

  // gray: h rows of w uint8 pixels, `stride` bytes apart; box: dlib's rectangle (left, top, right,
  // bottom), which maps the unit square's (0, 0) and (1, 1) to (left, top) and (right, bottom);
  // out: parts * 2 floats (x, y).
  void predict(const uint8_t* gray, int h, int w, int64_t stride, const double box[4], float* out) const;

  const ErtSizes& sizes() const { return sizes_; }

 private:
  struct Split {
    uint16_t a, b;  // feature indices: go left when feature[a] - feature[b] > thresh
    float thresh;
  };
  struct AlignedDelete {
    void operator()(float* p) const;
  };

  void tform(const float* shape, float m[4]) const;

  ErtSizes sizes_;
  int splits_ = 0, leaves_ = 0, row_ = 0;  // per tree; row_: a leaf's floats, padded to 64 bytes
  std::vector<float> initial_;             // row_ floats, the padding zero
  std::vector<double> centred_;            // the initial shape minus its mean, parts * 2
  double spread_ = 0.0;                    // sum of its squared norms
  std::vector<int32_t> anchor_;
  std::vector<float> deltas_;
  std::vector<Split> split_;
  std::unique_ptr<float[], AlignedDelete> leaf_;  // cascades * trees * leaves_ * row_
};

}  // namespace rtmer::ops
