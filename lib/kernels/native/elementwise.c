// Elementwise kernels and reductions for the wasm backend, replacing tfjs's
// scalar loops where a training step spends milliseconds in them. Built with
// conv.c into one module (build.sh). The *_blocks functions at the end are
// their drivers for engine.ts's thread pool (as in conv.c): each takes a
// half-open range [begin, end) of work items.

#include <wasm_simd128.h>
#include "export.h"

#include "exp4.h"

// constants: as load_exp_constants reads them.
static void exp_f32(const float *restrict x, float *restrict y, int n, const float *restrict constants) {
  ExpConstants c;
  load_exp_constants(constants, &c);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, exp4(wasm_v128_load(x + i), &c));
  if (i < n) {
    float t[4] = {0, 0, 0, 0};
    for (int j = i; j < n; j++) t[j - i] = x[j];
    wasm_v128_store(t, exp4(wasm_v128_load(t), &c));
    for (int j = i; j < n; j++) y[j] = t[j - i];
  }
}

static void leaky_relu_f32(const float *x, float *y, int n, float alpha) {
  const v128_t a = wasm_f32x4_splat(alpha), zero = wasm_f32x4_splat(0.f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i);
    wasm_v128_store(y + i, wasm_v128_bitselect(wasm_f32x4_mul(v, a), v, wasm_f32x4_lt(v, zero)));
  }
  for (; i < n; i++) y[i] = x[i] < 0.f ? x[i] * alpha : x[i];
}

// y[i] = a[i] > b[i·step] (step 0: b is a scalar), as 0/1 bytes.
static void greater_f32(const float *a, const float *b, int step, unsigned char *y, int n) {
  int i = 0;
  if (step == 0) {
    const v128_t s = wasm_f32x4_splat(b[0]);
    for (; i + 16 <= n; i += 16) {
      const v128_t m0 = wasm_f32x4_gt(wasm_v128_load(a + i), s);
      const v128_t m1 = wasm_f32x4_gt(wasm_v128_load(a + i + 4), s);
      const v128_t m2 = wasm_f32x4_gt(wasm_v128_load(a + i + 8), s);
      const v128_t m3 = wasm_f32x4_gt(wasm_v128_load(a + i + 12), s);
      const v128_t bytes = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(m0, m1),
                                                   wasm_i16x8_narrow_i32x4(m2, m3));
      wasm_v128_store(y + i, wasm_v128_and(bytes, wasm_i8x16_splat(1)));
    }
  }
  for (; i < n; i++) y[i] = a[i] > b[i * step];
}

// y[i] = c[i] ? a[i] : b[i].
static void select_f32(const unsigned char *c, const float *a, const float *b, float *y, int n) {
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t bytes = wasm_v128_load32_zero(c + i);
    const v128_t wide = wasm_u32x4_extend_low_u16x8(wasm_u16x8_extend_low_u8x16(bytes));
    const v128_t mask = wasm_i32x4_ne(wide, wasm_i32x4_splat(0));
    wasm_v128_store(y + i, wasm_v128_bitselect(wasm_v128_load(a + i), wasm_v128_load(b + i), mask));
  }
  for (; i < n; i++) y[i] = c[i] ? a[i] : b[i];
}

// Double sums of eight float columns, two vectors per row.
typedef struct {
  v128_t s0, s1, s2, s3;
} Sums8;

static inline void sums8_zero(Sums8 *s) { s->s0 = s->s1 = s->s2 = s->s3 = wasm_f64x2_splat(0.0); }

static inline void sums8_add(Sums8 *s, v128_t lo, v128_t hi) {
  s->s0 = wasm_f64x2_add(s->s0, wasm_f64x2_promote_low_f32x4(lo));
  s->s1 = wasm_f64x2_add(s->s1, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(lo, lo, 2, 3, 0, 1)));
  s->s2 = wasm_f64x2_add(s->s2, wasm_f64x2_promote_low_f32x4(hi));
  s->s3 = wasm_f64x2_add(s->s3, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(hi, hi, 2, 3, 0, 1)));
}

