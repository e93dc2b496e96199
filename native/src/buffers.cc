// A heap for large tensor buffers: one reserved address range, shared with JavaScript as one ArrayBuffer, whose
// blocks the backend takes and returns by offset (freed the moment tfjs disposes their tensor). Freed memory is merged
// with free neighbours and reused for a request of any size (a pool of JS arrays reuses a buffer only for its own
// size), stays mapped (reuse costs no page faults), and creates no ArrayBuffer per tensor (each one made V8 collect
// garbage several times a step).
#include <sys/mman.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <mutex>
#include <unordered_map>

#include "common.h"

namespace gaplab {
namespace {

constexpr size_t kPage = 4096;

/** Best-fit allocator over one mmap'd range reserved up front (MAP_NORESERVE: pages count only once touched). Free
 *  blocks are kept by offset (to merge neighbours) and by size (best fit); a free block ending at the high-water
 *  mark `top` is folded back into it. Never returns memory to the system: the next step reuses it. */
class Region {
 public:
  /** Reserves `bytes` of address space; false when the system refuses. */
  bool reserve(size_t bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return false;
    base_ = static_cast<char*>(p);
    cap_ = bytes;
    return true;
  }

  bool contains(const void* p) const {
    const char* c = static_cast<const char*>(p);
    return base_ != nullptr && c >= base_ && c < base_ + cap_;
  }

  /** A page-aligned block of at least `bytes`, or nullptr when the range is full. */
  void* alloc(size_t bytes) {
    bytes = roundUp(bytes);
    auto it = bySize_.lower_bound(bytes);
    if (it != bySize_.end()) {
      const size_t size = it->first, off = it->second;
      bySize_.erase(it);
      byOffset_.erase(off);
      if (size > bytes) addFree(off + bytes, size - bytes);
      return base_ + off;
    }
    if (base_ == nullptr || top_ + bytes > cap_) return nullptr;
    const size_t off = top_;
    top_ += bytes;
    highWater_ = std::max(highWater_, top_);
    return base_ + off;
  }

  void release(void* p, size_t bytes) {
    size_t off = static_cast<size_t>(static_cast<char*>(p) - base_);
    bytes = roundUp(bytes);
    // Merge with the free block after, then the one before.
    auto next = byOffset_.find(off + bytes);
    if (next != byOffset_.end()) {
      bytes += next->second;
      eraseFree(next);
    }
    auto after = byOffset_.lower_bound(off);
    if (after != byOffset_.begin()) {
      auto prev = std::prev(after);
      if (prev->first + prev->second == off) {
        off = prev->first;
        bytes += prev->second;
        eraseFree(prev);
      }
    }
    if (off + bytes == top_) top_ = off;
    else addFree(off, bytes);
  }

  char* base() const { return base_; }

  /** Bytes of the range ever handed out (its touched part: what it adds to the resident set at most). */
  size_t highWater() const { return highWater_; }

 private:
  static size_t roundUp(size_t b) { return (b + kPage - 1) / kPage * kPage; }
  void addFree(size_t off, size_t size) {
    byOffset_[off] = size;
    bySize_.emplace(size, off);
  }
  void eraseFree(std::map<size_t, size_t>::iterator it) {
    auto range = bySize_.equal_range(it->second);
    for (auto s = range.first; s != range.second; ++s)
      if (s->second == it->first) {
        bySize_.erase(s);
        break;
      }
    byOffset_.erase(it);
  }

