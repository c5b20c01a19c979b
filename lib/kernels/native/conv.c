// Convolution kernels for the wasm backend: implicit GEMM with a 6×8
// register tile and fused multiply-add (relaxed SIMD).
//
// Built by build.sh (beside it) into kernels_wasm.ts;
// engine.ts runs these functions on several threads over one shared
// memory. Every driver takes a half-open range [begin, end) of its work items
// (row tiles or column panels) so that threads split work without talking, and
// a per-thread scratch pointer.
//
// Layout is NHWC; filters are [kh, kw, Ci, Co] (TensorFlow's HWIO). A
// convolution is y[p, co] = Σ_{t, ci} x[row(p, t), ci] · w[t, ci, co], where p
// runs over output positions and t over filter taps: a matrix product whose
// left operand is never materialised. Each row of a tile points, for each
// tap, at Ci contiguous input values (or at a zero buffer for padding).

#include <wasm_simd128.h>
#include "export.h"




static inline v128_t madd(v128_t a, v128_t b, v128_t c) {
  return wasm_f32x4_relaxed_madd(a, b, c);
}

// The first n (0–4) lanes of v to c, lane by lane: a loop over a buffer
// would compile to memory.copy, which V8 runs as a call (tens of ns).
static inline void store_lanes(float *c, v128_t v, int n) {
  if (n == 4) {
    wasm_v128_store(c, v);
  } else if (n >= 2) {
    wasm_v128_store64_lane(c, v, 0);
    if (n == 3) wasm_v128_store32_lane(c + 2, v, 2);
  } else if (n == 1) {
    wasm_v128_store32_lane(c, v, 0);
  }
}

// c[0..n) (n 0–4) as a vector, zero past n.
static inline v128_t load_lanes(const float *c, int n) {
  if (n == 4) return wasm_v128_load(c);
  if (n == 0) return wasm_f32x4_splat(0.f);
  if (n == 1) return wasm_v128_load32_zero(c);
  const v128_t two = wasm_v128_load64_zero(c);
  return n == 2 ? two : wasm_v128_load32_lane(c + 2, two, 2);
}

static inline void store_row(float *c, v128_t lo, v128_t hi, int nr) {
  if (nr == NR) {
    wasm_v128_store(c, lo);
    wasm_v128_store(c + 4, hi);
  } else if (nr > 4) {
    wasm_v128_store(c, lo);
    store_lanes(c + 4, hi, nr - 4);
  } else {
    store_lanes(c, lo, nr);
  }
}

static inline void load_row(const float *c, v128_t *lo, v128_t *hi, int nr) {
  *lo = load_lanes(c, nr < 4 ? nr : 4);
  *hi = load_lanes(c + 4, nr > 4 ? nr - 4 : 0);
}

// C[r, 0..nr) (+)= Σ_t Σ_k a[t][r][k·stride] · b[t][k][0..8) for the first
// `rows` (2, 4 or 6) of MR rows, NR columns. Inlined with constant stride
// and rows: stride 1 where each row of A points at its own values (tile),
// MR where A is packed MR-interleaved (tile_packed); rows below MR drop the
// other rows' multiply-adds (a last tile of 2 or 4 rows, as 32 = 5·6 + 2
// output channels leave).
static inline __attribute__((always_inline)) void
tile_strided(int ntaps, const float *const *a, const float *const *b, int kt, int stride,
             float *const *c, int nr, int accumulate, int rows) {
  v128_t c00 = wasm_f32x4_splat(0.f), c01 = c00, c10 = c00, c11 = c00, c20 = c00,
         c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  if (accumulate) {
    load_row(c[0], &c00, &c01, nr);
    load_row(c[1], &c10, &c11, nr);
    if (rows > 2) {
      load_row(c[2], &c20, &c21, nr);
      load_row(c[3], &c30, &c31, nr);
    }
    if (rows > 4) {
      load_row(c[4], &c40, &c41, nr);
      load_row(c[5], &c50, &c51, nr);
    }
  }
  for (int t = 0; t < ntaps; t++) {
    const float *a0 = a[t * MR], *a1 = a[t * MR + 1], *a2 = a[t * MR + 2],
                *a3 = a[t * MR + 3], *a4 = a[t * MR + 4], *a5 = a[t * MR + 5];
    const float *bk = b[t];
    for (int k = 0; k < kt; k++, bk += NR) {
      v128_t b0 = wasm_v128_load(bk), b1 = wasm_v128_load(bk + 4), v;
      v = wasm_v128_load32_splat(a0 + k * stride);
      c00 = madd(v, b0, c00);
      c01 = madd(v, b1, c01);
      v = wasm_v128_load32_splat(a1 + k * stride);
      c10 = madd(v, b0, c10);
      c11 = madd(v, b1, c11);
      if (rows > 2) {
        v = wasm_v128_load32_splat(a2 + k * stride);
        c20 = madd(v, b0, c20);
        c21 = madd(v, b1, c21);
        v = wasm_v128_load32_splat(a3 + k * stride);
        c30 = madd(v, b0, c30);
        c31 = madd(v, b1, c31);
      }
      if (rows > 4) {
        v = wasm_v128_load32_splat(a4 + k * stride);
        c40 = madd(v, b0, c40);
        c41 = madd(v, b1, c41);
        v = wasm_v128_load32_splat(a5 + k * stride);
        c50 = madd(v, b0, c50);
        c51 = madd(v, b1, c51);
      }
    }
  }
  store_row(c[0], c00, c01, nr);
  store_row(c[1], c10, c11, nr);
  if (rows > 2) {
    store_row(c[2], c20, c21, nr);
    store_row(c[3], c30, c31, nr);
  }
  if (rows > 4) {
    store_row(c[4], c40, c41, nr);
    store_row(c[5], c50, c51, nr);
  }
}

