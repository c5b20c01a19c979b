/**
 * The kernels that have no native code of ours: tfjs's wasm backend lacks
 * them, or has a wrong one, and a composed kernel of `composed_kernels.ts`
 * (tfjs's operations, or a direct loop) stands in for it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMPOSED_ONLY_KERNELS } from "./composed.ts";
 * assert.ok(COMPOSED_ONLY_KERNELS.every((k) => k.native === undefined));
 * ```
 *
 * @module
 */
import { COMPOSED_KERNELS } from "../composed_kernels.ts";
import type { WasmKernel } from "../kernel_spec.ts";

/** The composed-only kernels, one spec each. */
export const COMPOSED_ONLY_KERNELS: readonly WasmKernel[] = [
  {
    name: "UnsortedSegmentSum",
    drivers: [],
    inputs: ["x", "segmentIds"],
    fallback: COMPOSED_KERNELS.UnsortedSegmentSum,
  },
  {
    name: "OneHot",
    drivers: [],
    inputs: ["indices"],
    fallback: COMPOSED_KERNELS.OneHot,
  },
  {
    name: "Reverse",
    drivers: [],
    inputs: ["x"],
    fallback: COMPOSED_KERNELS.Reverse,
  },
  {
    name: "Slice",
    drivers: [],
    inputs: ["x"],
    fallback: COMPOSED_KERNELS.Slice,
  },
  {
    name: "SplitV",
    drivers: [],
    inputs: ["x"],
    fallback: COMPOSED_KERNELS.SplitV,
  },
  {
    name: "Identity",
    drivers: [],
    inputs: ["x"],
    fallback: COMPOSED_KERNELS.Identity,
  },
];
