// 2-D max and average pooling, forward and backward, with tfjs's cpu semantics: max picks the first maximum in window
// order (its gradient goes there, found from the forward output), average divides by the in-bounds count forward and
// by the full window size backward (as tfjs's cpu AvgPoolGrad does). Operands are fp32 NHWC or resident nChw16c (fp32
// or bf16); each task pools one image's 16-channel slab, in place where it is fp32 nChw16c, else through fp32 scratch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common.h"
#include "layout.h"

namespace gaplab {
namespace {

/** Pool geometry from JS (Int32Array): n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl. */
struct PoolShape {
  int64_t n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl;
};
constexpr size_t kPoolParams = 12;

PoolShape parsePool(const std::vector<int64_t>& p) {
  PoolShape s{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]};
  for (size_t i = 0; i < 10; i++) require(p[i] >= 1, "pool: sizes and strides must be >= 1");
  require(s.pt >= 0 && s.pl >= 0 && s.pt < s.kh && s.pl < s.kw, "pool: bad padding");
  // Every window must overlap the input (true for tfjs's same/valid padding).
  require((s.oh - 1) * s.sh - s.pt < s.ih && (s.ow - 1) * s.sw - s.pl < s.iw, "pool: output larger than input allows");
  return s;
}

/** Runs f(image, slab, scratch) over tasks of (image, 16-channel slab), so batch 1 still spreads over threads; each
 *  chunk of tasks has its own zeroed fp32 scratch of `floats` values. */
template <class F>
void forSlabs(const PoolShape& s, int64_t floats, F&& f) {
  const int64_t slabs = (s.c + 15) / 16;
  const int64_t perTask = s.oh * s.ow * s.kh * s.kw * 16;
  parallelFor(s.n * slabs, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, perTask)), [&](int64_t lo, int64_t hi) {
    std::vector<float> scratch(static_cast<size_t>(floats), 0.f);
    for (int64_t t = lo; t < hi; t++) f(t / slabs, t % slabs, scratch.data());
  });
}

struct Window {
  int64_t r0, r1, c0, c1;
};
inline Window window(const PoolShape& s, int64_t oy, int64_t ox) {
  const int64_t ry = oy * s.sh - s.pt, rx = ox * s.sw - s.pl;
  return Window{std::max<int64_t>(0, ry), std::min(s.ih, ry + s.kh), std::max<int64_t>(0, rx), std::min(s.iw, rx + s.kw)};
}

/** Forward over one slab: xs [ih * iw][16] -> ys [oh * ow][16]. Max keeps the first maximum (x > best); empty windows
 *  cannot occur (parsePool checks every window overlaps the input). Average divides by the in-bounds count. */
template <bool max>
void forwardSlab(const PoolShape& s, const float* xs, float* ys) {
  for (int64_t oy = 0; oy < s.oh; oy++)
    for (int64_t ox = 0; ox < s.ow; ox++) {
      float* out = ys + (oy * s.ow + ox) * 16;
      std::fill(out, out + 16, max ? -std::numeric_limits<float>::infinity() : 0.f);
      const Window win = window(s, oy, ox);
      for (int64_t r = win.r0; r < win.r1; r++)
        for (int64_t q = win.c0; q < win.c1; q++) {
          const float* px = xs + (r * s.iw + q) * 16;
          if constexpr (max) {
            for (int k = 0; k < 16; k++) out[k] = px[k] > out[k] ? px[k] : out[k];
          } else {
            for (int k = 0; k < 16; k++) out[k] += px[k];
          }
        }
      if constexpr (!max) {
        const float inv = 1.f / static_cast<float>((win.r1 - win.r0) * (win.c1 - win.c0));
        for (int k = 0; k < 16; k++) out[k] *= inv;
      }
    }
}

/** Max pool backward over one slab, given the forward output: each window's gradient goes to the first pixel (in
 *  window order) equal to its maximum, which is the pixel the forward pass picked. dxs starts zeroed. Bit masks
 *  rather than a branch or a select, so the lane loop vectorizes (and inf/NaN gradients stay exact). */
void maxBackwardSlab(const PoolShape& s, const float* dys, const float* xs, const float* ys, float* dxs) {
  alignas(64) float rem[16];  // gradient not yet deposited, per lane
  for (int64_t oy = 0; oy < s.oh; oy++)
    for (int64_t ox = 0; ox < s.ow; ox++) {
      const int64_t o = (oy * s.ow + ox) * 16;
      const float* __restrict ym = ys + o;
      std::copy_n(dys + o, 16, rem);
      const Window win = window(s, oy, ox);
      for (int64_t r = win.r0; r < win.r1; r++)
        for (int64_t q = win.c0; q < win.c1; q++) {
          const float* __restrict px = xs + (r * s.iw + q) * 16;
          float* __restrict d = dxs + (r * s.iw + q) * 16;
          for (int k = 0; k < 16; k++) {
            const uint32_t hit = 0u - static_cast<uint32_t>(px[k] == ym[k]);
            uint32_t g;
            std::memcpy(&g, &rem[k], 4);
            const uint32_t take = g & hit, keep = g & ~hit;
            float t, kf;
            std::memcpy(&t, &take, 4);
            std::memcpy(&kf, &keep, 4);
            d[k] += t;
            rem[k] = kf;
          }
        }
    }
}

