// dlib's shape predictor (see ops/ert.h), arranged for memory rather than for arithmetic.
//
// The trees themselves are cheap (4 comparisons each, 7500 trees); the cost is the leaves: each
// tree adds one leaf of 136 floats chosen from 16, so a call reads 4 MB scattered over 65 MB, and
// in a live tracker (other work between landmark frames) those reads come from far caches or DRAM.
// dlib walks tree by tree, each leaf a heap block of its own, and adds each as it is found. Here
// all leaves live in one array, each padded to whole cache lines; a cascade first walks all its
// trees, prefetching each chosen leaf into L2 as soon as it is known (many reads in flight),
// then adds the leaves in tree order.
//
// Bit-for-bit dlib where it matters: the feature pixel positions are rounded to whole pixels, so
// an operation order or rounding other than dlib's moves a position lying near a half pixel to the
// neighbouring pixel and can flip a split. They are computed in float in dlib's order, without
// fused multiply-adds (dlib's wheels are built without FMA; this file has contraction turned off),
// then in double for the box, and rounded with floor(x + 0.5) as dlib::vector's conversion does.
#include "ops/ert.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "common/check.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace rtmer::ops {
namespace {

constexpr int kLineFloats = 16;  // one 64-byte cache line
constexpr int kBlock = 8;        // trees walked together
// The leaves sit in 2 MB pages where the system gives them (Linux transparent huge pages): in
// 4 kB pages nearly every leaf read also misses the TLB, and a cold call took 1.6-2.2 ms instead
// of 1.0-1.3 ms.
constexpr size_t kPage = size_t{2} << 20;
constexpr std::align_val_t kAlign{kPage};

// The mean point of an interleaved x, y shape, in double as dlib sums it.
std::pair<double, double> centroid(const float* shape, int parts) {
  double mx = 0.0, my = 0.0;
  for (int i = 0; i < parts; ++i) {
    mx += shape[2 * i];
    my += shape[2 * i + 1];
  }
  return {mx / parts, my / parts};
}

}  // namespace

void ErtPredictor::AlignedDelete::operator()(float* p) const { ::operator delete[](p, kAlign); }

ErtPredictor::ErtPredictor(const ErtSizes& sizes, const float* initial, const int64_t* anchor,
                           const float* deltas, const int64_t* split_idx, const float* thresh,
                           const float* leaves)
    : sizes_(sizes) {
  const auto [P, C, T, D, F] = sizes;
  RTMER_CHECK(P >= 2 && C >= 1 && T >= 1 && F >= 1,
              "a shape predictor needs >= 2 parts and >= 1 cascade, tree and feature pixel");
  RTMER_CHECK(D >= 1 && D <= 16, "tree depth must be 1..16, got ", D);
  RTMER_CHECK(F <= 65536, "at most 65536 feature pixels per cascade, got ", F);
  splits_ = (1 << D) - 1;
  leaves_ = 1 << D;
  row_ = (2 * P + kLineFloats - 1) / kLineFloats * kLineFloats;

  initial_.assign(row_, 0.0f);
  std::copy(initial, initial + 2 * P, initial_.begin());
  const auto [mx, my] = centroid(initial, P);
  centred_.resize(2 * static_cast<size_t>(P));
  for (int i = 0; i < P; ++i) {
    centred_[2 * i] = initial[2 * i] - mx;
    centred_[2 * i + 1] = initial[2 * i + 1] - my;
    spread_ += centred_[2 * i] * centred_[2 * i] + centred_[2 * i + 1] * centred_[2 * i + 1];
  }
  RTMER_CHECK(spread_ > 0.0 && std::isfinite(spread_),
              "the initial shape is degenerate (all its points coincide)");

  const size_t n_feat = static_cast<size_t>(C) * F;
  anchor_.resize(n_feat);
  for (size_t i = 0; i < n_feat; ++i) {
    RTMER_CHECK(anchor[i] >= 0 && anchor[i] < P, "anchor index ", anchor[i], " is not a part (0..", P - 1,
                ")");
    anchor_[i] = static_cast<int32_t>(anchor[i]);
  }
  deltas_.assign(deltas, deltas + 2 * n_feat);

  const size_t n_split = static_cast<size_t>(C) * T * splits_;
  split_.resize(n_split);
  for (size_t i = 0; i < n_split; ++i) {
    const int64_t a = split_idx[2 * i], b = split_idx[2 * i + 1];
    RTMER_CHECK(a >= 0 && a < F && b >= 0 && b < F, "split feature index out of 0..", F - 1);
    split_[i] = {static_cast<uint16_t>(a), static_cast<uint16_t>(b), thresh[i]};
  }

  const size_t n_leaf = static_cast<size_t>(C) * T * leaves_;
  const size_t bytes = (n_leaf * row_ * sizeof(float) + kPage - 1) / kPage * kPage;
  leaf_.reset(static_cast<float*>(::operator new[](bytes, kAlign)));
#ifdef MADV_HUGEPAGE
  madvise(leaf_.get(), bytes, MADV_HUGEPAGE);  // advice only: without huge pages it still works
#endif
  for (size_t i = 0; i < n_leaf; ++i) {
    float* dst = leaf_.get() + i * row_;
    std::copy(leaves + i * 2 * P, leaves + (i + 1) * 2 * P, dst);
    std::fill(dst + 2 * P, dst + row_, 0.0f);
  }
}

