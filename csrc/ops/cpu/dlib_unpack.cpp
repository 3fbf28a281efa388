// dlib's serialization of numbers (see ops/dlib_unpack.h). The 68-point shape predictor holds 16
// million floats in 100 MB; decoding them here takes about 0.2 s where a Python loop takes about
// a minute.
#include "ops/dlib_unpack.h"

#include <cmath>
#include <limits>

#include "common/check.h"

namespace rtmer::ops {
namespace {

constexpr int64_t kIsInf = 32000, kIsNinf = 32001;  // float_details' special exponents

class Cursor {
 public:
  Cursor(const uint8_t* data, int64_t n, int64_t pos) : data_(data), n_(n), pos_(pos) {}

  int64_t next() {
    RTMER_CHECK(pos_ < n_, "the data ends at byte ", n_, " where an integer should begin");
    const uint8_t control = data_[pos_];
    const int size = control & 0x0F;
    RTMER_CHECK((control & 0x70) == 0 && size <= 8, "byte ", pos_, " (", int{control},
                ") is not a control byte of dlib's binary number format");
    RTMER_CHECK(pos_ + 1 + size <= n_, "the data ends at byte ", n_, " inside the integer at byte ",
                pos_);
    uint64_t magnitude = 0;
    for (int i = size - 1; i >= 0; --i) magnitude = (magnitude << 8) | data_[pos_ + 1 + i];
    RTMER_CHECK(magnitude <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), "the integer at byte ",
                pos_, " exceeds int64");
    pos_ += 1 + size;
    const int64_t value = static_cast<int64_t>(magnitude);
    return (control & 0x80) ? -value : value;
  }

  float next_float() {
    const int64_t mantissa = next();
    const int64_t at = pos_;
    const int64_t exponent = next();
    RTMER_CHECK(exponent >= -32768 && exponent <= 32767, "the float exponent at byte ", at, " exceeds int16");
    if (exponent < kIsInf) return std::ldexp(static_cast<float>(mantissa), static_cast<int>(exponent));
    if (exponent == kIsInf) return std::numeric_limits<float>::infinity();
    if (exponent == kIsNinf) return -std::numeric_limits<float>::infinity();
    return std::numeric_limits<float>::quiet_NaN();
  }

  int64_t pos() const { return pos_; }

 private:
  const uint8_t* data_;
  int64_t n_, pos_;
};

}  // namespace

int64_t unpack_dlib_cpu(const uint8_t* data, int64_t n, int64_t offset, int64_t count, int n_ints,
                        int n_floats, int64_t* ints, float* floats) {
  Cursor in(data, n, offset);
  for (int64_t r = 0; r < count; ++r) {
    for (int i = 0; i < n_ints; ++i) *ints++ = in.next();
    for (int i = 0; i < n_floats; ++i) *floats++ = in.next_float();
  }
  return in.pos();
}

}  // namespace rtmer::ops
