// CUDA twin of tvl1_cpu: TV-L1 optical flow of Zach, Pock, Bischof 2007 in the form of Sanchez,
// Meinhardt-Llopis, Facciolo (IPOL 2013), with the pyramid, warping schedule and stopping rule of
// OpenCV's DualTVL1OpticalFlow (tvl1flow.cpp). Every pyramid level lives on the device for the
// whole call; the host only enqueues kernels and reads the stopping measure back. Each kernel
// evaluates its expressions as the CPU twin does (ops/cpu/tvl1.cpp, common/image.cpp), so the two
// differ only by FMA contraction and the order in which the stopping measure is summed.
//
// An iteration is two kernels: primal (thresholding, divergence, primal update, and the sum of the
// squared change, finished by the last block to arrive) and dual (forward gradient, dual update).
//
// Stopping rule without a host round trip per iteration: OpenCV tests `error > scaled_eps` before
// every inner iteration and every median step. Here that test is made on the device: the error
// lives in device memory, and each kernel of an iteration first reads it and does nothing once it
// has fallen to scaled_eps. Two slots alternate by iteration parity: iteration k reads slot k % 2
// and writes slot (k + 1) % 2, so every kernel of iteration k sees the same value while the primal
// kernel produces the next one (a stopped iteration carries the value over). The host reads the
// error back only every kCheckEvery iterations, to stop enqueueing work that would do nothing. The
// iterations run, their count and the result are exactly those of testing after every iteration;
// the host merely enqueues up to kCheckEvery - 1 empty iterations past convergence.
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <cuda_runtime.h>

#include "common/check.h"
#include "ops/cuda/common.cuh"
#include "ops/tvl1.h"

