// 2-D convolutions on oneDNN over tfjs's own buffers (NHWC activations, HWIO filters): forward with optional
// bias + activation, backward-data and backward-weights. Primitives are cached per shape; each layer runs either
// on the plain layouts directly or through oneDNN's blocked layouts with reorders, whichever measured faster, and in
// bf16 mode also with bf16 operands (fp32 accumulation, fp32 results) where that measured faster.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "bf16.h"
#include "common.h"

namespace gaplab {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

/** Shape of one convolution, all in tfjs terms (dilation 1 = none), passed from JS as an Int32Array. */
struct ConvShape {
  int64_t n, ih, iw, ic, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
};
constexpr size_t kConvParams = 17;

ConvShape parseShape(const std::vector<int64_t>& p) {
  ConvShape s{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16]};
  for (size_t i = 0; i < 13; i++) require(p[i] >= 1, "conv: sizes, strides and dilations must be >= 1");
  for (size_t i = 13; i < kConvParams; i++) require(p[i] >= 0, "conv: padding must be >= 0");
  const int64_t ekh = (s.kh - 1) * s.dh + 1, ekw = (s.kw - 1) * s.dw + 1;
  require(s.ih + s.pt + s.pb >= ekh && s.iw + s.pl + s.pr >= ekw, "conv: filter larger than the padded input");
  require((s.ih + s.pt + s.pb - ekh) / s.sh + 1 == s.oh && (s.iw + s.pl + s.pr - ekw) / s.sw + 1 == s.ow,
          "conv: output size does not match input, filter, stride and padding");
  return s;
}

enum class Kind { Fwd = 0, BwdData = 1, BwdWeights = 2 };
/** Plain: oneDNN on the NHWC/HWIO buffers as they are. Blocked: oneDNN's preferred layouts, with reorders.
 *  Split: plain layouts, the batch split across threads, one single-threaded primitive per thread (one
 *  parallel region per call instead of one per image, as the gemm-based plain kernels do). */
/** Winograd: blocked layouts and oneDNN's Winograd F(4x4, 3x3) algorithm (fp32, 3x3 stride-1 convolutions with
 *  multiples of 16 channels); never a fixed mode, only chosen by timing where it is faster (see timeLayouts). */
enum class Layout { Plain = 0, Blocked = 1, Auto = 2, Split = 3, PlainBf16 = 4, BlockedBf16 = 5, SplitBf16 = 6, Winograd = 7 };
Layout gLayout = Layout::Auto;
/** False after setWinograd(false) (GAPLAB_WINOGRAD=0): every convolution runs oneDNN's direct algorithm. */
bool gWinograd = true;

/** The *Bf16 layouts read their inputs (src and weights; diff_dst in the backward passes) as bf16, rounded from
 *  tfjs's fp32 buffers by the reorders, accumulate in fp32 and write fp32 (dst, diff_src, diff_weights, bias). */
bool isBf16(Layout l) { return l == Layout::PlainBf16 || l == Layout::BlockedBf16 || l == Layout::SplitBf16; }

/** The fp32 layout a bf16 one is built on. */
Layout baseOf(Layout l) {
  switch (l) {
    case Layout::PlainBf16: return Layout::Plain;
    case Layout::BlockedBf16: return Layout::Blocked;
    case Layout::SplitBf16: return Layout::Split;
    default: return l;
  }
}

/** Layouts that let oneDNN pick its blocked formats. */
bool blockedFormats(Layout l) { return baseOf(l) == Layout::Blocked || l == Layout::Winograd; }

dnnl::algorithm algorithmOf(Layout l) {
  return l == Layout::Winograd ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
}

/** In bf16 mode a fixed layout (GAPLAB_CONV_LAYOUT) runs in bf16; in fp32 mode every layout is fp32. */
Layout withPrecision(Layout l, bool bf16) {
  if (!bf16) return baseOf(l);
  switch (l) {
    case Layout::Plain: return Layout::PlainBf16;
    case Layout::Blocked: return Layout::BlockedBf16;
    case Layout::Split: return Layout::SplitBf16;
    default: return l;
  }
}

/** Fused activations of FusedConv2D (tfjs names): linear, relu, relu6, elu, sigmoid, leakyrelu. */
enum Act { kLinear = 0, kRelu = 1, kRelu6 = 2, kElu = 3, kSigmoid = 4, kLeaky = 5 };

/** One primitive argument: the user's plain buffer and, when the primitive wants another layout, a
 *  persistent internal buffer with the reorder between the two. */
struct Slot {
  int arg = 0;
  bool output = false;
  bool reorder = false;
  memory user;
  memory inner;
  dnnl::primitive move;  // user -> inner for inputs, inner -> user for outputs
};

/** Internal (blocked-layout) buffers, shared by all plans: runs are sequential, so slot i of any plan can use
 *  buffer i. Grown on demand, kept for reuse (no page faults per call). */
struct Arena {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  std::vector<std::unique_ptr<void, Free>> bufs;
  std::vector<size_t> sizes;

  void* get(size_t i, size_t bytes) {
    if (bufs.size() <= i) {
      bufs.resize(i + 1);
      sizes.resize(i + 1, 0);
    }
    if (sizes[i] < bytes) {
      bufs[i].reset();
      const size_t rounded = (bytes + 63) / 64 * 64;
      void* p = std::aligned_alloc(64, rounded);
      if (p == nullptr) throw std::bad_alloc();
      bufs[i].reset(p);
      sizes[i] = rounded;
    }
    return bufs[i].get();
  }
  void clear() {
    bufs.clear();
    sizes.clear();
  }
};
Arena gArena;

