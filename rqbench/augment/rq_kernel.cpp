// Randomized quantization (Wu et al., ICCV 2023, Sec. 3.1) fused for the CPU: per sample, the
// per-channel range, the quantizers and the lookup of each element's bin, in one call.
//
// Built by rqbench/augment/native.py with -ffp-contract=off and without -ffast-math, so every
// edge `lo + u * (hi - lo)` and value `l + r * (r_edge - l)` rounds exactly as torch's separate
// mul and add do on the eager path (bit-identical outputs). The input is seen as (S, A, C, B):
// samples, axes before the channel axis, channels, axes after it (contiguous).
//
// Called as torch operators (registered at the end, under the namespace RQ_OPS_NAMESPACE that
// native.py passes per library file), so one call from Python reaches the kernel with no Python in
// between, and the draws come straight from the generator's engine under its lock. OpenMP threads
// come from the libgomp torch has loaded already (same soname): torch and this kernel share one pool.

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <optional>
#include <tuple>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

namespace {

constexpr int64_t kLaneBlock = 128;   // target lanes per block of a channel-last sample
constexpr int64_t kMaxLanes = 4096;   // above this, a channel-last block is one period (C lanes)
constexpr int64_t kElemsPerThread = 1 << 15;  // fewer elements than this per thread: fewer threads
constexpr int kMaxBins = 64;                   // the per-quantizer tables are fixed arrays

int threads_for(int64_t elements, int requested) {
    int64_t by_work = std::max<int64_t>(1, elements / kElemsPerThread);
    return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(requested, by_work)));
}

int64_t gcd(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

// Lanes of one block of a channel-last sample: a multiple of C (so lane l is channel l % C) and,
// when small enough, of 32 (so vectors fill), about kLaneBlock lanes.
int64_t lane_block(int64_t C) {
    int64_t period = C / gcd(C, 32) * 32;
    if (period > kMaxLanes) period = C;
    return period * std::max<int64_t>(1, kLaneBlock / period);
}

// The quantizers of one sample, all C channels at once (every loop runs over channels, so it
// vectorizes): edges E[k * C + c] (k < n - 1, sorted in k) and values V[k * C + c] (k < n), from
// the range lo/hi (C), the cut draws (C x (n - 1), any order; or one shared sorted row of n - 1
// when cuts_shared) and the value draws frac (C x n; null: midpoints). Edges are sorted with an
// odd-even transposition network, whose output is the sorted multiset, as torch.sort's.
template <typename T>
void make_tables(const T* __restrict lo, const T* __restrict hi, const T* cuts, int cuts_shared, const T* frac,
                 int64_t C, int n, T* __restrict E, T* __restrict V, T* __restrict width) {
    const int m = n - 1;
    for (int64_t c = 0; c < C; ++c) width[c] = hi[c] - lo[c];
    for (int k = 0; k < m; ++k) {
        T* row = E + k * C;
        if (cuts_shared) {
            for (int64_t c = 0; c < C; ++c) row[c] = cuts[k];
        } else {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) row[c] = cuts[c * m + k];  // a strided gather per row
        }
    }
    if (!cuts_shared) {
        for (int round = 0; round < m; ++round) {
            for (int i = round & 1; i + 1 < m; i += 2) {
                T* __restrict a = E + i * C;
                T* __restrict b = a + C;
                for (int64_t c = 0; c < C; ++c) {
                    const T u = a[c], w = b[c];
                    a[c] = w < u ? w : u;
                    b[c] = w < u ? u : w;
                }
            }
        }
    }
    for (int k = 0; k < m; ++k) {
        T* row = E + k * C;
        for (int64_t c = 0; c < C; ++c) {
            const T scaled = row[c] * width[c];  // torch: cuts * width, then lo + (...)
            row[c] = lo[c] + scaled;
        }
    }
    for (int k = 0; k < n; ++k) {
        const T* left = k == 0 ? lo : E + (k - 1) * C;
        const T* right = k == m ? hi : E + k * C;
        T* row = V + k * C;
        if (frac != nullptr) {
#pragma omp simd
            for (int64_t c = 0; c < C; ++c) row[c] = left[c] + frac[c * n + k] * (right[c] - left[c]);
        } else {
            for (int64_t c = 0; c < C; ++c) row[c] = left[c] + static_cast<T>(0.5) * (right[c] - left[c]);
        }
    }
}