void ErtPredictor::tform(const float* shape, float m[4]) const {
  // dlib's find_similarity_transform (Umeyama's least squares) from the initial shape to `shape`,
  // its 2 x 2 part. In 2-D its SVD solution has a closed form, the reflection case included:
  // c R = [[a, -b], [b, a]], a = (cov00 + cov11) / spread, b = (cov10 - cov01) / spread.
  const int P = sizes_.parts;
  const auto [mx, my] = centroid(shape, P);
  double c00 = 0.0, c01 = 0.0, c10 = 0.0, c11 = 0.0;
  for (int i = 0; i < P; ++i) {
    const double tx = shape[2 * i] - mx, ty = shape[2 * i + 1] - my;
    const double fx = centred_[2 * i], fy = centred_[2 * i + 1];
    c00 += tx * fx;
    c01 += tx * fy;
    c10 += ty * fx;
    c11 += ty * fy;
  }
  const double a = (c00 + c11) / spread_, b = (c10 - c01) / spread_;
  m[0] = static_cast<float>(a);
  m[1] = static_cast<float>(-b);
  m[2] = static_cast<float>(b);
  m[3] = static_cast<float>(a);
}

void ErtPredictor::predict(const uint8_t* gray, int h, int w, int64_t stride, const double box[4],
                           float* out) const {
  const auto [P, C, T, D, F] = sizes_;
  const double bx = box[0], by = box[1], bw = box[2] - box[0], bh = box[3] - box[1];
  std::vector<float> shape(initial_);
  std::vector<float> feature(F);
  std::vector<const float*> chosen(T);
  float* __restrict cur = shape.data();
  for (int c = 0; c < C; ++c) {
    float m[4];
    tform(cur, m);
    const int32_t* anchor = anchor_.data() + static_cast<size_t>(c) * F;
    const float* delta = deltas_.data() + static_cast<size_t>(c) * F * 2;
    for (int i = 0; i < F; ++i) {
      const float* at = cur + 2 * anchor[i];
      const float dx = delta[2 * i], dy = delta[2 * i + 1];
      const float px = m[0] * dx + m[1] * dy + at[0];
      const float py = m[2] * dx + m[3] * dy + at[1];
      const double x = std::floor(bw * px + bx + 0.5), y = std::floor(bh * py + by + 0.5);
      // Outside the image (NaN included) a feature reads 0, as in dlib.
      const bool inside = x >= 0.0 && x <= w - 1 && y >= 0.0 && y <= h - 1;
      feature[i] = inside ? gray[static_cast<int64_t>(y) * stride + static_cast<int64_t>(x)] : 0.0f;
    }

    const Split* split = split_.data() + static_cast<size_t>(c) * T * splits_;
    const float* leaf = leaf_.get() + static_cast<size_t>(c) * T * leaves_ * row_;
    for (int t0 = 0; t0 < T; t0 += kBlock) {
      // kBlock trees level by level: independent chains of dependent loads, and no branch on
      // the split's outcome (half of them would be mispredicted).
      const int nb = std::min(kBlock, T - t0);
      int node[kBlock] = {};
      for (int d = 0; d < D; ++d) {
        for (int j = 0; j < nb; ++j) {
          const Split& s = split[static_cast<size_t>(t0 + j) * splits_ + node[j]];
          const int left = feature[s.a] - feature[s.b] > s.thresh;
          node[j] = 2 * node[j] + 2 - left;
        }
      }
      for (int j = 0; j < nb; ++j) {
        const float* v = leaf + (static_cast<size_t>(t0 + j) * leaves_ + (node[j] - splits_)) * row_;
        for (int k = 0; k < row_; k += kLineFloats) __builtin_prefetch(v + k, 0, 2);
        chosen[t0 + j] = v;
      }
    }
    // In tree order, as dlib adds them: float sums depend on the order.
    for (int t = 0; t < T; ++t) {
      const float* __restrict v = chosen[t];
      for (int k = 0; k < row_; ++k) cur[k] += v[k];
    }
  }
  for (int i = 0; i < P; ++i) {
    out[2 * i] = static_cast<float>(bw * cur[2 * i] + bx);
    out[2 * i + 1] = static_cast<float>(bh * cur[2 * i + 1] + by);
  }
}

}  // namespace rtmer::ops
