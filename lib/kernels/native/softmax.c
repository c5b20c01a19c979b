// Row-wise kernels over the last axis of a [rows, classes] matrix: softmax,
// the sparse softmax cross-entropy (class ids as labels), and their
// gradients. One pass over each row, where tfjs composes a log-softmax or a
// softmax gradient from five to eight single-threaded kernels, each a full
// pass over memory.
//
// Drivers as in conv.c: work items are blocks of ROW_BLOCK rows, [begin,
// end) of them per thread; at most MAX_CLASSES classes. Within a thread's
// range a row is read and written as whole vectors, running up to 3 values
// into the rows after it, which that thread rewrites next; the range's last
// rows go through a buffer, so nothing past the range is touched.

#include <wasm_simd128.h>
#include "export.h"

#include "exp4.h"


static inline int vectors(int classes) { return (classes + 3) / 4; }

// True in the lanes of a row's last vector that hold its values.
static inline v128_t valid_lanes(int classes) {
  const int valid = classes - 4 * (vectors(classes) - 1);
  return wasm_i32x4_gt(wasm_i32x4_splat(valid), wasm_i32x4_make(0, 1, 2, 3));
}

// A row read and written in place as whole vectors, or (the range's last
// row) through a buffer of its own. Copies are lane by lane: a loop would
// compile to memory.copy, which V8 runs as a call.
typedef struct {
  float buffer[MAX_CLASSES];
} RowBuffer;

static const float *row_in(const float *src, int classes, int whole, RowBuffer *b) {
  if (whole) return src;
  for (int i = 0; i < classes; i++) b->buffer[i] = src[i];
  return b->buffer;
}

static void row_out(float *dst, const float *written, int classes, int whole) {
  if (whole) return;
  for (int i = 0; i < classes; i++) dst[i] = written[i];
}

static inline v128_t splat_lane0(v128_t v) { return wasm_i32x4_shuffle(v, v, 0, 0, 0, 0); }

static inline v128_t hmax(v128_t m) {
  m = wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 2, 3, 0, 1));
  return splat_lane0(wasm_f32x4_pmax(m, wasm_i32x4_shuffle(m, m, 1, 0, 3, 2)));
}

static inline v128_t hsum(v128_t s) {
  s = wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 2, 3, 0, 1));
  return splat_lane0(wasm_f32x4_add(s, wasm_i32x4_shuffle(s, s, 1, 0, 3, 2)));
}

// The row's maximum in every lane. pmax is one instruction where max (which
// propagates NaN) is several; a NaN it passes over still reaches every
// output, through exp(NaN − m) into the row's sum.
static inline v128_t row_max(const float *z, int nv, v128_t valid) {
  const v128_t ninf = wasm_f32x4_splat(-__builtin_inff());
  v128_t m = wasm_v128_bitselect(wasm_v128_load(z + 4 * (nv - 1)), ninf, valid);
  for (int i = 0; i < nv - 1; i++) m = wasm_f32x4_pmax(m, wasm_v128_load(z + 4 * i));
  return hmax(m);
}

// e = exp(z − m) (lanes past the row 0) into e, when given; returns Σ e in
// every lane.
static inline v128_t exp_sum(const float *z, float *e, int nv, v128_t m, v128_t valid,
                             const ExpConstants *c) {
  v128_t s = wasm_f32x4_splat(0.f);
  for (int i = 0; i < nv - 1; i++) {
    const v128_t v = exp4(wasm_f32x4_sub(wasm_v128_load(z + 4 * i), m), c);
    if (e) wasm_v128_store(e + 4 * i, v);
    s = wasm_f32x4_add(s, v);
  }
  const v128_t last = wasm_v128_and(exp4(wasm_f32x4_sub(wasm_v128_load(z + 4 * (nv - 1)), m), c), valid);
  if (e) wasm_v128_store(e + 4 * (nv - 1), last);
  return hsum(wasm_f32x4_add(s, last));
}

// ln s for a sum of exponentials, s in [1, MAX_CLASSES] (or NaN), in double
// precision: s = 2^e·m with m in [√½, √2) from the float's bits, and
// ln m = 2·atanh(t), t = (m − 1)/(m + 1), |t| < 0.172, by its series to t⁹
// (the next term is below 10⁻⁹, far under a float's precision).
static inline double log_sum(float s) {
  if (s != s) return s;
  const unsigned bits = __builtin_bit_cast(unsigned, s);
  int e = (int)(bits >> 23) - 127;
  double m = (double)__builtin_bit_cast(float, (bits & 0x007fffffu) | 0x3f800000u);
  if (m >= 1.4142135623730951) {
    m *= 0.5;
    e++;
  }
  const double t = (m - 1.0) / (m + 1.0), t2 = t * t;
  const double series = (((t2 / 9.0 + 1.0 / 7.0) * t2 + 1.0 / 5.0) * t2 + 1.0 / 3.0) * t2 + 1.0;
  return e * 0.6931471805599453 + 2.0 * t * series;
}

static inline int last_row(int rows, int end) {
  const int r = end * ROW_BLOCK;
  return r < rows ? r : rows;
}

// Whether row r may be read and written as whole vectors: they end within
// the range's rows [.., r1).
static inline int whole_row(int r, int r1, int classes) {
  return (r1 - r) * classes >= 4 * vectors(classes);
}

