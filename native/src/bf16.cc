// The addon's precision mode (setPrecision 'fp32' | 'bf16') and the check that the CPU runs bf16 natively.
#include "bf16.h"

#include <atomic>

namespace gaplab {
namespace {

std::atomic<bool> gBf16{false};

/** oneDNN's ISA values are bit sets, each containing the ISAs below it (avx512_core_amx contains avx512_core_bf16). */
bool isaHas(dnnl_cpu_isa_t isa, dnnl_cpu_isa_t want) {
  return (static_cast<unsigned>(isa) & static_cast<unsigned>(want)) == static_cast<unsigned>(want);
}

/** setPrecision('fp32' | 'bf16', emulated = false); bf16 throws on a CPU without native bf16 (see bf16Supported)
 *  unless `emulated` is true: then oneDNN's emulated or reference bf16 kernels run, slowly (tests of the kernels'
 *  arithmetic on such CPUs; training never asks for it). */
Napi::Value SetPrecision(const Napi::CallbackInfo& info) {
  require(info.Length() > 0 && info[0].IsString(), "precision must be a string");
  const std::string p = info[0].As<Napi::String>().Utf8Value();
  require(p == "fp32" || p == "bf16", "precision must be fp32 or bf16");
  const bool emulated = info.Length() > 1 && info[1].IsBoolean() && info[1].As<Napi::Boolean>().Value();
  if (p == "bf16" && !emulated)
    require(bf16Supported(), "precision bf16 needs a CPU with AVX512_BF16 or AMX (oneDNN's avx512_core_bf16 ISA)");
  gBf16 = p == "bf16";
  return info.Env().Undefined();
}

Napi::Value GetPrecision(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), gBf16 ? "bf16" : "fp32");
}

Napi::Value Bf16Supported(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), bf16Supported()); }

}  // namespace

bool bf16Mode() { return gBf16; }

bool bf16Supported() {
  return isaHas(static_cast<dnnl_cpu_isa_t>(dnnl::get_effective_cpu_isa()), dnnl_cpu_isa_avx512_core_bf16);
}

void toBf16Parallel(const float* src, uint16_t* dst, int64_t n) {
  parallelFor(n, 1 << 16, [=](int64_t lo, int64_t hi) { toBf16(src + lo, dst + lo, hi - lo); });
}

void initPrecision(Napi::Env env, Napi::Object exports) {
  exports.Set("setPrecision", Napi::Function::New(env, guarded<SetPrecision>, "setPrecision"));
  exports.Set("getPrecision", Napi::Function::New(env, guarded<GetPrecision>, "getPrecision"));
  exports.Set("bf16Supported", Napi::Function::New(env, guarded<Bf16Supported>, "bf16Supported"));
}

}  // namespace gaplab
