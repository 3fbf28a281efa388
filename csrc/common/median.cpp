#include "common/median.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>
#include <vector>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

#include "common/check.h"

namespace rtmer {
namespace {

// The widest float vector this build targets, with the instructions' own min/max (a plain
// `a < b ? a : b` on vector types compiles to compare + blend, half the speed).
#if defined(__AVX512F__)
using vf = __m512;
constexpr int kLanes = 16;
inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
#elif defined(__AVX__)
using vf = __m256;
constexpr int kLanes = 8;
inline vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
#elif defined(__SSE2__)
using vf = __m128;
constexpr int kLanes = 4;
inline vf vmin(vf a, vf b) { return _mm_min_ps(a, b); }
inline vf vmax(vf a, vf b) { return _mm_max_ps(a, b); }
#else
using vf = float __attribute__((vector_size(16)));
constexpr int kLanes = 4;
inline vf vmin(vf a, vf b) { return a < b ? a : b; }
inline vf vmax(vf a, vf b) { return a < b ? b : a; }
#endif

struct Cmp {
  int a, b;
};

struct Network {
  std::array<Cmp, 512> c{};
  int n = 0;
};

// Batcher's odd-even merge sort over 32 slots; comparators that touch a slot >= N are dropped
// (an absent element behaves as +inf, which those comparators never move), then every comparator
// that cannot influence the sorted slots lo..hi is pruned, walking the network backwards. With
// `sorted_blocks` = b, the input is already sorted in aligned blocks of b slots, so the stages
// that sort within such blocks are skipped: only the merges remain.
constexpr Network select_network(int N, int lo, int hi, int sorted_blocks = 1) {
  Network all{};
  constexpr int P = 32;
  for (int p = sorted_blocks; p < P; p *= 2)
    for (int k = p; k >= 1; k /= 2)
      for (int j = k % p; j <= P - 1 - k; j += 2 * k)
        for (int i = 0; i <= std::min(k - 1, P - j - k - 1); ++i)
          if ((i + j) / (p * 2) == (i + j + k) / (p * 2) && i + j + k < N) all.c[all.n++] = {i + j, i + j + k};
  bool need[32] = {};
  for (int i = lo; i <= hi; ++i) need[i] = true;
  bool keep[512] = {};
  for (int t = all.n - 1; t >= 0; --t) {
    if (need[all.c[t].a] || need[all.c[t].b]) {
      keep[t] = true;
      need[all.c[t].a] = need[all.c[t].b] = true;
    }
  }
  Network out{};
  for (int t = 0; t < all.n; ++t)
    if (keep[t]) out.c[out.n++] = all.c[t];
  return out;
}

constexpr Network kMedian9 = select_network(9, 4, 4);
constexpr Network kMedian25 = select_network(25, 12, 12);
constexpr Network kSort4 = select_network(4, 0, 3);
constexpr Network kShared20 = select_network(20, 7, 12, 4);
// The optimal 9-comparator sorting network for 5 inputs (Knuth, TAOCP vol. 3, 5.3.4).
constexpr Network kSort5 = {{{{0, 3}, {1, 4}, {0, 2}, {1, 3}, {0, 1}, {2, 4}, {1, 2}, {3, 4}, {2, 3}}}, 9};

template <const Network& Net, size_t... I>
inline void run_network(vf* v, std::index_sequence<I...>) {
  (
      [&] {
        constexpr Cmp c = Net.c[I];
        const vf x = v[c.a], y = v[c.b];
        v[c.a] = vmin(x, y);
        v[c.b] = vmax(x, y);
      }(),
      ...);
}

template <const Network& Net>
inline void run(vf* v) {
  run_network<Net>(v, std::make_index_sequence<Net.n>{});
}

// Rows padded by replication: r on the left, the rest of a whole number of vectors (at least
// one, so a window's rightmost tap stays inside) on the right.
struct PaddedRows {
  int w, r, stride;
  std::vector<float> buf;
  PaddedRows(int width, int radius, int rows)
      : w(width), r(radius), stride((width + kLanes - 1) / kLanes * kLanes + kLanes),
        buf(static_cast<size_t>(rows) * stride) {}
  void fill(int slot, const float* src) {
    float* p = buf.data() + static_cast<size_t>(slot) * stride;
    for (int x = 0; x < stride; ++x) p[x] = src[std::clamp(x - r, 0, w - 1)];
  }
  void store(int slot, int x, vf v) {
    std::memcpy(buf.data() + static_cast<size_t>(slot) * stride + x, &v, sizeof(vf));
  }
  vf load(int slot, int x) const {
    vf v;
    std::memcpy(&v, buf.data() + static_cast<size_t>(slot) * stride + x, sizeof(vf));
    return v;
  }
};

void store_lanes(float* o, int x0, int w, vf v) {
  float m[kLanes];
  std::memcpy(m, &v, sizeof(vf));
  std::copy(m, m + std::min(kLanes, w - x0), o + x0);
}

// One output row: the full pruned median network over the k*k window.
template <int K>
void median_row(const PaddedRows& pad, int x0, vf* v) {
  for (int dy = 0; dy < K; ++dy)
    for (int dx = 0; dx < K; ++dx) v[dy * K + dx] = pad.load(dy, x0 + dx);
  if constexpr (K == 3) run<kMedian9>(v);
  else run<kMedian25>(v);
}

// Two vertically adjacent 5x5 windows share 20 pixels (rows y-1..y+2). Their 4-pixel columns
// come sorted (slots 6..9 of `pad`, sorted once per row pair and shared by the five windows that
// overlap each column), so merging them needs only Batcher's merge stages, pruned to the ranks
// 7..12 that can be the median. With each window's own 5-pixel row B sorted, the 13th smallest
// of the union is min_i max(A[12 - i], B[i - 1]), i = 0..5, B[-1] = -inf (the order statistic of
// two sorted lists). About a third of the comparators of two separate median networks.
inline void median5_pair(const PaddedRows& pad, int x0, vf& top, vf& bottom) {
  vf s[20], t[5], u[5];
  for (int dx = 0; dx < 5; ++dx)
    for (int r = 0; r < 4; ++r) s[dx * 4 + r] = pad.load(6 + r, x0 + dx);
  for (int dx = 0; dx < 5; ++dx) {
    t[dx] = pad.load(0, x0 + dx);
    u[dx] = pad.load(5, x0 + dx);
  }
  run<kShared20>(s);
  run<kSort5>(t);
  run<kSort5>(u);
  vf mt = s[12], mb = s[12];
  for (int i = 1; i <= 5; ++i) {
    mt = vmin(mt, vmax(s[12 - i], t[i - 1]));
    mb = vmin(mb, vmax(s[12 - i], u[i - 1]));
  }
  top = mt;
  bottom = mb;
}

template <int K>
void median_rows(const Plane& src, Plane& dst, int y0, int y1) {
  constexpr int R = K / 2;
  const int w = src.w, h = src.h;
  // Slots 0..K: the padded rows around y (and y + 1); slots 6..9: the shared rows, column-sorted.
  PaddedRows pad(w, R, 10);
  vf v[K * K];
  int y = y0;
  if constexpr (K == 5) {
    for (; y + 1 < y1; y += 2) {
      for (int dy = -R; dy <= R + 1; ++dy) pad.fill(dy + R, src.row(std::clamp(y + dy, 0, h - 1)));
      for (int x = 0; x < pad.stride; x += kLanes) {  // every column a window can reach
        vf c[4];
        for (int r = 0; r < 4; ++r) c[r] = pad.load(1 + r, x);
        run<kSort4>(c);
        for (int r = 0; r < 4; ++r) pad.store(6 + r, x, c[r]);
      }
      for (int x0 = 0; x0 < w; x0 += kLanes) {
        vf top, bottom;
        median5_pair(pad, x0, top, bottom);
        store_lanes(dst.row(y), x0, w, top);
        store_lanes(dst.row(y + 1), x0, w, bottom);
      }
    }
  }
  for (; y < y1; ++y) {
    for (int dy = -R; dy <= R; ++dy) pad.fill(dy + R, src.row(std::clamp(y + dy, 0, h - 1)));
    for (int x0 = 0; x0 < w; x0 += kLanes) {
      median_row<K>(pad, x0, v);
      store_lanes(dst.row(y), x0, w, v[K * K / 2]);
    }
  }
}

}  // namespace

MedianFilter::MedianFilter(int k) : k_(k) {
  RTMER_CHECK(k <= 1 || k == 3 || k == 5, "median filter size must be 0, 1, 3 or 5, got ", k);
}

void MedianFilter::apply(const Plane& src, Plane& dst, int y0, int y1) const {
  if (k_ == 3) median_rows<3>(src, dst, y0, y1);
  else if (k_ == 5) median_rows<5>(src, dst, y0, y1);
}

}  // namespace rtmer