/** The blocked-layout copies of one call: blocks of the tensor heap, shared with the tensors (a layer's copies use
 *  memory that is free at that moment, instead of buffers kept for the largest layer: 100 MB at NIN batch 64),
 *  returned when the call ends; the persistent arena where there is no heap. */
struct HeapScratch {
  std::vector<std::pair<void*, size_t>> taken;
  void* get(size_t slot, size_t bytes) {
    if (void* p = heapScratch(bytes)) {
      taken.emplace_back(p, bytes);
      return p;
    }
    return gArena.get(slot, bytes);
  }
  ~HeapScratch() {
    for (const auto& [p, bytes] : taken) heapScratchFree(p, bytes);
  }
};

/** Operands held resident, in oneDNN's nChw16c layout (channels a multiple of 16) instead of fp32 NHWC: bfloat16 in
 *  bf16 mode (Uint16Array buffers), fp32 in fp32 mode (Float32Array buffers, marked by the call's resident mask).
 *  kResSrc: the input-shaped one (x of Fwd and BwdWeights, dx of BwdData, which is then written so);
 *  kResDst: the output-shaped one (y of Fwd, written so; dy of BwdData and BwdWeights). Between convolutions this
 *  skips the reorders that otherwise turn every NHWC input into the blocked layout and every blocked output back. */
enum Resident { kResSrc = 1, kResDst = 2 };

/** A ready-to-run convolution for one shape; ptrs are the JS call's buffers in order
 *  (Fwd: x, w, [bias], y. BwdData: dy, w, dx. BwdWeights: x, dy, dw): fp32, or bf16 for resident operands. */
struct Plan {
  virtual ~Plan() = default;
  virtual void run(const std::vector<void*>& ptrs) = 0;
  /** True when the plan reorders operands (so it differs from the plain one). */
  virtual bool reorders() const { return false; }
};

/** One primitive over the whole batch, with reorders where its layouts differ from the user's. */
struct WholePlan : Plan {
  dnnl::primitive prim;
  std::vector<Slot> slots;

  bool reorders() const override {
    for (const Slot& s : slots)
      if (s.reorder) return true;
    return false;
  }

  void run(const std::vector<void*>& ptrs) override {
    auto& strm = cpuStream();
    std::unordered_map<int, memory> args;
    HeapScratch scratch;
    for (size_t i = 0; i < slots.size(); i++) {
      Slot& s = slots[i];
      s.user.set_data_handle(ptrs[i]);
      if (s.reorder) s.inner.set_data_handle(scratch.get(i, s.inner.get_desc().get_size()));
      if (s.reorder && !s.output) s.move.execute(strm, {{DNNL_ARG_FROM, s.user}, {DNNL_ARG_TO, s.inner}});
      args[s.arg] = s.reorder ? s.inner : s.user;
    }
    prim.execute(strm, args);
    for (Slot& s : slots)
      if (s.reorder && s.output) s.move.execute(strm, {{DNNL_ARG_FROM, s.inner}, {DNNL_ARG_TO, s.user}});
    strm.wait();
  }
};

Slot makeSlot(int arg, bool output, const memory::desc& userMd, const memory::desc& primMd) {
  auto& eng = cpuEngine();
  Slot s;
  s.arg = arg;
  s.output = output;
  s.user = memory(userMd, eng, DNNL_MEMORY_NONE);
  if (primMd == userMd) {
    s.inner = s.user;
    return s;
  }
  s.reorder = true;
  s.inner = memory(primMd, eng, DNNL_MEMORY_NONE);
  s.move = output ? dnnl::reorder(s.inner, s.user) : dnnl::reorder(s.user, s.inner);
  return s;
}

struct Descs {
  memory::desc src, wei, bias, dst;
};

/** The JS call's buffers: fp32 NHWC / HWIO, or nChw16c (bf16 in bf16 mode, fp32 otherwise) for the resident ones. */
Descs userDescs(const ConvShape& s, int resident, bool bf16 = false) {
  const memory::dims src{s.n, s.ic, s.ih, s.iw}, dst{s.n, s.oc, s.oh, s.ow};
  const dt res = bf16 ? dt::bf16 : dt::f32;
  return Descs{(resident & kResSrc) ? memory::desc(src, res, tag::nChw16c) : memory::desc(src, dt::f32, tag::nhwc),
               memory::desc({s.oc, s.ic, s.kh, s.kw}, dt::f32, tag::hwio), memory::desc({s.oc}, dt::f32, tag::x),
               (resident & kResDst) ? memory::desc(dst, res, tag::nChw16c) : memory::desc(dst, dt::f32, tag::nhwc)};
}

/** Operand types of one kind of pass: bf16 for what it reads, fp32 for what it writes (see isBf16). */
struct Types {
  dt src, wei, dst;
};

Types typesOf(Kind kind, bool bf16) {
  if (!bf16) return {dt::f32, dt::f32, dt::f32};
  switch (kind) {
    case Kind::Fwd: return {dt::bf16, dt::bf16, dt::f32};
    case Kind::BwdData: return {dt::f32, dt::bf16, dt::bf16};
    default: return {dt::bf16, dt::f32, dt::bf16};
  }
}

/** Plain layouts: NHWC/HWIO as tfjs keeps them; blocked: tag::any, oneDNN picks. */
Descs primDescs(const ConvShape& s, Layout layout, Types t) {
  const bool plain = !blockedFormats(layout);
  const tag act = plain ? tag::nhwc : tag::any, filt = plain ? tag::hwio : tag::any;
  return Descs{memory::desc({s.n, s.ic, s.ih, s.iw}, t.src, act), memory::desc({s.oc, s.ic, s.kh, s.kw}, t.wei, filt),
               memory::desc({s.oc}, dt::f32, tag::x), memory::desc({s.n, s.oc, s.oh, s.ow}, t.dst, act)};
}