  char* base_ = nullptr;
  size_t cap_ = 0, top_ = 0, highWater_ = 0;
  std::map<size_t, size_t> byOffset_;
  std::multimap<size_t, size_t> bySize_;
};

std::mutex gMutex;
Region gRegion;
bool gReserved = false;
std::unordered_map<size_t, size_t> gLive;  // offset -> bytes of blocks handed out and not yet freed
size_t gLiveBytes = 0;
size_t gNextColor = 0;

/** reserveHeap(bytes): reserves the range (once per process) and returns an ArrayBuffer over all of it, or null when
 *  the system refuses or it was reserved before (the caller keeps the first one). */
Napi::Value ReserveHeap(const Napi::CallbackInfo& info) {
  const int64_t bytes = intArg(info, 0, "bytes");
  require(bytes >= static_cast<int64_t>(kPage) && bytes < (int64_t{1} << 32), "reserveHeap: bytes must be a page to 4 GiB");
  std::lock_guard<std::mutex> lock(gMutex);
  if (gReserved) return info.Env().Null();
  gReserved = true;
  if (!gRegion.reserve(static_cast<size_t>(bytes))) return info.Env().Null();
  // The range lives as long as the process: nothing to free when V8 collects the ArrayBuffer.
  return Napi::ArrayBuffer::New(info.Env(), gRegion.base(), static_cast<size_t>(bytes));
}

/** heapAlloc(bytes): the byte offset of a free block of `bytes` in the range (64-byte aligned), or -1 when full. */
Napi::Value HeapAlloc(const Napi::CallbackInfo& info) {
  const int64_t bytes = intArg(info, 0, "bytes");
  require(bytes >= 1, "heapAlloc: bytes must be >= 1");
  std::lock_guard<std::mutex> lock(gMutex);
  void* raw = gRegion.alloc(static_cast<size_t>(bytes) + kPage);
  if (raw == nullptr) return Napi::Number::New(info.Env(), -1);
  // Blocks start at one of 64 cache-line offsets within a page, in turn: blocks that all began on a page boundary
  // would alias each other in the caches and in store-to-load forwarding (4K aliasing).
  const size_t off = static_cast<size_t>(static_cast<char*>(raw) - gRegion.base()) + (gNextColor++ * 29 % 64) * 64;
  gLive[off] = static_cast<size_t>(bytes);
  gLiveBytes += static_cast<size_t>(bytes);
  return Napi::Number::New(info.Env(), static_cast<double>(off));
}

/** heapFree(offset): returns a block from heapAlloc. The caller guarantees nothing uses it afterwards. */
Napi::Value HeapFree(const Napi::CallbackInfo& info) {
  const int64_t off = intArg(info, 0, "offset");
  std::lock_guard<std::mutex> lock(gMutex);
  auto it = gLive.find(static_cast<size_t>(off));
  require(off >= 0 && it != gLive.end(), "heapFree: not a live block");
  const size_t color = it->first % kPage;
  gRegion.release(gRegion.base() + it->first - color, it->second + kPage);
  gLiveBytes -= it->second;
  gLive.erase(it);
  return info.Env().Undefined();
}

/** heapStats(): live blocks and their bytes, and the most of the range ever in use (what it adds to the RSS). */
Napi::Value HeapStats(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(gMutex);
  Napi::Object o = Napi::Object::New(info.Env());
  o.Set("blocks", static_cast<double>(gLive.size()));
  o.Set("liveBytes", static_cast<double>(gLiveBytes));
  o.Set("highWaterBytes", static_cast<double>(gRegion.highWater()));
  return o;
}

}  // namespace

void* heapScratch(size_t bytes) {
  std::lock_guard<std::mutex> lock(gMutex);
  void* raw = gRegion.alloc(bytes + kPage);
  if (raw == nullptr) return nullptr;
  return static_cast<char*>(raw) + (gNextColor++ * 29 % 64) * 64;
}

void heapScratchFree(void* p, size_t bytes) {
  std::lock_guard<std::mutex> lock(gMutex);
  char* c = static_cast<char*>(p);
  gRegion.release(c - (c - gRegion.base()) % kPage, bytes + kPage);
}

void initBuffers(Napi::Env env, Napi::Object exports) {
  exports.Set("reserveHeap", Napi::Function::New(env, guarded<ReserveHeap>, "reserveHeap"));
  exports.Set("heapAlloc", Napi::Function::New(env, guarded<HeapAlloc>, "heapAlloc"));
  exports.Set("heapFree", Napi::Function::New(env, guarded<HeapFree>, "heapFree"));
  exports.Set("heapStats", Napi::Function::New(env, guarded<HeapStats>, "heapStats"));
}

}  // namespace gaplab