namespace rtmer::ops {
namespace {

constexpr int kBlockX = 32;  // one warp per block row: coalesced rows, and warp sums are row sums
constexpr int kBlockY = 8;
constexpr int kBlockThreads = kBlockX * kBlockY;
constexpr int kCheckEvery = 8;

dim3 grid_for(int h, int w) { return dim3(cuda::blocks_for(w, kBlockX), cuda::blocks_for(h, kBlockY)); }

__device__ __forceinline__ int clampi(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

// Sum over the block, valid in thread 0. Fixed shuffle tree and fixed warp order, so the result
// does not depend on scheduling. Every thread of the block must call it; between two calls a
// __syncthreads must separate thread 0's reads of `scratch` from the next writes.
__device__ __forceinline__ double block_sum(double v, int tid, double* scratch) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_down_sync(0xffffffffu, v, off);
  if ((tid & 31) == 0) scratch[tid >> 5] = v;
  __syncthreads();
  double s = 0.0;
  if (tid == 0) {
    for (int k = 0; k < kBlockThreads / 32; ++k) s += scratch[k];
  }
  return s;
}

// OpenCV's INTER_LINEAR resize: source coordinate (d + 0.5) * inv - 0.5 (inv = source pixels per
// destination pixel), clamped to the image (OpenCV sets the fraction to 0 and the index to the edge
// outside it); along rows, then down columns, in the CPU twin's (common/image.cpp) lerp form.
// `mul` scales the result, for flow whose displacements change with the level.
__global__ void resize_bilinear_kernel(const float* __restrict__ src, int hs, int ws, float* __restrict__ dst,
                                       int hd, int wd, double inv_x, double inv_y, float mul) {
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  if (x >= wd || y >= hd) return;
  float fx = static_cast<float>((x + 0.5) * inv_x - 0.5);
  float fy = static_cast<float>((y + 0.5) * inv_y - 0.5);
  int x0 = static_cast<int>(floorf(fx));
  int y0 = static_cast<int>(floorf(fy));
  fx -= static_cast<float>(x0);
  fy -= static_cast<float>(y0);
  if (x0 < 0) {
    x0 = 0;
    fx = 0.0f;
  }
  if (x0 >= ws - 1) {
    x0 = ws - 1;
    fx = 0.0f;
  }
  if (y0 < 0) {
    y0 = 0;
    fy = 0.0f;
  }
  if (y0 >= hs - 1) {
    y0 = hs - 1;
    fy = 0.0f;
  }
  const int x1 = x0 + 1 < ws ? x0 + 1 : x0;
  const int y1 = y0 + 1 < hs ? y0 + 1 : y0;
  const float* r0 = src + static_cast<int64_t>(y0) * ws;
  const float* r1 = src + static_cast<int64_t>(y1) * ws;
  const float top = r0[x0] + fx * (r0[x1] - r0[x0]);
  const float bot = r1[x0] + fx * (r1[x1] - r1[x0]);
  dst[y * wd + x] = (top + fy * (bot - top)) * mul;
}

// OpenCV's centeredGradient: 0.5 * (f[i+1] - f[i-1]) inside, the one-sided 0.5 * difference on the
// border (indices clamped, i.e. a replicated border); an axis of length 1 gives 0.
__global__ void centred_gradient_kernel(const float* __restrict__ f, int h, int w, float* __restrict__ fx,
                                        float* __restrict__ fy) {
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  if (x >= w || y >= h) return;
  const int xl = x > 0 ? x - 1 : 0, xr = x + 1 < w ? x + 1 : x;
  const int yu = y > 0 ? y - 1 : 0, yd = y + 1 < h ? y + 1 : y;
  fx[y * w + x] = 0.5f * (f[y * w + xr] - f[y * w + xl]);
  fy[y * w + x] = 0.5f * (f[yd * w + x] - f[yu * w + x]);
}

// Keys' cubic convolution kernel with a = -0.75, as OpenCV's interpolateCubic (INTER_CUBIC).
__device__ __forceinline__ void cubic_weights(float t, float c[4]) {
  const float A = -0.75f;
  c[0] = ((A * (t + 1.0f) - 5.0f * A) * (t + 1.0f) + 8.0f * A) * (t + 1.0f) - 4.0f * A;
  c[1] = ((A + 2.0f) * t - (A + 3.0f)) * t * t + 1.0f;
  c[2] = ((A + 2.0f) * (1.0f - t) - (A + 3.0f)) * (1.0f - t) * (1.0f - t) + 1.0f;
  c[3] = 1.0f - c[0] - c[1] - c[2];
}

// Warping step: I1, I1x, I1y sampled bicubically at x + u (replicated border; at full float
// precision like the CPU twin, where OpenCV's remap rounds coordinates to 1/32 px), then the
// linearisation of the data term around u, eq. (24): rho(u) = rho_c + grad I1w . u with
// rho_c = I1w - grad I1w . u0 - I0.
// It also resets the stopping measure read by the warp's first iteration to +inf, OpenCV's
// `error = FLT_MAX` per warp.
__global__ void warp_kernel(const float* __restrict__ i0, const float* __restrict__ i1, const float* __restrict__ i1x,
                            const float* __restrict__ i1y, const float* __restrict__ u1, const float* __restrict__ u2,
                            int h, int w, float* __restrict__ ix, float* __restrict__ iy, float* __restrict__ grad,
                            float* __restrict__ rho_c, double* __restrict__ error) {
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  if (x == 0 && y == 0) *error = INFINITY;
  if (x >= w || y >= h) return;
  const int i = y * w + x;
  const float a = u1[i], b = u2[i];
  const float sx = static_cast<float>(x) + a, sy = static_cast<float>(y) + b;
  const float fx = floorf(sx), fy = floorf(sy);
  float cx[4], cy[4];
  cubic_weights(sx - fx, cx);
  cubic_weights(sy - fy, cy);
  // Far outside the image every tap is clamped to the border anyway; clamping the base index
  // keeps the int conversion defined (fmaxf/fminf also map NaN inside).
  const int x0 = static_cast<int>(fminf(fmaxf(fx, -4.0f), static_cast<float>(w + 4)));
  const int y0 = static_cast<int>(fminf(fmaxf(fy, -4.0f), static_cast<float>(h + 4)));
  int xs[4];
#pragma unroll
  for (int k = 0; k < 4; ++k) xs[k] = clampi(x0 - 1 + k, 0, w - 1);
  float v = 0.0f, gx = 0.0f, gy = 0.0f;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int row = clampi(y0 - 1 + j, 0, h - 1) * w;
    float rv = 0.0f, rx = 0.0f, ry = 0.0f;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      rv += cx[k] * i1[row + xs[k]];
      rx += cx[k] * i1x[row + xs[k]];
      ry += cx[k] * i1y[row + xs[k]];
    }
    v += cy[j] * rv;
    gx += cy[j] * rx;
    gy += cy[j] * ry;
  }
  // A sample outside the image carries no data: drop its data term (see the CPU twin).
  if (sx < 0.0f || sx > w - 1.0f || sy < 0.0f || sy > h - 1.0f) gx = gy = 0.0f;
  ix[i] = gx;
  iy[i] = gy;
  grad[i] = gx * gx + gy * gy;
  rho_c[i] = v - gx * a - gy * b - i0[i];
}

