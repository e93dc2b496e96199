// Memory-bound kernels as OpenMP loops: unary maps, broadcasting binary maps, and reductions over a contiguous
// range of axes. Shapes arrive pre-flattened by JS: binary ops see the output as [d0, d1, d2] with per-operand
// strides; reductions see the input as [outer, reduced, inner].
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "bf16.h"
#include "layout.h"
#include "common.h"

namespace gaplab {
namespace {

// Items per thread below which a loop runs on one thread: waking a passive OpenMP thread costs tens of
// microseconds, and milliseconds when other processes hold the cores; 128K floats take ~50 us on one core.
constexpr int64_t kGrain = 1 << 17;

enum Unary {
  kRelu = 0,
  kRelu6 = 1,
  kStep = 2,
  kFloor = 3,
  kNeg = 4,
  kSquare = 5,
  kSqrt = 6,
  kRsqrt = 7,
  kExp = 8,
  kLog = 9,
  kSigmoid = 10,
  kTanh = 11,
  kAbs = 12,
  kElu = 13,
  kLeaky = 14,
  kUnaryCount = 15
};

template <int Op>
inline float unaryOp(float x, float alpha) {
  if constexpr (Op == kRelu) return x < 0.f ? 0.f : x;  // NaN passes through, as in tfjs
  if constexpr (Op == kRelu6) return x < 0.f ? 0.f : (x > 6.f ? 6.f : x);
  if constexpr (Op == kStep) return std::isnan(x) ? x : (x > 0.f ? 1.f : alpha);
  if constexpr (Op == kFloor) return std::floor(x);
  if constexpr (Op == kNeg) return -x;
  if constexpr (Op == kSquare) return x * x;
  if constexpr (Op == kSqrt) return std::sqrt(x);
  if constexpr (Op == kRsqrt) return 1.f / std::sqrt(x);
  if constexpr (Op == kExp) return std::exp(x);
  if constexpr (Op == kLog) return std::log(x);
  if constexpr (Op == kSigmoid) return 1.f / (1.f + std::exp(-x));
  if constexpr (Op == kTanh) return std::tanh(x);
  if constexpr (Op == kAbs) return std::fabs(x);
  if constexpr (Op == kElu) return x >= 0.f ? x : std::exp(x) - 1.f;
  if constexpr (Op == kLeaky) return x < 0.f ? alpha * x : x;
  return x;
}

template <int Op>
void unaryLoop(const float* x, float* y, int64_t n, float alpha) {
  parallelFor(n, kGrain, [=](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) y[i] = unaryOp<Op>(x[i], alpha);
  });
}

template <int... Ops>
void unaryDispatch(int op, const float* x, float* y, int64_t n, float alpha, std::integer_sequence<int, Ops...>) {
  ((op == Ops ? (unaryLoop<Ops>(x, y, n, alpha), true) : false) || ...);
}

/** unary(op, x, y, alpha): y[i] = op(x[i]); y may be x. */
Napi::Value UnaryFn(const Napi::CallbackInfo& info) {
  const int64_t op = intArg(info, 0, "op");
  const F32 x = f32Arg(info, 1, "x"), y = f32Arg(info, 2, "y");
  const float alpha = static_cast<float>(numArg(info, 3, "alpha"));
  require(op >= 0 && op < kUnaryCount, "unary: unknown op");
  requireLen(y, static_cast<int64_t>(x.len), "y");
  unaryDispatch(static_cast<int>(op), x.data, y.data, static_cast<int64_t>(x.len), alpha,
                std::make_integer_sequence<int, kUnaryCount>{});
  return info.Env().Undefined();
}

enum Binary {
  kAdd = 0,
  kSub = 1,
  kMul = 2,
  kDiv = 3,
  kMax = 4,
  kMin = 5,
  kSqDiff = 6,
  kReluGrad = 7,  // a = dy, b = x: dy where x > 0, else 0
  kSquareGrad = 8,  // a = dy, b = x: dy * (2 * x), tfjs's Square gradient
  kBinaryCount = 9
};

template <int Op>
inline float binaryOp(float a, float b) {
  if constexpr (Op == kAdd) return a + b;
  if constexpr (Op == kSub) return a - b;
  if constexpr (Op == kMul) return a * b;
  if constexpr (Op == kDiv) return a / b;
  if constexpr (Op == kMax) return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : std::max(a, b);
  if constexpr (Op == kMin) return (std::isnan(a) || std::isnan(b)) ? std::numeric_limits<float>::quiet_NaN() : std::min(a, b);
  if constexpr (Op == kSqDiff) return (a - b) * (a - b);
  if constexpr (Op == kReluGrad) return b > 0.f ? a : 0.f;
  if constexpr (Op == kSquareGrad) return a * (b * 2.f);
  return a;
}

/** y[i0, i1, i2] = op(a[i0*as0 + i1*as1 + i2*AI], b[i0*bs0 + i1*bs1 + i2*BI]) over an output of [d0, d1, d2]:
 *  JS collapses any NHWC broadcast (bias [C], per-image [N,1,1,C], scalar, ...) to at most three such dims. */
template <int Op, int AI, int BI>
void binaryLoop(const float* a, int64_t as0, int64_t as1, const float* b, int64_t bs0, int64_t bs1, float* y,
                int64_t d0, int64_t d1, int64_t d2) {
  parallelFor(d0 * d1 * d2, kGrain, [=](int64_t lo, int64_t hi) {
    int64_t idx = lo;
    while (idx < hi) {
      const int64_t row = idx / d2, i0 = idx % d2;
      const int64_t i1 = std::min(d2, i0 + (hi - idx));
      const int64_t r0 = row / d1, r1 = row % d1;
      const float* ar = a + r0 * as0 + r1 * as1;
      const float* br = b + r0 * bs0 + r1 * bs1;
      float* yr = y + row * d2;
      for (int64_t i = i0; i < i1; i++) yr[i] = binaryOp<Op>(ar[AI * i], br[BI * i]);
      idx += i1 - i0;
    }
  });
}

template <int Op>
void binaryStrided(const float* a, const int64_t* as, const float* b, const int64_t* bs, float* y, int64_t d0,
                   int64_t d1, int64_t d2) {
  if (as[2] && bs[2]) binaryLoop<Op, 1, 1>(a, as[0], as[1], b, bs[0], bs[1], y, d0, d1, d2);
  else if (as[2]) binaryLoop<Op, 1, 0>(a, as[0], as[1], b, bs[0], bs[1], y, d0, d1, d2);
  else if (bs[2]) binaryLoop<Op, 0, 1>(a, as[0], as[1], b, bs[0], bs[1], y, d0, d1, d2);
  else binaryLoop<Op, 0, 0>(a, as[0], as[1], b, bs[0], bs[1], y, d0, d1, d2);
}

template <int... Ops>
void binaryDispatch(int op, const float* a, const int64_t* as, const float* b, const int64_t* bs, float* y, int64_t d0,
                    int64_t d1, int64_t d2, std::integer_sequence<int, Ops...>) {
  ((op == Ops ? (binaryStrided<Ops>(a, as, b, bs, y, d0, d1, d2), true) : false) || ...);
}

/** Checks an operand's strides against the output dims: the last stride is 0 or 1, others >= 0, and every index
 *  stays inside the array. */
void checkStrides(const F32& v, const std::vector<int64_t>& st, int64_t d0, int64_t d1, int64_t d2, const char* name) {
  require(st[0] >= 0 && st[1] >= 0 && (st[2] == 0 || st[2] == 1), std::string("binary: bad strides for ") + name);
  const int64_t last = (d0 - 1) * st[0] + (d1 - 1) * st[1] + (d2 - 1) * st[2];
  require(v.data != nullptr && last < static_cast<int64_t>(v.len), std::string("binary: ") + name + " is too short");
}

/** binary(op, a, aStrides Int32Array[3], b, bStrides Int32Array[3], y, dims Int32Array[3]); y may alias a full operand. */
Napi::Value BinaryFn(const Napi::CallbackInfo& info) {
  const int64_t op = intArg(info, 0, "op");
  const F32 a = f32Arg(info, 1, "a");
  const std::vector<int64_t> as = intsArg(info, 2, 3, "aStrides");
  const F32 b = f32Arg(info, 3, "b");
  const std::vector<int64_t> bs = intsArg(info, 4, 3, "bStrides");
  const F32 y = f32Arg(info, 5, "y");
  const std::vector<int64_t> d = intsArg(info, 6, 3, "dims");
  require(op >= 0 && op < kBinaryCount, "binary: unknown op");
  require(d[0] >= 1 && d[1] >= 1 && d[2] >= 1, "binary: dims must be >= 1");
  checkStrides(a, as, d[0], d[1], d[2], "a");
  checkStrides(b, bs, d[0], d[1], d[2], "b");
  requireLen(y, d[0] * d[1] * d[2], "y");
  binaryDispatch(static_cast<int>(op), a.data, as.data(), b.data, bs.data(), y.data, d[0], d[1], d[2],
                 std::make_integer_sequence<int, kBinaryCount>{});
  return info.Env().Undefined();
}

enum Reduce { kSum = 0, kMean = 1, kRMax = 2, kRMin = 3, kReduceCount = 4 };

/** Accumulates rows r in [r0, r1) of one outer slice into acc[0..width) (doubles, like tfjs's JS numbers). */
template <int Op>
void accumulate(const float* x, int64_t inner, int64_t r0, int64_t r1, int64_t i0, int64_t width, double* acc) {
  for (int64_t r = r0; r < r1; r++) {
    const float* row = x + r * inner + i0;
    for (int64_t i = 0; i < width; i++) {
      const double v = row[i];
      if constexpr (Op == kSum || Op == kMean) acc[i] += v;
      if constexpr (Op == kRMax) acc[i] = (v > acc[i] || std::isnan(v)) ? v : acc[i];
      if constexpr (Op == kRMin) acc[i] = (v < acc[i] || std::isnan(v)) ? v : acc[i];
    }
  }
}

template <int Op>
double initial() {
  if constexpr (Op == kRMax) return -std::numeric_limits<double>::infinity();
  if constexpr (Op == kRMin) return std::numeric_limits<double>::infinity();
  return 0.0;
}

template <int Op>
inline double combine(double a, double b) {
  if constexpr (Op == kRMax) return (b > a || std::isnan(b)) ? b : a;
  if constexpr (Op == kRMin) return (b < a || std::isnan(b)) ? b : a;
  return a + b;
}

/** Runs f(acc, lo, hi) over rows [0, rows) split into at most maxThreads() contiguous chunks (of >= minChunk rows),
 *  each chunk adding into its own `width` doubles (starting at init), and returns the chunks' results combined in
 *  chunk order: the same sums whichever thread runs which chunk. */
template <class Combine, class F>
std::vector<double> splitRows(int64_t rows, int64_t minChunk, int64_t width, double init, Combine&& comb, F&& f) {
  const int64_t nt = maxThreads();
  std::vector<double> partial(static_cast<size_t>(nt * width), init);
  std::vector<int64_t> used(static_cast<size_t>(nt), 0);
  parallelFor(rows, minChunk, [&](int64_t lo, int64_t hi) {
#ifdef _OPENMP
    const int64_t t = omp_get_thread_num();
#else
    const int64_t t = 0;
#endif
    used[t] = 1;
    f(partial.data() + t * width, lo, hi);
  });
  std::vector<double> out(static_cast<size_t>(width), init);
  for (int64_t j = 0; j < width; j++)
    for (int64_t t = 0; t < nt; t++)
      if (used[t]) out[j] = comb(out[j], partial[t * width + j]);
  return out;
}

template <int Op>
void reduceLoop(const float* x, float* y, int64_t outer, int64_t red, int64_t inner) {
  const double scale = Op == kMean ? 1.0 / static_cast<double>(red) : 1.0;
  constexpr int64_t kBlock = 512;  // inner columns per task
  const int64_t blocks = (inner + kBlock - 1) / kBlock;
  const int64_t tasks = outer * blocks;
  const int64_t work = outer * red * inner;
  const int64_t nt = maxThreads();
  if (tasks >= nt || work < kGrain * 2 || red < nt) {
    // Enough independent (outer, column block) tasks: each sums all its rows.
    parallelFor(tasks, std::max<int64_t>(1, kGrain / std::max<int64_t>(1, red * std::min(inner, kBlock))),
                [=](int64_t lo, int64_t hi) {
                  std::vector<double> acc(static_cast<size_t>(std::min(inner, kBlock)));
                  for (int64_t t = lo; t < hi; t++) {
                    const int64_t o = t / blocks, i0 = (t % blocks) * kBlock;
                    const int64_t width = std::min(kBlock, inner - i0);
                    std::fill(acc.begin(), acc.begin() + width, initial<Op>());
                    accumulate<Op>(x + o * red * inner, inner, 0, red, i0, width, acc.data());
                    for (int64_t i = 0; i < width; i++) y[o * inner + i0 + i] = static_cast<float>(acc[i] * scale);
                  }
                });
    return;
  }
  // Few outputs, many rows (e.g. a bias gradient: sum over N*H*W rows of C values): split the rows across
  // threads, each with its own partial result, then combine.
  const int64_t outN = outer * inner;
  const std::vector<double> sums = splitRows(red, 1024, outN, initial<Op>(), combine<Op>, [&, x](double* acc, int64_t lo, int64_t hi) {
    for (int64_t o = 0; o < outer; o++) accumulate<Op>(x + o * red * inner, inner, lo, hi, 0, inner, acc + o * inner);
  });
  for (int64_t j = 0; j < outN; j++) y[j] = static_cast<float>(sums[j] * scale);
}

/** reduce(op, x, y, outer, reduced, inner): y[o, i] = op over r of x[o, r, i]. */
Napi::Value ReduceFn(const Napi::CallbackInfo& info) {
  const int64_t op = intArg(info, 0, "op");
  const F32 x = f32Arg(info, 1, "x"), y = f32Arg(info, 2, "y");
  const int64_t outer = intArg(info, 3, "outer"), red = intArg(info, 4, "reduced"), inner = intArg(info, 5, "inner");
  require(op >= 0 && op < kReduceCount, "reduce: unknown op");
  require(outer >= 1 && red >= 1 && inner >= 1, "reduce: bad shape");
  requireLen(x, outer * red * inner, "x");
  requireLen(y, outer * inner, "y");
  switch (op) {
    case kSum: reduceLoop<kSum>(x.data, y.data, outer, red, inner); break;
    case kMean: reduceLoop<kMean>(x.data, y.data, outer, red, inner); break;
    case kRMax: reduceLoop<kRMax>(x.data, y.data, outer, red, inner); break;
    default: reduceLoop<kRMin>(x.data, y.data, outer, red, inner); break;
  }
  return info.Env().Undefined();
}

/** Rows [r0, r1) of the ReLU-from-output gradient, dz = dy where y > 0, added to acc[c] (when acc is not null).
 *  dz is dy itself when InPlace (then read through dz only, so the restrict pointers never alias). */
template <bool InPlace>
void reluBiasRows(const float* __restrict dy, const float* __restrict y, float* __restrict dz, double* __restrict acc,
                  int64_t c, int64_t r0, int64_t r1) {
  for (int64_t r = r0; r < r1; r++) {
    const int64_t o = r * c;
    const float* __restrict g = dy + o;  // not read when InPlace
    const float* __restrict yr = y + o;
    float* __restrict d = dz + o;
    // g[k] is loaded whatever the comparison gives, so the select vectorizes (no branch per element); the row is
    // then added to acc from dz (in L1) in a loop of its own, which vectorizes too (one mixed loop did not).
    for (int64_t k = 0; k < c; k++) {
      float gk;
      if constexpr (InPlace) gk = d[k];
      else gk = g[k];
      d[k] = yr[k] > 0.f ? gk : 0.f;
    }
    if (acc != nullptr)
      for (int64_t k = 0; k < c; k++) acc[k] += static_cast<double>(d[k]);
  }
}

/** reluBiasGrad(dy, y, dz, db | null, channels): the backward pass of y = relu(z + bias) from its output,
 *  dz = dy where y > 0 (y > 0 exactly where z + bias > 0; NaN gives 0 as in tfjs's ReLU gradient), and the bias
 *  gradient db[c] = sum of dz over the rows ([rows, channels] NHWC), in one pass. The rows are summed in double, split
 *  into maxThreads() contiguous parts combined in order: the same sums as reduce(kSum) over those rows. dz may be dy
 *  (the backward pass donated dy's buffer). */
Napi::Value ReluBiasGradFn(const Napi::CallbackInfo& info) {
  const F32 dy = f32Arg(info, 0, "dy"), y = f32Arg(info, 1, "y"), dz = f32Arg(info, 2, "dz");
  const F32 db = f32OptArg(info, 3, "db");
  const int64_t c = intArg(info, 4, "channels");
  const int64_t n = static_cast<int64_t>(dy.len);
  require(c >= 1 && n % c == 0, "reluBiasGrad: length must be a multiple of channels");
  requireLen(y, n, "y");
  requireLen(dz, n, "dz");
  if (db.data) requireLen(db, c, "db");
  const bool inPlace = dz.data == dy.data;
  require(inPlace || (dz.data + n <= dy.data || dy.data + n <= dz.data), "reluBiasGrad: dz must be dy or not overlap it");
  require(y.data + n <= dz.data || dz.data + n <= y.data, "reluBiasGrad: dz must not overlap y");
  const float* g = dy.data;
  const float* out = y.data;
  float* d = dz.data;
  const int64_t rows = n / c;
  auto rowsOf = [=](double* acc, int64_t lo, int64_t hi) {
    if (inPlace) reluBiasRows<true>(g, out, d, acc, c, lo, hi);
    else reluBiasRows<false>(g, out, d, acc, c, lo, hi);
  };
  if (!db.data) {
    parallelFor(rows, std::max<int64_t>(1, kGrain / c), [=](int64_t lo, int64_t hi) { rowsOf(nullptr, lo, hi); });
    return info.Env().Undefined();
  }
  // Small tensors on one thread, as reduce() sums them.
  const std::vector<double> sums = splitRows(rows, n < 2 * kGrain ? rows : 1024, c, 0.0, combine<kSum>,
                                             [&](double* acc, int64_t lo, int64_t hi) { rowsOf(acc, lo, hi); });
  for (int64_t k = 0; k < c; k++) db.data[k] = static_cast<float>(sums[k]);
  return info.Env().Undefined();
}

// The loops twice: baseline x86-64, and AVX-512 (F, BW, VL, DQ) where the CPU has it. -ffp-contract=off holds in
// both, and no loop reorders a sum, so both give the same bits (a test runs each).
namespace isa_base {
#include "relu_bias_loops.inc"
}  // namespace isa_base
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GAPLAB_AVX512_LOOPS 1
#pragma GCC push_options
#pragma GCC target("avx2,avx512f,avx512bw,avx512vl,avx512dq")
namespace isa_avx512 {
#include "relu_bias_loops.inc"
}  // namespace isa_avx512
#pragma GCC pop_options
#endif

/** True when the AVX-512 loops are built and this CPU has the ISA. */
bool avx512Available() {
#ifdef GAPLAB_AVX512_LOOPS
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq");
#else
  return false;
#endif
}

/** True when the AVX-512 loops run: available, and setLoopIsa('base') did not turn them off. */
bool gUseAvx512 = avx512Available();

template <bool OutBf16>
void reluBiasDispatch(int dyKind, int yKind, const void* dy, const void* y, void* dz, double* acc, int64_t c, int64_t hw,
                      int64_t lo, int64_t hi) {
#ifdef GAPLAB_AVX512_LOOPS
  if (gUseAvx512) return isa_avx512::reluBiasDispatch<OutBf16>(dyKind, yKind, dy, y, dz, acc, c, hw, lo, hi);
#endif
  isa_base::reluBiasDispatch<OutBf16>(dyKind, yKind, dy, y, dz, acc, c, hw, lo, hi);
}

/** reluBiasGradResident(dy, y, dz, db: Float32Array, channels, hw, blocked = 0): reluBiasGrad with dz written resident
 *  (nChw16c: a Uint16Array dz in bf16, rounded to nearest even; a Float32Array dz in fp32) for the convolutions'
 *  backward passes to read in their own layout. dy and y each: a Uint16Array (bf16 nChw16c), or a Float32Array, fp32
 *  nChw16c where `blocked` has bit 1 (dy) or 2 (y) set, else fp32 NHWC. db sums dz's values before rounding (in fp32
 *  over runs of 32 pixels, then in double), per thread over contiguous images, combined in order. dz may be dy (in place) where
 *  dy is resident in dz's precision. */
Napi::Value ReluBiasGradResidentFn(const Napi::CallbackInfo& info) {
  const Buf dy = bufArg(info, 0, "dy"), y = bufArg(info, 1, "y"), dz = bufArg(info, 2, "dz");
  const F32 db = f32Arg(info, 3, "db");
  const int64_t c = intArg(info, 4, "channels"), hw = intArg(info, 5, "hw");
  const int64_t blocked = info.Length() > 6 && !info[6].IsUndefined() ? intArg(info, 6, "blocked") : 0;
  const int64_t n = static_cast<int64_t>(dz.len);
  require(blocked >= 0 && blocked <= 3, "reluBiasGradResident: blocked must be a mask of 1 (dy) and 2 (y)");
  require(c >= 16 && c % 16 == 0 && hw >= 1 && n % (c * hw) == 0,
          "reluBiasGradResident: channels must be a multiple of 16 and the length whole images of hw pixels");
  require(static_cast<int64_t>(dy.len) == n && static_cast<int64_t>(y.len) == n, "reluBiasGradResident: dy, y and dz must have one length");
  requireLen(db, c, "db");
  const int dyKind = dy.bf16 ? kBlockedBf16 : ((blocked & 1) ? kBlockedF32 : kNhwc);
  const int yKind = y.bf16 ? kBlockedBf16 : ((blocked & 2) ? kBlockedF32 : kNhwc);
  // dz may be dy itself where both are stored alike (every 16 values are read before they are written), else apart.
  const size_t dzBytes = dz.len * (dz.bf16 ? 2 : 4);
  auto apart = [&](const Buf& b) {
    const char *p = static_cast<const char*>(b.data), *q = static_cast<const char*>(dz.data);
    return p + b.len * (b.bf16 ? 2 : 4) <= q || q + dzBytes <= p;
  };
  require(apart(dy) || (dy.data == dz.data && dyKind != kNhwc && dy.bf16 == dz.bf16),
          "reluBiasGradResident: dz must be dy (both resident, one precision) or not overlap it");
  require(apart(y), "reluBiasGradResident: dz must not overlap y");
  const int64_t images = n / (c * hw);
  const bool outBf16 = dz.bf16;
  const std::vector<double> sums = splitRows(images, 1, c, 0.0, combine<kSum>, [&](double* acc, int64_t lo, int64_t hi) {
    if (outBf16) reluBiasDispatch<true>(dyKind, yKind, dy.data, y.data, dz.data, acc, c, hw, lo, hi);
    else reluBiasDispatch<false>(dyKind, yKind, dy.data, y.data, dz.data, acc, c, hw, lo, hi);
  });
  for (int64_t k = 0; k < c; k++) db.data[k] = static_cast<float>(sums[k]);
  return info.Env().Undefined();
}

/** setLoopIsa("avx512" | "base"): which build of the addon's own vectorized loops runs (the ReLU-bias gradient's);
 *  "avx512" only where the CPU has it. Returns the ISA now in use. Both give the same bits; tests compare them. */
Napi::Value SetLoopIsa(const Napi::CallbackInfo& info) {
  require(info.Length() > 0 && info[0].IsString(), "setLoopIsa takes 'avx512' or 'base'");
  const std::string isa = info[0].As<Napi::String>().Utf8Value();
  require(isa == "avx512" || isa == "base", "setLoopIsa takes 'avx512' or 'base'");
  gUseAvx512 = isa == "avx512" && avx512Available();
  return Napi::String::New(info.Env(), gUseAvx512 ? "avx512" : "base");
}

/** fill(y, value) */
Napi::Value FillFn(const Napi::CallbackInfo& info) {
  const F32 y = f32Arg(info, 0, "y");
  const float v = static_cast<float>(numArg(info, 1, "value"));
  float* p = y.data;
  parallelFor(static_cast<int64_t>(y.len), kGrain, [=](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
  return info.Env().Undefined();
}

}  // namespace

void initEltwise(Napi::Env env, Napi::Object exports) {
  exports.Set("unary", Napi::Function::New(env, guarded<UnaryFn>, "unary"));
  exports.Set("binary", Napi::Function::New(env, guarded<BinaryFn>, "binary"));
  exports.Set("reduce", Napi::Function::New(env, guarded<ReduceFn>, "reduce"));
  exports.Set("fill", Napi::Function::New(env, guarded<FillFn>, "fill"));
  exports.Set("reluBiasGrad", Napi::Function::New(env, guarded<ReluBiasGradFn>, "reluBiasGrad"));
  exports.Set("reluBiasGradResident", Napi::Function::New(env, guarded<ReluBiasGradResidentFn>, "reluBiasGradResident"));
  exports.Set("setLoopIsa", Napi::Function::New(env, guarded<SetLoopIsa>, "setLoopIsa"));
}

}  // namespace gaplab
