// Dropout's mask as tfjs draws it (seedrandom's Alea, the generator behind tf.randomUniform), applied in one pass:
// the same bits as tf.dropout, without generating 2.4M numbers per NIN step in JavaScript.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common.h"
#include "layout.h"

namespace gaplab {
namespace {

/** seedrandom 3.0.5's Alea, from the state seedrandom's alea(seed) starts from, one float32 value per next(): each step
 *  is Alea.next's JavaScript arithmetic in double (the build disables contraction into FMA, so every product and sum
 *  rounds as in JavaScript), and randomUniform keeps the value as float32. */
struct Alea {
  double s0, s1, s2, c, guess;
  explicit Alea(const double* st) : s0(st[0]), s1(st[1]), s2(st[2]), c(st[3]), guess(st[3]) {}

  // Each step needs the previous step's integer part c, which made the loop one long dependency chain (~19 cycles a
  // value). But c * 2^-32 < 0.0005, so the previous t's integer part is almost always that of its product term
  // 2091639 * s0 alone, which is known a step earlier: the step computes t with that guess and redoes it with the true
  // c in the rare case the two differ. Same operations on the same values either way, so the same bits.
  inline float next() {
    constexpr double kA = 2091639.0, kE = 2.3283064365386963e-10;  // 2^-32
    const double ax = kA * s0;
    double t = ax + guess * kE;
    if (__builtin_expect(guess != c, 0)) t = ax + c * kE;
    guess = static_cast<double>(static_cast<int32_t>(ax));
    s0 = s1;
    s1 = s2;
    c = static_cast<double>(static_cast<int32_t>(t));  // t | 0: t is in [0, 2^31)
    s2 = t - c;
    return static_cast<float>(s2);
  }
};

/** floor(u + keep) / keep: tf.dropout computes add, floor and div in float32 kernels, each rounding once, as this
 *  does. The floor is a truncation (u + keep is in [0, 2], never negative): no call to floorf (x86-64's baseline has
 *  no rounding instruction) and no branch on random data. */
inline float multiplier(float u, float keep) {
  return static_cast<float>(static_cast<int32_t>(u + keep)) / keep;
}

/** One chunk's draws, values [lo, hi) in NHWC order (lo a multiple of 16): each value's multiplier and y = x *
 *  multiplier written at its place, NHWC (c = 0) or nChw16c (c channels, hw pixels), in one pass. */
template <class In, class Out>
void drawChunk(Alea alea, const In* x, Out* y, float* m, float keep, int64_t lo, int64_t hi, int64_t c, int64_t hw) {
  auto put = [&](int64_t pos) {
    const float k = m[pos] = multiplier(alea.next(), keep);
    float v;
    if constexpr (sizeof(In) == 2) v = fromBf16(x[pos]) * k;
    else v = x[pos] * k;
    if constexpr (sizeof(Out) == 2) y[pos] = toBf16Select(v);
    else y[pos] = v;
  };
  if (c == 0) {
    for (int64_t i = lo; i < hi; i++) put(i);
    return;
  }
  // NHWC order (pixel by pixel, channel by channel), each 16-value run to its nChw16c place.
  const int64_t slabs = c / 16;
  for (int64_t run = lo / 16; run < hi / 16; run++) {
    const int64_t cb = run % slabs, pixel = run / slabs, img = pixel / hw, p = pixel % hw;
    const int64_t base = blockedOffset(img, cb, p, c, hw);
    for (int l = 0; l < 16; l++) put(base + l);
  }
}

/** dropoutAlea(x, y, multiplier, starts: Float64Array [s0, s1, s2, c] x k, keep, channels?, hw?): multiplier[i] =
 *  floor(u_i + keep) / keep and y[i] = x[i] * multiplier[i] in float32, u_i the i-th value (NHWC order) of Alea: bit
 *  for bit tf.dropout. The draws are split into k chunks of 16 * ceil(n / 16k) values, chunk j drawn from starts[j]
 *  (the state j chunks of draws on, src/backend/native/alea-jump.ts), the chunks on all threads. With channels and hw
 *  all three are resident nChw16c (x and y bf16 in Uint16Arrays or fp32, y rounded to nearest even when bf16; the
 *  multiplier fp32), the values drawn in NHWC order still. */
Napi::Value DropoutAlea(const Napi::CallbackInfo& info) {
  static const char* const kStartsMsg = "starts must be a Float64Array of 4 values [s0, s1, s2, c] per chunk";
  const Buf x = bufArg(info, 0, "x"), y = bufArg(info, 1, "y");
  const F32 mult = f32Arg(info, 2, "multiplier");
  require(info.Length() > 3 && info[3].IsTypedArray() && info[3].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array,
          kStartsMsg);
  const Napi::Float64Array startsArg = info[3].As<Napi::Float64Array>();
  const int64_t chunks = static_cast<int64_t>(startsArg.ElementLength() / 4);
  require(chunks >= 1 && startsArg.ElementLength() % 4 == 0, kStartsMsg);
  const double keepD = numArg(info, 4, "keep");
  require(keepD > 0 && keepD <= 1, "keep must be in (0, 1]");
  const bool blocked = info.Length() > 5 && !info[5].IsUndefined();
  const int64_t n = static_cast<int64_t>(mult.len);
  require(static_cast<int64_t>(x.len) == n && static_cast<int64_t>(y.len) == n, "x, y and multiplier must have one length");
  require(blocked || (!x.bf16 && !y.bf16), "bf16 x or y needs channels and hw (resident nChw16c)");
  int64_t c = 0, hw = 0;
  if (blocked) {
    c = intArg(info, 5, "channels"), hw = intArg(info, 6, "hw");
    require(c >= 16 && c % 16 == 0 && hw >= 1 && n % (c * hw) == 0, "dropout: channels must be a multiple of 16 and the length whole images of hw pixels");
  }
  const double* starts = startsArg.Data();
  const int64_t size = (n + 16 * chunks - 1) / (16 * chunks) * 16;
  const float keep = static_cast<float>(keepD);
  float* m = mult.data;
  auto draw = [&](auto* in, auto* out) {
    parallelFor(chunks, 1, [&](int64_t first, int64_t last) {
      for (int64_t j = first; j < last; j++)
        drawChunk(Alea(starts + 4 * j), in, out, m, keep, std::min(n, j * size), std::min(n, (j + 1) * size), c, hw);
    });
  };
  const auto* xf = static_cast<const float*>(x.data);
  const auto* xb = static_cast<const uint16_t*>(x.data);
  auto* yf = static_cast<float*>(y.data);
  auto* yb = static_cast<uint16_t*>(y.data);
  if (x.bf16) y.bf16 ? draw(xb, yb) : draw(xb, yf);
  else y.bf16 ? draw(xf, yb) : draw(xf, yf);
  return info.Env().Undefined();
}

/** dropoutGrad(dy, multiplier, dz, channels, hw, blocked): dz = dy * multiplier (tf.dropout's gradient, float32), each
 *  operand fp32 NHWC, fp32 nChw16c (blocked bits 1 dy, 2 multiplier, 4 dz) or bf16 nChw16c (a Uint16Array dy). */
Napi::Value DropoutGrad(const Napi::CallbackInfo& info) {
  const int64_t c = intArg(info, 3, "channels"), hw = intArg(info, 4, "hw"), blocked = intArg(info, 5, "blocked");
  require(blocked >= 0 && blocked <= 7, "dropoutGrad: blocked must be a mask of 1 (dy), 2 (multiplier) and 4 (dz)");
  require(c >= 1 && hw >= 1, "dropoutGrad: channels and hw must be at least 1");
  const Buf dyBuf = bufArg(info, 0, "dy"), mBuf = bufArg(info, 1, "multiplier"), dzBuf = bufArg(info, 2, "dz");
  require(!mBuf.bf16 && !dzBuf.bf16, "dropoutGrad: the multiplier and dz are fp32");
  const int64_t n = static_cast<int64_t>(dzBuf.len);
  require(n % (c * hw) == 0 && static_cast<int64_t>(dyBuf.len) == n && static_cast<int64_t>(mBuf.len) == n,
          "dropoutGrad: dy, multiplier and dz must have one length, whole images of hw pixels");
  const Act dy = actOf(dyBuf, blocked & 1, c, hw, "dy"), m = actOf(mBuf, blocked & 2, c, hw, "multiplier");
  const Act dz = actOf(dzBuf, blocked & 4, c, hw, "dz");
  if (dy.store == m.store && m.store == dz.store) {
    // One layout throughout (fp32 in fp32 mode: the common case): elementwise in storage order.
    const float *g = static_cast<const float*>(dy.data), *k = static_cast<const float*>(m.data);
    float* out = static_cast<float*>(dz.data);
    parallelFor(n, 1 << 16, [=](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; i++) out[i] = g[i] * k[i];
    });
    return info.Env().Undefined();
  }
  const int64_t slabs = dz.slabs(), len = hw * 16;
  // One task per (image, 16-channel slab), each operand read where it lies if fp32 nChw16c, else through scratch.
  parallelFor(n / (c * hw) * slabs, std::max<int64_t>(1, (1 << 14) / len), [&](int64_t lo, int64_t hi) {
    std::vector<float> scratch(static_cast<size_t>(3 * len), 0.f);
    for (int64_t t = lo; t < hi; t++) {
      const int64_t img = t / slabs, cb = t % slabs;
      const float *g = readSlab(dy, img, cb, hw, scratch.data()), *k = readSlab(m, img, cb, hw, scratch.data() + len);
      float* out = slabTarget(dz, img, cb, scratch.data() + 2 * len);
      for (int64_t i = 0; i < len; i++) out[i] = g[i] * k[i];
      finishSlab(dz, img, cb, hw, out);
    }
  });
  return info.Env().Undefined();
}

}  // namespace

void initDropout(Napi::Env env, Napi::Object exports) {
  exports.Set("dropoutAlea", Napi::Function::New(env, guarded<DropoutAlea>, "dropoutAlea"));
  exports.Set("dropoutGrad", Napi::Function::New(env, guarded<DropoutGrad>, "dropoutGrad"));
}

}  // namespace gaplab