static inline void sums8_store(const Sums8 *s, double *out) {
  wasm_v128_store(out, s->s0);
  wasm_v128_store(out + 2, s->s1);
  wasm_v128_store(out + 4, s->s2);
  wasm_v128_store(out + 6, s->s3);
}

// y[c] = scale · Σ_r x[r·cols + c], accumulated in double precision (as
// tfjs's cpu backend does): a sum (scale 1) or mean (1 / rows) over leading
// axes, such as a bias gradient or batch norm's statistics.
static void sum_rows_f32(const float *x, int rows, int cols, int stride, double scale,
                         double *acc, float *y) {
  int c = 0;
  // Eight columns at a time, their sums in registers over every row: sums
  // kept in memory would chain each row's load and store through memory.
  for (; c + 8 <= cols; c += 8) {
    Sums8 sums;
    sums8_zero(&sums);
    const float *p = x + c;
    for (int r = 0; r < rows; r++, p += stride) {
      sums8_add(&sums, wasm_v128_load(p), wasm_v128_load(p + 4));
    }
    sums8_store(&sums, acc + c);
  }
  for (; c < cols; c++) {
    double sum = 0.0;
    const float *p = x + c;
    for (int r = 0; r < rows; r++, p += stride) sum += *p;
    acc[c] = sum;
  }
  for (int k = 0; k < cols; k++) y[k] = (float)(acc[k] * scale);
}

// One axis of a bilinear resize as the forward kernels compute it: output
// index o reads input rows lo and hi with weights 1 − frac and frac.
static inline void bilinear_source(int o, double ratio, int half_pixel, int in_size, int *lo,
                                   int *hi, float *frac) {
  const double source = half_pixel ? ratio * (o + 0.5) - 0.5 : ratio * o;
  double floor_source = (double)(long long)source;
  if (floor_source > source) floor_source -= 1.0;
  const int f = floor_source < 0 ? 0 : (int)floor_source;
  double ceil_source = (double)(long long)source;
  if (ceil_source < source) ceil_source += 1.0;
  const int c = (int)ceil_source;
  *lo = f;
  *hi = c < in_size - 1 ? (c < 0 ? 0 : c) : in_size - 1;
  *frac = (float)(source - f);
}

static inline void add_scaled(float *dst, const float *src, float w, int channels) {
  const v128_t wv = wasm_f32x4_splat(w);
  int d = 0;
  for (; d + 4 <= channels; d += 4) {
    wasm_v128_store(dst + d, wasm_f32x4_add(wasm_v128_load(dst + d),
                                            wasm_f32x4_mul(wasm_v128_load(src + d), wv)));
  }
  for (; d < channels; d++) dst[d] += src[d] * w;
}

// The gradient of a bilinear resize (NHWC, [n, ih, iw, c] → [n, oh, ow, c]):
// every dy value goes back to the four input pixels it was read from, with
// the forward weights; half-pixel centres as the forward pass uses them.
static void resize_bilinear_grad(const float *dy, int n, int oh, int ow, int c, int ih, int iw,
                          double ratio_h, double ratio_w, int half_pixel, float *dx) {
  for (int i = 0; i < n * ih * iw * c; i++) dx[i] = 0.f;
  for (int b = 0; b < n; b++) {
    float *image = dx + b * ih * iw * c;
    for (int r = 0; r < oh; r++) {
      int top, bottom;
      float rf;
      bilinear_source(r, ratio_h, half_pixel, ih, &top, &bottom, &rf);
      for (int col = 0; col < ow; col++, dy += c) {
        int left, right;
        float cf;
        bilinear_source(col, ratio_w, half_pixel, iw, &left, &right, &cf);
        add_scaled(image + (top * iw + left) * c, dy, (1.f - rf) * (1.f - cf), c);
        add_scaled(image + (top * iw + right) * c, dy, (1.f - rf) * cf, c);
        add_scaled(image + (bottom * iw + left) * c, dy, rf * (1.f - cf), c);
        add_scaled(image + (bottom * iw + right) * c, dy, rf * cf, c);
      }
    }
  }
}