// The rows of a C-channel table (rows of C) repeated across the first `lanes` lanes (a multiple of
// C) of per-lane rows of stride L (lane l holds channel l % C): one gather per vector through
// `channel` (channel[l] = l % C, built once per thread). A memcpy per C-float repeat, and later
// log2(lanes / C) doubling memcpys per row, cost more than the lookup itself for point clouds (C = 3).
template <typename T>
void tile_rows(const T* __restrict src, int rows, int64_t C, T* __restrict dst, int64_t L, int64_t lanes,
               const int32_t* __restrict channel) {
    for (int k = 0; k < rows; ++k) {
        const T* __restrict row = src + k * C;
        T* __restrict out = dst + k * L;
#pragma omp simd
        for (int64_t l = 0; l < lanes; ++l) out[l] = row[channel[l]];
    }
}

// Lookups go a vector at a time (GCC/Clang vector extensions, as wide as the target's registers:
// AVX-512, AVX or SSE), the values held in registers through the whole where chain (bin_value);
// a tail goes element by element.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif

template <typename T>
struct Vec;
template <>
struct Vec<float> {
    typedef float type __attribute__((vector_size(kVectorBytes)));
};
template <>
struct Vec<double> {
    typedef double type __attribute__((vector_size(kVectorBytes)));
};
template <typename T>
using vec_t = typename Vec<T>::type;
template <typename T>
constexpr int64_t kLanes = kVectorBytes / sizeof(T);

