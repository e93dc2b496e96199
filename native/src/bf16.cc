// The addon's precision mode (setPrecision 'fp32' | 'bf16') and the check that the CPU runs bf16 natively.
#include "bf16.h"
#include "layout.h"

#include <algorithm>
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

namespace {

/** residentToF32(src, dst: Float32Array, channels, hw): a resident tensor ([n, c/16, hw, 16]: bfloat16 in a Uint16Array,
 *  fp32 in a Float32Array) as the fp32 NHWC values tfjs reads ([n, hw, c]); exact (every bf16 value is an fp32 value). */
Napi::Value ResidentToF32(const Napi::CallbackInfo& info) {
  const Buf src = bufArg(info, 0, "src");
  const F32 dst = f32Arg(info, 1, "dst");
  const int64_t c = intArg(info, 2, "channels"), hw = intArg(info, 3, "hw");
  require(c >= 16 && c % 16 == 0 && hw >= 1, "residentToF32: channels must be a multiple of 16, hw at least 1");
  const int64_t n = static_cast<int64_t>(src.len);
  require(n % (c * hw) == 0, "residentToF32: src length must be a multiple of channels * hw");
  requireLen(dst, n, "dst");
  require(src.data != dst.data, "residentToF32: dst must not be src");
  float* out = dst.data;
  const int64_t rows = n / c;
  // Row by row (one pixel's c values, written contiguously), gathering 16 channels from each block.
  auto gather = [=](auto* in) {
    parallelFor(rows, std::max<int64_t>(1, (1 << 16) / c), [=](int64_t lo, int64_t hi) {
      for (int64_t r = lo; r < hi; r++) {
        const auto* base = in + residentIndex(r, 0, hw, c);
        float* o = out + r * c;
        for (int64_t cb = 0; cb < c / 16; cb++)
          for (int64_t l = 0; l < 16; l++) {
            if constexpr (sizeof(*base) == 2) o[cb * 16 + l] = fromBf16(base[cb * hw * 16 + l]);
            else o[cb * 16 + l] = base[cb * hw * 16 + l];
          }
      }
    });
  };
  if (src.bf16) gather(static_cast<const uint16_t*>(src.data));
  else gather(static_cast<const float*>(src.data));
  return info.Env().Undefined();
}

}  // namespace

void initPrecision(Napi::Env env, Napi::Object exports) {
  exports.Set("residentToF32", Napi::Function::New(env, guarded<ResidentToF32>, "residentToF32"));
  exports.Set("setPrecision", Napi::Function::New(env, guarded<SetPrecision>, "setPrecision"));
  exports.Set("getPrecision", Napi::Function::New(env, guarded<GetPrecision>, "getPrecision"));
  exports.Set("bf16Supported", Napi::Function::New(env, guarded<Bf16Supported>, "bf16Supported"));
}

}  // namespace gaplab
