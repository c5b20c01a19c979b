// What the kernels share with engine.ts: exports by name (no list in build.sh), and the
// constants both sides must agree on, exported through kernel_constant() so that engine.ts
// reads them from the module instead of repeating them.
#ifndef UDA_EXPORT_H
#define UDA_EXPORT_H

#define EXPORT(name) __attribute__((export_name(name)))

#define MR 6              // rows of a convolution register tile
#define NR 8              // columns of a convolution register tile
#define MAX_TAPS 64       // filter taps a convolution takes at most
#define KC 512            // depth of a filter-gradient block
#define ELEMENT_BLOCK 4096 // elements per work item of the elementwise kernels
#define COLUMN_BLOCK 16   // columns per work item of the row sums
#define NORM_BLOCK 8      // channels per work item of batch norm
#define ROW_BLOCK 32      // rows per work item of the softmax kernels
#define MAX_CLASSES 256   // classes the softmax kernels take at most
#define DW_CHANNEL_BLOCK 16 // channels per work item of the depthwise filter gradient (one 64-byte line)

#define ACTIVATION_LINEAR 0
#define ACTIVATION_RELU 1     // x < 0 ? 0 : x
#define ACTIVATION_LEAKY_RELU 2 // x < 0 ? α·x : x
#define ACTIVATION_RELU6 3    // min(max(x, 0), 6)

// A convolution's shape, as engine.ts's #geometry writes it: NHWC input
// [n, h, w, ci], output [n, ho, wo, co], filter taps kh × kw, strides,
// dilations, and the zero padding before the first row (pt) and column (pl).
// A depthwise convolution (channel multiplier 1) has co = ci.
typedef struct {
  int n, h, w, ci, ho, wo, co, kh, kw, sh, sw, dh, dw, pt, pl;
} Geometry;

#include <wasm_simd128.h>

// min(max(v, 0), 6) lane by lane; NaN stays NaN (wasm's min and max
// propagate it, as tfjs's Relu6 and PyTorch's hardtanh keep it).
static inline v128_t relu6(v128_t v) {
  return wasm_f32x4_min(wasm_f32x4_max(v, wasm_f32x4_splat(0.f)), wasm_f32x4_splat(6.f));
}

#endif
