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

#endif
