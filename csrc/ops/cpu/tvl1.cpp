// TV-L1 optical flow on the CPU: Zach, Pock, Bischof 2007 ("A duality based approach for realtime
// TV-L1 optical flow") in the form of Sanchez, Meinhardt-Llopis, Facciolo (IPOL 2013), with the
// schedule and stopping rule of OpenCV's DualTVL1OpticalFlow.
//
// Where the time goes, and why this file looks the way it does: OpenCV runs each step of the
// primal-dual iteration (thresholding, divergence, primal update, forward gradient, dual update) as
// its own pass over full-size planes. Here one pass per iteration does all of them, row by row:
// the primal update of row y needs the dual variables of rows y and y-1 *before* this iteration,
// and the dual update of row y-1 needs the primal variables of rows y-1 and y *after* it, so
// updating dual row y-1 right after primal row y keeps the exact (Jacobi) semantics while every
// plane is touched once per iteration, from cache. Threads take bands of rows; the dual row at the
// foot of each band waits for the neighbouring band's primal row behind one barrier.
#include "ops/tvl1.h"

#include <algorithm>
#include <cfloat>
#include <cstring>
#include <cmath>
#include <limits>
#include <utility>

#include "common/check.h"
#include "common/image.h"
#include "common/median.h"
#include "common/parallel.h"
#include "common/simd.h"

namespace rtmer::ops {
namespace {

// Levels this small run on one thread: the barriers would cost more than the arithmetic.
constexpr int kParallelMinPixels = 160 * 160;

struct Level {
  int h = 0, w = 0;
  Plane i0, i1, i1x, i1y;            // reference, target and the target's centred gradient
  std::vector<float4v> i1pack;       // (I1, I1x, I1y) interleaved for the bicubic warp
  Plane ix, iy, grad_inv, rho_c;     // per warp: warped gradient, 1/|grad|^2 (0 if flat), residual
  Plane u1, u2, p11, p12, p21, p22;  // primal flow and the dual variables of its two components
  Plane filtered;                    // median filter output before it replaces u
  std::vector<double> row_err;