static void tile(int ntaps, const float *const *a, const float *const *b, int kt,
                 float *const *c, int nr, int accumulate) {
  tile_strided(ntaps, a, b, kt, 1, c, nr, accumulate, MR);
}

// tile with A packed MR-interleaved (a[k·MR + r]), for the first `rows` rows
// (rounded up to 2, 4 or 6; the others are not written).
static void tile_packed(const float *a, const float *b, int kt, float *const *c, int nr,
                        int accumulate, int rows) {
  const float *pointers[MR] = {a, a + 1, a + 2, a + 3, a + 4, a + 5};
  if (rows > 4) {
    tile_strided(1, pointers, &b, kt, MR, c, nr, accumulate, 6);
  } else if (rows > 2) {
    tile_strided(1, pointers, &b, kt, MR, c, nr, accumulate, 4);
  } else {
    tile_strided(1, pointers, &b, kt, MR, c, nr, accumulate, 2);
  }
}

static inline int min(int a, int b) { return a < b ? a : b; }

// dst[j][k][0..8) = src[k·ldk + (8j + c)·ldn], zero past n columns.
EXPORT("pack_panels") void pack_panels(const float *src, int k, int n, int ldk, int ldn, float *dst) {
  for (int j = 0; j < n; j += NR) {
    for (int kk = 0; kk < k; kk++) {
      for (int c = 0; c < NR; c++) {
        *dst++ = j + c < n ? src[kk * ldk + (j + c) * ldn] : 0.f;
      }
    }
  }
}

// The filter's transpose per tap, for the input gradient:
// dst[j][t][co][0..8) = w[t, 8j + c, co].
EXPORT("pack_transposed_filter") void pack_transposed_filter(const float *w, int taps, int ci, int co, float *dst) {
  for (int j = 0; j < ci; j += NR) {
    for (int t = 0; t < taps; t++) {
      for (int o = 0; o < co; o++) {
        for (int c = 0; c < NR; c++) {
          *dst++ = j + c < ci ? w[(t * ci + j + c) * co + o] : 0.f;
        }
      }
    }
  }
}