template <typename T>
__attribute__((always_inline)) inline vec_t<T> load(const T* p) {
    vec_t<T> v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

template <typename T>
__attribute__((always_inline)) inline void store(T* p, vec_t<T> v) {
    std::memcpy(p, &v, sizeof v);
}

// A vector with every lane s (not `zero + s`, which would turn a -0.0 value into +0.0).
template <typename T>
__attribute__((always_inline)) inline vec_t<T> splat(T s) {
    vec_t<T> v;
    for (int64_t l = 0; l < kLanes<T>; ++l) v[l] = s;
    return v;
}

// The value of each lane's bin: v_0, then v_{k+1} wherever x >= e_k (edges sorted), tables in registers.
template <typename T>
__attribute__((always_inline)) inline vec_t<T> bin_value(vec_t<T> x, const vec_t<T>* e, const vec_t<T>* v, int n) {
    vec_t<T> o = v[0];
    for (int k = 0; k < n - 1; ++k) o = x >= e[k] ? v[k + 1] : o;
    return o;
}

template <typename T, int Fixed>
void lookup_run(const T* __restrict x, T* __restrict out, int64_t len, const T* edges, const T* values,
                int n_runtime) {
    constexpr int64_t W = kLanes<T>;
    const int n = Fixed ? Fixed : n_runtime;
    vec_t<T> e[kMaxBins], v[kMaxBins];
    for (int k = 0; k < n - 1; ++k) e[k] = splat(edges[k]);
    for (int k = 0; k < n; ++k) v[k] = splat(values[k]);
    int64_t i = 0;
    for (; i + W <= len; i += W) store(out + i, bin_value<T>(load(x + i), e, v, n));
    for (; i < len; ++i) {
        T o = values[0];
        for (int k = 0; k < n - 1; ++k) o = x[i] >= edges[k] ? values[k + 1] : o;
        out[i] = o;
    }
}

// The same with per-lane tables: E[k * L + l], V[k * L + l] for lanes l < m <= L (L a multiple of
// 32 when C is small enough, see lane_block).
template <typename T>
void lookup_lanes(const T* __restrict x, T* __restrict out, int64_t m, const T* E, const T* V, int n, int64_t L) {
    constexpr int64_t W = kLanes<T>;
    int64_t j = 0;
    for (; j + W <= m; j += W) {
        const vec_t<T> xv = load(x + j);
        vec_t<T> o = load(V + j);
        for (int k = 0; k < n - 1; ++k) o = xv >= load(E + k * L + j) ? load(V + (k + 1) * L + j) : o;
        store(out + j, o);
    }
    for (; j < m; ++j) {
        T o = V[j];
        for (int k = 0; k < n - 1; ++k) o = x[j] >= E[k * L + j] ? V[(k + 1) * L + j] : o;
        out[j] = o;
    }
}

// The register paths walk a sample in chunks of about kChunkElems elements (whole periods), each
// chunk once per vector group, so reads and writes stay within a few KiB at a time.
constexpr int64_t kChunkElems = 1024;

inline int64_t chunk_periods(int64_t P) { return std::max<int64_t>(1, kChunkElems / P); }

// Channel-last lookup with the tables in registers. Lane j of a sample is channel j % C, so the
// vector at offset g * W of every period of P = lcm(C, W) elements meets the same W channels: per
// chunk (chunk_periods) and vector group the n - 1 edges and n values are loaded once and the
// chunk is walked at stride P. Covers [0, periods * P); E/V are per-lane
// tables of stride L (a multiple of P). Fixed > 0: compiled for n == Fixed (see with_fixed_bins).
template <typename T, int Fixed>
void lookup_periodic_n(const T* __restrict x, T* __restrict out, int64_t periods, int64_t P, const T* E,
                       const T* V, int n_runtime, int64_t L) {
    constexpr int64_t W = kLanes<T>;
    const int n = Fixed ? Fixed : n_runtime;
    const int64_t chunk = chunk_periods(P);
    vec_t<T> e[kMaxBins], v[kMaxBins];
    for (int64_t first = 0; first < periods; first += chunk) {
        const int64_t end = std::min(periods, first + chunk) * P;
        for (int64_t j0 = 0; j0 < P; j0 += W) {
            for (int k = 0; k < n - 1; ++k) e[k] = load(E + k * L + j0);
            for (int k = 0; k < n; ++k) v[k] = load(V + k * L + j0);
            for (int64_t j = first * P + j0; j < end; j += P) store(out + j, bin_value<T>(load(x + j), e, v, n));
        }
    }
}

// Bin counts up to kFixedBins get lookups compiled for that count (loops unrolled, tables in
// registers); more bins take the runtime-count versions (Fixed = 0). f(std::integral_constant<int, N>).
constexpr int kFixedBins = 16;

template <int Fixed = 1, typename F>
void with_fixed_bins(int n, F&& f) {
    if constexpr (Fixed > kFixedBins) {
        f(std::integral_constant<int, 0>{});
    } else if (n == Fixed) {
        f(std::integral_constant<int, Fixed>{});
    } else {
        with_fixed_bins<Fixed + 1>(n, f);
    }
}

// Per-lane running min, max and NaN/inf flag of [0, periods * P) of a channel-last sample, held in
// registers per chunk and vector group as in lookup_periodic_n; mn/mx/z (P lanes) are read and
// written back.
template <typename T>
void range_periodic(const T* __restrict x, int64_t periods, int64_t P, T* __restrict mn, T* __restrict mx,
                    T* __restrict z) {
    constexpr int64_t W = kLanes<T>;
    const int64_t chunk = chunk_periods(P);
    const vec_t<T> zero = splat(static_cast<T>(0));
    for (int64_t first = 0; first < periods; first += chunk) {
        const int64_t end = std::min(periods, first + chunk) * P;
        for (int64_t j0 = 0; j0 < P; j0 += W) {
            vec_t<T> lo = load(mn + j0), hi = load(mx + j0), bad = load(z + j0);
            for (int64_t j = first * P + j0; j < end; j += P) {
                const vec_t<T> v = load(x + j);
                lo = v < lo ? v : lo;
                hi = v > hi ? v : hi;
                bad += v * zero;
            }
            store(mn + j0, lo);
            store(mx + j0, hi);
            store(z + j0, bad);
        }
    }
}

// The same walk for periods of G vectors (G = P / W <= kMaxChains), read front to back with
// K = G * (kMaxChains / G) independent accumulator chains, chain j holding vector group j % G: no
// strided reads and no single min/max dependency chain (both bound range_periodic, measured).
constexpr int kMaxChains = 8;

template <typename T, int G>
void range_chains(const T* __restrict x, int64_t periods, T* __restrict mn, T* __restrict mx, T* __restrict z) {
    constexpr int64_t W = kLanes<T>;
    constexpr int K = G * (kMaxChains / G);
    constexpr int64_t P = G * W;
    const vec_t<T> zero = splat(static_cast<T>(0));
    vec_t<T> lo[K], hi[K], bad[K];
    for (int j = 0; j < K; ++j) {
        lo[j] = load(mn + (j % G) * W);
        hi[j] = load(mx + (j % G) * W);
        bad[j] = j < G ? load(z + j * W) : zero;
    }
    auto fold = [&](int j, const T* p) {
        const vec_t<T> v = load(p);
        lo[j] = v < lo[j] ? v : lo[j];
        hi[j] = v > hi[j] ? v : hi[j];
        bad[j] += v * zero;
    };
    constexpr int64_t per = K / G;  // periods per step of all K chains
    int64_t p = 0;
    for (; p + per <= periods; p += per) {
        const T* xp = x + p * P;
        for (int j = 0; j < K; ++j) fold(j, xp + j * W);
    }
    for (; p < periods; ++p) {
        for (int g = 0; g < G; ++g) fold(g, x + p * P + g * W);
    }
    for (int j = G; j < K; ++j) {
        const int g = j % G;
        lo[g] = lo[j] < lo[g] ? lo[j] : lo[g];
        hi[g] = hi[j] > hi[g] ? hi[j] : hi[g];
        bad[g] += bad[j];
    }
    for (int g = 0; g < G; ++g) {
        store(mn + g * W, lo[g]);
        store(mx + g * W, hi[g]);
        store(z + g * W, bad[g]);
    }
}

// range_chains for G = P / W when G <= kMaxChains, else range_periodic.
template <typename T, int G = 1>
void range_any(const T* x, int64_t periods, int64_t P, T* mn, T* mx, T* z) {
    if constexpr (G > kMaxChains) {
        range_periodic<T>(x, periods, P, mn, mx, z);
    } else if (P == G * kLanes<T>) {
        range_chains<T, G>(x, periods, mn, mx, z);
    } else {
        range_any<T, G + 1>(x, periods, P, mn, mx, z);
    }
}

// Min and max of a contiguous run, folded into lo/hi; bad becomes NaN if the run holds NaN or inf.
template <typename T>
inline void fold_range(const T* __restrict run, int64_t len, T& lo, T& hi, T& bad) {
    T mn = lo, mx = hi, z = bad;
#pragma omp simd reduction(min : mn) reduction(max : mx) reduction(+ : z)
    for (int64_t i = 0; i < len; ++i) {
        const T v = run[i];
        mn = v < mn ? v : mn;
        mx = v > mx ? v : mx;
        z += v * static_cast<T>(0);  // NaN iff some v is NaN or infinite
    }
    lo = mn, hi = mx, bad = z;
}

// RQ of a contiguous (S, A, C, B) input in one call: per sample (or per (sample, channel) when
// B > 1) the range, the quantizers and the lookup while the sample is still in cache. Sample s
// uses draw row row[s] (row == null: row s), and is copied when row[s] < 0. cuts: (R, C, n - 1)
// draws, or one shared sorted (n - 1) row when cuts_shared; frac: (R, C, n) or null (midpoints).
// Returns how many (sample, channel) hold NaN or inf (every sample is checked; the output is
// meaningless then and the caller raises).
template <typename T>
int64_t quantize_impl(const T* x, T* out, int64_t S, int64_t A, int64_t C, int64_t B, int n, const T* cuts,
                      int cuts_shared, const T* frac, const int64_t* row, int threads) {
    const int nt = threads_for(S * A * C * B, threads);
    const int m = n - 1;
    const T inf = std::numeric_limits<T>::infinity();
    auto draw_row = [&](int64_t s) { return row != nullptr ? row[s] : s; };
    int64_t bad = 0;
    if (B > 1) {
        // Contiguous runs of B per (s, a, c): one item per (s, c), one scalar quantizer each.
#pragma omp parallel for num_threads(nt) schedule(static) reduction(+ : bad)
        for (int64_t item = 0; item < S * C; ++item) {
            const int64_t s = item / C, c = item % C;
            const int64_t r = draw_row(s);
            T lo = inf, hi = -inf, z = 0;
            for (int64_t a = 0; a < A; ++a) fold_range<T>(x + ((s * A + a) * C + c) * B, B, lo, hi, z);
            if (!(z == 0)) bad += 1;
            T edges[kMaxBins], values[kMaxBins], width;
            if (r >= 0) {
                const T* u = cuts_shared ? cuts : cuts + (r * C + c) * m;
                const T* f = frac != nullptr ? frac + (r * C + c) * n : nullptr;
                make_tables<T>(&lo, &hi, u, cuts_shared, f, 1, n, edges, values, &width);
            }
            for (int64_t a = 0; a < A; ++a) {
                const int64_t off = ((s * A + a) * C + c) * B;
                if (r < 0) {
                    std::memcpy(out + off, x + off, sizeof(T) * B);
                } else {
                    with_fixed_bins(n, [&](auto fixed) {
                        lookup_run<T, decltype(fixed)::value>(x + off, out + off, B, edges, values, n);
                    });
                }
            }
        }
    } else {
        // Channel-last (B == 1): lane l is channel l % C. Whole periods of P = lcm(C, lanes) elements
        // take the register paths (range_any, lookup_periodic_n), the rest blocks of L lanes
        // with per-lane tables (lookup_lanes). The register paths need a period that tiles L and at
        // least two periods a sample; otherwise periods == 0 and the block loops do the whole sample.
        const int64_t L = lane_block(C);
        const int64_t P = C / gcd(C, kLanes<T>) * kLanes<T>;
        const int64_t periods = (L % P == 0 && A * C >= 2 * P) ? A * C / P : 0;
#pragma omp parallel num_threads(nt) reduction(+ : bad)
        {
            std::vector<T> mn(L), mx(L), z(L), lo(C), hi(C), width(C);
            std::vector<T> Ec(static_cast<size_t>(C) * std::max(1, m)), Vc(static_cast<size_t>(C) * n);
            std::vector<T> E(static_cast<size_t>(L) * std::max(1, m)), V(static_cast<size_t>(L) * n);
            std::vector<int32_t> channel(L);  // lane l holds channel l % C
            for (int64_t l = 0; l < L; ++l) channel[l] = static_cast<int32_t>(l % C);
#pragma omp for schedule(static)
            for (int64_t s = 0; s < S; ++s) {
                const int64_t total = A * C;
                const T* xs = x + s * total;
                T* os = out + s * total;
                std::fill(mn.begin(), mn.end(), inf);
                std::fill(mx.begin(), mx.end(), -inf);
                std::fill(z.begin(), z.end(), static_cast<T>(0));
                const int64_t tail_start = periods * P;  // periods == 0: the lane loops do it all
                if (periods) range_any<T>(xs, periods, P, mn.data(), mx.data(), z.data());
                for (int64_t start = tail_start; start < total; start += L) {
                    const int64_t len = std::min(L, total - start);
                    const T* __restrict xb = xs + start;
                    T* __restrict pmn = mn.data();
                    T* __restrict pmx = mx.data();
                    T* __restrict pz = z.data();
                    for (int64_t l = 0; l < len; ++l) {
                        const T v = xb[l];
                        pmn[l] = v < pmn[l] ? v : pmn[l];
                        pmx[l] = v > pmx[l] ? v : pmx[l];
                        pz[l] += v * static_cast<T>(0);
                    }
                }
                for (int64_t c = 0; c < C; ++c) {
                    T smn = inf, smx = -inf, sz = 0;
                    for (int64_t l = c; l < L; l += C) {
                        smn = mn[l] < smn ? mn[l] : smn;
                        smx = mx[l] > smx ? mx[l] : smx;
                        sz += z[l];
                    }
                    lo[c] = smn, hi[c] = smx;
                    if (!(sz == 0)) bad += 1;
                }
                const int64_t r = draw_row(s);
                if (r < 0) {
                    std::memcpy(os, xs, sizeof(T) * total);
                    continue;
                }
                const T* u = cuts_shared ? cuts : cuts + r * C * m;
                const T* f = frac != nullptr ? frac + r * C * n : nullptr;
                make_tables<T>(lo.data(), hi.data(), u, cuts_shared, f, C, n, Ec.data(), Vc.data(), width.data());
                // With P == C (C a multiple of the vector width: tokens) the tables' own rows are the
                // per-lane rows and there is no tail: no tiling.
                const bool direct = periods && P == C;
                const int64_t lanes = periods ? P : L;  // the register path's tail is shorter than P
                if (!direct) {
                    tile_rows<T>(Ec.data(), m, C, E.data(), L, lanes, channel.data());
                    tile_rows<T>(Vc.data(), n, C, V.data(), L, lanes, channel.data());
                }
                if (periods) {
                    const T* Et = direct ? Ec.data() : E.data();
                    const T* Vt = direct ? Vc.data() : V.data();
                    const int64_t stride = direct ? C : L;
                    with_fixed_bins(n, [&](auto fixed) {
                        lookup_periodic_n<T, decltype(fixed)::value>(xs, os, periods, P, Et, Vt, n, stride);
                    });
                }
                for (int64_t start = tail_start; start < total; start += L) {
                    lookup_lanes<T>(xs + start, os + start, std::min(L, total - start), E.data(), V.data(), n, L);
                }
            }
        }
    }
    return bad;
}

// torch's CPU generator reproduced, so the draws cost what generating them costs rather than
// torch.rand's per-element call (about 3 ns a number, more than the lookup for DABS tokens).
// The generator is at::mt19937 (ATen/core/MT19937RNGEngine.h: the standard MT19937 twist and
// tempering; `left_` counts down to the next twist, `next_` indexes the state), floats are
// uniform_real's `(word & (2^24 - 1)) * 2^-24` and doubles `(random64 & (2^53 - 1)) * 2^-53` with
// random64 = (first word << 32) | second word (ATen/core/TransformationHelper.h uniform_real,
// CPUGeneratorImpl::random64). The replica runs on a copy of the engine's state, taken and put
// back under the generator's lock; native.py checks it against torch.rand before using it.
namespace mt {

constexpr int kN = 624, kM = 397;

inline uint32_t twist(uint32_t u, uint32_t v) {
    return (((u & 0x80000000u) | (v & 0x7fffffffu)) >> 1) ^ ((v & 1u) ? 0x9908b0dfu : 0u);
}

void next_state(uint32_t* s) {
    int i = 0;
    for (; i < kN - kM; ++i) s[i] = s[i + kM] ^ twist(s[i], s[i + 1]);
    for (; i < kN - 1; ++i) s[i] = s[i + kM - kN] ^ twist(s[i], s[i + 1]);
    s[kN - 1] = s[kM - 1] ^ twist(s[kN - 1], s[0]);
}

// `count` tempered words into `out`, advancing (s, left, next) as `count` calls of the engine would.
void words(uint32_t* __restrict s, int64_t& left, int64_t& next, uint32_t* __restrict out, int64_t count) {
    while (count > 0) {
        if (left <= 1) {  // the next call twists, reads word 0 and leaves left at kN
            next_state(s);
            left = kN + 1;
            next = 0;
        }
        const int64_t take = std::min<int64_t>(count, left - 1);
        const uint32_t* __restrict src = s + next;
        for (int64_t i = 0; i < take; ++i) {
            uint32_t y = src[i];
            y ^= y >> 11;
            y ^= (y << 7) & 0x9d2c5680u;
            y ^= (y << 15) & 0xefc60000u;
            y ^= y >> 18;
            out[i] = y;
        }
        out += take, count -= take, left -= take, next += take;
    }
}

// `count` uniform draws of torch.rand's dtype T from the engine state (s, left, next), advanced.
template <typename T>
void uniform(uint32_t* s, int64_t& left, int64_t& next, T* out, int64_t count) {
    constexpr int64_t kBlock = 2048;  // words per block (a multiple of 2: doubles take two)
    constexpr int64_t per = sizeof(T) == 4 ? 1 : 2;
    uint32_t buf[kBlock];
    for (int64_t done = 0; done < count;) {
        const int64_t n = std::min<int64_t>(count - done, kBlock / per);
        words(s, left, next, buf, n * per);
        T* o = out + done;
        if constexpr (sizeof(T) == 4) {
            for (int64_t i = 0; i < n; ++i) o[i] = static_cast<float>(buf[i] & 0xffffffu) * (1.0f / 16777216.0f);
        } else {
            for (int64_t i = 0; i < n; ++i) {
                const uint64_t v = (static_cast<uint64_t>(buf[2 * i]) << 32) | buf[2 * i + 1];
                o[i] = static_cast<double>(v & ((uint64_t{1} << 53) - 1)) * (1.0 / 9007199254740992.0);
            }
        }
        done += n;
    }
}

// `count` draws from a CPU generator (none: torch's default one) as torch.rand would make them,
// leaving the generator where torch.rand would.
template <typename T>
void from_generator(const std::optional<at::Generator>& generator, T* out, int64_t count) {
    auto* gen = at::get_generator_or_default<at::CPUGeneratorImpl>(generator, at::detail::getDefaultCPUGenerator());
    std::lock_guard<std::mutex> lock(gen->mutex_);
    at::mt19937 engine = gen->engine();
    at::mt19937_data_pod pod = engine.data();
    int64_t left = pod.left_, next = pod.next_;
    uniform<T>(pod.state_.data(), left, next, out, count);
    pod.left_ = static_cast<int>(left);
    pod.next_ = static_cast<uint32_t>(next);
    engine.set_data(pod);
    gen->set_engine(engine);
}

}  // namespace mt

// The operators' argument checks and dtype dispatch.
void check_input(const at::Tensor& x, at::IntArrayRef shape, int64_t bins) {
    TORCH_CHECK(x.device().is_cpu(), "rq kernel: the input must be on the CPU, got ", x.device());
    TORCH_CHECK(x.scalar_type() == at::kFloat || x.scalar_type() == at::kDouble,
                "rq kernel: float32 or float64 input expected, got ", x.scalar_type());
    TORCH_CHECK(shape.size() == 4, "rq kernel: shape must be (samples, axes, channels, trailing), got ", shape);
    TORCH_CHECK(shape[0] * shape[1] * shape[2] * shape[3] == x.numel(), "rq kernel: shape ", shape,
                " does not cover the input's ", x.numel(), " elements");
    TORCH_CHECK(bins >= 1 && bins <= kMaxBins, "rq kernel: 1 to ", kMaxBins, " bins, got ", bins);
}

// A draw tensor of `rows` x `per_row` (any shape), contiguous, on the CPU, of x's dtype.
void check_draws(const at::Tensor& t, const at::Tensor& x, int64_t rows, int64_t per_row, const char* what) {
    TORCH_CHECK(t.scalar_type() == x.scalar_type() && t.is_contiguous() && t.device().is_cpu(), "rq kernel: ", what,
                " must be contiguous CPU ", x.scalar_type(), " draws");
    TORCH_CHECK(t.numel() >= rows * per_row, "rq kernel: ", what, " holds ", t.numel(), " draws, needs ", rows,
                " x ", per_row);
}

template <typename F>
auto with_dtype(at::ScalarType dtype, F&& f) {
    if (dtype == at::kDouble) return f(double{});
    return f(float{});
}

// The draw row of each sample (null: row s) and how many rows they use; rows[s] == -1 copies sample s.
std::pair<const int64_t*, int64_t> draw_rows(const std::optional<at::Tensor>& rows, int64_t samples) {
    if (!rows.has_value()) return {nullptr, samples};
    TORCH_CHECK(rows->scalar_type() == at::kLong && rows->is_contiguous() && rows->device().is_cpu() &&
                    rows->numel() == samples,
                "rq kernel: rows must be a contiguous int64 CPU tensor of one entry per sample");
    const int64_t* row = rows->data_ptr<int64_t>();
    int64_t used = 0;
    for (int64_t s = 0; s < samples; ++s) {
        TORCH_CHECK(row[s] >= -1, "rq kernel: rows must be >= -1, got ", row[s]);
        used = std::max(used, row[s] + 1);
    }
    return {row, used};
}

// What both quantize operators start from: the checked input made contiguous, its output, the view
// (S, A, C, B) and the draw rows; run<T> quantizes with the draws it is given.
struct Call {
    at::Tensor x, out;
    int64_t S, A, C, B, n;
    const int64_t* row;
    int64_t used;  // draw rows the samples use

    Call(const at::Tensor& input, at::IntArrayRef shape, int64_t bins, const std::optional<at::Tensor>& rows) {
        check_input(input, shape, bins);
        x = input.contiguous();
        out = at::empty_like(x);
        S = shape[0], A = shape[1], C = shape[2], B = shape[3], n = bins;
        std::tie(row, used) = draw_rows(rows, S);
    }

    template <typename T>
    std::tuple<at::Tensor, int64_t> run(const T* cuts, bool cuts_shared, const T* frac) {
        const int64_t bad = quantize_impl<T>(x.data_ptr<T>(), out.data_ptr<T>(), S, A, C, B, static_cast<int>(n), cuts,
                                             cuts_shared, frac, row, at::get_num_threads());
        return {out, bad};
    }
};

// RQ of x seen as `shape` (S, A, C, B) with draws given: cuts (R, C, n - 1) unsorted, or one shared
// sorted (n - 1,) row; frac (R, C, n) or none (midpoints); rows: sample s uses draw row rows[s], -1
// copies it. Returns the output (x's shape) and how many (sample, channel) hold NaN or inf.
std::tuple<at::Tensor, int64_t> quantize_op(const at::Tensor& input, at::IntArrayRef shape, int64_t bins,
                                            const at::Tensor& cuts, const std::optional<at::Tensor>& frac,
                                            const std::optional<at::Tensor>& rows) {
    Call call(input, shape, bins, rows);
    const bool shared = cuts.dim() == 1;
    check_draws(cuts, call.x, shared ? 1 : call.used * call.C, call.n - 1, "cuts");
    if (frac.has_value()) check_draws(*frac, call.x, call.used * call.C, call.n, "frac");
    return with_dtype(call.x.scalar_type(), [&](auto zero) {
        using T = decltype(zero);
        return call.run<T>(cuts.data_ptr<T>(), shared, frac.has_value() ? frac->data_ptr<T>() : nullptr);
    });
}

// The same with the draws made inside the call from `generator` (none: torch's default CPU one), in
// the eager path's order and with torch.rand's numbers: `drawn` rows of C x (n - 1) cuts unless
// `shared_cuts` (the sorted (n - 1,) points of uniform spacing) is given, then `drawn` rows of C x n
// value fractions if random_values.
std::tuple<at::Tensor, int64_t> quantize_drawing_op(const at::Tensor& input, at::IntArrayRef shape, int64_t bins,
                                                    const std::optional<at::Generator>& generator, int64_t drawn,
                                                    const std::optional<at::Tensor>& shared_cuts, bool random_values,
                                                    const std::optional<at::Tensor>& rows) {
    Call call(input, shape, bins, rows);
    TORCH_CHECK(drawn >= 0 && drawn <= call.S, "rq kernel: drawn must be in 0..", call.S, ", got ", drawn);
    if (shared_cuts.has_value()) check_draws(*shared_cuts, call.x, 1, call.n - 1, "shared_cuts");
    TORCH_CHECK(call.used <= drawn, "rq kernel: rows use ", call.used, " draw rows, only ", drawn, " are drawn");
    return with_dtype(call.x.scalar_type(), [&](auto zero) {
        using T = decltype(zero);
        const int64_t n_cuts = shared_cuts.has_value() ? 0 : drawn * call.C * (call.n - 1);
        const int64_t count = n_cuts + (random_values ? drawn * call.C * call.n : 0);
        const std::unique_ptr<T[]> draws(new T[static_cast<size_t>(count)]);  // every entry is drawn: no zeroing
        mt::from_generator<T>(generator, draws.get(), count);
        const T* cuts = shared_cuts.has_value() ? shared_cuts->data_ptr<T>() : draws.get();
        return call.run<T>(cuts, shared_cuts.has_value(), random_values ? draws.get() + n_cuts : nullptr);
    });
}

// torch.rand((count,), dtype=dtype, generator=generator), bit for bit, through the replica.
at::Tensor uniform_op(int64_t count, at::ScalarType dtype, const std::optional<at::Generator>& generator) {
    TORCH_CHECK(dtype == at::kFloat || dtype == at::kDouble, "rq kernel: float32 or float64 draws, got ", dtype);
    TORCH_CHECK(count >= 0, "rq kernel: count must be >= 0, got ", count);
    at::Tensor out = at::empty({count}, at::TensorOptions().dtype(dtype));
    with_dtype(dtype, [&](auto zero) {
        using T = decltype(zero);
        mt::from_generator<T>(generator, out.data_ptr<T>(), count);
        return 0;
    });
    return out;
}

}  // namespace

#ifndef RQ_OPS_NAMESPACE
#define RQ_OPS_NAMESPACE rqbench_kernel
#endif
// TORCH_LIBRARY pastes its namespace argument; this level expands RQ_OPS_NAMESPACE first.
#define RQ_LIBRARY(ns, m) TORCH_LIBRARY(ns, m)

RQ_LIBRARY(RQ_OPS_NAMESPACE, m) {
    m.def("quantize(Tensor x, int[] shape, int bins, Tensor cuts, Tensor? frac, Tensor? rows) -> (Tensor, int)",
          &quantize_op);
    m.def(
        "quantize_drawing(Tensor x, int[] shape, int bins, Generator? generator, int drawn, Tensor? shared_cuts, "
        "bool random_values, Tensor? rows) -> (Tensor, int)",
        &quantize_drawing_op);
    m.def("uniform(int count, ScalarType dtype, Generator? generator) -> Tensor", &uniform_op);
}

extern "C" {

int rq_kernel_version() { return 6; }

int rq_max_bins() { return kMaxBins; }

}  // extern "C"
