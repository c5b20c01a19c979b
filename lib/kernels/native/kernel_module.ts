/**
 * The compiled kernel module (`kernels_wasm.ts`, built by `build.sh`) and
 * the index of its drivers: the functions it exports by name (`EXPORT` in
 * `export.h`) that run work items [begin, end) of a job.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { driverIndex } from "./kernel_module.ts";
 * assert.ok(driverIndex().has("conv_forward"));
 * ```
 *
 * @module
 */
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";

let compiled: WebAssembly.Module | undefined;

/**
 * The kernel module, compiled once.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { kernelModule } from "./kernel_module.ts";
 * assert.ok(kernelModule() instanceof WebAssembly.Module);
 * ```
 */
export function kernelModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(
    Uint8Array.from(atob(KERNELS_WASM_BASE64), (c) => c.charCodeAt(0)),
  );
  return compiled;
}

let drivers: ReadonlyMap<string, number> | undefined;

/**
 * Each driver's place among the function exports of the module's export
 * section: a job names its driver to the workers by that place, an order
 * both sides take from the same module (nothing to keep in step by hand).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { driverIndex } from "./kernel_module.ts";
 * assert.ok([...driverIndex().keys()].every((name) => !name.startsWith("constant_")));
 * ```
 */
export function driverIndex(): ReadonlyMap<string, number> {
  drivers ??= new Map(
    WebAssembly.Module.exports(kernelModule())
      .filter((e) => e.kind === "function" && !e.name.startsWith("constant_"))
      .map((e, i) => [e.name, i]),
  );
  return drivers;
}
