// The only file that knows pybind11 and numpy. Each binding: check shapes and dtypes -> make the
// input contiguous (array_t with c_style) -> return early on empty input -> release the GIL ->
// call the kernel. Validation with user-facing messages lives in rtmer.motion (TV-L1's parameter
// ranges in ops/tvl1.h); the checks here guard the kernels' memory safety.
//
// An op with a CUDA twin has one wrapper, a template over its kernel (ops/*.h declare the CPU and
// CUDA kernels with one signature), registered by def_twins as `name` and `name_cuda`. Adding an op:
// its wrapper here and one m.def (or def_twins) line in the module below.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <climits>
#include <optional>
#include <string>
#include <vector>

#include "common/check.h"
#include "common/median.h"
#include "common/parallel.h"
#include "ops/dlib_unpack.h"
#include "ops/ert.h"
#include "ops/flow_color.h"
#include "ops/remap.h"
#include "ops/residual_sum.h"
#include "ops/strain.h"
#include "ops/tvl1.h"

namespace py = pybind11;
using namespace rtmer::ops;

namespace {

template <typename T>
using carray = py::array_t<T, py::array::c_style>;

std::vector<py::ssize_t> shape_of(const py::array& a) { return {a.shape(), a.shape() + a.ndim()}; }

// frames (K, *S) against reference (*S): returns K, and the element count of S.
std::pair<int64_t, int64_t> check_stack(const carray<uint8_t>& frames, const carray<uint8_t>& ref) {
  RTMER_CHECK(frames.ndim() == ref.ndim() + 1, "frames must have one more axis than the reference");
  for (py::ssize_t i = 0; i < ref.ndim(); ++i)
    RTMER_CHECK(frames.shape(i + 1) == ref.shape(i), "frame shape differs from the reference shape");
  RTMER_CHECK(frames.shape(0) <= 257, "at most 257 frames fit a uint16 residual sum");
  return {frames.shape(0), ref.size()};
}

void check_same(const py::array& a, const py::array& b, const char* what) {
  RTMER_CHECK(a.ndim() == b.ndim() && std::equal(a.shape(), a.shape() + a.ndim(), b.shape()), what);
}

void check_flow(const carray<float>& flow) {
  RTMER_CHECK(flow.ndim() == 3 && flow.shape(2) == 2, "flow must be H x W x 2 float32");
}

// The wrapper `name<kernel>` registered as `name` around name_cpu and as `name_cuda` around name_cuda.
template <typename Wrapper, typename... Args>
void def_twins(py::module_& m, const std::string& name, Wrapper cpu, Wrapper cuda, const Args&... args) {
  m.def(name.c_str(), cpu, args...);
  m.def((name + "_cuda").c_str(), cuda, args...);
}

template <auto Kernel>
carray<uint16_t> residual_sum(const carray<uint8_t>& frames, const carray<uint8_t>& ref) {
  auto [k, n] = check_stack(frames, ref);
  carray<uint16_t> acc(shape_of(ref));
  if (n == 0) return acc;
  py::gil_scoped_release nogil;
  Kernel(frames.data(), k, ref.data(), n, acc.mutable_data());
  return acc;
}

void residual_accumulate(const carray<uint8_t>& frame, const carray<uint8_t>& ref, carray<uint16_t>& acc) {
  check_same(frame, ref, "frame and reference shapes differ");
  check_same(frame, acc, "accumulator shape differs from the frame shape");
  if (frame.size() == 0) return;
  py::gil_scoped_release nogil;
  residual_accumulate_cpu(frame.data(), ref.data(), frame.size(), acc.mutable_data());
}

carray<uint8_t> absdiff(const carray<uint8_t>& frame, const carray<uint8_t>& ref) {
  check_same(frame, ref, "frame and reference shapes differ");
  carray<uint8_t> out(shape_of(frame));
  if (frame.size() == 0) return out;
  py::gil_scoped_release nogil;
  absdiff_cpu(frame.data(), ref.data(), frame.size(), out.mutable_data());
  return out;
}

carray<uint8_t> ars_from_sum(const carray<uint16_t>& acc) {
  carray<uint8_t> out(shape_of(acc));
  if (acc.size() == 0) return out;
  py::gil_scoped_release nogil;
  ars_from_sum_cpu(acc.data(), acc.size(), out.mutable_data());
  return out;
}

carray<uint8_t> rrs_from_sum(const carray<uint16_t>& acc, int gmin, int gmax) {
  RTMER_CHECK(0 <= gmin && gmin <= gmax && gmax <= 255, "need 0 <= gmin <= gmax <= 255");
  carray<uint8_t> out(shape_of(acc));
  if (acc.size() == 0) return out;
  py::gil_scoped_release nogil;
  rrs_from_sum_cpu(acc.data(), acc.size(), gmin, gmax, out.mutable_data());
  return out;
}

template <auto Kernel>
carray<float> optical_strain(const carray<float>& flow) {
  check_flow(flow);
  const int64_t h = flow.shape(0), w = flow.shape(1);
  carray<float> out({h, w});
  if (h * w == 0) return out;
  py::gil_scoped_release nogil;
  Kernel(flow.data(), h, w, out.mutable_data());
  return out;
}

template <auto Kernel>
carray<uint8_t> flow_to_color(const carray<float>& flow, int n_hues) {
  check_flow(flow);
  const int64_t h = flow.shape(0), w = flow.shape(1);
  carray<uint8_t> out({h, w, int64_t{3}});
  color_wheel(n_hues);  // validates n_hues even for an empty flow
  if (h * w == 0) return out;
  py::gil_scoped_release nogil;
  Kernel(flow.data(), h, w, n_hues, out.mutable_data());
  return out;
}

carray<float> wheel(int n_hues) {
  const std::vector<float> w = color_wheel(n_hues);
  carray<float> out({static_cast<int64_t>(n_hues), int64_t{3}});
  std::copy(w.begin(), w.end(), out.mutable_data());
  return out;
}

carray<float> median_blur(const carray<float>& img, int k) {
  RTMER_CHECK(img.ndim() == 2, "median_blur takes a 2-D float32 image");
  carray<float> out(shape_of(img));
  if (img.size() == 0) return out;
  rtmer::Plane src, dst;
  src.resize(static_cast<int>(img.shape(0)), static_cast<int>(img.shape(1)));
  dst.resize(src.h, src.w);
  src.assign(img.data());
  {
    py::gil_scoped_release nogil;
    rtmer::MedianFilter(k).apply(src, dst, 0, src.h);
  }
  for (int y = 0; y < dst.h; ++y) std::copy(dst.row(y), dst.row(y) + dst.w, out.mutable_data() + static_cast<size_t>(y) * dst.w);
  return out;
}

template <auto Kernel>
carray<float> remap_bicubic(const carray<float>& img, const carray<float>& map, float a) {
  RTMER_CHECK(img.ndim() == 3 && img.shape(2) >= 1 && img.shape(2) <= 4, "image must be H x W x C float32, C 1..4");
  RTMER_CHECK(map.ndim() == 3 && map.shape(2) == 2, "map must be H x W x 2 float32 (x, y)");
  const int h = static_cast<int>(img.shape(0)), w = static_cast<int>(img.shape(1)), c = static_cast<int>(img.shape(2));
  const int oh = static_cast<int>(map.shape(0)), ow = static_cast<int>(map.shape(1));
  RTMER_CHECK(h > 0 && w > 0, "image is empty");
  carray<float> out({oh, ow, c});
  if (oh * ow == 0) return out;
  py::gil_scoped_release nogil;
  Kernel(img.data(), h, w, c, map.data(), oh, ow, a, out.mutable_data());
  return out;
}

const float* optional_flow(const std::optional<carray<float>>& init, int h, int w) {
  if (!init) return nullptr;
  RTMER_CHECK(init->ndim() == 3 && init->shape(0) == h && init->shape(1) == w && init->shape(2) == 2,
              "init flow must be H x W x 2 float32 with the images' H and W");
  return init->data();
}

void check_pair(const carray<float>& i0, const carray<float>& i1) {
  RTMER_CHECK(i0.ndim() == 2, "TV-L1 takes 2-D gray float32 images");
  check_same(i0, i1, "the two images differ in shape");
  RTMER_CHECK(i0.shape(0) > 0 && i0.shape(1) > 0, "TV-L1 needs non-empty images");
}

template <auto Kernel>
py::tuple tvl1(const carray<float>& i0, const carray<float>& i1, const std::optional<carray<float>>& init,
               const Tvl1Params& prm) {
  check_pair(i0, i1);
  const int h = static_cast<int>(i0.shape(0)), w = static_cast<int>(i0.shape(1));
  const float* init_ptr = optional_flow(init, h, w);
  carray<float> flow({h, w, 2});
  Tvl1Stats st;
  {
    py::gil_scoped_release nogil;
    st = Kernel(i0.data(), i1.data(), h, w, init_ptr, flow.mutable_data(), prm);
  }
  return py::make_tuple(flow, st);
}

py::tuple unpack_dlib(const carray<uint8_t>& data, int64_t offset, int64_t count, int n_ints, int n_floats) {
  RTMER_CHECK(data.ndim() == 1, "data must be a 1-D uint8 array");
  RTMER_CHECK(offset >= 0 && count >= 0 && n_ints >= 0 && n_floats >= 0, "offset and counts must be >= 0");
  carray<int64_t> ints({count, static_cast<int64_t>(n_ints)});
  carray<float> floats({count, static_cast<int64_t>(n_floats)});
  int64_t end = 0;
  {
    py::gil_scoped_release nogil;
    end = unpack_dlib_cpu(data.data(), data.size(), offset, count, n_ints, n_floats, ints.mutable_data(),
                          floats.mutable_data());
  }
  return py::make_tuple(ints, floats, end);
}

int checked_int(int64_t v, const char* what) {
  RTMER_CHECK(v >= 0 && v <= INT_MAX, what, " out of range: ", v);
  return static_cast<int>(v);
}

ErtPredictor make_ert(const carray<float>& initial, const carray<int64_t>& anchor, const carray<float>& deltas,
                      const carray<int64_t>& split_idx, const carray<float>& thresh, const carray<float>& leaves) {
  RTMER_CHECK(initial.ndim() == 2 && initial.shape(1) == 2, "initial shape must be P x 2 float32");
  RTMER_CHECK(anchor.ndim() == 2, "anchor must be C x F");
  const int64_t P = initial.shape(0), C = anchor.shape(0), F = anchor.shape(1);
  RTMER_CHECK(deltas.ndim() == 3 && deltas.shape(0) == C && deltas.shape(1) == F && deltas.shape(2) == 2,
              "deltas must be C x F x 2 float32");
  RTMER_CHECK(split_idx.ndim() == 4 && split_idx.shape(0) == C && split_idx.shape(3) == 2,
              "split_idx must be C x T x S x 2");
  const int64_t T = split_idx.shape(1), S = split_idx.shape(2);
  RTMER_CHECK(thresh.ndim() == 3 && thresh.shape(0) == C && thresh.shape(1) == T && thresh.shape(2) == S,
              "thresh must be C x T x S float32");
  RTMER_CHECK(leaves.ndim() == 4 && leaves.shape(0) == C && leaves.shape(1) == T && leaves.shape(2) == S + 1 &&
                  leaves.shape(3) == 2 * P,
              "leaves must be C x T x (S + 1) x 2P float32");
  int depth = 0;
  while (depth <= 16 && (int64_t{1} << depth) - 1 < S) ++depth;
  RTMER_CHECK((int64_t{1} << depth) - 1 == S, "trees must be full (2^depth - 1 splits), got ", S, " splits");
  const ErtSizes sizes{checked_int(P, "parts"), checked_int(C, "cascades"), checked_int(T, "trees"), depth,
                       checked_int(F, "features")};
  return ErtPredictor(sizes, initial.data(), anchor.data(), deltas.data(), split_idx.data(), thresh.data(),
                      leaves.data());
}

carray<float> ert_predict(const ErtPredictor& p, const carray<uint8_t>& gray, double x0, double y0, double x1,
                          double y1) {
  RTMER_CHECK(gray.ndim() == 2 && gray.shape(0) > 0 && gray.shape(1) > 0,
              "image must be a non-empty H x W uint8 array");
  const int h = checked_int(gray.shape(0), "image height"), w = checked_int(gray.shape(1), "image width");
  carray<float> out({static_cast<int64_t>(p.sizes().parts), int64_t{2}});
  const double box[4] = {x0, y0, x1, y1};
  py::gil_scoped_release nogil;
  p.predict(gray.data(), h, w, w, box, out.mutable_data());
  return out;
}

py::dict build_info() {
  py::dict d;
  d["compiler"] = RTMER_BUILD_COMPILER;
  d["cxx_flags"] = RTMER_BUILD_CXX_FLAGS;
  d["cuda_compiled"] = std::string(RTMER_BUILD_CUDA) == "yes";
  d["cuda_archs"] = RTMER_BUILD_CUDA_ARCHS;
  d["nvcc"] = RTMER_BUILD_NVCC;
#ifdef _OPENMP
  d["openmp"] = _OPENMP;
#else
  d["openmp"] = 0;
#endif
  d["max_threads"] = rtmer::max_threads();
#if defined(__AVX512F__)
  d["simd"] = "avx512";
#elif defined(__AVX2__)
  d["simd"] = "avx2";
#elif defined(__SSE4_2__)
  d["simd"] = "sse4.2";
#else
  d["simd"] = "baseline";
#endif
  return d;
}

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "rtmer native kernels (private; use rtmer.motion)";