Descs primDescs(const ConvShape& s, Layout layout, Kind kind, int resident = 0) {
  Types t = typesOf(kind, isBf16(layout));
  // bf16-resident operands are bf16 in the primitive too (outputs: accumulated and post-processed, then rounded).
  if (isBf16(layout) && (resident & kResSrc)) t.src = dt::bf16;
  if (isBf16(layout) && (resident & kResDst)) t.dst = dt::bf16;
  return primDescs(s, layout, t);
}

dnnl::convolution_forward::desc fwdDesc(const ConvShape& s, const Descs& d, bool bias,
                                        dnnl::algorithm alg = dnnl::algorithm::convolution_direct) {
  const memory::dims strides{s.sh, s.sw}, dil{s.dh - 1, s.dw - 1}, padL{s.pt, s.pl}, padR{s.pb, s.pr};
  const auto pk = dnnl::prop_kind::forward_training;
  if (bias) return dnnl::convolution_forward::desc(pk, alg, d.src, d.wei, d.bias, d.dst, strides, dil, padL, padR);
  return dnnl::convolution_forward::desc(pk, alg, d.src, d.wei, d.dst, strides, dil, padL, padR);
}

/** The forward descriptor the backward passes take as a hint: a forward pass of the same precision. */
dnnl::convolution_forward::desc hintDesc(const ConvShape& s, Layout layout) {
  const dt in = isBf16(layout) ? dt::bf16 : dt::f32;
  return fwdDesc(s, primDescs(s, layout, Types{in, in, in}), false, algorithmOf(layout));
}

dnnl::primitive_attr activationAttr(int act, float alpha) {
  dnnl::primitive_attr attr;
  if (act == kLinear) return attr;
  dnnl::post_ops ops;
  switch (act) {
    case kRelu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f); break;
    case kRelu6: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f); break;
    case kElu: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_elu, 1.f, 0.f); break;
    case kSigmoid: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_logistic, 0.f, 0.f); break;
    case kLeaky: ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, alpha, 0.f); break;
    default: throw ArgError("conv: unknown activation");
  }
  attr.set_post_ops(ops);
  return attr;
}

/** Builds the primitive for one kind/layout; slots follow the order of the JS call's buffers:
 *  Fwd: x, w, [bias], y.  BwdData: dy, w, dx.  BwdWeights: x, dy, dw. */
std::shared_ptr<Plan> buildPlan(Kind kind, Layout layout, const ConvShape& s, bool bias, int act, float alpha,
                                int resident = 0) {
  auto& eng = cpuEngine();
  const Descs u = userDescs(s, resident, isBf16(layout));
  const Descs d = primDescs(s, layout, kind, resident);
  auto plan = std::make_shared<WholePlan>();
  if (kind == Kind::Fwd) {
    dnnl::convolution_forward::primitive_desc pd(fwdDesc(s, d, bias, algorithmOf(layout)), activationAttr(act, alpha), eng);
    plan->prim = dnnl::convolution_forward(pd);
    plan->slots.push_back(makeSlot(DNNL_ARG_SRC, false, u.src, pd.src_desc()));
    plan->slots.push_back(makeSlot(DNNL_ARG_WEIGHTS, false, u.wei, pd.weights_desc()));
    if (bias) plan->slots.push_back(makeSlot(DNNL_ARG_BIAS, false, u.bias, pd.bias_desc()));
    plan->slots.push_back(makeSlot(DNNL_ARG_DST, true, u.dst, pd.dst_desc()));
    return plan;
  }
  const memory::dims strides{s.sh, s.sw}, dil{s.dh - 1, s.dw - 1}, padL{s.pt, s.pl}, padR{s.pb, s.pr};
  const auto alg = algorithmOf(layout);
  dnnl::convolution_forward::primitive_desc hint(hintDesc(s, layout), eng);
  if (kind == Kind::BwdData) {
    dnnl::convolution_backward_data::desc bd(alg, d.src, d.wei, d.dst, strides, dil, padL, padR);
    dnnl::convolution_backward_data::primitive_desc pd(bd, eng, hint);
    plan->prim = dnnl::convolution_backward_data(pd);
    plan->slots.push_back(makeSlot(DNNL_ARG_DIFF_DST, false, u.dst, pd.diff_dst_desc()));
    plan->slots.push_back(makeSlot(DNNL_ARG_WEIGHTS, false, u.wei, pd.weights_desc()));
    plan->slots.push_back(makeSlot(DNNL_ARG_DIFF_SRC, true, u.src, pd.diff_src_desc()));
    return plan;
  }
  dnnl::convolution_backward_weights::desc bd(alg, d.src, d.wei, d.dst, strides, dil, padL, padR);
  dnnl::convolution_backward_weights::primitive_desc pd(bd, eng, hint);
  plan->prim = dnnl::convolution_backward_weights(pd);
  plan->slots.push_back(makeSlot(DNNL_ARG_SRC, false, u.src, pd.src_desc()));
  plan->slots.push_back(makeSlot(DNNL_ARG_DIFF_DST, false, u.dst, pd.diff_dst_desc()));
  plan->slots.push_back(makeSlot(DNNL_ARG_DIFF_WEIGHTS, true, u.wei, pd.diff_weights_desc()));
  return plan;
}

/** Arena slots of the split plans' bf16 copies where there is no heap (the whole plans use slots 0-3). */
constexpr size_t kSplitArenaSlot = 8;

