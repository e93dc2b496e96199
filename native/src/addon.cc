// Addon entry: argument helpers, the oneDNN engine, thread control, and the module's export table.
#include "common.h"

#include <cmath>

namespace gaplab {

F32 f32Arg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsTypedArray()) throw ArgError(std::string(name) + " must be a Float32Array");
  auto ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_float32_array) throw ArgError(std::string(name) + " must be a Float32Array");
  auto arr = ta.As<Napi::Float32Array>();
  return F32{arr.Data(), arr.ElementLength()};
}

Buf bufArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i < info.Length() && info[i].IsTypedArray()) {
    auto ta = info[i].As<Napi::TypedArray>();
    if (ta.TypedArrayType() == napi_uint16_array) {
      auto arr = ta.As<Napi::Uint16Array>();
      return Buf{arr.Data(), arr.ElementLength(), true};
    }
  }
  const F32 f = f32Arg(info, i, name);
  return Buf{f.data, f.len, false};
}

F32 f32OptArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || info[i].IsNull() || info[i].IsUndefined()) return F32{};
  return f32Arg(info, i, name);
}

double numArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) throw ArgError(std::string(name) + " must be a number");
  return info[i].As<Napi::Number>().DoubleValue();
}

int64_t intArg(const Napi::CallbackInfo& info, size_t i, const char* name) {
  const double v = numArg(info, i, name);
  if (!std::isfinite(v) || std::floor(v) != v || std::fabs(v) > 9.0e15)
    throw ArgError(std::string(name) + " must be an integer");
  return static_cast<int64_t>(v);
}

std::vector<int64_t> intsArg(const Napi::CallbackInfo& info, size_t i, size_t count, const char* name) {
  if (i >= info.Length() || !info[i].IsTypedArray()) throw ArgError(std::string(name) + " must be an Int32Array");
  auto ta = info[i].As<Napi::TypedArray>();
  if (ta.TypedArrayType() != napi_int32_array) throw ArgError(std::string(name) + " must be an Int32Array");
  auto arr = ta.As<Napi::Int32Array>();
  if (arr.ElementLength() != count)
    throw ArgError(std::string(name) + " must hold " + std::to_string(count) + " values");
  return std::vector<int64_t>(arr.Data(), arr.Data() + count);
}

void requireLen(const F32& a, int64_t n, const char* name) {
  if (a.data == nullptr || static_cast<int64_t>(a.len) != n)
    throw ArgError(std::string(name) + " has " + std::to_string(a.len) + " elements, expected " + std::to_string(n));
}

void require(bool cond, const std::string& what) {
  if (!cond) throw ArgError(what);
}

dnnl::engine& cpuEngine() {
  static dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  return eng;
}

dnnl::stream& cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

int maxThreads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

namespace {

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int64_t n = intArg(info, 0, "threads");
  require(n >= 1 && n <= 1024, "threads must be between 1 and 1024");
#ifdef _OPENMP
  if (n != omp_get_max_threads()) {
    omp_set_num_threads(static_cast<int>(n));
    clearConvCache();
  }
#endif
  return info.Env().Undefined();
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), maxThreads()); }

/** The instruction set oneDNN dispatches to on this CPU (its DNNL_MAX_CPU_ISA cap applied). */
const char* effectiveIsa() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "unknown";
  }
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const dnnl_version_t* v = dnnl_version();
  Napi::Object o = Napi::Object::New(env);
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("threads", maxThreads());
  o.Set("isa", effectiveIsa());
  // Built without LAPACK (no lapacke.h): no symmetricEigen export, and ZCA is fitted in JavaScript.
  const std::string lapack = lapackLibrary();
  if (!lapack.empty()) o.Set("lapack", lapack);
#ifdef _OPENMP
  o.Set("openmp", true);
#else
  o.Set("openmp", false);
#endif
  return o;
}

}  // namespace

Napi::Object initAll(Napi::Env env, Napi::Object exports) {
  exports.Set("setThreads", Napi::Function::New(env, guarded<SetThreads>, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, guarded<GetThreads>, "getThreads"));
  exports.Set("info", Napi::Function::New(env, guarded<Info>, "info"));
  initConv(env, exports);
  initEltwise(env, exports);
  initPool(env, exports);
  initMatmul(env, exports);
  initBatchnorm(env, exports);
  initPrecision(env, exports);
  initLinalg(env, exports);
  initBuffers(env, exports);
  initDropout(env, exports);
  initSgd(env, exports);
  return exports;
}

}  // namespace gaplab

static Napi::Object InitGaplab(Napi::Env env, Napi::Object exports) { return gaplab::initAll(env, exports); }

NODE_API_MODULE(gaplab_native, InitGaplab)