  py::class_<Tvl1Params>(m, "Tvl1Params")
      .def(py::init([](float tau, float lambda, float theta, float epsilon, int scales, float scale_step,
                       int warps, int inner_iterations, int outer_iterations, int median_filter) {
             const Tvl1Params p{tau, lambda, theta, epsilon, scales, scale_step, warps, inner_iterations,
                                outer_iterations, median_filter};
             check_params(p);
             return p;
           }),
           py::arg("tau") = 0.25f, py::arg("lambda_") = 0.15f, py::arg("theta") = 0.3f,
           py::arg("epsilon") = 0.01f, py::arg("scales") = 5, py::arg("scale_step") = 0.8f, py::arg("warps") = 5,
           py::arg("inner_iterations") = 30, py::arg("outer_iterations") = 10, py::arg("median_filter") = 5)
      .def_readonly("tau", &Tvl1Params::tau)
      .def_readonly("lambda_", &Tvl1Params::lambda)
      .def_readonly("theta", &Tvl1Params::theta)
      .def_readonly("epsilon", &Tvl1Params::epsilon)
      .def_readonly("scales", &Tvl1Params::scales)
      .def_readonly("scale_step", &Tvl1Params::scale_step)
      .def_readonly("warps", &Tvl1Params::warps)
      .def_readonly("inner_iterations", &Tvl1Params::inner_iterations)
      .def_readonly("outer_iterations", &Tvl1Params::outer_iterations)
      .def_readonly("median_filter", &Tvl1Params::median_filter);