// Exact median of the K x K window (replicated border): the window sits in registers (the loops
// are unrolled, so every index is a constant) and a partial selection sort puts the smallest
// N/2 + 1 values in order; the last of them is the median.
template <int K>
__device__ __forceinline__ float median_at(const float* __restrict__ f, int h, int w, int x, int y) {
  constexpr int N = K * K;
  constexpr int R = K / 2;
  float v[N];
#pragma unroll
  for (int dy = 0; dy < K; ++dy) {
    const int row = clampi(y + dy - R, 0, h - 1) * w;
#pragma unroll
    for (int dx = 0; dx < K; ++dx) v[dy * K + dx] = f[row + clampi(x + dx - R, 0, w - 1)];
  }
#pragma unroll
  for (int i = 0; i <= N / 2; ++i) {
#pragma unroll
    for (int j = i + 1; j < N; ++j) {
      const float lo = fminf(v[i], v[j]);
      const float hi = fmaxf(v[i], v[j]);
      v[i] = lo;
      v[j] = hi;
    }
  }
  return v[N / 2];
}

// OpenCV's medianBlur of u1 and u2 at the start of each outer iteration (the median step of
// Wedel et al. 2009, "An improved algorithm for TV-L1 optical flow"). Out of place; once the
// stopping test has failed it copies instead, so the caller may swap the buffers either way.
template <int K>
__global__ void median_kernel(const float* __restrict__ u1, const float* __restrict__ u2, int h, int w,
                              float* __restrict__ o1, float* __restrict__ o2, const double* __restrict__ error,
                              double eps) {
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  if (x >= w || y >= h) return;
  const int i = y * w + x;
  if (!(*error > eps)) {
    o1[i] = u1[i];
    o2[i] = u2[i];
    return;
  }
  o1[i] = median_at<K>(u1, h, w, x, y);
  o2[i] = median_at<K>(u2, h, w, x, y);
}