EXPORT("transpose") void transpose(const float *src, int rows, int cols, float *dst) {
  for (int r0 = 0; r0 < rows; r0 += 32) {
    for (int c0 = 0; c0 < cols; c0 += 32) {
      int r1 = min(rows, r0 + 32), c1 = min(cols, c0 + 32);
      for (int r = r0; r < r1; r++) {
        for (int c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
}

// What conv_forward applies to its outputs: a bias per output channel (or
// none), then an activation.
typedef struct {
  const float *bias;
  int activation;  // ACTIVATION_* of export.h
  float alpha;
} Epilogue;

static void apply_epilogue(const Epilogue *e, float *const *c, int rows, int j, int nr) {
  v128_t bias_lo = wasm_f32x4_splat(0.f), bias_hi = bias_lo;
  if (e->bias) load_row(e->bias + j, &bias_lo, &bias_hi, nr);
  const v128_t zero = wasm_f32x4_splat(0.f), alpha = wasm_f32x4_splat(e->alpha);
  for (int r = 0; r < rows; r++) {
    v128_t lo, hi;
    load_row(c[r], &lo, &hi, nr);
    lo = wasm_f32x4_add(lo, bias_lo);
    hi = wasm_f32x4_add(hi, bias_hi);
    if (e->activation == ACTIVATION_RELU6) {
      lo = relu6(lo);
      hi = relu6(hi);
    } else if (e->activation) {
      const v128_t low_lo = e->activation == ACTIVATION_RELU ? zero : wasm_f32x4_mul(lo, alpha);
      const v128_t low_hi = e->activation == ACTIVATION_RELU ? zero : wasm_f32x4_mul(hi, alpha);
      lo = wasm_v128_bitselect(low_lo, lo, wasm_f32x4_lt(lo, zero));
      hi = wasm_v128_bitselect(low_hi, hi, wasm_f32x4_lt(hi, zero));
    }
    store_row(c[r], lo, hi, nr);
  }
}

// y [n·ho·wo, co] from x and the filter packed by pack_panels(w, kh·kw·ci,
// co, co, 1), then the epilogue (none when null); work items are tiles of MR
// output positions.
EXPORT("conv_forward") void conv_forward(const Geometry *g, const float *x, const float *packed, float *y,
                  const float *zero, const Epilogue *epilogue, float *scratch, int begin,
                  int end) {
  const int positions = g->n * g->ho * g->wo, taps = g->kh * g->kw;
  const int depth = taps * g->ci;
  // Under NR input channels (an RGB stem) a tap holds too few values for the
  // k loop: each tile's patches are packed instead, one loop over all taps.
  const int pack = g->ci < NR;
  const float *a[MAX_TAPS * MR], *b[MAX_TAPS];
  float patches[MAX_TAPS * (NR - 1) * MR];
  float *c[MR];
  int tap_of[MAX_TAPS], n_of[MR], oh_of[MR], ow_of[MR];
  for (int tl = begin; tl < end; tl++) {
    for (int r = 0; r < MR; r++) {
      const int p = tl * MR + r;
      n_of[r] = p < positions ? p / (g->ho * g->wo) : -1;
      oh_of[r] = p / g->wo % g->ho;
      ow_of[r] = p % g->wo;
    }
    // Taps whose every row lies in the padding are left out: their products
    // are zeros (a dilated 3×3 on a small map spends up to half its
    // multiply-adds there), and leaving them out changes no sum.
    int used = 0;
    for (int i = 0; i < g->kh; i++) {
      for (int j = 0; j < g->kw; j++) {
        const int t = i * g->kw + j;
        int any = 0;
        for (int r = 0; r < MR; r++) {
          const int ih = oh_of[r] * g->sh + i * g->dh - g->pt;
          const int iw = ow_of[r] * g->sw + j * g->dw - g->pl;
          const int inside = n_of[r] >= 0 && ih >= 0 && ih < g->h && iw >= 0 && iw < g->w;
          const float *src = inside ? x + ((n_of[r] * g->h + ih) * g->w + iw) * g->ci : zero;
          any |= inside;
          if (pack) {
            for (int ch = 0; ch < g->ci; ch++) patches[(t * g->ci + ch) * MR + r] = src[ch];
          } else {
            a[used * MR + r] = src;
          }
        }
        if (any) tap_of[used++] = t;
      }
    }
    for (int j = 0; j < g->co; j += NR) {
      for (int r = 0; r < MR; r++) {
        const int p = tl * MR + r;
        c[r] = p < positions ? y + p * g->co + j : scratch;
      }
      if (pack) {
        tile_packed(patches, packed + j * depth, depth, c, min(NR, g->co - j), 0, MR);
      } else {
        for (int u = 0; u < used; u++) b[u] = packed + j * depth + tap_of[u] * g->ci * NR;
        tile(used, a, b, g->ci, c, min(NR, g->co - j), 0);
      }
      if (epilogue) apply_epilogue(epilogue, c, min(MR, positions - tl * MR), j, min(NR, g->co - j));
    }
  }
}

static inline int ceil_div(int a, int b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// Positions of one phase (iy ≡ ry mod sh, ix ≡ rx mod sw): all rows of a tile
// share a phase, so they share which filter taps reach them.
static inline int phase_positions(const Geometry *g, int ry, int rx) {
  return g->n * ceil_div(g->h - ry, g->sh) * ceil_div(g->w - rx, g->sw);
}

// Work items of conv_input_grad: the phases' tiles interleaved, item =
// tile · phases + phase, so that each thread's range holds every phase
// alike (phases differ in how many taps reach them: 1, 2, 2 and 4 for a
// 3×3 filter at stride 2). Phase (0, 0) has the most tiles; items past a
// smaller phase's tiles are empty.
EXPORT("input_grad_tiles") int input_grad_tiles(const Geometry *g) {
  return ceil_div(phase_positions(g, 0, 0), MR) * g->sh * g->sw;
}

static inline int floor_mod(int a, int m) { return ((a % m) + m) % m; }

// dx [n, h, w, ci] from dy [n·ho·wo, co] and the filter packed by
// pack_transposed_filter; work items as input_grad_tiles counts them.
EXPORT("conv_input_grad") void conv_input_grad(const Geometry *g, const float *dy, const float *packed, float *dx,
                     const float *zero, float *scratch, int begin, int end) {
  const int taps = g->kh * g->kw, phases = g->sh * g->sw;
  const float *a[MAX_TAPS * MR], *b[MAX_TAPS];
  int tap_i[MAX_TAPS], tap_j[MAX_TAPS], off_y[MAX_TAPS], off_x[MAX_TAPS];
  float *c[MR];
  for (int item = begin; item < end; item++) {
    const int phase = item % phases, tl = item / phases;
    const int ry = phase / g->sw, rx = phase % g->sw;
    const int count = phase_positions(g, ry, rx);
    if (tl * MR >= count) continue;
    const int ny = ceil_div(g->h - ry, g->sh), nx = ceil_div(g->w - rx, g->sw);
    // Taps that reach this phase: output row oy = yq + off_y for the
    // phase's row index yq (iy = ry + yq·sh), exactly.
    int reach = 0;
    for (int i = 0; i < g->kh; i++) {
      if (floor_mod(ry + g->pt - i * g->dh, g->sh)) continue;
      for (int j = 0; j < g->kw; j++) {
        if (floor_mod(rx + g->pl - j * g->dw, g->sw)) continue;
        tap_i[reach] = i;
        tap_j[reach] = j;
        off_y[reach] = (ry + g->pt - i * g->dh) / g->sh;
        off_x[reach++] = (rx + g->pl - j * g->dw) / g->sw;
      }
    }
    int q = tl * MR, n = q / (ny * nx), yq = q / nx % ny, xq = q % nx;
    int rows[MR], any[MAX_TAPS];
    for (int t = 0; t < reach; t++) any[t] = 0;
    for (int r = 0; r < MR; r++, q++) {
      rows[r] = q < count ? (n * g->h + ry + yq * g->sh) * g->w + rx + xq * g->sw : -1;
      for (int t = 0; t < reach; t++) {
        const int oy = yq + off_y[t], ox = xq + off_x[t];
        const int inside = q < count && oy >= 0 && oy < g->ho && ox >= 0 && ox < g->wo;
        a[t * MR + r] = inside ? dy + ((n * g->ho + oy) * g->wo + ox) * g->co : zero;
        any[t] |= inside;
      }
      if (++xq == nx) {
        xq = 0;
        if (++yq == ny) {
          yq = 0;
          n++;
        }
      }
    }
    // Taps that reach no row of the tile from inside dy add only zeros: left out.
    int used = 0;
    for (int t = 0; t < reach; t++) {
      if (!any[t]) continue;
      for (int r = 0; r < MR; r++) a[used * MR + r] = a[t * MR + r];
      tap_i[used] = tap_i[t];
      tap_j[used++] = tap_j[t];
    }
    for (int j = 0; j < g->ci; j += NR) {
      for (int t = 0; t < used; t++) {
        b[t] = packed + j * taps * g->co + (tap_i[t] * g->kw + tap_j[t]) * g->co * NR;
      }
      for (int r = 0; r < MR; r++) c[r] = rows[r] >= 0 ? dx + rows[r] * g->ci + j : scratch;
      tile(used, a, b, g->co, c, min(NR, g->ci - j), 0);
    }
  }
}

// dst[m][k][0..MR) = src[k·cols + MR·m + r] (0 past cols): the columns of a
// row-major [rows, cols] matrix as the MR-interleaved left operand.
EXPORT("pack_columns") void pack_columns(const float *src, int rows, int cols, float *dst) {
  for (int m = 0; m < cols; m += MR) {
    const int w = min(MR, cols - m);
    for (int k = 0; k < rows; k++, dst += MR) {
      for (int r = 0; r < MR; r++) dst[r] = r < w ? src[k * cols + m + r] : 0.f;
    }
  }
}

// Positions per packed block of the filter gradient: the block (KC × NR
// floats) stays in the L1 cache while every row tile of dyᵀ passes over it.

// Work items of conv_filter_grad: (tap, NR input channels) pairs, or, with
// fewer than NR input channels (an RGB stem), panels of NR consecutive
// (tap, channel) columns spanning taps: per-tap panels would be mostly zeros.
static inline int spans_taps(const Geometry *g) { return g->ci < NR; }

EXPORT("filter_grad_items") int filter_grad_items(const Geometry *g) {
  const int taps = g->kh * g->kw;
  return spans_taps(g) ? (taps * g->ci + NR - 1) / NR : taps * ((g->ci + NR - 1) / NR);
}

// Packs block[p][0..8) for positions [k0, k0 + kc) of one work item.
static void pack_patch_block(const Geometry *g, const float *x, int item, int k0, int kc,
                             float *block) {
  const int depth = g->kh * g->kw * g->ci, size = g->n * g->h * g->w * g->ci;
  const int spanning = spans_taps(g), channel_panels = (g->ci + NR - 1) / NR;
  // Per column: offset of its tap from the output position, and its channel.
  int dy[NR], dx[NR], ch[NR], nr;
  if (spanning) {
    const int j = item * NR;
    nr = min(NR, depth - j);
    for (int q = 0; q < NR; q++) {
      const int kd = q < nr ? j + q : j, t = kd / g->ci;
      dy[q] = t / g->kw * g->dh - g->pt;
      dx[q] = t % g->kw * g->dw - g->pl;
      ch[q] = kd % g->ci;
    }
  } else {
    const int t = item / channel_panels, j = item % channel_panels * NR;
    nr = min(NR, g->ci - j);
    dy[0] = t / g->kw * g->dh - g->pt;
    dx[0] = t % g->kw * g->dw - g->pl;
    ch[0] = j;
  }
  // Lanes past nr are zeroed.
  const v128_t keep_lo = wasm_i32x4_gt(wasm_i32x4_splat(nr), wasm_i32x4_make(0, 1, 2, 3));
  const v128_t keep_hi = wasm_i32x4_gt(wasm_i32x4_splat(nr), wasm_i32x4_make(4, 5, 6, 7));
  int n = k0 / (g->ho * g->wo), oh = k0 / g->wo % g->ho, ow = k0 % g->wo;
  for (int p = 0; p < kc; p++, block += NR) {
    const float *image = x + n * g->h * g->w * g->ci;
    const int y0 = oh * g->sh, x0 = ow * g->sw;
    if (spanning) {
      for (int q = 0; q < NR; q++) {
        const int ih = y0 + dy[q], iw = x0 + dx[q];
        const int inside = q < nr && ih >= 0 && ih < g->h && iw >= 0 && iw < g->w;
        block[q] = inside ? image[(ih * g->w + iw) * g->ci + ch[q]] : 0.f;
      }
    } else {
      const int ih = y0 + dy[0], iw = x0 + dx[0];
      if (ih >= 0 && ih < g->h && iw >= 0 && iw < g->w) {
        const float *s = image + (ih * g->w + iw) * g->ci + ch[0];
        if (nr == NR) {
          wasm_v128_store(block, wasm_v128_load(s));
          wasm_v128_store(block + 4, wasm_v128_load(s + 4));
        } else if (s + NR <= x + size) {
          // Reads past the channels, within x; the extra lanes are dropped.
          wasm_v128_store(block, wasm_v128_and(wasm_v128_load(s), keep_lo));
          wasm_v128_store(block + 4, wasm_v128_and(wasm_v128_load(s + 4), keep_hi));
        } else {
          for (int q = 0; q < NR; q++) block[q] = q < nr ? s[q] : 0.f;
        }
      } else {
        wasm_v128_store(block, wasm_f32x4_splat(0.f));
        wasm_v128_store(block + 4, wasm_f32x4_splat(0.f));
      }
    }
    if (++ow == g->wo) {
      ow = 0;
      if (++oh == g->ho) {
        oh = 0;
        n++;
      }
    }
  }
}

// dwᵀ [co, kh·kw·ci] from dy packed by pack_columns(dy, n·ho·wo, co) and x;
// work items as filter_grad_items counts them; scratch holds one packed
// block of patches. Blocks of positions are the outer loop: the input rows
// they read stay in the cache while every item of the thread uses them
// (items outermost re-read the whole input once per item).
EXPORT("conv_filter_grad") void conv_filter_grad(const Geometry *g, const float *dy_packed, const float *x, float *dwt,
                      float *scratch, int begin, int end) {
  const int positions = g->n * g->ho * g->wo, depth = g->kh * g->kw * g->ci;
  const int channel_panels = (g->ci + NR - 1) / NR;
  float *c[MR];
  float spill[NR];
  for (int k0 = 0; k0 < positions; k0 += KC) {
    const int kc = min(KC, positions - k0);
    for (int item = begin; item < end; item++) {
      int column, nr;
      if (spans_taps(g)) {
        column = item * NR;
        nr = min(NR, depth - column);
      } else {
        const int t = item / channel_panels, j = item % channel_panels * NR;
        column = t * g->ci + j;
        nr = min(NR, g->ci - j);
      }
      pack_patch_block(g, x, item, k0, kc, scratch);
      // Positions whose tap row lies in the padding add only zeros: each
      // image's run of output rows that the tap reaches from inside x is
      // summed, the rest left out (a whole-block run where taps span).
      int oh0 = 0, oh1 = g->ho;
      if (!spans_taps(g)) {
        const int offset = item / channel_panels / g->kw * g->dh - g->pt;
        oh0 = offset >= 0 ? 0 : (-offset + g->sh - 1) / g->sh;
        oh1 = g->h - offset <= 0 ? 0 : min(g->ho, (g->h - offset + g->sh - 1) / g->sh);
        if (oh0 > oh1) oh0 = oh1;
      }
      const int image = g->ho * g->wo;
      int runs = 0;
      for (int n = k0 / image; n * image < k0 + kc; n++) {
        const int from = n * image + oh0 * g->wo, to = n * image + oh1 * g->wo;
        const int p0 = from > k0 ? from : k0, p1 = min(to, k0 + kc);
        if (p0 >= p1) continue;
        for (int m = 0; m < g->co; m += MR) {
          for (int r = 0; r < MR; r++) c[r] = m + r < g->co ? dwt + (m + r) * depth + column : spill;
          tile_packed(dy_packed + m * positions + p0 * MR, scratch + (p0 - k0) * NR, p1 - p0, c, nr,
                      k0 > 0 || runs > 0, g->co - m);
        }
        runs++;
      }
      if (k0 == 0 && runs == 0) {
        // Nothing reaches this tap in the first block: start its sums at zero.
        for (int m = 0; m < g->co; m += MR) {
          for (int r = 0; r < MR; r++) c[r] = m + r < g->co ? dwt + (m + r) * depth + column : spill;
          tile_packed(dy_packed, scratch, 0, c, nr, 0, g->co - m);
        }
      }
    }
  }
}

// The constants engine.ts must agree with, one function each: a table would be a data
// segment, which would write into tfjs's heap when the module is instantiated there.
EXPORT("constant_mr") int constant_mr(void) { return MR; }
EXPORT("constant_nr") int constant_nr(void) { return NR; }
EXPORT("constant_kc") int constant_kc(void) { return KC; }
EXPORT("constant_max_taps") int constant_max_taps(void) { return MAX_TAPS; }
EXPORT("constant_element_block") int constant_element_block(void) { return ELEMENT_BLOCK; }
EXPORT("constant_column_block") int constant_column_block(void) { return COLUMN_BLOCK; }
EXPORT("constant_norm_block") int constant_norm_block(void) { return NORM_BLOCK; }
EXPORT("constant_row_block") int constant_row_block(void) { return ROW_BLOCK; }
EXPORT("constant_max_classes") int constant_max_classes(void) { return MAX_CLASSES; }
