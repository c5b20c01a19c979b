// Depthwise convolutions (channel multiplier 1) for the wasm backend: the
// forward pass with a fused bias and activation, and the input and filter
// gradients, vectorised over channels (NHWC keeps a pixel's channels
// contiguous, four to a vector).
//
// y[b, oy, ox, c] = Σ_{ky, kx} x[b, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw, c] · w[ky, kx, c]
//
// with w stored [kh, kw, c, 1] (TensorFlow's layout). Every output value is
// summed by one thread in a fixed order (taps, or pixels for the filter
// gradient), so results do not depend on how many threads share a job.

#include <wasm_simd128.h>
#include "export.h"

static inline int min_int(int a, int b) { return a < b ? a : b; }
static inline int max_int(int a, int b) { return a > b ? a : b; }

static inline v128_t madd(v128_t a, v128_t b, v128_t c) {
  return wasm_f32x4_relaxed_madd(a, b, c);
}

// The first n (1–3) lanes of a vector from or to memory: channel tails.
static inline v128_t load_tail(const float *p, int n) {
  v128_t v = wasm_v128_load32_zero(p);
  if (n > 1) v = wasm_v128_load32_lane(p + 1, v, 1);
  if (n > 2) v = wasm_v128_load32_lane(p + 2, v, 2);
  return v;
}

static inline void store_tail(float *p, v128_t v, int n) {
  wasm_v128_store32_lane(p, v, 0);
  if (n > 1) wasm_v128_store32_lane(p + 1, v, 1);
  if (n > 2) wasm_v128_store32_lane(p + 2, v, 2);
}

static inline v128_t activate(v128_t v, int activation) {
  if (activation == ACTIVATION_RELU6) return relu6(v);
  if (activation == ACTIVATION_RELU) return wasm_f32x4_max(v, wasm_f32x4_splat(0.f));
  return v;
}

// The taps k of one axis whose input coordinate o·s − p + k·d lies in [0, size):
// [*first, *last).
static inline void valid_taps(int o, int s, int p, int d, int taps, int size, int *first,
                              int *last) {
  const int at = o * s - p;
  // at + k·d ≥ 0  ⇔  k ≥ ⌈−at / d⌉;  at + k·d < size  ⇔  k < ⌈(size − at) / d⌉
  *first = at >= 0 ? 0 : (-at + d - 1) / d;
  *last = size - at <= 0 ? 0 : min_int(taps, (size - at + d - 1) / d);
}

// y from x and w, then bias (none when null) and activation; work items are
// output rows (b, oy).
EXPORT("depthwise_forward") void depthwise_forward(const Geometry *g, const float *x, const float *w,
                                                   const float *bias, int activation, float *y,
                                                   float *scratch, int begin, int end) {
  (void)scratch;
  const int c = g->ci, vectors = c / 4, tail = c % 4;
  for (int item = begin; item < end; item++) {
    const int b = item / g->ho, oy = item % g->ho;
    int ky0, ky1;
    valid_taps(oy, g->sh, g->pt, g->dh, g->kh, g->h, &ky0, &ky1);
    float *out = y + item * g->wo * c;
    for (int ox = 0; ox < g->wo; ox++, out += c) {
      int kx0, kx1;
      valid_taps(ox, g->sw, g->pl, g->dw, g->kw, g->w, &kx0, &kx1);
      const int iy0 = oy * g->sh - g->pt, ix0 = ox * g->sw - g->pl;
      for (int v = 0; v <= vectors; v++) {
        const int ch = v * 4, lanes = v < vectors ? 4 : tail;
        if (lanes == 0) break;
        v128_t acc = bias ? (lanes == 4 ? wasm_v128_load(bias + ch) : load_tail(bias + ch, lanes))
                          : wasm_f32x4_splat(0.f);
        for (int ky = ky0; ky < ky1; ky++) {
          const float *row = x + ((b * g->h + iy0 + ky * g->dh) * g->w) * c + ch;
          const float *taps = w + ky * g->kw * c + ch;
          for (int kx = kx0; kx < kx1; kx++) {
            const float *xv = row + (ix0 + kx * g->dw) * c, *wv = taps + kx * c;
            acc = lanes == 4 ? madd(wasm_v128_load(xv), wasm_v128_load(wv), acc)
                             : madd(load_tail(xv, lanes), load_tail(wv, lanes), acc);
          }
        }
        acc = activate(acc, activation);
        if (lanes == 4) wasm_v128_store(out + ch, acc);
        else store_tail(out + ch, acc, lanes);
      }
    }
  }
}