// First half of a primal-dual iteration: the thresholding step v = TH(u) (Sanchez et al.
// eq. (36)-(38)), the divergence of p by backward differences with zero outside the image (the
// adjoint of the forward gradient below), and the primal update u = v + theta * div p (eq. (30))
// in place (each pixel reads only its own u). Then OpenCV's stopping measure sum |u_new - u_old|^2:
// each block stores its share, and the last block to arrive adds the shares in index order (so
// the sum does not depend on scheduling), stores it in err_out and counts the iteration.
__global__ void primal_kernel(const float* __restrict__ ix, const float* __restrict__ iy,
                              const float* __restrict__ grad, const float* __restrict__ rho_c, float* __restrict__ u1,
                              float* __restrict__ u2, const float* __restrict__ p11, const float* __restrict__ p12,
                              const float* __restrict__ p21, const float* __restrict__ p22, int h, int w, float l_t,
                              float theta, const double* __restrict__ err_in, double* __restrict__ err_out,
                              double eps, double* __restrict__ partials, unsigned int* __restrict__ arrivals,
                              long long* __restrict__ count) {
  const int tid = threadIdx.y * kBlockX + threadIdx.x;
  const double e_in = *err_in;  // the same value for every thread: the whole grid takes one branch
  if (!(e_in > eps)) {
    if (tid == 0 && blockIdx.x == 0 && blockIdx.y == 0) *err_out = e_in;  // stay stopped next iteration
    return;
  }
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  float e = 0.0f;
  if (x < w && y < h) {
    const int i = y * w + x;
    const float a = u1[i], b = u2[i];
    const float gx = ix[i], gy = iy[i], g = grad[i];
    const float rho = rho_c[i] + gx * a + gy * b;
    // v = u + fac * grad I1w: fac = +-l_t outside the band |rho| <= l_t * |grad|^2, inside it the
    // projection -rho / |grad|^2 (0 where the image is flat), as 1 / |grad|^2 like the CPU twin.
    const float ltg = l_t * g;
    const float g_inv = g > FLT_EPSILON ? 1.0f / g : 0.0f;
    const float fac = rho < -ltg ? l_t : (rho > ltg ? -l_t : -rho * g_inv);
    const float v1 = a + fac * gx, v2 = b + fac * gy;
    const float p11l = x > 0 ? p11[i - 1] : 0.0f, p21l = x > 0 ? p21[i - 1] : 0.0f;
    const float p12u = y > 0 ? p12[i - w] : 0.0f, p22u = y > 0 ? p22[i - w] : 0.0f;
    const float div1 = (p11[i] - p11l) + (p12[i] - p12u);
    const float div2 = (p21[i] - p21l) + (p22[i] - p22u);
    const float n1 = v1 + theta * div1, n2 = v2 + theta * div2;
    u1[i] = n1;
    u2[i] = n2;
    e = (n1 - a) * (n1 - a) + (n2 - b) * (n2 - b);
  }
  __shared__ double scratch[kBlockThreads / 32];
  __shared__ bool last;
  const unsigned int nblocks = gridDim.x * gridDim.y;
  const double share = block_sum(static_cast<double>(e), tid, scratch);
  if (tid == 0) {
    partials[blockIdx.y * gridDim.x + blockIdx.x] = share;
    __threadfence();  // the share is visible device-wide before this block is counted
    last = atomicAdd(arrivals, 1u) == nblocks - 1;
    if (last) __threadfence();  // and the other blocks' shares are read only after their counts
  }
  __syncthreads();
  if (!last) return;
  double t = 0.0;
  for (unsigned int k = tid; k < nblocks; k += kBlockThreads) t += __ldcg(partials + k);  // L2, not a stale L1
  t = block_sum(t, tid, scratch);
  if (tid == 0) {
    *err_out = t;
    ++*count;
    *arrivals = 0;  // ready for the next launch
  }
}

// Second half: forward gradient of the new u (zero on the last column / row), then the dual step
// p = (p + tau/theta * grad u) / (1 + tau/theta * |grad u|), Sanchez et al. eq. (31), in place.
// It runs exactly when this iteration's primal kernel did: both test the same slot err_in.
__global__ void dual_kernel(const float* __restrict__ u1, const float* __restrict__ u2, float* __restrict__ p11,
                            float* __restrict__ p12, float* __restrict__ p21, float* __restrict__ p22, int h, int w,
                            float taut, const double* __restrict__ err_in, double eps) {
  if (!(*err_in > eps)) return;
  const int x = blockIdx.x * kBlockX + threadIdx.x;
  const int y = blockIdx.y * kBlockY + threadIdx.y;
  if (x >= w || y >= h) return;
  const int i = y * w + x;
  const float c1 = u1[i], c2 = u2[i];
  const float u1x = x + 1 < w ? u1[i + 1] - c1 : 0.0f;
  const float u2x = x + 1 < w ? u2[i + 1] - c2 : 0.0f;
  const float u1y = y + 1 < h ? u1[i + w] - c1 : 0.0f;
  const float u2y = y + 1 < h ? u2[i + w] - c2 : 0.0f;
  const float ng1 = 1.0f / (1.0f + taut * sqrtf(u1x * u1x + u1y * u1y));
  const float ng2 = 1.0f / (1.0f + taut * sqrtf(u2x * u2x + u2y * u2y));
  p11[i] = (p11[i] + taut * u1x) * ng1;
  p12[i] = (p12[i] + taut * u1y) * ng1;
  p21[i] = (p21[i] + taut * u2x) * ng2;
  p22[i] = (p22[i] + taut * u2y) * ng2;
}

