// exp(x) on four lanes, shared by elementwise.c and softmax.c.

#ifndef EXP4_H
#define EXP4_H

#include <wasm_simd128.h>

// The constants of exp4, in the order EXP_CONSTANTS lists them in engine.ts.
// They come from memory, not from the code: V8 rebuilds a v128 constant
// from general registers each time the code names it (3–4 instructions),
// where a splat loaded once before the loop stays in a register.
typedef struct {
  v128_t lo, hi, log2e, magic, ln2_hi, ln2_lo, p0, p1, p2, p3, p4, p5, one, bias;
} ExpConstants;

// exp(x) for four lanes: x = k·ln 2 + r with |r| ≤ ln 2 / 2, e^r by Cephes'
// degree-6 polynomial (expf's), then 2^k applied in two halves so that
// results in the subnormal range and overflow to infinity come out right.
static inline v128_t exp4(v128_t x, const ExpConstants *c) {
  // pmin/pmax are single instructions (min/max propagate NaN in several);
  // a NaN x stays NaN through these and the polynomial.
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, c->lo), c->hi);
  // Rounding to an integer by adding 1.5·2²³: the sum's low mantissa bits
  // hold k, so no conversion instructions are needed.
  const v128_t shifted = wasm_f32x4_add(wasm_f32x4_mul(x, c->log2e), c->magic);
  const v128_t k = wasm_f32x4_sub(shifted, c->magic);
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(k, c->ln2_hi));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(k, c->ln2_lo));
  v128_t p = c->p0;
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p1);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p2);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p3);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p4);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p5);
  p = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_mul(p, r), r), r);
  p = wasm_f32x4_add(p, c->one);
  const v128_t ki = wasm_i32x4_sub(shifted, c->magic);
  const v128_t half = wasm_i32x4_shr(ki, 1), rest = wasm_i32x4_sub(ki, half);
  const v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(half, c->bias), 23);
  const v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(rest, c->bias), 23);
  return wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
}

// Reads ExpConstants from 14 floats in memory (EXP_CONSTANTS in engine.ts;
// bias as the float 127, converted here).
static inline void load_exp_constants(const float *constants, ExpConstants *c) {
  v128_t *fields = &c->lo;
  for (int i = 0; i < 13; i++) fields[i] = wasm_v128_load32_splat(constants + i);
  c->bias = wasm_i32x4_splat((int)constants[13]);
}

#endif
