/**
 * `deno task train`: trains on the embedded digits benchmark by default (a
 * source-only warm-up, then CDGA, plus a source-only baseline over the same
 * steps from the same warm-up), evaluates on the held-out target split and
 * prints the per-class IoU tables. `--help` lists every option.
 *
 * @module
 */
import { helpText, parseOptions } from "./cli/options.ts";
import { runTraining } from "./cli/job.ts";
import { Interrupted } from "./cli/run_folder.ts";

try {
  const options = await parseOptions(Deno.args);
  if (options.help) {
    console.log(helpText("deno task train"));
  } else {
    await runTraining(options);
  }
} catch (error) {
  console.error(`train: ${(error as Error).message}`);
  Deno.exit(error instanceof Interrupted ? error.exitCode : 1);
}
