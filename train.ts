/**
 * `deno task train`: the end-to-end training job.
 *
 * The foundation (trees, random keys, gradients, optimizers, backends and the
 * wasm kernels) is in place; the models, losses, data and the training loop
 * arrive with their own issues. Until then this job says so plainly and
 * checks that the chosen backend starts.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BACKEND_CHOICES, type BackendChoice, useBackend } from "./lib/backend.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { backend: { type: "string", default: "auto" }, help: { type: "boolean" } },
  strict: true,
});
if (values.help) {
  console.log(`deno task train [--backend ${BACKEND_CHOICES.join("|")}]`);
  Deno.exit(0);
}
if (!BACKEND_CHOICES.includes(values.backend as BackendChoice)) {
  console.error(`train: --backend must be one of ${BACKEND_CHOICES.join(", ")}`);
  Deno.exit(2);
}
const info = await useBackend(values.backend as BackendChoice);
console.log(`backend: ${info.name} (${info.detail})`);
console.log(
  "Training is not there yet: the CDGA models, losses, the digits benchmark and the\n" +
    "training loop land with their own issues. `deno task bench` times the training\n" +
    "step of the reference network on this machine meanwhile.",
);