  void allocate(int hh, int ww) {
    h = hh;
    w = ww;
    for (Plane* p : {&i0, &i1, &i1x, &i1y, &ix, &iy, &grad_inv, &rho_c, &u1, &u2, &p11, &p12,
                     &p21, &p22, &filtered})
      p->resize(h, w);
    row_err.assign(h, 0.0);
  }
};

// One pass of the primal-dual iteration over row y's primal step and row yd's dual step, column
// vector by column vector, so every value is loaded once and the dual step reuses the primal
// step's fresh u from registers. kPrimal: Sanchez et al. eq. (36)-(38) thresholding and the primal
// step u = v + theta * div p (eq. (30)) on row y; returns the squared change of u on the row
// (OpenCV's stopping measure). kDual: the dual step (eq. (31))
// p = (p + tau/theta * grad u) / (1 + tau/theta * |grad u|) on row yd, with forward differences that
// are zero on the last column and row. Fused, yd = y - 1: the primal step of row y reads the dual
// variables of row y - 1 before this iteration, which the dual step overwrites right after, in
// the same column vector. Lanes past the row's end compute into the padding and are masked out.
template <bool kPrimal, bool kDual>
float sweep_row(Level& L, int y, int yd, float l_t, float theta, float taut, const float* zero_row) {
  const int w = L.w;
  const vint iota = viota();
  const vfloat lt = vsplat(l_t), th = vsplat(theta), tt = vsplat(taut), zero = vsplat(0.0f);
  vfloat err = zero;
  // Primal rows (y) and dual rows (yd: this row, its right neighbour via +1, the row below).
  float *u1 = nullptr, *u2 = nullptr, *p11 = nullptr, *p12 = nullptr, *p21 = nullptr, *p22 = nullptr;
  const float *ix = nullptr, *iy = nullptr, *gi = nullptr, *rc = nullptr, *p12u = zero_row, *p22u = zero_row;
  if constexpr (kPrimal) {
    u1 = L.u1.row(y), u2 = L.u2.row(y);
    ix = L.ix.row(y), iy = L.iy.row(y), gi = L.grad_inv.row(y), rc = L.rho_c.row(y);
    p11 = L.p11.row(y), p12 = L.p12.row(y), p21 = L.p21.row(y), p22 = L.p22.row(y);
    if (y > 0) p12u = L.p12.row(y - 1), p22u = L.p22.row(y - 1);
  }
  float *q11 = nullptr, *q12 = nullptr, *q21 = nullptr, *q22 = nullptr;
  const float *a1 = nullptr, *a2 = nullptr, *b1 = nullptr, *b2 = nullptr;
  if constexpr (kDual) {
    q11 = L.p11.row(yd), q12 = L.p12.row(yd), q21 = L.p21.row(yd), q22 = L.p22.row(yd);
    a1 = L.u1.row(yd), a2 = L.u2.row(yd);
    const int yb = yd + 1 < L.h ? yd + 1 : yd;  // the last row's forward y-difference is 0
    b1 = L.u1.row(yb), b2 = L.u2.row(yb);
  }
  for (int x = 0; x < w; x += kLanes) {
    const vint col = iota + x;
    vfloat n1{}, n2{}, old12{}, old22{};
    if constexpr (kPrimal) {
      const vfloat v1 = vload(u1 + x), v2 = vload(u2 + x);
      const vfloat gx = vload(ix + x), gy = vload(iy + x);
      const vfloat rho = vload(rc + x) + gx * v1 + gy * v2;
      const vfloat ltg = lt * (gx * gx + gy * gy);
      const vfloat fac = rho < -ltg ? lt : (rho > ltg ? -lt : -rho * vload(gi + x));
      old12 = vload(p12u + x);
      old22 = vload(p22u + x);
      // Backward-difference divergence (x = -1 reads the zero padding): the adjoint of the
      // forward gradient of the dual step.
      const vfloat div1 = (vload(p11 + x) - vload(p11 + x - 1)) + (vload(p12 + x) - old12);
      const vfloat div2 = (vload(p21 + x) - vload(p21 + x - 1)) + (vload(p22 + x) - old22);
      n1 = v1 + fac * gx + th * div1;
      n2 = v2 + fac * gy + th * div2;
      vstore(u1 + x, n1);
      vstore(u2 + x, n2);
      const vfloat d1 = n1 - v1, d2 = n2 - v2;
      err += col < w ? d1 * d1 + d2 * d2 : zero;
    }
    if constexpr (kDual) {
      const vfloat c1 = vload(a1 + x), c2 = vload(a2 + x);
      const vfloat dx1 = col < w - 1 ? vload(a1 + x + 1) - c1 : zero;
      const vfloat dx2 = col < w - 1 ? vload(a2 + x + 1) - c2 : zero;
      const vfloat dy1 = (kPrimal ? n1 : vload(b1 + x)) - c1;
      const vfloat dy2 = (kPrimal ? n2 : vload(b2 + x)) - c2;
      const vfloat ng1 = inv_one_plus_k_sqrt(dx1 * dx1 + dy1 * dy1, taut);
      const vfloat ng2 = inv_one_plus_k_sqrt(dx2 * dx2 + dy2 * dy2, taut);
      const vfloat o12 = kPrimal ? old12 : vload(q12 + x);
      const vfloat o22 = kPrimal ? old22 : vload(q22 + x);
      vstore(q11 + x, (vload(q11 + x) + tt * dx1) * ng1);
      vstore(q12 + x, (o12 + tt * dy1) * ng1);
      vstore(q21 + x, (vload(q21 + x) + tt * dx2) * ng2);
      vstore(q22 + x, (o22 + tt * dy2) * ng2);
    }
  }
  return vsum(err);
}

// I1 and its gradient sampled at x + u (bicubic, Keys a = -0.75 as OpenCV's INTER_CUBIC, but at
// full float precision: OpenCV's remap rounds coordinates to 1/32 px, which is the same order as
// a micro-expression's motion), then the linearisation of the data term around u (eq. (24)).
void warp_and_linearise(Level& L, float* tmp) {
  const int h = L.h, w = L.w;
  const int ws = (w + kLanes - 1) / kLanes * kLanes;
  // tmp: 4 weights per axis and the integer tap origins, each an array of ws.
  float* wx = tmp;
  float* wy = tmp + 4 * ws;
  int32_t* ox = reinterpret_cast<int32_t*>(tmp + 8 * ws);
  int32_t* oy = reinterpret_cast<int32_t*>(tmp + 9 * ws);
  const vint iota = viota();
#pragma omp for schedule(static)
  for (int y = 0; y < h; ++y) {
    const float* u1 = L.u1.row(y);
    const float* u2 = L.u2.row(y);
    const float* i0 = L.i0.row(y);
    float* ix = L.ix.row(y);
    float* iy = L.iy.row(y);
    float* gi = L.grad_inv.row(y);
    float* rc = L.rho_c.row(y);
    // Tap origins and weights for the whole row, a vector at a time.
    for (int x = 0; x < w; x += kLanes) {
      const vfloat fx = __builtin_convertvector(iota + x, vfloat) + vload(u1 + x);
      const vfloat fy = vsplat(static_cast<float>(y)) + vload(u2 + x);
      const vfloat bx = vfloor(fx), by = vfloor(fy);
      cubic_weights(fx - bx, wx + x, ws);
      cubic_weights(fy - by, wy + x, ws);
      // Far outside the image every tap clamps to the border; keep the int conversion in range.
      const vint tx = __builtin_convertvector(vclamp(bx, -4.0f, w + 4.0f), vint) - 1;
      const vint ty = __builtin_convertvector(vclamp(by, -4.0f, h + 4.0f), vint) - 1;
      std::memcpy(ox + x, &tx, sizeof tx);
      std::memcpy(oy + x, &ty, sizeof ty);
    }
    for (int x = 0; x < w; ++x) {
      const float4v s = bicubic_taps(L.i1pack.data(), h, w, ox[x], oy[x], wx + x, wy + x, ws);
      ix[x] = s[1];
      iy[x] = s[2];
      rc[x] = s[0];
    }
    // The linearised data term around u (eq. (24)): rho(u) = rho_c + grad I1w . u. [rtmer] A
    // sample that falls outside the image carries no data, so its gradient is zeroed and the flow
    // there follows the regulariser alone. OpenCV gets close to this by sampling zeros outside
    // (BORDER_CONSTANT) but mixes those zeros into the samples near the border too; replicating
    // the border without this rule would feed the solver invented data (worse EPE on Grove3).
    for (int x = 0; x < w; x += kLanes) {
      const vfloat fx = __builtin_convertvector(iota + x, vfloat) + vload(u1 + x);
      const vfloat fy = vsplat(static_cast<float>(y)) + vload(u2 + x);
      const auto outside = (fx < 0.0f) | (fx > w - 1.0f) | (fy < 0.0f) | (fy > h - 1.0f);
      const vfloat gx = outside ? vsplat(0.0f) : vload(ix + x), gy = outside ? vsplat(0.0f) : vload(iy + x);
      vstore(ix + x, gx);
      vstore(iy + x, gy);
      const vfloat gg = gx * gx + gy * gy;
      vstore(gi + x, gg > FLT_EPSILON ? 1.0f / gg : vsplat(0.0f));
      vstore(rc + x, vload(rc + x) - gx * vload(u1 + x) - gy * vload(u2 + x) - vload(i0 + x));
    }
  }
}

}  // namespace

struct Tvl1Solver::Impl {
  Tvl1Params prm;
  int h, w;
  std::vector<Level> levels;
  std::vector<float> zero_row;
  MedianFilter median;
  bool have_reference = false;