// The taps k of one axis that reach input coordinate i from an output
// coordinate o = (i + p − k·d) / s that is whole and in [0, outs): each tap's
// output coordinate or −1.
static inline void reaching_taps(int i, int s, int p, int d, int taps, int outs, int *o) {
  for (int k = 0; k < taps; k++) {
    const int t = i + p - k * d;
    o[k] = t >= 0 && t % s == 0 && t / s < outs ? t / s : -1;
  }
}

// dx from dy and w; work items are input rows (b, iy).
EXPORT("depthwise_input_grad") void depthwise_input_grad(const Geometry *g, const float *dy,
                                                         const float *w, float *dx, float *scratch,
                                                         int begin, int end) {
  (void)scratch;
  const int c = g->ci, vectors = c / 4, tail = c % 4;
  int oy_of[MAX_TAPS], ox_of[MAX_TAPS];
  for (int item = begin; item < end; item++) {
    const int b = item / g->h, iy = item % g->h;
    reaching_taps(iy, g->sh, g->pt, g->dh, g->kh, g->ho, oy_of);
    float *out = dx + item * g->w * c;
    for (int ix = 0; ix < g->w; ix++, out += c) {
      reaching_taps(ix, g->sw, g->pl, g->dw, g->kw, g->wo, ox_of);
      for (int v = 0; v <= vectors; v++) {
        const int ch = v * 4, lanes = v < vectors ? 4 : tail;
        if (lanes == 0) break;
        v128_t acc = wasm_f32x4_splat(0.f);
        for (int ky = 0; ky < g->kh; ky++) {
          if (oy_of[ky] < 0) continue;
          const float *row = dy + ((b * g->ho + oy_of[ky]) * g->wo) * c + ch;
          const float *taps = w + ky * g->kw * c + ch;
          for (int kx = 0; kx < g->kw; kx++) {
            if (ox_of[kx] < 0) continue;
            const float *dv = row + ox_of[kx] * c, *wv = taps + kx * c;
            acc = lanes == 4 ? madd(wasm_v128_load(dv), wasm_v128_load(wv), acc)
                             : madd(load_tail(dv, lanes), load_tail(wv, lanes), acc);
          }
        }
        if (lanes == 4) wasm_v128_store(out + ch, acc);
        else store_tail(out + ch, acc, lanes);
      }
    }
  }
}