__global__ void deinterleave_kernel(const float* __restrict__ flow, int64_t n, float* __restrict__ u1,
                                    float* __restrict__ u2) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  u1[i] = flow[2 * i];
  u2[i] = flow[2 * i + 1];
}

__global__ void interleave_kernel(const float* __restrict__ u1, const float* __restrict__ u2, int64_t n,
                                  float* __restrict__ flow) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  flow[2 * i] = u1[i];
  flow[2 * i + 1] = u2[i];
}

// OpenCV's resize(src, dst, Size(), s, s): source pixels per destination pixel 1 / s.
void resize_by_scale(const float* src, int hs, int ws, float* dst, int hd, int wd, float scale, float mul,
                     cudaStream_t stream) {
  const double inv = 1.0 / scale;
  resize_bilinear_kernel<<<grid_for(hd, wd), dim3(kBlockX, kBlockY), 0, stream>>>(src, hs, ws, dst, hd, wd, inv, inv,
                                                                                  mul);
  CUDA_CHECK_LAUNCH();
}

// OpenCV's resize(src, dst, dst.size()): source pixels per destination pixel src / dst per axis.
void resize_to_size(const float* src, int hs, int ws, float* dst, int hd, int wd, float mul, cudaStream_t stream) {
  resize_bilinear_kernel<<<grid_for(hd, wd), dim3(kBlockX, kBlockY), 0, stream>>>(
      src, hs, ws, dst, hd, wd, static_cast<double>(ws) / wd, static_cast<double>(hs) / hd, mul);
  CUDA_CHECK_LAUNCH();
}

}  // namespace

