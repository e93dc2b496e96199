// 2-D max and average pooling on NHWC buffers, forward and backward, with tfjs's cpu semantics: max picks the
// first maximum in window order (its gradient goes there, found from the forward output), average divides by the in-bounds count forward and by
// the full window size backward (as tfjs's cpu AvgPoolGrad does). Channels are the contiguous inner loop.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "common.h"

namespace gaplab {
namespace {

/** Pool geometry from JS (Int32Array): n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl. */
struct PoolShape {
  int64_t n, ih, iw, c, oh, ow, kh, kw, sh, sw, pt, pl;
};
constexpr size_t kPoolParams = 12;
constexpr int64_t kChanBlock = 64;  // channels per task, so batch 1 still spreads over threads

PoolShape parsePool(const std::vector<int64_t>& p) {
  PoolShape s{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11]};
  for (size_t i = 0; i < 10; i++) require(p[i] >= 1, "pool: sizes and strides must be >= 1");
  require(s.pt >= 0 && s.pl >= 0 && s.pt < s.kh && s.pl < s.kw, "pool: bad padding");
  // Every window must overlap the input (true for tfjs's same/valid padding).
  require((s.oh - 1) * s.sh - s.pt < s.ih && (s.ow - 1) * s.sw - s.pl < s.iw, "pool: output larger than input allows");
  return s;
}

/** Runs f(n, c0, c1) over tasks of (image, channel block). */
template <class F>
void forTasks(const PoolShape& s, F&& f) {
  const int64_t cblocks = (s.c + kChanBlock - 1) / kChanBlock;
  const int64_t tasks = s.n * cblocks;
  const int64_t perTask = s.oh * s.ow * s.kh * s.kw * std::min(s.c, kChanBlock);
  parallelFor(tasks, std::max<int64_t>(1, (1 << 15) / std::max<int64_t>(1, perTask)), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; t++) {
      const int64_t n = t / cblocks, c0 = (t % cblocks) * kChanBlock;
      f(n, c0, std::min(s.c, c0 + kChanBlock));
    }
  });
}

struct Window {
  int64_t r0, r1, c0, c1;
};
inline Window window(const PoolShape& s, int64_t oy, int64_t ox) {
  const int64_t ry = oy * s.sh - s.pt, rx = ox * s.sw - s.pl;
  return Window{std::max<int64_t>(0, ry), std::min(s.ih, ry + s.kh), std::max<int64_t>(0, rx), std::min(s.iw, rx + s.kw)};
}

/** Max pool forward (empty windows cannot occur: parsePool checks every window overlaps the input). */
void maxForward(const PoolShape& s, const float* x, float* y) {
  forTasks(s, [&](int64_t n, int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    const float* xn = x + n * s.ih * s.iw * s.c;
    for (int64_t oy = 0; oy < s.oh; oy++)
      for (int64_t ox = 0; ox < s.ow; ox++) {
        float* out = y + ((n * s.oh + oy) * s.ow + ox) * s.c + c0;
        std::fill(out, out + w, -std::numeric_limits<float>::infinity());
        const Window win = window(s, oy, ox);
        for (int64_t r = win.r0; r < win.r1; r++)
          for (int64_t q = win.c0; q < win.c1; q++) {
            const float* px = xn + (r * s.iw + q) * s.c + c0;
            for (int64_t k = 0; k < w; k++) out[k] = px[k] > out[k] ? px[k] : out[k];
          }
      }
  });
}

void avgForward(const PoolShape& s, const float* x, float* y) {
  forTasks(s, [&](int64_t n, int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    const float* xn = x + n * s.ih * s.iw * s.c;
    for (int64_t oy = 0; oy < s.oh; oy++)
      for (int64_t ox = 0; ox < s.ow; ox++) {
        float* out = y + ((n * s.oh + oy) * s.ow + ox) * s.c + c0;
        std::fill(out, out + w, 0.f);
        const Window win = window(s, oy, ox);
        for (int64_t r = win.r0; r < win.r1; r++)
          for (int64_t q = win.c0; q < win.c1; q++) {
            const float* px = xn + (r * s.iw + q) * s.c + c0;
            for (int64_t k = 0; k < w; k++) out[k] += px[k];
          }
        const float inv = 1.f / static_cast<float>((win.r1 - win.r0) * (win.c1 - win.c0));
        for (int64_t k = 0; k < w; k++) out[k] *= inv;
      }
  });
}

/** Max pool backward given the forward output y: each window's gradient goes to the first pixel (in window order)
 *  equal to its maximum, which is the pixel the forward pass picked. Branch-free so the channel loop vectorizes. */
