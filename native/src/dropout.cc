// Dropout's mask as tfjs draws it (seedrandom's Alea, the generator behind tf.randomUniform), applied in one pass:
// the same bits as tf.dropout, without generating 2.4M numbers per NIN step in JavaScript.
#include <cmath>
#include <cstdint>

#include "common.h"

namespace gaplab {
namespace {

/** dropoutAlea(x, y, multiplier, state: Float64Array [s0, s1, s2, c], keep): multiplier[i] = floor(u_i + keep) / keep
 *  and y[i] = x[i] * multiplier[i] in float32, u_i = float32 of the i-th Alea value from `state` (the state seedrandom's
 *  alea(seed) starts from). Each step is the JavaScript arithmetic of seedrandom 3.0.5's Alea.next, in double (the
 *  build disables contraction into FMA, so every product and sum rounds as in JavaScript); tf.dropout computes
 *  add, floor, div and mul in float32 kernels, each rounding once, as the float expressions here do. The generator
 *  is sequential; the multiply runs over all threads. */
Napi::Value DropoutAlea(const Napi::CallbackInfo& info) {
  const F32 x = f32Arg(info, 0, "x"), y = f32Arg(info, 1, "y"), mult = f32Arg(info, 2, "multiplier");
  require(info.Length() > 3 && info[3].IsTypedArray() &&
              info[3].As<Napi::TypedArray>().TypedArrayType() == napi_float64_array &&
              info[3].As<Napi::Float64Array>().ElementLength() == 4,
          "state must be a Float64Array of 4 values [s0, s1, s2, c]");
  const double* st = info[3].As<Napi::Float64Array>().Data();
  const double keepD = numArg(info, 4, "keep");
  require(keepD > 0 && keepD <= 1, "keep must be in (0, 1]");
  const int64_t n = static_cast<int64_t>(x.len);
  requireLen(y, n, "y");
  requireLen(mult, n, "multiplier");
  double s0 = st[0], s1 = st[1], s2 = st[2], c = st[3];
  const float keep = static_cast<float>(keepD);
  float* m = mult.data;
  // Each step needs the previous step's integer part c, which made the loop one long dependency chain (~19 cycles a
  // value). But c * 2^-32 < 0.0005, so the previous t's integer part is almost always that of its product term
  // 2091639 * s0 alone, which is known a step earlier: the loop computes t with that guess and redoes it with the true
  // c in the rare case the two differ. Same operations on the same values either way, so the same bits.
  constexpr double kA = 2091639.0, kE = 2.3283064365386963e-10;  // 2^-32
  double guess = c;  // the first step's c is known
  for (int64_t i = 0; i < n; i++) {
    const double ax = kA * s0;
    double t = ax + guess * kE;
    if (__builtin_expect(guess != c, 0)) t = ax + c * kE;
    guess = static_cast<double>(static_cast<int32_t>(ax));
    s0 = s1;
    s1 = s2;
    c = static_cast<double>(static_cast<int32_t>(t));  // t | 0: t is in [0, 2^31)
    s2 = t - c;
    const float u = static_cast<float>(s2);  // randomUniform's float32 values
    // floor(u + keep) as a truncation (u + keep is in [0, 2], never negative): no call to floorf (x86-64's baseline
    // has no rounding instruction) and no branch on random data.
    m[i] = static_cast<float>(static_cast<int32_t>(u + keep)) / keep;
  }
  const float* in = x.data;
  float* out = y.data;
  parallelFor(n, 1 << 16, [=](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; i++) out[i] = in[i] * m[i];
  });
  return info.Env().Undefined();
}

}  // namespace

void initDropout(Napi::Env env, Napi::Object exports) {
  exports.Set("dropoutAlea", Napi::Function::New(env, guarded<DropoutAlea>, "dropoutAlea"));
}

}  // namespace gaplab