/** The batch split over T threads, each running a single-threaded primitive on its images with its own
 *  scratchpad; weight gradients are summed over the threads' partial results (in a fixed order). In bf16, each
 *  thread first rounds its own images' inputs to bf16 (the filter is rounded once, before the threads start). */
struct SplitPlan : Plan {
  struct Part {
    dnnl::primitive prim;
    memory::desc src, wei, bias, dst, scratch;
  };
  Kind kind = Kind::Fwd;
  bool bias = false;
  bool bf16 = false;
  int64_t xImg = 0, yImg = 0, wLen = 0;
  std::vector<int64_t> begin, count;  // each thread's first image and image count
  std::vector<Part> parts;
  std::vector<std::vector<char>> scratch;
  std::vector<std::vector<float>> partial;  // BwdWeights: threads 1..T-1

  bool reorders() const override { return bf16; }

  void run(const std::vector<void*>& raw) override {
    // Split plans never take resident operands: every buffer is fp32.
    std::vector<float*> ptrs(raw.size());
    for (size_t i = 0; i < raw.size(); i++) ptrs[i] = static_cast<float*>(raw[i]);
    const int threads = static_cast<int>(parts.size());
    // bf16 copies: the filter (Fwd, BwdData), then per thread its images of x (Fwd, BwdWeights) and of dy (BwdData,
    // BwdWeights). Taken from the heap here, before the threads start (it is not thread-safe), returned when the call
    // ends. (The threads' scratchpads stay with the plan: from the heap they raised its high-water mark by 35 MB.)
    uint16_t* w16 = nullptr;
    std::vector<uint16_t*> x16(threads, nullptr), dy16(threads, nullptr);
    HeapScratch heap;
    if (bf16) {
      size_t slot = kSplitArenaSlot;
      if (kind != Kind::BwdWeights) {
        w16 = static_cast<uint16_t*>(heap.get(slot++, wLen * sizeof(uint16_t)));
        toBf16Parallel(ptrs[1], w16, wLen);
      }
      for (int t = 0; t < threads; t++) {
        if (kind != Kind::BwdData) x16[t] = static_cast<uint16_t*>(heap.get(slot++, count[t] * xImg * sizeof(uint16_t)));
        if (kind != Kind::Fwd) dy16[t] = static_cast<uint16_t*>(heap.get(slot++, count[t] * yImg * sizeof(uint16_t)));
      }
    }
    bool failed = false;
    std::string error;
#pragma omp parallel num_threads(threads)
    {
#ifdef _OPENMP
      const int t = omp_get_thread_num();
#else
      const int t = 0;
#endif
      try {
        auto& eng = cpuEngine();
        dnnl::stream strm(eng);
        const Part& p = parts[t];
        // oneDNN expects its scratchpad 64-byte aligned; the vector holds 64 spare bytes for that.
        const auto raw = reinterpret_cast<uintptr_t>(scratch[t].data());
        void* pad = reinterpret_cast<void*>((raw + 63) & ~static_cast<uintptr_t>(63));
        std::unordered_map<int, memory> args{{DNNL_ARG_SCRATCHPAD, memory(p.scratch, eng, pad)}};
        // This thread's images of an input: the fp32 buffer itself, or its bf16 copy.
        auto in = [&](const float* all, int64_t img, uint16_t* copy) -> void* {
          const float* mine = all + begin[t] * img;
          if (!bf16) return const_cast<float*>(mine);
          toBf16(mine, copy, count[t] * img);
          return copy;
        };
        void* w = bf16 ? static_cast<void*>(w16) : static_cast<void*>(ptrs[1]);
        if (kind == Kind::Fwd) {
          args[DNNL_ARG_SRC] = memory(p.src, eng, in(ptrs[0], xImg, x16[t]));
          args[DNNL_ARG_WEIGHTS] = memory(p.wei, eng, w);
          if (bias) args[DNNL_ARG_BIAS] = memory(p.bias, eng, ptrs[2]);
          args[DNNL_ARG_DST] = memory(p.dst, eng, ptrs[bias ? 3 : 2] + begin[t] * yImg);
        } else if (kind == Kind::BwdData) {
          args[DNNL_ARG_DIFF_DST] = memory(p.dst, eng, in(ptrs[0], yImg, dy16[t]));
          args[DNNL_ARG_WEIGHTS] = memory(p.wei, eng, w);
          args[DNNL_ARG_DIFF_SRC] = memory(p.src, eng, ptrs[2] + begin[t] * xImg);
        } else {
          args[DNNL_ARG_SRC] = memory(p.src, eng, in(ptrs[0], xImg, x16[t]));
          args[DNNL_ARG_DIFF_DST] = memory(p.dst, eng, in(ptrs[1], yImg, dy16[t]));
          args[DNNL_ARG_DIFF_WEIGHTS] = memory(p.wei, eng, t == 0 ? ptrs[2] : partial[t].data());
        }
        p.prim.execute(strm, args);
        strm.wait();
      } catch (const std::exception& e) {
#pragma omp critical(gaplab_split_error)
        {
          failed = true;
          error = e.what();
        }
      }
    }
    if (failed) throw std::runtime_error("conv (split batch): " + error);
    if (kind == Kind::BwdWeights) {
      float* dw = ptrs[2];
      const auto& part = partial;
      parallelFor(wLen, 1 << 15, [=, &part](int64_t lo, int64_t hi) {
        for (size_t t = 1; t < part.size(); t++)
          for (int64_t i = lo; i < hi; i++) dw[i] += part[t][i];
      });
    }
  }
};

