// Shared helpers for the addon: checked access to JS typed arrays, the oneDNN engine/stream, a parallel loop.
#pragma once

#include <napi.h>

#include <dnnl.hpp>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace gaplab {

/** A view of a JS Float32Array's storage (no copy): the tfjs cpu backend's tensor values. */
struct F32 {
  float* data = nullptr;
  size_t len = 0;
};

/** A tensor buffer handed to a kernel that takes either representation: a Float32Array (tfjs's fp32 values, NHWC)
 *  or a Uint16Array (a bf16-resident activation: bfloat16 bits in oneDNN's nChw16c layout, see conv.cc). */
struct Buf {
  void* data = nullptr;
  size_t len = 0;
  bool bf16 = false;
};

/** Thrown for bad arguments; the export wrapper turns it into a JS TypeError. */
struct ArgError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/** Argument i as a Float32Array of at least `minLen` elements. */
F32 f32Arg(const Napi::CallbackInfo& info, size_t i, const char* name);
/** Like f32Arg, but null/undefined gives an empty view (data == nullptr). */
F32 f32OptArg(const Napi::CallbackInfo& info, size_t i, const char* name);
/** Argument i as a Float32Array or a Uint16Array (bf16-resident). */
Buf bufArg(const Napi::CallbackInfo& info, size_t i, const char* name);
/** Argument i as an integer-valued number. */
int64_t intArg(const Napi::CallbackInfo& info, size_t i, const char* name);
/** Argument i as a number. */
double numArg(const Napi::CallbackInfo& info, size_t i, const char* name);
/** Argument i as an Int32Array of exactly `count` values. */
std::vector<int64_t> intsArg(const Napi::CallbackInfo& info, size_t i, size_t count, const char* name);
/** Throws ArgError unless the view holds exactly n elements. */
void requireLen(const F32& a, int64_t n, const char* name);
/** Throws ArgError unless cond. */
void require(bool cond, const std::string& what);

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

int maxThreads();

/** Runs f(begin, end) over [0, n) split into at most maxThreads() contiguous chunks of >= minChunk items.
 *  f must not throw (exceptions cannot leave an OpenMP region). */
template <class F>
void parallelFor(int64_t n, int64_t minChunk, F&& f) {
  if (n <= 0) return;
#ifdef _OPENMP
  int64_t chunks = n / (minChunk > 0 ? minChunk : 1);
  const int64_t nt = maxThreads();
  if (chunks > nt) chunks = nt;
  if (chunks <= 1) {
    f(int64_t{0}, n);
    return;
  }
#pragma omp parallel num_threads(static_cast<int>(chunks))
  {
    const int64_t t = omp_get_thread_num();
    const int64_t parts = omp_get_num_threads();
    f(n * t / parts, n * (t + 1) / parts);
  }
#else
  f(int64_t{0}, n);
#endif
}

/** Wraps an export so C++ and oneDNN errors become JS exceptions instead of aborting the process. */
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const ArgError& e) {
    throw Napi::TypeError::New(info.Env(), std::string("gaplab native: ") + e.what());
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(info.Env(), std::string("gaplab native (oneDNN): ") + e.what());
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("gaplab native: ") + e.what());
  }
}

// Module parts register their exports here.
void initConv(Napi::Env env, Napi::Object exports);
void initEltwise(Napi::Env env, Napi::Object exports);
void initPool(Napi::Env env, Napi::Object exports);
void initMatmul(Napi::Env env, Napi::Object exports);
void initBatchnorm(Napi::Env env, Napi::Object exports);
void initPrecision(Napi::Env env, Napi::Object exports);
void initLinalg(Napi::Env env, Napi::Object exports);
void initBuffers(Napi::Env env, Napi::Object exports);
void initDropout(Napi::Env env, Napi::Object exports);
void initSgd(Napi::Env env, Napi::Object exports);
/** The LAPACK library file the addon calls (empty when built without LAPACK). */
std::string lapackLibrary();
/** A block of the tensor heap (buffers.cc) for scratch during one call, 64-byte aligned; nullptr when the heap is not
 *  reserved or full. Return it with heapScratchFree(p, bytes) before the call ends. */
void* heapScratch(size_t bytes);
void heapScratchFree(void* p, size_t bytes);
/** Drops cached oneDNN primitives (they are tied to the thread count they were made for). */
void clearConvCache();

}  // namespace gaplab