  Impl(int hh, int ww, const Tvl1Params& p) : prm(p), h(hh), w(ww), median(p.median_filter) {
    RTMER_CHECK(h > 0 && w > 0, "TV-L1 needs a non-empty image, got ", h, "x", w);
    check_params(p);
    // OpenCV's pyramid: each level is the previous one resized by scale_step, and the coarse
    // levels stop before either side would drop under 16 px.
    int lh = h, lw = w;
    levels.emplace_back();
    levels.back().allocate(lh, lw);
    for (int s = 1; s < p.scales; ++s) {
      const int nh = static_cast<int>(std::lround(lh * static_cast<double>(p.scale_step)));
      const int nw = static_cast<int>(std::lround(lw * static_cast<double>(p.scale_step)));
      if (nh < 16 || nw < 16) break;
      lh = nh;
      lw = nw;
      levels.emplace_back();
      levels.back().allocate(lh, lw);
    }
    zero_row.assign(static_cast<size_t>(w) + kPadRight, 0.0f);
  }

  void set_reference(const float* i0) {
    levels[0].i0.assign(i0);
    for (size_t s = 1; s < levels.size(); ++s)
      resize_bilinear_scale(levels[s - 1].i0, levels[s].i0, prm.scale_step);
    have_reference = true;
  }