Tvl1Stats tvl1_cuda(const float* i0, const float* i1, int h, int w, const float* init, float* flow,
                    const Tvl1Params& p) {
  RTMER_CHECK(h > 0 && w > 0, "TV-L1 needs a non-empty image, got ", h, "x", w);
  RTMER_CHECK(static_cast<int64_t>(h) * w <= INT_MAX, "image too large for the CUDA TV-L1: ", h, "x", w);
  check_params(p);

  // OpenCV's pyramid: each level is the previous one resized by scale_step (sizes rounded), and
  // levels stop before either side would drop under 16 px.
  std::vector<int> lh{h}, lw{w};
  std::vector<size_t> off{0};
  size_t pyramid = static_cast<size_t>(h) * w;
  for (int s = 1; s < p.scales; ++s) {
    const int nh = static_cast<int>(std::lround(lh.back() * static_cast<double>(p.scale_step)));
    const int nw = static_cast<int>(std::lround(lw.back() * static_cast<double>(p.scale_step)));
    if (nh < 16 || nw < 16) break;
    off.push_back(pyramid);
    lh.push_back(nh);
    lw.push_back(nw);
    pyramid += static_cast<size_t>(nh) * nw;
  }
  const int levels = static_cast<int>(lh.size());
  const size_t n0 = static_cast<size_t>(h) * w;
  const dim3 block(kBlockX, kBlockY);
  const dim3 grid0 = grid_for(h, w);

  cuda::Stream stream;  // declared first: destroyed after the buffers (see common.cuh)
  const cudaStream_t st = stream.get();
  cuda::DeviceBuffer<float> pyr0(pyramid), pyr1(pyramid);  // I0 and I1 at every level
  cuda::DeviceBuffer<float> i1x(n0), i1y(n0), ix(n0), iy(n0), grad(n0), rho_c(n0);
  cuda::DeviceBuffer<float> p11(n0), p12(n0), p21(n0), p22(n0);
  // Two flow buffers, finest size: the current level's u and the destination of the median filter,
  // of the init pyramid and of the upsampling to the next level; they swap roles.
  cuda::DeviceBuffer<float> ua1(n0), ua2(n0), ub1(n0), ub2(n0);
  cuda::DeviceBuffer<float> d_flow(2 * n0);
  cuda::DeviceBuffer<double> partials(static_cast<size_t>(grid0.x) * grid0.y);
  cuda::DeviceBuffer<double> error(2);  // the stopping measure, one slot per iteration parity
  cuda::DeviceBuffer<unsigned int> arrivals(1);
  cuda::DeviceBuffer<long long> counts(levels);

  CUDA_CHECK(cudaMemsetAsync(arrivals.get(), 0, sizeof(unsigned int), st));
  CUDA_CHECK(cudaMemsetAsync(counts.get(), 0, levels * sizeof(long long), st));
  pyr0.upload(i0, n0, st);
  pyr1.upload(i1, n0, st);
  for (int s = 1; s < levels; ++s) {
    resize_by_scale(pyr0.get() + off[s - 1], lh[s - 1], lw[s - 1], pyr0.get() + off[s], lh[s], lw[s], p.scale_step,
                    1.0f, st);
    resize_by_scale(pyr1.get() + off[s - 1], lh[s - 1], lw[s - 1], pyr1.get() + off[s], lh[s], lw[s], p.scale_step,
                    1.0f, st);
  }

  float *u1 = ua1.get(), *u2 = ua2.get(), *t1 = ub1.get(), *t2 = ub2.get();
  const int coarse = levels - 1;
  if (init != nullptr) {
    // OpenCV's initial-flow pyramid: resized like the images and multiplied by scale_step per
    // level. Only the coarsest level is used (finer levels start from the upsampled result), so
    // two ping-pong buffers carry the chain down.
    d_flow.upload(init, 2 * n0, st);
    deinterleave_kernel<<<cuda::blocks_for(static_cast<long long>(n0), 256), 256, 0, st>>>(
        d_flow.get(), static_cast<int64_t>(n0), u1, u2);
    CUDA_CHECK_LAUNCH();
    for (int s = 1; s < levels; ++s) {
      resize_by_scale(u1, lh[s - 1], lw[s - 1], t1, lh[s], lw[s], p.scale_step, p.scale_step, st);
      resize_by_scale(u2, lh[s - 1], lw[s - 1], t2, lh[s], lw[s], p.scale_step, p.scale_step, st);
      std::swap(u1, t1);
      std::swap(u2, t2);
    }
  } else {
    const size_t nc = static_cast<size_t>(lh[coarse]) * lw[coarse];
    CUDA_CHECK(cudaMemsetAsync(u1, 0, nc * sizeof(float), st));
    CUDA_CHECK(cudaMemsetAsync(u2, 0, nc * sizeof(float), st));
  }

  const float l_t = p.lambda * p.theta;
  const float taut = p.tau / p.theta;
  for (int s = coarse; s >= 0; --s) {
    const int hl = lh[s], wl = lw[s];
    const size_t nl = static_cast<size_t>(hl) * wl;
    const dim3 grid = grid_for(hl, wl);
    const double scaled_eps = static_cast<double>(p.epsilon) * p.epsilon * static_cast<double>(nl);
    for (float* q : {p11.get(), p12.get(), p21.get(), p22.get()})
      CUDA_CHECK(cudaMemsetAsync(q, 0, nl * sizeof(float), st));
    centred_gradient_kernel<<<grid, block, 0, st>>>(pyr1.get() + off[s], hl, wl, i1x.get(), i1y.get());
    CUDA_CHECK_LAUNCH();
    for (int warp = 0; warp < p.warps; ++warp) {
      warp_kernel<<<grid, block, 0, st>>>(pyr0.get() + off[s], pyr1.get() + off[s], i1x.get(), i1y.get(), u1, u2, hl,
                                          wl, ix.get(), iy.get(), grad.get(), rho_c.get(), error.get());
      CUDA_CHECK_LAUNCH();
      // The device applies OpenCV's `error > scaled_eps` test itself (see the top of the file);
      // `done` is only the host's lagging view of it. k counts the iterations enqueued in this warp
      // and picks the error slots.
      bool done = false;
      int k = 0;
      for (int outer = 0; outer < p.outer_iterations && !done; ++outer) {
        if (p.median_filter > 1) {
          const double* err_in = error.get() + (k & 1);
          if (p.median_filter == 3)
            median_kernel<3><<<grid, block, 0, st>>>(u1, u2, hl, wl, t1, t2, err_in, scaled_eps);
          else
            median_kernel<5><<<grid, block, 0, st>>>(u1, u2, hl, wl, t1, t2, err_in, scaled_eps);
          CUDA_CHECK_LAUNCH();
          std::swap(u1, t1);
          std::swap(u2, t2);
        }
        for (int inner = 0; inner < p.inner_iterations && !done; ++inner, ++k) {
          const double* err_in = error.get() + (k & 1);
          double* err_out = error.get() + ((k + 1) & 1);
          primal_kernel<<<grid, block, 0, st>>>(ix.get(), iy.get(), grad.get(), rho_c.get(), u1, u2, p11.get(),
                                                p12.get(), p21.get(), p22.get(), hl, wl, l_t, p.theta, err_in, err_out,
                                                scaled_eps, partials.get(), arrivals.get(), counts.get() + s);
          CUDA_CHECK_LAUNCH();
          dual_kernel<<<grid, block, 0, st>>>(u1, u2, p11.get(), p12.get(), p21.get(), p22.get(), hl, wl, taut,
                                              err_in, scaled_eps);
          CUDA_CHECK_LAUNCH();
          if ((k + 1) % kCheckEvery == 0) {
            double e = 0.0;
            CUDA_CHECK(cudaMemcpyAsync(&e, err_out, sizeof(double), cudaMemcpyDeviceToHost, st));
            stream.synchronize();
            done = !(e > scaled_eps);
          }
        }
      }
    }
    if (s == 0) break;
    // Up to the next finer level; displacements grow by 1 / scale_step (OpenCV's convention).
    const int hf = lh[s - 1], wf = lw[s - 1];
    const float grow = 1.0f / p.scale_step;
    resize_to_size(u1, hl, wl, t1, hf, wf, grow, st);
    resize_to_size(u2, hl, wl, t2, hf, wf, grow, st);
    std::swap(u1, t1);
    std::swap(u2, t2);
  }

  interleave_kernel<<<cuda::blocks_for(static_cast<long long>(n0), 256), 256, 0, st>>>(
      u1, u2, static_cast<int64_t>(n0), d_flow.get());
  CUDA_CHECK_LAUNCH();
  d_flow.download(flow, 2 * n0, st);
  std::vector<long long> iters(levels);
  counts.download(iters.data(), levels, st);
  stream.synchronize();

  Tvl1Stats stats;
  stats.scales_used = levels;
  for (int s = 0; s < levels; ++s) {
    stats.iterations += iters[s];
    stats.work += iters[s] * static_cast<int64_t>(lh[s]) * lw[s];
  }
  return stats;
}

int cuda_device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver or no device: clear the error so later calls start clean
    return 0;
  }
  return n;
}

const char* cuda_device_name() {
  // Queried once: the device list of a process does not change.
  static const std::string name = [] {
    if (cuda_device_count() == 0) return std::string();
    int dev = 0;
    cudaDeviceProp prop;
    if (cudaGetDevice(&dev) != cudaSuccess || cudaGetDeviceProperties(&prop, dev) != cudaSuccess) {
      cudaGetLastError();
      return std::string();
    }
    return std::string(prop.name);
  }();
  return name.c_str();
}

}  // namespace rtmer::ops