/** Split or SplitBf16; nullptr when the batch is smaller than the thread count (nothing to split). */
std::shared_ptr<Plan> buildSplitPlan(Kind kind, Layout layout, const ConvShape& s, bool bias, int act, float alpha) {
  const int threads = maxThreads();
  if (threads < 2 || s.n < threads) return nullptr;
  auto& eng = cpuEngine();
  auto plan = std::make_shared<SplitPlan>();
  plan->kind = kind;
  plan->bias = bias;
  plan->bf16 = isBf16(layout);
  plan->xImg = s.ih * s.iw * s.ic;
  plan->yImg = s.oh * s.ow * s.oc;
  plan->wLen = s.kh * s.kw * s.ic * s.oc;
  // Primitives made while OpenMP reports one thread are tuned for one thread, as each will run.
#ifdef _OPENMP
  omp_set_num_threads(1);
#endif
  try {
    std::unordered_map<int64_t, SplitPlan::Part> byCount;
    for (int t = 0; t < threads; t++) {
      const int64_t b = s.n * t / threads, e = s.n * (t + 1) / threads;
      plan->begin.push_back(b);
      plan->count.push_back(e - b);
      auto it = byCount.find(e - b);
      if (it == byCount.end()) {
        ConvShape sub = s;
        sub.n = e - b;
        const Descs d = primDescs(sub, layout, kind);
        dnnl::primitive_attr attr = kind == Kind::Fwd ? activationAttr(act, alpha) : dnnl::primitive_attr();
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
        SplitPlan::Part part{{}, d.src, d.wei, d.bias, d.dst, {}};
        const memory::dims strides{s.sh, s.sw}, dil{s.dh - 1, s.dw - 1}, padL{s.pt, s.pl}, padR{s.pb, s.pr};
        const auto alg = dnnl::algorithm::convolution_direct;
        if (kind == Kind::Fwd) {
          dnnl::convolution_forward::primitive_desc pd(fwdDesc(sub, d, bias), attr, eng);
          part.prim = dnnl::convolution_forward(pd);
          part.scratch = pd.scratchpad_desc();
        } else {
          dnnl::convolution_forward::primitive_desc hint(hintDesc(sub, layout), eng);
          if (kind == Kind::BwdData) {
            dnnl::convolution_backward_data::desc bd(alg, d.src, d.wei, d.dst, strides, dil, padL, padR);
            dnnl::convolution_backward_data::primitive_desc pd(bd, attr, eng, hint);
            part.prim = dnnl::convolution_backward_data(pd);
            part.scratch = pd.scratchpad_desc();
          } else {
            dnnl::convolution_backward_weights::desc bd(alg, d.src, d.wei, d.dst, strides, dil, padL, padR);
            dnnl::convolution_backward_weights::primitive_desc pd(bd, attr, eng, hint);
            part.prim = dnnl::convolution_backward_weights(pd);
            part.scratch = pd.scratchpad_desc();
          }
        }
        it = byCount.emplace(e - b, part).first;
      }
      plan->parts.push_back(it->second);
      plan->scratch.emplace_back(it->second.scratch.get_size() + 64);
      plan->partial.emplace_back(kind == Kind::BwdWeights && t > 0 ? static_cast<size_t>(plan->wLen) : 0);
    }
  } catch (...) {
#ifdef _OPENMP
    omp_set_num_threads(threads);
#endif
    throw;
  }
#ifdef _OPENMP
  omp_set_num_threads(threads);
#endif
  return plan;
}

/** CPU seconds of this process (all threads): unlike wall time, barely moved by other processes on the machine. */
double cpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

double timeRun(Plan& p, const std::vector<void*>& ptrs) {
  const double t0 = cpuSeconds();
  p.run(ptrs);
  return cpuSeconds() - t0;
}

/** Cache of plans by shape; bounded so that many distinct shapes cannot grow memory without limit. */
constexpr size_t kMaxPlans = 256;
std::unordered_map<std::string, std::shared_ptr<Plan>> gPlans;
std::mutex gMutex;

/** bf16 mode's keys end in ":bf16" (fp32 keys are unchanged, so earlier choice files stay valid). */
std::string planKey(Kind kind, const ConvShape& s, bool bias, int act, float alpha, bool bf16) {
  std::string k = std::to_string(static_cast<int>(kind)) + ":" + std::to_string(static_cast<int>(gLayout)) + ":" +
                  std::to_string(bias) + ":" + std::to_string(act) + ":" + std::to_string(alpha);
  const int64_t* f = &s.n;
  for (size_t i = 0; i < kConvParams; i++) k += "," + std::to_string(f[i]);
  return bf16 ? k + ":bf16" : k;
}

/** Layout chosen per plan key in Auto mode: recorded when timing picks it, or set beforehand by setConvChoices so
 *  that a rerun (another process) runs every convolution exactly as the first run did: bit-identical results. */
std::unordered_map<std::string, Layout> gChoices;
constexpr size_t kMaxChoices = 16384;  // keep equal to MAX_CHOICES in src/backend/native/conv-choices.ts

/** The layouts' names in JavaScript (GAPLAB_CONV_LAYOUT, choice files), one table for both directions. */
constexpr std::pair<Layout, const char*> kLayoutNames[] = {
    {Layout::Plain, "plain"},           {Layout::Blocked, "blocked"},           {Layout::Split, "split"},
    {Layout::PlainBf16, "plain-bf16"}, {Layout::BlockedBf16, "blocked-bf16"}, {Layout::SplitBf16, "split-bf16"},
    {Layout::Winograd, "winograd"},     {Layout::Auto, "auto"}};

const char* layoutName(Layout l) {
  for (const auto& [layout, name] : kLayoutNames)
    if (layout == l) return name;
  return "auto";
}

