// Shared helpers of the CUDA twins: error checking that turns a CUDA failure into a C++ exception
// (pybind11 raises it as RuntimeError), an owning device buffer, and an owning stream.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <stdexcept>
#include <string>

namespace rtmer::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line) {
  throw std::runtime_error(std::string("CUDA error: ") + cudaGetErrorString(err) + " (" + expr + " at " +
                           file + ":" + std::to_string(line) + ")");
}

}  // namespace rtmer::cuda

#define CUDA_CHECK(expr)                                                              \
  do {                                                                                \
    const cudaError_t rtmer_cuda_err_ = (expr);                                       \
    if (rtmer_cuda_err_ != cudaSuccess)                                               \
      ::rtmer::cuda::throw_cuda_error(rtmer_cuda_err_, #expr, __FILE__, __LINE__);    \
  } while (0)

// After a kernel launch: a bad configuration is only reported by the next runtime call.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

namespace rtmer::cuda {

// Plain device allocation (cudaMalloc; never managed memory) freed on scope exit. Errors of
// cudaFree are dropped: a destructor must not throw, and the first failure was already reported.
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t count) : count_(count) {
    if (count > 0) CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&ptr_), count * sizeof(T)));
  }
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  T* get() const { return ptr_; }
  size_t size() const { return count_; }

  void upload(const T* host, size_t count, cudaStream_t stream) {
    if (count > 0) CUDA_CHECK(cudaMemcpyAsync(ptr_, host, count * sizeof(T), cudaMemcpyHostToDevice, stream));
  }
  void download(T* host, size_t count, cudaStream_t stream) const {
    if (count > 0) CUDA_CHECK(cudaMemcpyAsync(host, ptr_, count * sizeof(T), cudaMemcpyDeviceToHost, stream));
  }

 private:
  T* ptr_ = nullptr;
  size_t count_ = 0;
};

// A non-blocking stream, so the op does not serialise against work on the legacy default stream.
// Declare it before the buffers it uses: it is then destroyed after them, and cudaFree waits for
// the device, so no kernel outlives its memory.
class Stream {
 public:
  Stream() { CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  ~Stream() { cudaStreamDestroy(stream_); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return stream_; }
  void synchronize() const { CUDA_CHECK(cudaStreamSynchronize(stream_)); }

 private:
  cudaStream_t stream_ = nullptr;
};

// Blocks to cover n items with `threads` per block, at most `cap` (grid-stride kernels take the
// rest in further passes).
inline unsigned int blocks_for(long long n, int threads, unsigned int cap = 0x7fffffffu) {
  const long long b = (n + threads - 1) / threads;
  return b < static_cast<long long>(cap) ? static_cast<unsigned int>(b) : cap;
}

}  // namespace rtmer::cuda