// p[r] = softmax(z[r]).
EXPORT("softmax_rows") void softmax_rows(const float *z, float *p, int rows, int classes, const float *constants,
                  float *scratch, int begin, int end) {
  (void)scratch;
  ExpConstants c;
  load_exp_constants(constants, &c);
  const int nv = vectors(classes), r1 = last_row(rows, end);
  const v128_t valid = valid_lanes(classes);
  RowBuffer in, out;
  for (int r = begin * ROW_BLOCK; r < r1; r++) {
    const int whole = whole_row(r, r1, classes);
    const float *zr = row_in(z + r * classes, classes, whole, &in);
    float *pr = whole ? p + r * classes : out.buffer;
    const v128_t s = exp_sum(zr, pr, nv, row_max(zr, nv, valid), valid, &c);
    const v128_t inverse = wasm_f32x4_div(wasm_f32x4_splat(1.f), s);
    for (int i = 0; i < nv; i++) {
      wasm_v128_store(pr + 4 * i, wasm_f32x4_mul(wasm_v128_load(pr + 4 * i), inverse));
    }
    row_out(p + r * classes, pr, classes, whole);
  }
}

// dz[r] = p[r] ⊙ (dp[r] − ⟨p[r], dp[r]⟩): softmax's gradient from its output.
EXPORT("softmax_rows_grad") void softmax_rows_grad(const float *p, const float *dp, float *dz, int rows, int classes,
                       float *scratch, int begin, int end) {
  (void)scratch;
  const int nv = vectors(classes), r1 = last_row(rows, end);
  const v128_t valid = valid_lanes(classes);
  RowBuffer in_p, in_dp, out;
  for (int r = begin * ROW_BLOCK; r < r1; r++) {
    const int whole = whole_row(r, r1, classes);
    const float *pr = row_in(p + r * classes, classes, whole, &in_p);
    const float *gr = row_in(dp + r * classes, classes, whole, &in_dp);
    float *dr = whole ? dz + r * classes : out.buffer;
    v128_t dot = wasm_f32x4_splat(0.f);
    for (int i = 0; i < nv; i++) {
      v128_t prod = wasm_f32x4_mul(wasm_v128_load(pr + 4 * i), wasm_v128_load(gr + 4 * i));
      if (i == nv - 1) prod = wasm_v128_and(prod, valid);
      dot = wasm_f32x4_add(dot, prod);
    }
    dot = hsum(dot);
    for (int i = 0; i < nv; i++) {
      const v128_t g = wasm_f32x4_sub(wasm_v128_load(gr + 4 * i), dot);
      wasm_v128_store(dr + 4 * i, wasm_f32x4_mul(wasm_v128_load(pr + 4 * i), g));
    }
    row_out(dz + r * classes, dr, classes, whole);
  }
}

static inline int labelled(int label, int classes) { return label >= 0 && label < classes; }

// stats[r] = (m, ln Σ_c exp(z[r, c] − m)) with m = max z[r]; loss[r] =
// m + ln Σ − z[r, y_r] where 0 ≤ y_r < classes, else 0 (an ignored row).
// The gradient takes m and ln Σ apart: exp((z − m) − ln Σ) keeps the
// probabilities accurate, where exp(z − (m + ln Σ)) loses bits to rounding
// m + ln Σ.
EXPORT("sparse_xent_rows") void sparse_xent_rows(const float *z, const int *labels, float *loss, float *stats, int rows,
                      int classes, const float *constants, float *scratch, int begin, int end) {
  (void)scratch;
  ExpConstants c;
  load_exp_constants(constants, &c);
  const int nv = vectors(classes), r1 = last_row(rows, end);
  const v128_t valid = valid_lanes(classes);
  RowBuffer in;
  for (int r = begin * ROW_BLOCK; r < r1; r++) {
    const float *zr = row_in(z + r * classes, classes, whole_row(r, r1, classes), &in);
    const v128_t m = row_max(zr, nv, valid);
    const float s = wasm_f32x4_extract_lane(exp_sum(zr, 0, nv, m, valid, &c), 0);
    const float top = wasm_f32x4_extract_lane(m, 0);
    const double log_s = log_sum(s);
    stats[2 * r] = top;
    stats[2 * r + 1] = (float)log_s;
    // (z_y − m) is exact for the values that matter; ln Σ stays in double.
    loss[r] = labelled(labels[r], classes) ? (float)(log_s - (double)(zr[labels[r]] - top)) : 0.f;
  }
}

// dz[r] = dloss[r] · (exp((z[r] − m) − ln Σ) − onehot(y_r)) for labelled
// rows (m, ln Σ from stats[r]), 0 for ignored ones.
EXPORT("sparse_xent_rows_grad") void sparse_xent_rows_grad(const float *z, const int *labels, const float *stats,
                           const float *dloss, float *dz, int rows, int classes,
                           const float *constants, float *scratch, int begin, int end) {
  (void)scratch;
  ExpConstants c;
  load_exp_constants(constants, &c);
  const int nv = vectors(classes), r1 = last_row(rows, end);
  RowBuffer in, out;
  for (int r = begin * ROW_BLOCK; r < r1; r++) {
    const int whole = whole_row(r, r1, classes), y = labels[r];
    const float *zr = row_in(z + r * classes, classes, whole, &in);
    float *dr = whole ? dz + r * classes : out.buffer;
    if (labelled(y, classes)) {
      const v128_t top = wasm_f32x4_splat(stats[2 * r]), log_s = wasm_f32x4_splat(stats[2 * r + 1]);
      const v128_t g = wasm_f32x4_splat(dloss[r]);
      for (int i = 0; i < nv; i++) {
        const v128_t shifted = wasm_f32x4_sub(wasm_v128_load(zr + 4 * i), top);
        const v128_t e = exp4(wasm_f32x4_sub(shifted, log_s), &c);
        wasm_v128_store(dr + 4 * i, wasm_f32x4_mul(e, g));
      }
      dr[y] -= dloss[r];
    } else {
      for (int i = 0; i < nv; i++) wasm_v128_store(dr + 4 * i, wasm_f32x4_splat(0.f));
    }
    row_out(dz + r * classes, dr, classes, whole);
  }
}