// The gradient of max pooling (NHWC): each dy value goes to the first
// maximum of its window, as tfjs's kernels pick it (strictly greater wins);
// windows with no finite maximum (all −∞ or NaN) pass nothing back.
static void max_pool_grad(const float *x, const float *dy, int n, int h, int w, int c, int oh, int ow,
                   int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl, float *dx) {
  for (int i = 0; i < n * h * w * c; i++) dx[i] = 0.f;
  for (int b = 0; b < n; b++) {
    const float *image = x + b * h * w * c;
    float *grad = dx + b * h * w * c;
    for (int oy = 0; oy < oh; oy++) {
      for (int ox = 0; ox < ow; ox++, dy += c) {
        for (int ch = 0; ch < c; ch++) {
          float best = -__builtin_inff();
          int at = -1;
          for (int i = 0; i < kh; i++) {
            const int iy = oy * sh + i * dh - pt;
            if (iy < 0 || iy >= h) continue;
            for (int j = 0; j < kw; j++) {
              const int ix = ox * sw + j * dw - pl;
              if (ix < 0 || ix >= w) continue;
              const float v = image[(iy * w + ix) * c + ch];
              if (v > best) {
                best = v;
                at = (iy * w + ix) * c + ch;
              }
            }
          }
          if (at >= 0) grad[at] += dy[ch];
        }
      }
    }
  }
}

// The gradient of relu (alpha 0, NaN where x is NaN, as tfjs's dy · step(x))
// or of leaky relu (alpha, as tfjs's where(x > 0, dy, α·dy)) in one pass:
// y = x > 0 ? dy : α·dy.
static void activation_grad_f32(const float *x, const float *dy, float *y, int n, float alpha,
                         int nan_propagates) {
  const v128_t a = wasm_f32x4_splat(alpha), zero = wasm_f32x4_splat(0.f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t v = wasm_v128_load(x + i), g = wasm_v128_load(dy + i);
    v128_t out = wasm_v128_bitselect(g, wasm_f32x4_mul(g, a), wasm_f32x4_gt(v, zero));
    if (nan_propagates) out = wasm_v128_bitselect(out, v, wasm_f32x4_eq(v, v));
    wasm_v128_store(y + i, out);
  }
  for (; i < n; i++) {
    const float out = x[i] > 0.f ? dy[i] : dy[i] * alpha;
    y[i] = nan_propagates && x[i] != x[i] ? x[i] : out;
  }
}

// ---------------------------------------------------------------- drivers


static inline int min_int(int a, int b) { return a < b ? a : b; }

// Items are blocks of ELEMENT_BLOCK elements: [i0, i1) of n.
#define ELEMENT_RANGE(n)                              \
  const int i0 = begin * ELEMENT_BLOCK, i1 = min_int(n, end * ELEMENT_BLOCK); \
  (void)scratch;                                      \
  if (i0 >= i1) return

EXPORT("exp_blocks") void exp_blocks(const float *x, float *y, int n, const float *constants, float *scratch,
                int begin, int end) {
  ELEMENT_RANGE(n);
  exp_f32(x + i0, y + i0, i1 - i0, constants);
}

// alpha: a float in memory (the pool passes integers).
EXPORT("leaky_relu_blocks") void leaky_relu_blocks(const float *x, float *y, int n, const float *alpha, float *scratch,
                       int begin, int end) {
  ELEMENT_RANGE(n);
  leaky_relu_f32(x + i0, y + i0, i1 - i0, *alpha);
}

EXPORT("activation_grad_blocks") void activation_grad_blocks(const float *x, const float *dy, float *y, int n, const float *alpha,
                            int nan_propagates, float *scratch, int begin, int end) {
  ELEMENT_RANGE(n);
  activation_grad_f32(x + i0, dy + i0, y + i0, i1 - i0, *alpha, nan_propagates);
}

EXPORT("greater_blocks") void greater_blocks(const float *a, const float *b, int step, unsigned char *y, int n,
                    float *scratch, int begin, int end) {
  ELEMENT_RANGE(n);
  greater_f32(a + i0, b + i0 * step, step, y + i0, i1 - i0);
}