  Tvl1Stats compute(const float* i1, const float* init, float* flow) {
    RTMER_CHECK(have_reference, "set_reference() must be called before compute()");
    Tvl1Stats st;
    const int n = static_cast<int>(levels.size());
    st.scales_used = n;
    levels[0].i1.assign(i1);
    for (int s = 1; s < n; ++s) resize_bilinear_scale(levels[s - 1].i1, levels[s].i1, prm.scale_step);
    if (init != nullptr) {
      deinterleave(init, levels[0].u1, levels[0].u2);
      for (int s = 1; s < n; ++s) {
        resize_bilinear_scale(levels[s - 1].u1, levels[s].u1, prm.scale_step);
        resize_bilinear_scale(levels[s - 1].u2, levels[s].u2, prm.scale_step);
        levels[s].u1.scale(prm.scale_step);
        levels[s].u2.scale(prm.scale_step);
      }
    } else {
      levels[n - 1].u1.fill(0.0f);
      levels[n - 1].u2.fill(0.0f);
    }
    for (int s = n - 1; s >= 0; --s) {
      Level& L = levels[s];
      for (Plane* p : {&L.p11, &L.p12, &L.p21, &L.p22}) p->fill(0.0f);
      centred_gradient(L.i1, L.i1x, L.i1y);
      pack3(L.i1, L.i1x, L.i1y, L.i1pack);
      solve_level(L, st);
      if (s == 0) break;
      // Up to the next finer level; displacements grow by 1/scale_step (OpenCV's convention).
      Level& F = levels[s - 1];
      resize_bilinear_size(L.u1, F.u1);
      resize_bilinear_size(L.u2, F.u2);
      F.u1.scale(1.0f / prm.scale_step);
      F.u2.scale(1.0f / prm.scale_step);
    }
    interleave(levels[0].u1, levels[0].u2, flow);
    return st;
  }