/** The layout called `name`; false when there is none. */
bool parseLayout(const std::string& name, Layout& out) {
  for (const auto& [layout, n] : kLayoutNames)
    if (name == n) {
      out = layout;
      return true;
    }
  return false;
}

/** The Winograd plan of a shape (resident operands as given), or nullptr where setWinograd(false) turned it off or
 *  oneDNN has none for the shape (not 3x3 stride 1, channels not multiples of 16, another ISA). */
std::shared_ptr<Plan> winogradPlan(Kind kind, const ConvShape& s, bool bias, int act, float alpha, int resident = 0) {
  if (!gWinograd || s.kh != 3 || s.kw != 3 || s.sh != 1 || s.sw != 1 || s.dh != 1 || s.dw != 1) return nullptr;
  try {
    return buildPlan(kind, Layout::Winograd, s, bias, act, alpha, resident);
  } catch (const dnnl::error&) {
    return nullptr;
  }
}

/** The plan of a fixed layout; Split falls back to Plain (of its precision) where the shape cannot be split. */
std::shared_ptr<Plan> fixedPlan(Layout l, Kind kind, const ConvShape& s, bool bias, int act, float alpha) {
  if (l == Layout::Winograd) {
    if (auto w = winogradPlan(kind, s, bias, act, alpha)) return w;
    l = Layout::Blocked;
  }
  if (baseOf(l) == Layout::Split) {
    if (auto split = buildSplitPlan(kind, l, s, bias, act, alpha)) return split;
    l = isBf16(l) ? Layout::PlainBf16 : Layout::Plain;
  }
  return buildPlan(kind, l, s, bias, act, alpha);
}

/** Index of the fastest plan (by CPU time) on the call's own buffers: first runs pay for JIT and first-touch page
 *  faults, then the best of two runs each. */
size_t fastest(const std::vector<std::shared_ptr<Plan>>& candidates, const std::vector<void*>& ptrs) {
  if (candidates.size() == 1) return 0;
  std::vector<double> best(candidates.size(), 1e30);
  for (auto& c : candidates) timeRun(*c, ptrs);
  for (int rep = 0; rep < 2; rep++)
    for (size_t i = 0; i < candidates.size(); i++) best[i] = std::min(best[i], timeRun(*candidates[i], ptrs));
  return static_cast<size_t>(std::min_element(best.begin(), best.end()) - best.begin());
}

/** Times the candidate layouts on the call's own buffers and returns the fastest (by CPU time). Every candidate
 *  writes the same outputs, so the measuring runs are real work; the caller runs the winner once more so the
 *  outputs are exactly the winner's, as a rerun with the choice pinned computes them. */
Layout timeLayouts(Kind kind, const ConvShape& s, bool bias, int act, float alpha, const std::vector<void*>& ptrs,
                   bool bf16) {
  std::vector<std::shared_ptr<Plan>> candidates{buildPlan(kind, Layout::Blocked, s, bias, act, alpha)};
  std::vector<Layout> layouts{Layout::Blocked};
  // Without reorders the blocked plan is the plain one.
  if (candidates[0]->reorders()) {
    candidates.push_back(buildPlan(kind, Layout::Plain, s, bias, act, alpha));
    layouts.push_back(Layout::Plain);
  }
  if (auto split = buildSplitPlan(kind, Layout::Split, s, bias, act, alpha)) {
    candidates.push_back(split);
    layouts.push_back(Layout::Split);
  }
  if (auto wino = winogradPlan(kind, s, bias, act, alpha)) {
    candidates.push_back(wino);
    layouts.push_back(Layout::Winograd);
  }
  // bf16 mode: the bf16 variants compete with fp32 ones, so a layer where rounding and converting cost more than the
  // faster arithmetic gains (tiny or 3-channel convolutions) stays fp32. A variant oneDNN lacks is left out.
  if (bf16) {
    for (Layout l : {Layout::BlockedBf16, Layout::PlainBf16, Layout::SplitBf16}) {
      try {
        auto p = l == Layout::SplitBf16 ? buildSplitPlan(kind, l, s, bias, act, alpha) : buildPlan(kind, l, s, bias, act, alpha);
        if (!p) continue;
        candidates.push_back(p);
        layouts.push_back(l);
      } catch (const dnnl::error&) {
      }
    }
  }
  return layouts[fastest(candidates, ptrs)];
}

/** Runs a convolution with the plan cached for its shape, building it on first use: the fixed layout, or in Auto
 *  mode the recorded choice, else the fastest by timing (then recorded). Convolution results do not depend on the
 *  layout beyond float rounding (every layout passes the tests' 1e-5 bound). */