EXPORT("select_blocks") void select_blocks(const unsigned char *c, const float *a, const float *b, float *y, int n,
                   float *scratch, int begin, int end) {
  ELEMENT_RANGE(n);
  select_f32(c + i0, a + i0, b + i0, y + i0, i1 - i0);
}

// Items are blocks of COLUMN_BLOCK columns, each summed over every row by
// one thread: the result does not depend on how many threads share the job.
EXPORT("sum_rows_blocks") void sum_rows_blocks(const float *x, int rows, int cols, int mean, double *acc, float *y,
                     float *scratch, int begin, int end) {
  (void)scratch;
  const int c0 = begin * COLUMN_BLOCK, c1 = min_int(cols, end * COLUMN_BLOCK);
  if (c0 >= c1) return;
  sum_rows_f32(x + c0, rows, c1 - c0, cols, mean ? 1.0 / rows : 1.0, acc + c0, y + c0);
}

// Items are images of the batch. ratios: two doubles in memory (h, w).
EXPORT("resize_bilinear_grad_images") void resize_bilinear_grad_images(const float *dy, int n, int oh, int ow, int c, int ih, int iw,
                                 const double *ratios, int half_pixel, float *dx,
                                 float *scratch, int begin, int end) {
  (void)scratch;
  (void)n;
  if (begin >= end) return;
  resize_bilinear_grad(dy + begin * oh * ow * c, end - begin, oh, ow, c, ih, iw, ratios[0],
                       ratios[1], half_pixel, dx + begin * ih * iw * c);
}

// Items are images of the batch.
EXPORT("max_pool_grad_images") void max_pool_grad_images(const float *x, const float *dy, int n, int h, int w, int c, int oh,
                          int ow, int kh, int kw, int sh, int sw, int dh, int dw, int pt, int pl,
                          float *dx, float *scratch, int begin, int end) {
  (void)scratch;
  (void)n;
  if (begin >= end) return;
  max_pool_grad(x + begin * h * w * c, dy + begin * oh * ow * c, end - begin, h, w, c, oh, ow,
                kh, kw, sh, sw, dh, dw, pt, pl, dx + begin * h * w * c);
}

// One Adam step (scaleByAdam), elementwise over blocks of ELEMENT_BLOCK:
// m' = β₁·m + (1 − β₁)·g, v' = β₂·v + (1 − β₂)·g², out = (m'/c₁) / (√(v'/c₂) + ε),
// in the order and precision of the composed tfjs kernels (so bit for bit
// theirs). scalars: β₁, 1 − β₁, β₂, 1 − β₂, ε; c1, c2: the bias corrections.
EXPORT("adam_blocks") void adam_blocks(const float *g, const float *m, const float *v, const float *scalars,
                 const float *c1, const float *c2, float *out, float *m2, float *v2, int n,
                 float *scratch, int begin, int end) {
  ELEMENT_RANGE(n);
  const v128_t b1 = wasm_f32x4_splat(scalars[0]), k1 = wasm_f32x4_splat(scalars[1]);
  const v128_t b2 = wasm_f32x4_splat(scalars[2]), k2 = wasm_f32x4_splat(scalars[3]);
  const v128_t eps = wasm_f32x4_splat(scalars[4]);
  const v128_t d1 = wasm_f32x4_splat(*c1), d2 = wasm_f32x4_splat(*c2);
  int i = i0;
  for (; i + 4 <= i1; i += 4) {
    const v128_t gi = wasm_v128_load(g + i);
    const v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), b1), wasm_f32x4_mul(gi, k1));
    const v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), b2),
                                     wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), k2));
    const v128_t denominator = wasm_f32x4_add(wasm_f32x4_sqrt(wasm_f32x4_div(vi, d2)), eps);
    wasm_v128_store(out + i, wasm_f32x4_div(wasm_f32x4_div(mi, d1), denominator));
    wasm_v128_store(m2 + i, mi);
    wasm_v128_store(v2 + i, vi);
  }
  for (; i < i1; i++) {
    const float mi = m[i] * scalars[0] + g[i] * scalars[1];
    const float vi = v[i] * scalars[2] + (g[i] * g[i]) * scalars[3];
    out[i] = (mi / *c1) / (__builtin_sqrtf(vi / *c2) + scalars[4]);
    m2[i] = mi;
    v2[i] = vi;
  }
}

