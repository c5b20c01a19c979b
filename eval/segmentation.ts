/**
 * Evaluating G on a labelled data set: per-sub-domain and overall confusion
 * matrices, with G in evaluation mode (batch norm's running statistics), and
 * a few kept predictions per sub-domain for the report's panels.
 *
 * @example
 * ```ts ignore
 * const { overall, byStyle } = await evaluateSeg(params.seg, config, data.test, { samples: 300, batch: 16, normalise: "imagenet" });
 * console.log(overall.meanIoU());
 * ```
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import type { DeepLabConfig, DeepLabParams } from "../model/deeplab.ts";
import { predict } from "../model/predict.ts";
import type { Dataset } from "../data/datasets.ts";
import { type Normalisation, normalise } from "../data/stream.ts";
import { ConfusionMatrix } from "./metrics.ts";

/**
 * A turn of the event loop. The evaluation's samples and read-backs resolve
 * as microtasks, so a loop over a split never lets a signal handler run (the
 * jobs stop on SIGINT at once during the final evaluation) unless it calls
 * this now and then.
 *
 * @example
 * ```ts
 * import { yieldToEventLoop } from "./segmentation.ts";
 * await yieldToEventLoop();
 * ```
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** A sample kept for the report: its image, labels and G's prediction. */
export interface KeptPrediction {
  name: string;
  style?: string;
  width: number;
  height: number;
  image: Uint8Array;
  label: Uint8Array;
  prediction: Uint8Array;
}

/**
 * Per-style and overall confusion matrices of G on the first
 * `options.samples` samples of a labelled data set; `keep` predictions per
 * sub-domain are returned with their images and labels.
 *
 * @example
 * ```ts ignore
 * const result = await evaluateSeg(seg, config, data.test, { samples: data.test.length, batch: 16, normalise: "imagenet", keep: 2 });
 * ```
 */
export async function evaluateSeg(
  seg: DeepLabParams,
  config: DeepLabConfig,
  data: Dataset,
  options: { samples: number; batch: number; normalise: Normalisation; keep?: number },
): Promise<
  {
    overall: ConfusionMatrix;
    byStyle: Map<string, ConfusionMatrix>;
    kept: KeptPrediction[];
  }
> {
  const classes = data.classes.names.length;
  const overall = new ConfusionMatrix(classes);
  const byStyle = new Map<string, ConfusionMatrix>();
  const kept: KeptPrediction[] = [];
  const keepPerStyle = new Map<string, number>();
  const count = Math.min(options.samples, data.length);
  for (let start = 0; start < count; start += options.batch) {
    await yieldToEventLoop();
    const size = Math.min(options.batch, count - start);
    const samples = await Promise.all(Array.from({ length: size }, (_, i) => data.get(start + i)));
    const { width, height } = samples[0];
    const sameSize = samples.every((s) => s.width === width && s.height === height);
    const groups = sameSize ? [samples] : samples.map((s) => [s]);
    for (const group of groups) {
      const [w, h] = [group[0].width, group[0].height];
      const pixels = new Float32Array(group.length * w * h * 3);
      group.forEach((s, i) => pixels.set(normalise(s.image, options.normalise), i * w * h * 3));
      const images = tf.tensor4d(pixels, [group.length, h, w, 3]);
      const predicted = predict(seg, config, images).labels;
      images.dispose();
      const values = await predicted.data();
      predicted.dispose();
      group.forEach((s, i) => {
        const prediction = Uint8Array.from(values.subarray(i * w * h, (i + 1) * w * h));
        if (!s.label) {
          throw new Error(`${data.description}: ${s.name} has no labels to evaluate against`);
        }
        overall.add(prediction, s.label);
        const style = s.style ?? "all";
        if (s.style) {
          if (!byStyle.has(style)) byStyle.set(style, new ConfusionMatrix(classes));
          byStyle.get(style)!.add(prediction, s.label);
        }
        const n = keepPerStyle.get(style) ?? 0;
        if (n < (options.keep ?? 0)) {
          keepPerStyle.set(style, n + 1);
          kept.push({
            name: s.name,
            style: s.style,
            width: w,
            height: h,
            image: s.image,
            label: s.label,
            prediction,
          });
        }
      });
    }
  }
  return { overall, byStyle, kept };
}