  void solve_level(Level& L, Tvl1Stats& st) {
    const float l_t = prm.lambda * prm.theta;
    const float taut = prm.tau / prm.theta;
    const float theta = prm.theta;
    const double scaled_eps = static_cast<double>(prm.epsilon) * prm.epsilon * L.h * L.w;
    const bool parallel = L.h * L.w >= kParallelMinPixels && max_threads() > 1;
    int64_t iters = 0;
#pragma omp parallel if (parallel)
    {
      const int nt = omp_threads_in_team();
      const int tid = omp_thread_id();
      const int y0 = static_cast<int>(static_cast<int64_t>(L.h) * tid / nt);
      const int y1 = static_cast<int>(static_cast<int64_t>(L.h) * (tid + 1) / nt);
      std::vector<float> tmp(static_cast<size_t>(10) * (L.w + kLanes));  // row scratch of warp and dual steps
      for (int warp = 0; warp < prm.warps; ++warp) {
        warp_and_linearise(L, tmp.data());  // ends with the implicit barrier of its omp for
        double error = std::numeric_limits<double>::infinity();
        for (int outer = 0; error > scaled_eps && outer < prm.outer_iterations; ++outer) {
          if (median.active()) {
            median.apply(L.u1, L.filtered, y0, y1);
#pragma omp barrier
            L.u1.copy_rows_from(L.filtered, y0, y1);
            median.apply(L.u2, L.filtered, y0, y1);
#pragma omp barrier
            L.u2.copy_rows_from(L.filtered, y0, y1);
#pragma omp barrier
          }
          for (int inner = 0; error > scaled_eps && inner < prm.inner_iterations; ++inner) {
            const float* z = zero_row.data();
            if (y0 < y1) {
              L.row_err[y0] = sweep_row<true, false>(L, y0, -1, l_t, theta, taut, z);
              for (int y = y0 + 1; y < y1; ++y) L.row_err[y] = sweep_row<true, true>(L, y, y - 1, l_t, theta, taut, z);
            }
#pragma omp barrier
            if (y0 < y1) sweep_row<false, true>(L, -1, y1 - 1, l_t, theta, taut, z);
#pragma omp barrier
            // Every thread sums the same rows in the same order: the stopping decision, and so
            // the result, do not depend on the thread count.
            double e = 0.0;
            for (int y = 0; y < L.h; ++y) e += L.row_err[y];
            error = e;
            if (tid == 0) ++iters;
#pragma omp barrier
          }
        }
      }
    }
    st.iterations += iters;
    st.work += iters * static_cast<int64_t>(L.h) * L.w;
  }
};

Tvl1Solver::Tvl1Solver(int h, int w, const Tvl1Params& params) : impl_(new Impl(h, w, params)) {}
Tvl1Solver::~Tvl1Solver() = default;
void Tvl1Solver::set_reference(const float* i0) { impl_->set_reference(i0); }
Tvl1Stats Tvl1Solver::compute(const float* i1, const float* init, float* flow) {
  return impl_->compute(i1, init, flow);
}
int Tvl1Solver::height() const { return impl_->h; }
int Tvl1Solver::width() const { return impl_->w; }
const Tvl1Params& Tvl1Solver::params() const { return impl_->prm; }

namespace {

bool same_params(const Tvl1Params& a, const Tvl1Params& b) {
  return a.tau == b.tau && a.lambda == b.lambda && a.theta == b.theta && a.epsilon == b.epsilon &&
         a.scales == b.scales && a.scale_step == b.scale_step && a.warps == b.warps &&
         a.inner_iterations == b.inner_iterations && a.outer_iterations == b.outer_iterations &&
         a.median_filter == b.median_filter;
}

}  // namespace

Tvl1Stats tvl1_cpu(const float* i0, const float* i1, int h, int w, const float* init, float* flow,
                   const Tvl1Params& params) {
  // One-shot calls on a stream of same-sized images reuse the last solver's buffers (per thread):
  // allocating and first-touching ~20 planes costs as much as a small solve.
  thread_local std::unique_ptr<Tvl1Solver> cached;
  if (!cached || cached->height() != h || cached->width() != w || !same_params(cached->params(), params))
    cached = std::make_unique<Tvl1Solver>(h, w, params);
  cached->set_reference(i0);
  return cached->compute(i1, init, flow);
}

}  // namespace rtmer::ops