// ------------------------------------------------------- batch normalisation
//
// x [rows, cols] normalised per column (channels last: rows = N·H·W), in
// the order and precision of model/layers.ts's composed kernels: column sums
// in double precision rounded to float, every elementwise step in float.
// Work items are blocks of NORM_BLOCK columns; a thread makes all passes
// over its own columns.


// Forward: y = x̂·γ + β with x̂ = (x − μ)·r, μ = mean x, r = 1/√(mean (x − μ)² + ε);
// writes y, x̂ and r (cols values).
EXPORT("batch_norm_blocks") void batch_norm_blocks(const float *x, const float *gamma, const float *beta, const float *eps,
                       float *y, float *xhat, float *rstd, int rows, int cols, float *scratch,
                       int begin, int end) {
  (void)scratch;
  const double inverse_rows = 1.0 / rows;
  for (int c0 = begin * NORM_BLOCK; c0 < cols && c0 < end * NORM_BLOCK; c0 += NORM_BLOCK) {
    const int width = cols - c0 < NORM_BLOCK ? cols - c0 : NORM_BLOCK;
    float mean[NORM_BLOCK], r[NORM_BLOCK];
    double s[NORM_BLOCK];
    if (width == NORM_BLOCK) {
      Sums8 sums;
      sums8_zero(&sums);
      for (int row = 0; row < rows; row++) {
        const float *p = x + row * cols + c0;
        sums8_add(&sums, wasm_v128_load(p), wasm_v128_load(p + 4));
      }
      sums8_store(&sums, s);
      for (int i = 0; i < NORM_BLOCK; i++) mean[i] = (float)(s[i] * inverse_rows);
      const v128_t m0 = wasm_v128_load(mean), m1 = wasm_v128_load(mean + 4);
      sums8_zero(&sums);
      for (int row = 0; row < rows; row++) {
        const float *p = x + row * cols + c0;
        const v128_t d0 = wasm_f32x4_sub(wasm_v128_load(p), m0);
        const v128_t d1 = wasm_f32x4_sub(wasm_v128_load(p + 4), m1);
        sums8_add(&sums, wasm_f32x4_mul(d0, d0), wasm_f32x4_mul(d1, d1));
      }
      sums8_store(&sums, s);
      for (int i = 0; i < NORM_BLOCK; i++) {
        r[i] = 1.f / __builtin_sqrtf((float)(s[i] * inverse_rows) + *eps);
        rstd[c0 + i] = r[i];
      }
      const v128_t r0 = wasm_v128_load(r), r1 = wasm_v128_load(r + 4);
      const v128_t g0 = wasm_v128_load(gamma + c0), g1 = wasm_v128_load(gamma + c0 + 4);
      const v128_t b0 = wasm_v128_load(beta + c0), b1 = wasm_v128_load(beta + c0 + 4);
      for (int row = 0; row < rows; row++) {
        const int at = row * cols + c0;
        const v128_t h0 = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + at), m0), r0);
        const v128_t h1 = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + at + 4), m1), r1);
        wasm_v128_store(xhat + at, h0);
        wasm_v128_store(xhat + at + 4, h1);
        wasm_v128_store(y + at, wasm_f32x4_add(wasm_f32x4_mul(h0, g0), b0));
        wasm_v128_store(y + at + 4, wasm_f32x4_add(wasm_f32x4_mul(h1, g1), b1));
      }
      continue;
    }
    for (int i = 0; i < width; i++) s[i] = 0.0;
    for (int row = 0; row < rows; row++) {
      const float *p = x + row * cols + c0;
      for (int i = 0; i < width; i++) s[i] += p[i];
    }
    for (int i = 0; i < width; i++) {
      mean[i] = (float)(s[i] * inverse_rows);
      s[i] = 0.0;
    }
    for (int row = 0; row < rows; row++) {
      const float *p = x + row * cols + c0;
      for (int i = 0; i < width; i++) {
        const float d = p[i] - mean[i];
        s[i] += d * d;
      }
    }
    for (int i = 0; i < width; i++) {
      r[i] = 1.f / __builtin_sqrtf((float)(s[i] * inverse_rows) + *eps);
      rstd[c0 + i] = r[i];
    }
    for (int row = 0; row < rows; row++) {
      const int at = row * cols + c0;
      for (int i = 0; i < width; i++) {
        const float h = (x[at + i] - mean[i]) * r[i];
        xhat[at + i] = h;
        y[at + i] = h * gamma[c0 + i] + beta[c0 + i];
      }
    }
  }
}