// dw [kh, kw, c] from x and dy; work items are blocks of DW_CHANNEL_BLOCK
// channels, each summed over every output pixel by one thread, tap by tap.
EXPORT("depthwise_filter_grad") void depthwise_filter_grad(const Geometry *g, const float *x,
                                                           const float *dy, float *dw,
                                                           float *scratch, int begin, int end) {
  (void)scratch;
  const int c = g->ci;
  for (int item = begin; item < end; item++) {
    const int c0 = item * DW_CHANNEL_BLOCK, width = min_int(DW_CHANNEL_BLOCK, c - c0);
    const int vectors = (width + 3) / 4, last = width - (vectors - 1) * 4;
    for (int ky = 0; ky < g->kh; ky++) {
      for (int kx = 0; kx < g->kw; kx++) {
        v128_t acc[4] = {wasm_f32x4_splat(0.f), wasm_f32x4_splat(0.f), wasm_f32x4_splat(0.f),
                         wasm_f32x4_splat(0.f)};
        for (int b = 0; b < g->n; b++) {
          for (int oy = 0; oy < g->ho; oy++) {
            const int iy = oy * g->sh - g->pt + ky * g->dh;
            if (iy < 0 || iy >= g->h) continue;
            // ox with 0 ≤ ox·sw − pl + kx·dw < w
            const int at = kx * g->dw - g->pl;
            const int ox0 = at >= 0 ? 0 : (-at + g->sw - 1) / g->sw;
            const int ox1 = g->w - at <= 0 ? 0 : min_int(g->wo, (g->w - at + g->sw - 1) / g->sw);
            const float *xr = x + ((b * g->h + iy) * g->w) * c + c0;
            const float *dr = dy + ((b * g->ho + oy) * g->wo) * c + c0;
            if (vectors == 4 && last == 4) {
              for (int ox = ox0; ox < ox1; ox++) {
                const float *xv = xr + (ox * g->sw + at) * c, *dv = dr + ox * c;
                acc[0] = madd(wasm_v128_load(xv), wasm_v128_load(dv), acc[0]);
                acc[1] = madd(wasm_v128_load(xv + 4), wasm_v128_load(dv + 4), acc[1]);
                acc[2] = madd(wasm_v128_load(xv + 8), wasm_v128_load(dv + 8), acc[2]);
                acc[3] = madd(wasm_v128_load(xv + 12), wasm_v128_load(dv + 12), acc[3]);
              }
            } else {
              for (int ox = ox0; ox < ox1; ox++) {
                const float *xv = xr + (ox * g->sw + at) * c, *dv = dr + ox * c;
                for (int v = 0; v < vectors; v++) {
                  const int lanes = v < vectors - 1 ? 4 : last;
                  acc[v] = lanes == 4
                               ? madd(wasm_v128_load(xv + 4 * v), wasm_v128_load(dv + 4 * v), acc[v])
                               : madd(load_tail(xv + 4 * v, lanes), load_tail(dv + 4 * v, lanes), acc[v]);
                }
              }
            }
          }
        }
        float *out = dw + (ky * g->kw + kx) * c + c0;
        for (int v = 0; v < vectors; v++) {
          const int lanes = v < vectors - 1 ? 4 : last;
          if (lanes == 4) wasm_v128_store(out + 4 * v, acc[v]);
          else store_tail(out + 4 * v, acc[v], lanes);
        }
      }
    }
  }
}

// dz = dy where 0 < y < 6, else 0: relu6's gradient from its output (y = 6
// is taken as saturated; NaN in y gives NaN); items are ELEMENT_BLOCK blocks.
EXPORT("relu6_grad_blocks") void relu6_grad_blocks(const float *y, const float *dy, float *dz, int n,
                                                   float *scratch, int begin, int end) {
  (void)scratch;
  const int i0 = begin * ELEMENT_BLOCK, i1 = min_int(n, end * ELEMENT_BLOCK);
  const v128_t zero = wasm_f32x4_splat(0.f), six = wasm_f32x4_splat(6.f);
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v128_t v = wasm_v128_load(y + i), d = wasm_v128_load(dy + i);
    const v128_t inside = wasm_v128_and(wasm_f32x4_gt(v, zero), wasm_f32x4_lt(v, six));
    v128_t out = wasm_v128_and(d, inside);
    out = wasm_v128_bitselect(out, v, wasm_f32x4_eq(v, v));
    wasm_v128_store(dz + i, out);
  }
  for (; i < i1; i++) dz[i] = y[i] != y[i] ? y[i] : (y[i] > 0.f && y[i] < 6.f ? dy[i] : 0.f);
}

EXPORT("constant_dw_channel_block") int constant_dw_channel_block(void) { return DW_CHANNEL_BLOCK; }