void maxBackward(const PoolShape& s, const float* dy, const float* x, const float* y, float* dx) {
  forTasks(s, [&](int64_t n, int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    const float* xn = x + n * s.ih * s.iw * s.c;
    float* dxn = dx + n * s.ih * s.iw * s.c;
    for (int64_t p = 0; p < s.ih * s.iw; p++) std::fill(dxn + p * s.c + c0, dxn + p * s.c + c1, 0.f);
    float rem[kChanBlock];  // gradient not yet deposited, per channel
    for (int64_t oy = 0; oy < s.oh; oy++)
      for (int64_t ox = 0; ox < s.ow; ox++) {
        const int64_t o = ((n * s.oh + oy) * s.ow + ox) * s.c + c0;
        const float* ym = y + o;
        std::copy(dy + o, dy + o + w, rem);
        const Window win = window(s, oy, ox);
        for (int64_t r = win.r0; r < win.r1; r++)
          for (int64_t q = win.c0; q < win.c1; q++) {
            const float* __restrict px = xn + (r * s.iw + q) * s.c + c0;
            float* __restrict d = dxn + (r * s.iw + q) * s.c + c0;
            const float* __restrict ymr = ym;
            float* __restrict rr = rem;
            // Bit masks rather than a branch or a select: this loop vectorizes (and inf/NaN gradients stay exact).
            for (int64_t k = 0; k < w; k++) {
              const uint32_t hit = 0u - static_cast<uint32_t>(px[k] == ymr[k]);
              uint32_t g;
              std::memcpy(&g, &rr[k], 4);
              const uint32_t take = g & hit, keep = g & ~hit;
              float t, kf;
              std::memcpy(&t, &take, 4);
              std::memcpy(&kf, &keep, 4);
              d[k] += t;
              rr[k] = kf;
            }
          }
      }
  });
}

/** Average pool backward with tfjs's cpu divisor (kh * kw for every window). */
void avgBackward(const PoolShape& s, const float* dy, float* dx) {
  const float inv = 1.f / static_cast<float>(s.kh * s.kw);
  forTasks(s, [&](int64_t n, int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    float* dxn = dx + n * s.ih * s.iw * s.c;
    for (int64_t p = 0; p < s.ih * s.iw; p++) std::fill(dxn + p * s.c + c0, dxn + p * s.c + c1, 0.f);
    for (int64_t oy = 0; oy < s.oh; oy++)
      for (int64_t ox = 0; ox < s.ow; ox++) {
        const float* g = dy + ((n * s.oh + oy) * s.ow + ox) * s.c + c0;
        const Window win = window(s, oy, ox);
        for (int64_t r = win.r0; r < win.r1; r++)
          for (int64_t q = win.c0; q < win.c1; q++) {
            float* d = dxn + (r * s.iw + q) * s.c + c0;
            for (int64_t k = 0; k < w; k++) d[k] += g[k] * inv;
          }
      }
  });
}

/** pool(kind, shape, x, y): kind 0 = max, 1 = avg. */
Napi::Value PoolForward(const Napi::CallbackInfo& info) {
  const int64_t kind = intArg(info, 0, "kind");
  const PoolShape s = parsePool(intsArg(info, 1, kPoolParams, "shape"));
  const F32 x = f32Arg(info, 2, "x"), y = f32Arg(info, 3, "y");
  requireLen(x, s.n * s.ih * s.iw * s.c, "x");
  requireLen(y, s.n * s.oh * s.ow * s.c, "y");
  require(kind == 0 || kind == 1, "pool: kind must be 0 (max) or 1 (avg)");
  if (kind == 0) maxForward(s, x.data, y.data);
  else avgForward(s, x.data, y.data);
  return info.Env().Undefined();
}

/** poolBackward(kind, shape, dy, x (max only, else null), y (max only: the forward output), dx). */
Napi::Value PoolBackward(const Napi::CallbackInfo& info) {
  const int64_t kind = intArg(info, 0, "kind");
  const PoolShape s = parsePool(intsArg(info, 1, kPoolParams, "shape"));
  const F32 dy = f32Arg(info, 2, "dy"), x = f32OptArg(info, 3, "x"), y = f32OptArg(info, 4, "y");
  const F32 dx = f32Arg(info, 5, "dx");
  require(kind == 0 || kind == 1, "pool: kind must be 0 (max) or 1 (avg)");
  requireLen(dy, s.n * s.oh * s.ow * s.c, "dy");
  requireLen(dx, s.n * s.ih * s.iw * s.c, "dx");
  if (kind == 0) {
    requireLen(x, s.n * s.ih * s.iw * s.c, "x");
    requireLen(y, s.n * s.oh * s.ow * s.c, "y");
    maxBackward(s, dy.data, x.data, y.data, dx.data);
  } else {
    avgBackward(s, dy.data, dx.data);
  }
  return info.Env().Undefined();
}

}  // namespace

void initPool(Napi::Env env, Napi::Object exports) {
  exports.Set("poolForward", Napi::Function::New(env, guarded<PoolForward>, "poolForward"));
  exports.Set("poolBackward", Napi::Function::New(env, guarded<PoolBackward>, "poolBackward"));
}

}  // namespace gaplab
