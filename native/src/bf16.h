// bfloat16 mixed precision: the addon-wide precision mode, whether this CPU runs bf16 natively, f32 -> bf16 rounding.
#pragma once

#include <cstdint>
#include <cstring>

#include "common.h"

namespace gaplab {

/** True after setPrecision('bf16'): convolutions and matmuls may run with bf16 operands (fp32 accumulation and
 *  fp32 results); each primitive still decides (see conv.cc and matmul.cc). */
bool bf16Mode();

/** True when oneDNN's effective ISA has bf16 dot products (AVX512_BF16, or AMX, which includes it). Below that,
 *  oneDNN would emulate bf16 on AVX-512 or fall back to reference kernels: slower than fp32, so the mode is refused. */
bool bf16Supported();

/** f32 -> bf16 with round-to-nearest-even (what oneDNN's reorders do); NaN stays NaN. */
inline uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

/** toBf16 without a branch (a select), so loops over it vectorize; the same results. */
inline uint16_t toBf16Select(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  const uint32_t nan = (u >> 16) | 0x40u;
  return static_cast<uint16_t>((u & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}

/** dst[i] = toBf16(src[i]) for n values, on the calling thread (callers inside a parallel region use this). */
inline void toBf16(const float* src, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; i++) dst[i] = toBf16(src[i]);
}

/** bf16 bits -> f32 (exact). */
inline float fromBf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/** The same over all threads, for large arrays. */
void toBf16Parallel(const float* src, uint16_t* dst, int64_t n);

}  // namespace gaplab