/** Average pool backward over one slab with tfjs's cpu divisor (kh * kw for every window); dxs starts zeroed. */
void avgBackwardSlab(const PoolShape& s, const float* dys, float* dxs) {
  const float inv = 1.f / static_cast<float>(s.kh * s.kw);
  for (int64_t oy = 0; oy < s.oh; oy++)
    for (int64_t ox = 0; ox < s.ow; ox++) {
      const float* g = dys + (oy * s.ow + ox) * 16;
      const Window win = window(s, oy, ox);
      for (int64_t r = win.r0; r < win.r1; r++)
        for (int64_t q = win.c0; q < win.c1; q++) {
          float* d = dxs + (r * s.iw + q) * 16;
          for (int k = 0; k < 16; k++) d[k] += g[k] * inv;
        }
    }
}

/** Optional argument i as an integer mask, 0 when absent. */
int64_t maskArg(const Napi::CallbackInfo& info, size_t i, int64_t max) {
  const int64_t m = info.Length() > i && !info[i].IsUndefined() ? intArg(info, i, "blocked") : 0;
  require(m >= 0 && m <= max, "pool: blocked must be a mask of the operands held in fp32 nChw16c");
  return m;
}

/** Operand of n values (whole images of `hw` pixels): see actOf. */
Act poolAct(const Buf& b, bool blocked, const PoolShape& s, int64_t hw, const char* name) {
  require(static_cast<int64_t>(b.len) == s.n * hw * s.c, std::string("pool: ") + name + " has the wrong length");
  return actOf(b, blocked, s.c, hw, name);
}

/** poolForward(kind, shape, x, y, blocked = 0): kind 0 = max, 1 = avg. x and y: fp32 NHWC, fp32 nChw16c (blocked bit 1
 *  for x, 2 for y) or bf16 nChw16c (a Uint16Array; a bf16 y rounds, which a max never needs: it copies values). */
Napi::Value PoolForward(const Napi::CallbackInfo& info) {
  const int64_t kind = intArg(info, 0, "kind");
  const PoolShape s = parsePool(intsArg(info, 1, kPoolParams, "shape"));
  require(kind == 0 || kind == 1, "pool: kind must be 0 (max) or 1 (avg)");
  const int64_t blocked = maskArg(info, 4, 3);
  const Act x = poolAct(bufArg(info, 2, "x"), blocked & 1, s, s.ih * s.iw, "x");
  const Act y = poolAct(bufArg(info, 3, "y"), blocked & 2, s, s.oh * s.ow, "y");
  const int64_t in = s.ih * s.iw * 16, out = s.oh * s.ow * 16;
  forSlabs(s, in + out, [&](int64_t img, int64_t cb, float* scratch) {
    float* ys = slabTarget(y, img, cb, scratch + in);
    const float* xs = readSlab(x, img, cb, s.ih * s.iw, scratch);
    if (kind == 0) forwardSlab<true>(s, xs, ys);
    else forwardSlab<false>(s, xs, ys);
    finishSlab(y, img, cb, s.oh * s.ow, ys);
  });
  return info.Env().Undefined();
}

/** poolBackward(kind, shape, dy, x (max only, else null), y (max only: the forward output), dx, blocked = 0): each
 *  operand stored as in poolForward, blocked bits 1 dy, 2 x, 4 y, 8 dx. */
Napi::Value PoolBackward(const Napi::CallbackInfo& info) {
  const int64_t kind = intArg(info, 0, "kind");
  const PoolShape s = parsePool(intsArg(info, 1, kPoolParams, "shape"));
  require(kind == 0 || kind == 1, "pool: kind must be 0 (max) or 1 (avg)");
  const int64_t blocked = maskArg(info, 6, 15);
  const int64_t ihw = s.ih * s.iw, ohw = s.oh * s.ow;
  const Act dy = poolAct(bufArg(info, 2, "dy"), blocked & 1, s, ohw, "dy");
  const Act dx = poolAct(bufArg(info, 5, "dx"), blocked & 8, s, ihw, "dx");
  const int64_t in = ihw * 16, out = ohw * 16;
  if (kind == 1) {
    forSlabs(s, in + out, [&](int64_t img, int64_t cb, float* scratch) {
      float* dxs = slabTarget(dx, img, cb, scratch + out);
      std::fill(dxs, dxs + in, 0.f);
      avgBackwardSlab(s, readSlab(dy, img, cb, ohw, scratch), dxs);
      finishSlab(dx, img, cb, ihw, dxs);
    });
    return info.Env().Undefined();
  }
  require(info.Length() > 4 && !info[3].IsNull() && !info[4].IsNull(), "pool: max pooling's gradient needs x and y");
  const Act x = poolAct(bufArg(info, 3, "x"), blocked & 2, s, ihw, "x");
  const Act y = poolAct(bufArg(info, 4, "y"), blocked & 4, s, ohw, "y");
  forSlabs(s, 2 * (in + out), [&](int64_t img, int64_t cb, float* scratch) {
    float* dxs = slabTarget(dx, img, cb, scratch + 2 * out + in);
    std::fill(dxs, dxs + in, 0.f);
    maxBackwardSlab(s, readSlab(dy, img, cb, ohw, scratch), readSlab(x, img, cb, ihw, scratch + 2 * out),
                    readSlab(y, img, cb, ohw, scratch + out), dxs);
    finishSlab(dx, img, cb, ihw, dxs);
  });
  return info.Env().Undefined();
}

}  // namespace

void initPool(Napi::Env env, Napi::Object exports) {
  exports.Set("poolForward", Napi::Function::New(env, guarded<PoolForward>, "poolForward"));
  exports.Set("poolBackward", Napi::Function::New(env, guarded<PoolBackward>, "poolBackward"));
}

}  // namespace gaplab
