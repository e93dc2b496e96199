// Where the values of an [n, h, w, c] activation live (tfjs's fp32 NHWC, or oneDNN's nChw16c in fp32 or bf16), and
// whole 16-channel slabs of one image copied between that storage and plain fp32 scratch, so a kernel written once
// over fp32 [pixels][16] slabs serves every storage.
#pragma once

#include <algorithm>
#include <cstdint>

#include "bf16.h"
#include "common.h"

namespace gaplab {

/** Offset of image img, channel 16 * cb, pixel p in nChw16c ([n, c/16, hw, 16]: per image, channel blocks of 16 one
 *  after the other, each block hw pixels x 16 channels). */
inline int64_t blockedOffset(int64_t img, int64_t cb, int64_t p, int64_t c, int64_t hw) {
  return img * c * hw + cb * hw * 16 + p * 16;
}

/** The same in NHWC. */
inline int64_t nhwcOffset(int64_t img, int64_t cb, int64_t p, int64_t c, int64_t hw) {
  return (img * hw + p) * c + cb * 16;
}

/** Offset of value (row, channel k) of a resident tensor, rows = n * hw in NHWC order. */
inline int64_t residentIndex(int64_t row, int64_t k, int64_t hw, int64_t channels) {
  const int64_t img = row / hw;
  return blockedOffset(img, k >> 4, row - img * hw, channels, hw) + (k & 15);
}

/** The storage of an activation: fp32 NHWC, or nChw16c ([n, c/16, h*w, 16]) in fp32 or bfloat16. */
enum Store { kNhwc = 0, kBlockedF32 = 1, kBlockedBf16 = 2 };

/** One activation operand: its buffer and storage, channels, and pixels (h * w) per image. */
struct Act {
  void* data;
  Store store;
  int64_t c, hw;

  /** Offset of image img, channel 16 * cb, pixel p; consecutive channels of a slab are adjacent in every store. */
  int64_t at(int64_t img, int64_t cb, int64_t p) const {
    return store == kNhwc ? nhwcOffset(img, cb, p, c, hw) : blockedOffset(img, cb, p, c, hw);
  }
  /** Distance between one pixel's slab lanes and the next pixel's. */
  int64_t pixelStride() const { return store == kNhwc ? c : 16; }
  /** Channels in slab cb: 16, fewer in the last slab of an NHWC tensor whose c is not a multiple of 16. */
  int64_t lanes(int64_t cb) const { return std::min<int64_t>(16, c - cb * 16); }
  /** Slabs per image. */
  int64_t slabs() const { return (c + 15) / 16; }
};

/** The operand `b` ([images, hw, c] values): a Uint16Array is bf16 nChw16c, a Float32Array fp32 nChw16c where
 *  `blocked`, else fp32 NHWC. Blocked stores need c to be a multiple of 16 (no padding channels). */
inline Act actOf(const Buf& b, bool blocked, int64_t c, int64_t hw, const char* name) {
  const Store s = b.bf16 ? kBlockedBf16 : (blocked ? kBlockedF32 : kNhwc);
  require(s == kNhwc || c % 16 == 0, std::string(name) + ": a blocked (nChw16c) operand needs a multiple of 16 channels");
  return Act{b.data, s, c, hw};
}

/** Pixels [0, np) of slab (img, cb) into out[p * 16 + lane] as fp32 (lanes past the slab's channels untouched). */
inline void gatherSlab(const Act& a, int64_t img, int64_t cb, int64_t np, float* out) {
  const int64_t base = a.at(img, cb, 0), stride = a.pixelStride(), w = a.lanes(cb);
  if (a.store == kBlockedBf16) {
    const uint16_t* src = static_cast<const uint16_t*>(a.data) + base;
    for (int64_t i = 0; i < np * 16; i++) out[i] = fromBf16(src[i]);
  } else if (a.store == kBlockedF32) {
    std::copy_n(static_cast<const float*>(a.data) + base, np * 16, out);
  } else {
    const float* src = static_cast<const float*>(a.data) + base;
    for (int64_t p = 0; p < np; p++) std::copy_n(src + p * stride, w, out + p * 16);
  }
}

/** in[p * 16 + lane] for pixels [0, np) into slab (img, cb); a bf16 store rounds to nearest even. */
inline void scatterSlab(const Act& a, int64_t img, int64_t cb, int64_t np, const float* in) {
  const int64_t base = a.at(img, cb, 0), stride = a.pixelStride(), w = a.lanes(cb);
  if (a.store == kBlockedBf16) {
    uint16_t* dst = static_cast<uint16_t*>(a.data) + base;
    for (int64_t i = 0; i < np * 16; i++) dst[i] = toBf16Select(in[i]);
  } else if (a.store == kBlockedF32) {
    std::copy_n(in, np * 16, static_cast<float*>(a.data) + base);
  } else {
    float* dst = static_cast<float*>(a.data) + base;
    for (int64_t p = 0; p < np; p++) std::copy_n(in + p * 16, w, dst + p * stride);
  }
}

/** Slab (img, cb) as fp32 [np][16]: an fp32 nChw16c slab where it lies (it already is one), others copied to
 *  `scratch`. */
inline const float* readSlab(const Act& a, int64_t img, int64_t cb, int64_t np, float* scratch) {
  if (a.store == kBlockedF32) return static_cast<const float*>(a.data) + a.at(img, cb, 0);
  gatherSlab(a, img, cb, np, scratch);
  return scratch;
}

/** Where to compute slab (img, cb) of an output: in place for fp32 nChw16c, else `scratch`, which finishSlab then
 *  copies out. */
inline float* slabTarget(const Act& a, int64_t img, int64_t cb, float* scratch) {
  return a.store == kBlockedF32 ? static_cast<float*>(a.data) + a.at(img, cb, 0) : scratch;
}
inline void finishSlab(const Act& a, int64_t img, int64_t cb, int64_t np, const float* computed) {
  if (a.store != kBlockedF32) scatterSlab(a, img, cb, np, computed);
}

}  // namespace gaplab