// Backward: dγ = Σ dy·x̂, dβ = Σ dy, dx = ((dy − dβ/m) − x̂·(dγ/m))·(r·γ), m = rows.
EXPORT("batch_norm_grad_blocks") void batch_norm_grad_blocks(const float *dy, const float *xhat, const float *rstd,
                            const float *gamma, float *dx, float *dgamma, float *dbeta, int rows,
                            int cols, float *scratch, int begin, int end) {
  (void)scratch;
  const float m = (float)rows;
  for (int c0 = begin * NORM_BLOCK; c0 < cols && c0 < end * NORM_BLOCK; c0 += NORM_BLOCK) {
    const int width = cols - c0 < NORM_BLOCK ? cols - c0 : NORM_BLOCK;
    double sg[NORM_BLOCK], sb[NORM_BLOCK];
    float a[NORM_BLOCK], b[NORM_BLOCK], k[NORM_BLOCK];
    if (width == NORM_BLOCK) {
      Sums8 g, bsum;
      sums8_zero(&g);
      sums8_zero(&bsum);
      for (int row = 0; row < rows; row++) {
        const int at = row * cols + c0;
        const v128_t d0 = wasm_v128_load(dy + at), d1 = wasm_v128_load(dy + at + 4);
        sums8_add(&g, wasm_f32x4_mul(d0, wasm_v128_load(xhat + at)),
                  wasm_f32x4_mul(d1, wasm_v128_load(xhat + at + 4)));
        sums8_add(&bsum, d0, d1);
      }
      sums8_store(&g, sg);
      sums8_store(&bsum, sb);
    } else {
      for (int i = 0; i < width; i++) sg[i] = sb[i] = 0.0;
      for (int row = 0; row < rows; row++) {
        const int at = row * cols + c0;
        for (int i = 0; i < width; i++) {
          sg[i] += dy[at + i] * xhat[at + i];
          sb[i] += dy[at + i];
        }
      }
    }
    for (int i = 0; i < width; i++) {
      dgamma[c0 + i] = (float)sg[i];
      dbeta[c0 + i] = (float)sb[i];
      a[i] = dbeta[c0 + i] / m;
      b[i] = dgamma[c0 + i] / m;
      k[i] = rstd[c0 + i] * gamma[c0 + i];
    }
    if (width == NORM_BLOCK) {
      const v128_t a0 = wasm_v128_load(a), a1 = wasm_v128_load(a + 4);
      const v128_t b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
      const v128_t k0 = wasm_v128_load(k), k1 = wasm_v128_load(k + 4);
      for (int row = 0; row < rows; row++) {
        const int at = row * cols + c0;
        const v128_t t0 = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(dy + at), a0),
                                         wasm_f32x4_mul(wasm_v128_load(xhat + at), b0));
        const v128_t t1 = wasm_f32x4_sub(wasm_f32x4_sub(wasm_v128_load(dy + at + 4), a1),
                                         wasm_f32x4_mul(wasm_v128_load(xhat + at + 4), b1));
        wasm_v128_store(dx + at, wasm_f32x4_mul(t0, k0));
        wasm_v128_store(dx + at + 4, wasm_f32x4_mul(t1, k1));
      }
      continue;
    }
    for (int row = 0; row < rows; row++) {
      const int at = row * cols + c0;
      for (int i = 0; i < width; i++) dx[at + i] = ((dy[at + i] - a[i]) - xhat[at + i] * b[i]) * k[i];
    }
  }
}