void runConv(Kind kind, const ConvShape& s, bool bias, int act, float alpha, const std::vector<void*>& ptrs,
             int resident = 0) {
  std::lock_guard<std::mutex> lock(gMutex);
  const bool bf16 = bf16Mode();
  std::string key = planKey(kind, s, bias, act, alpha, bf16);
  if (resident) key += ":res" + std::to_string(resident);
  auto it = gPlans.find(key);
  if (it != gPlans.end()) {
    it->second->run(ptrs);
    return;
  }
  if (gPlans.size() >= kMaxPlans) gPlans.clear();
  if (resident) {
    // Resident operands are in oneDNN's own layout: the blocked plan (of the mode's precision) reads or writes them
    // with no reorder. In fp32 a 3x3 convolution may also run Winograd on them: in Auto mode the faster of the two,
    // timed once and recorded like any choice (a fixed mode, or a blocked choice, runs the blocked plan).
    auto plan = buildPlan(kind, bf16 ? Layout::BlockedBf16 : Layout::Blocked, s, bias, act, alpha, resident);
    auto wino = !bf16 && gLayout == Layout::Auto ? winogradPlan(kind, s, bias, act, alpha, resident) : nullptr;
    if (wino) {
      auto c = gChoices.find(key);
      const bool useWino = c != gChoices.end() ? c->second == Layout::Winograd : fastest({plan, wino}, ptrs) == 1;
      if (c == gChoices.end() && gChoices.size() < kMaxChoices) gChoices.emplace(key, useWino ? Layout::Winograd : Layout::Blocked);
      if (useWino) plan = wino;
    }
    plan->run(ptrs);
    gPlans.emplace(key, plan);
    return;
  }
  Layout layout = withPrecision(gLayout, bf16);
  if (layout == Layout::Auto) {
    auto c = gChoices.find(key);
    // A bf16 choice never applies in fp32 mode (only an edited choice file could give an fp32 key one).
    if (c != gChoices.end() && (bf16 || !isBf16(c->second))) {
      layout = c->second;
    } else {
      layout = timeLayouts(kind, s, bias, act, alpha, ptrs, bf16);
      if (gChoices.size() < kMaxChoices || c != gChoices.end()) gChoices.insert_or_assign(key, layout);
    }
  }
  std::shared_ptr<Plan> chosen;
  try {
    chosen = fixedPlan(layout, kind, s, bias, act, alpha);
  } catch (const dnnl::error&) {
    // A fixed bf16 layout (or a bf16 choice) that oneDNN lacks for this shape: the same layout in fp32.
    if (!isBf16(layout)) throw;
    chosen = fixedPlan(baseOf(layout), kind, s, bias, act, alpha);
  }
  chosen->run(ptrs);
  gPlans.emplace(key, chosen);
}

/** An operand of n values: fp32 NHWC, or resident (`resident`: a Uint16Array in bf16 mode, a Float32Array marked by
 *  the call's mask in fp32 mode) in nChw16c with a multiple of 16 channels. */
void requireBuf(const Buf& b, int64_t n, int64_t channels, bool resident, const char* name) {
  if (static_cast<int64_t>(b.len) != n)
    throw ArgError(std::string(name) + " has " + std::to_string(b.len) + " elements, expected " + std::to_string(n));
  if (b.bf16 && !resident) throw ArgError(std::string(name) + ": a Uint16Array (bf16) operand must be resident");
  if (!resident) return;
  require(channels % 16 == 0, std::string(name) + ": resident tensors need a multiple of 16 channels");
  require(b.bf16 == bf16Mode(), std::string(name) + (bf16Mode() ? ": resident tensors are bf16 (Uint16Array) in precision bf16"
                                                                : ": resident tensors are fp32 (Float32Array) in precision fp32"));
}

/** The call's resident mask (optional argument i, kResSrc | kResDst), with bf16 buffers resident whatever it says. */
int residentMask(const Napi::CallbackInfo& info, size_t i, const Buf& src, const Buf& dst) {
  const int mask = i < info.Length() && !info[i].IsUndefined() ? static_cast<int>(intArg(info, i, "resident")) : 0;
  require(mask >= 0 && mask <= (kResSrc | kResDst), "resident must be a mask of 1 (input-shaped) and 2 (output-shaped)");
  return mask | (src.bf16 ? kResSrc : 0) | (dst.bf16 ? kResDst : 0);
}

Napi::Value ConvForward(const Napi::CallbackInfo& info) {
  const ConvShape s = parseShape(intsArg(info, 0, kConvParams, "shape"));
  const Buf x = bufArg(info, 1, "x");
  const F32 w = f32Arg(info, 2, "filter");
  const F32 b = f32OptArg(info, 3, "bias");
  const Buf y = bufArg(info, 4, "y");
  const int act = static_cast<int>(intArg(info, 5, "activation"));
  const float alpha = static_cast<float>(numArg(info, 6, "alpha"));
  require(act >= kLinear && act <= kLeaky, "conv: unknown activation");
  const int res = residentMask(info, 7, x, y);
  requireBuf(x, s.n * s.ih * s.iw * s.ic, s.ic, res & kResSrc, "x");
  requireLen(w, s.kh * s.kw * s.ic * s.oc, "filter");
  if (b.data) requireLen(b, s.oc, "bias");
  requireBuf(y, s.n * s.oh * s.ow * s.oc, s.oc, res & kResDst, "y");
  std::vector<void*> ptrs{x.data, w.data};
  if (b.data) ptrs.push_back(b.data);
  ptrs.push_back(y.data);
  runConv(Kind::Fwd, s, b.data != nullptr, act, alpha, ptrs, res);
  return info.Env().Undefined();
}

Napi::Value ConvBackwardData(const Napi::CallbackInfo& info) {
  const ConvShape s = parseShape(intsArg(info, 0, kConvParams, "shape"));
  const Buf dy = bufArg(info, 1, "dy"), dx = bufArg(info, 3, "dx");
  const F32 w = f32Arg(info, 2, "filter");
  const int res = residentMask(info, 4, dx, dy);
  requireBuf(dy, s.n * s.oh * s.ow * s.oc, s.oc, res & kResDst, "dy");
  requireLen(w, s.kh * s.kw * s.ic * s.oc, "filter");
  requireBuf(dx, s.n * s.ih * s.iw * s.ic, s.ic, res & kResSrc, "dx");
  runConv(Kind::BwdData, s, false, kLinear, 0.f, {dy.data, w.data, dx.data}, res);
  return info.Env().Undefined();
}