  py::class_<Tvl1Stats>(m, "Tvl1Stats")
      .def_readonly("work", &Tvl1Stats::work)
      .def_readonly("iterations", &Tvl1Stats::iterations)
      .def_readonly("scales_used", &Tvl1Stats::scales_used)
      .def("__repr__", [](const Tvl1Stats& s) {
        return "Tvl1Stats(work=" + std::to_string(s.work) + ", iterations=" + std::to_string(s.iterations) +
               ", scales_used=" + std::to_string(s.scales_used) + ")";
      });

  py::class_<Tvl1Solver>(m, "Tvl1Solver")
      .def(py::init<int, int, const Tvl1Params&>(), py::arg("height"), py::arg("width"), py::arg("params"))
      .def_property_readonly("height", &Tvl1Solver::height)
      .def_property_readonly("width", &Tvl1Solver::width)
      .def_property_readonly("params", &Tvl1Solver::params)
      .def(
          "set_reference",
          [](Tvl1Solver& s, const carray<float>& i0) {
            RTMER_CHECK(i0.ndim() == 2 && i0.shape(0) == s.height() && i0.shape(1) == s.width(),
                        "reference must be a ", s.height(), " x ", s.width(), " float32 image");
            py::gil_scoped_release nogil;
            s.set_reference(i0.data());
          },
          py::arg("reference"))
      .def(
          "compute",
          [](Tvl1Solver& s, const carray<float>& i1, const std::optional<carray<float>>& init, carray<float>& out) {
            RTMER_CHECK(i1.ndim() == 2 && i1.shape(0) == s.height() && i1.shape(1) == s.width(),
                        "frame must be a ", s.height(), " x ", s.width(), " float32 image");
            RTMER_CHECK(out.ndim() == 3 && out.shape(0) == s.height() && out.shape(1) == s.width() &&
                            out.shape(2) == 2,
                        "out must be an H x W x 2 float32 array");
            const float* init_ptr = optional_flow(init, s.height(), s.width());
            py::gil_scoped_release nogil;
            return s.compute(i1.data(), init_ptr, out.mutable_data());
          },
          py::arg("frame"), py::arg("init"), py::arg("out"));

