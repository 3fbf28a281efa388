// dlib's portable serialization of numbers (dlib/serialize.h, dlib/float_details.h). An integer is
// one control byte, its low 4 bits the count of magnitude bytes that follow (little endian) and its
// bit 0x80 the sign, then those bytes (pack_int). A float is two such integers, a mantissa and an
// int16 exponent, worth (float)mantissa * 2^exponent, except the exponents 32000 (+inf), 32001
// (-inf) and above (NaN). A serialized dlib::shape_predictor is nothing but runs of these, so
// rtmer.face.ert reads its structure in Python and leaves only the decoding loop to C++.
#pragma once

#include <cstdint>

namespace rtmer::ops {

// Decodes `count` records of `n_ints` integers followed by `n_floats` floats from data[offset, n)
// into ints (count * n_ints) and floats (count * n_floats); returns the offset after the last.
// Throws std::invalid_argument naming the offset on a control byte pack_int never writes (bits
// 0x70 set: dlib's older text format for floats, or not dlib data; more than 8 bytes), on an
// integer beyond int64 or a float exponent beyond int16, or where the data ends early.
int64_t unpack_dlib_cpu(const uint8_t* data, int64_t n, int64_t offset, int64_t count, int n_ints,
                        int n_floats, int64_t* ints, float* floats);

}  // namespace rtmer::ops