Napi::Value ConvBackwardWeights(const Napi::CallbackInfo& info) {
  const ConvShape s = parseShape(intsArg(info, 0, kConvParams, "shape"));
  const Buf x = bufArg(info, 1, "x"), dy = bufArg(info, 2, "dy");
  const F32 dw = f32Arg(info, 3, "dw");
  const int res = residentMask(info, 4, x, dy);
  requireBuf(x, s.n * s.ih * s.iw * s.ic, s.ic, res & kResSrc, "x");
  requireBuf(dy, s.n * s.oh * s.ow * s.oc, s.oc, res & kResDst, "dy");
  requireLen(dw, s.kh * s.kw * s.ic * s.oc, "dw");
  runConv(Kind::BwdWeights, s, false, kLinear, 0.f, {x.data, dy.data, dw.data}, res);
  return info.Env().Undefined();
}

/** "plain", "blocked", "split" or "auto": how convolutions run (see Layout and runConv). */
Napi::Value SetConvLayout(const Napi::CallbackInfo& info) {
  require(info.Length() > 0 && info[0].IsString(), "layout must be a string");
  Layout l;
  // The precision mode (setPrecision) decides whether a fixed layout runs in bf16.
  if (!parseLayout(info[0].As<Napi::String>().Utf8Value(), l) || isBf16(l) || l == Layout::Winograd)
    throw ArgError("layout must be plain, blocked, split or auto");
  std::lock_guard<std::mutex> lock(gMutex);
  gLayout = l;
  return info.Env().Undefined();
}

/** The layout mode setConvLayout set: "plain", "blocked", "split" or "auto". */
Napi::Value GetConvLayout(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(gMutex);
  return Napi::String::New(info.Env(), layoutName(gLayout));
}

/** [[key, layout], ...]: the layouts Auto mode has chosen (or was given), for saving. */
Napi::Value ConvChoices(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(gMutex);
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env, gChoices.size());
  uint32_t i = 0;
  for (const auto& [key, layout] : gChoices) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, Napi::String::New(env, key));
    pair.Set(1u, Napi::String::New(env, layoutName(layout)));
    out.Set(i++, pair);
  }
  return out;
}

/** Replaces the recorded choices by [[key, "plain"|"blocked"|"split" (or "<that>-bf16") or "winograd"], ...] and drops the cached
 *  plans, so the next convolution of every listed shape runs with the given layout (no timing). Validates everything
 *  first. */
Napi::Value SetConvChoices(const Napi::CallbackInfo& info) {
  require(info.Length() > 0 && info[0].IsArray(), "choices must be an array of [key, layout] pairs");
  Napi::Array arr = info[0].As<Napi::Array>();
  require(arr.Length() <= kMaxChoices, "too many convolution choices");
  std::unordered_map<std::string, Layout> next;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value v = arr.Get(i);
    require(v.IsArray() && v.As<Napi::Array>().Length() == 2, "each choice must be a [key, layout] pair");
    Napi::Array pair = v.As<Napi::Array>();
    require(pair.Get(0u).IsString() && pair.Get(1u).IsString(), "each choice must be a [key, layout] pair of strings");
    Layout l;
    if (!parseLayout(pair.Get(1u).As<Napi::String>().Utf8Value(), l) || l == Layout::Auto)
      throw ArgError("a choice's layout must be plain, blocked or split, or one of them with -bf16, or winograd");
    next[pair.Get(0u).As<Napi::String>().Utf8Value()] = l;
  }
  std::lock_guard<std::mutex> lock(gMutex);
  gChoices = std::move(next);
  gPlans.clear();
  return info.Env().Undefined();
}

/** setWinograd(enabled): whether timing may choose oneDNN's Winograd algorithm for 3x3 convolutions (fp32); off, every
 *  convolution runs the direct algorithm, whatever a choice file says. Drops the cached plans. */
Napi::Value SetWinograd(const Napi::CallbackInfo& info) {
  require(info.Length() > 0 && info[0].IsBoolean(), "setWinograd takes a boolean");
  std::lock_guard<std::mutex> lock(gMutex);
  gWinograd = info[0].As<Napi::Boolean>().Value();
  gPlans.clear();
  return info.Env().Undefined();
}

Napi::Value ConvCacheSize(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(gMutex);
  return Napi::Number::New(info.Env(), static_cast<double>(gPlans.size()));
}

}  // namespace

void clearConvCache() {
  std::lock_guard<std::mutex> lock(gMutex);
  gPlans.clear();
  gChoices.clear();  // timed for the old thread count
  gArena.clear();
}

void initConv(Napi::Env env, Napi::Object exports) {
  exports.Set("convForward", Napi::Function::New(env, guarded<ConvForward>, "convForward"));
  exports.Set("convBackwardData", Napi::Function::New(env, guarded<ConvBackwardData>, "convBackwardData"));
  exports.Set("convBackwardWeights", Napi::Function::New(env, guarded<ConvBackwardWeights>, "convBackwardWeights"));
  exports.Set("setConvLayout", Napi::Function::New(env, guarded<SetConvLayout>, "setConvLayout"));
  exports.Set("getConvLayout", Napi::Function::New(env, guarded<GetConvLayout>, "getConvLayout"));
  exports.Set("convCacheSize", Napi::Function::New(env, guarded<ConvCacheSize>, "convCacheSize"));
  exports.Set("setWinograd", Napi::Function::New(env, guarded<SetWinograd>, "setWinograd"));
  exports.Set("convChoices", Napi::Function::New(env, guarded<ConvChoices>, "convChoices"));
  exports.Set("setConvChoices", Napi::Function::New(env, guarded<SetConvChoices>, "setConvChoices"));
}

}  // namespace gaplab