  def_twins(m, "residual_sum", &residual_sum<residual_sum_cpu>, &residual_sum<residual_sum_cuda>,
            py::arg("frames"), py::arg("reference"));
  def_twins(m, "optical_strain", &optical_strain<optical_strain_cpu>, &optical_strain<optical_strain_cuda>,
            py::arg("flow"));
  def_twins(m, "flow_to_color", &flow_to_color<flow_to_color_cpu>, &flow_to_color<flow_to_color_cuda>,
            py::arg("flow"), py::arg("n_hues"));
  def_twins(m, "remap_bicubic", &remap_bicubic<remap_bicubic_cpu>, &remap_bicubic<remap_bicubic_cuda>,
            py::arg("image"), py::arg("map"), py::arg("a"));
  def_twins(m, "tvl1", &tvl1<tvl1_cpu>, &tvl1<tvl1_cuda>, py::arg("prev"), py::arg("next"), py::arg("init"),
            py::arg("params"));

  py::class_<ErtPredictor>(m, "ErtPredictor")
      .def(py::init(&make_ert), py::arg("initial"), py::arg("anchor"), py::arg("deltas"), py::arg("split_idx"),
           py::arg("thresh"), py::arg("leaves"))
      .def_property_readonly("parts", [](const ErtPredictor& p) { return p.sizes().parts; })
      .def_property_readonly("cascades", [](const ErtPredictor& p) { return p.sizes().cascades; })
      .def_property_readonly("trees", [](const ErtPredictor& p) { return p.sizes().trees; })
      .def_property_readonly("depth", [](const ErtPredictor& p) { return p.sizes().depth; })
      .def_property_readonly("features", [](const ErtPredictor& p) { return p.sizes().features; })
      .def("predict", &ert_predict, py::arg("image"), py::arg("x0"), py::arg("y0"), py::arg("x1"), py::arg("y1"));
  m.def("residual_accumulate", &residual_accumulate, py::arg("frame"), py::arg("reference"), py::arg("acc"));
  m.def("absdiff", &absdiff, py::arg("frame"), py::arg("reference"));
  m.def("ars_from_sum", &ars_from_sum, py::arg("acc"));
  m.def("rrs_from_sum", &rrs_from_sum, py::arg("acc"), py::arg("gmin"), py::arg("gmax"));
  m.def("color_wheel", &wheel, py::arg("n_hues"));
  m.def("unpack_dlib", &unpack_dlib, py::arg("data"), py::arg("offset"), py::arg("count"), py::arg("n_ints"),
        py::arg("n_floats"));
  m.def("median_blur", &median_blur, py::arg("image"), py::arg("ksize"));
  m.def("cuda_device_count", &cuda_device_count);
  m.def("cuda_device_name", [] { return std::string(cuda_device_name()); });
  m.def("set_num_threads", &rtmer::set_threads, py::arg("n"));
  m.def("get_num_threads", &rtmer::max_threads);
  m.def("build_info", &build_info);
}
