/**
 * A small synthetic problem where the right alignment is class-conditional
 * (docs/method.md, "CDGA's mechanism at unit scale"), trained with the
 * library's own method terms (`METHOD_DEFINITIONS[m].generator` and
 * `.discriminator`: our grouping network, our discriminators, our losses) on
 * a toy G, so that it runs in seconds.
 *
 * Pixels carry no spatial structure: each of an 8×8 map's pixels draws its
 * class independently. Four classes in two shift groups, X = {0, 1} and
 * Y = {2, 3}; a pixel's input is a 2-D code and a 1-D appearance:
 *
 * - source: codes at (∓1, −1) for classes 0, 1 and (∓1, +1) for 2, 3, noise
 *   σ; appearance 0; every class a quarter of the pixels;
 * - target: group X moves right by `shift` and group Y left by it, so that
 *   class 0 and class 3 straddle their boundary with 1 and 2; appearance +1
 *   on X, −1 on Y; X's classes hold `xShare` of the pixels (label shift
 *   across the groups, none within them).
 *
 * Matching the marginal of the predictions (one global D) pulls the target
 * towards the source's class shares, which this target does not have; within
 * each shift group the shares agree, so alignment group by group is unbiased.
 *
 * @module
 */
import { tf } from "../lib/tf.ts";
import { foldIn, type Key, key, normalValues, split, uniformValues } from "../lib/random.ts";
import { valueAndGrad } from "../lib/grad.ts";
import {
  adam,
  applyUpdates,
  type GradientTransformation,
  type OptState,
} from "../lib/optim/mod.ts";
import { dispose, type Tree } from "../lib/tree.ts";
import { segmentationCrossEntropy } from "../losses/cross_entropy.ts";
import { type MethodConfig, type MethodConfigInput, resolveConfig } from "../methods/config.ts";
import { groupingConfig } from "../methods/cdga.ts";
import { applyGrouping, cellAppearance, type GroupingParams } from "../model/grouping.ts";
import { METHOD_DEFINITIONS } from "../methods/registry.ts";
import type { Batch } from "../methods/step.ts";

/** The toy's settings. */
export interface ToyOptions {
  /** How far each shift group moves along the first code axis (default 0.9). */
  shift?: number;
  /** Group X's share of the target pixels (default 0.8; the source has 0.5). */
  xShare?: number;
  /** Code noise σ (default 0.4). */
  noise?: number;
  /** Source-only warm-up steps, then adaptation steps (default 150, 300). */
  warmupSteps?: number;
  steps?: number;
}

const CLASSES = 4, SIDE = 8, N = 8, HIDDEN = 16;
const MEANS = [[-1, -1], [1, -1], [-1, 1], [1, 1]];

/** One domain's batch: inputs [N, 8, 8, 3] and labels [N, 8, 8]. */
export function toyBatch(
  k: Key,
  domain: "source" | "target",
  o: Required<ToyOptions>,
  n = N,
): { images: tf.Tensor4D; labels: tf.Tensor3D } {
  const pixels = n * SIDE * SIDE;
  const [kc, kn] = split(k);
  const u = uniformValues(kc, pixels);
  const noise = normalValues(kn, pixels * 3, { stddev: 1 });
  const x = new Float32Array(pixels * 3), y = new Int32Array(pixels);
  for (let i = 0; i < pixels; i++) {
    const inX = domain === "source" ? u[i] < 0.5 : u[i] < o.xShare;
    // Within a group, the two classes are equally likely in both domains.
    const within = domain === "source"
      ? (inX ? u[i] / 0.5 : (u[i] - 0.5) / 0.5)
      : (inX ? u[i] / o.xShare : (u[i] - o.xShare) / (1 - o.xShare));
    const c = (inX ? 0 : 2) + (within < 0.5 ? 0 : 1);
    y[i] = c;
    const move = domain === "source" ? 0 : inX ? o.shift : -o.shift;
    x[i * 3] = MEANS[c][0] + move + o.noise * noise[i * 3];
    x[i * 3 + 1] = MEANS[c][1] + o.noise * noise[i * 3 + 1];
    x[i * 3 + 2] = domain === "source" ? 0 : (inX ? 1 : -1) + 0.1 * noise[i * 3 + 2];
  }
  return {
    images: tf.tensor4d(x, [n, SIDE, SIDE, 3]),
    labels: tf.tensor3d(y, [n, SIDE, SIDE]),
  };
}

type ToyG = { w1: tf.Tensor; b1: tf.Tensor; w2: tf.Tensor; b2: tf.Tensor };
type GeneratorParams = { g: ToyG; group?: Tree };

/** The toy G: a per-pixel MLP, 3 → 16 (ReLU; the feature) → 4 logits. */
function applyToyG(g: ToyG, images: tf.Tensor): { logits: tf.Tensor; feature: tf.Tensor } {
  const [n] = images.shape;
  const x = tf.reshape(images, [-1, 3]);
  const h = tf.relu(tf.add(tf.matMul(x, g.w1), g.b1));
  const logits = tf.add(tf.matMul(h, g.w2), g.b2);
  return {
    logits: tf.reshape(logits, [n!, SIDE, SIDE, CLASSES]),
    feature: tf.reshape(h, [n!, SIDE, SIDE, HIDDEN]),
  };
}

function initToyG(k: Key): ToyG {
  const [k1, k2] = split(k);
  return {
    w1: tf.tensor2d(normalValues(k1, 3 * HIDDEN, { stddev: Math.sqrt(2 / 3) }), [3, HIDDEN]),
    b1: tf.zeros([HIDDEN]),
    w2: tf.tensor2d(normalValues(k2, HIDDEN * CLASSES, { stddev: 0.25 }), [HIDDEN, CLASSES]),
    b2: tf.zeros([CLASSES]),
  };
}

/** A trained toy's target scores on held-out target pixels. */
export interface ToyResult {
  /** Pixel accuracy on the target, %. */
  accuracy: number;
  /** Mean IoU over the four classes on the target, %. */
  miou: number;
  /** The share of target pixels predicted in the wrong shift group, %. */
  crossGroup: number;
  /**
   * Where the method has a grouping network: per group, its share of the
   * held-out source and target pixels, and the share of its target pixels
   * that belong to shift group X (%).
   */
  groups?: { source: number[]; target: number[]; targetX: number[] };
}

/**
 * Trains the toy: a source-only warm-up, then `method`'s terms for
 * `steps` steps (G, and C where the method has one, by Adam at 1e-2; D by
 * Adam at 1e-3), and scores it on 16 held-out target maps.
 */
export function trainToy(
  method: { method: "sourceOnly" | "adaptSegNet" | "cdga" } & Partial<MethodConfigInput>,
  seed: number,
  options: ToyOptions = {},
): ToyResult {
  const o: Required<ToyOptions> = {
    shift: 0.9,
    xShare: 0.8,
    noise: 0.4,
    warmupSteps: 150,
    steps: 300,
    ...options,
  };
  const config = resolveConfig({
    ...method,
    // resnet-18 at width 1/32 has the toy G's 16 feature channels, which C's first layer expects.
    seg: { classes: CLASSES, depth: 18, width: 16 / 512 },
    disc: { width: 16, ...method.disc },
  });
  const definition = METHOD_DEFINITIONS[config.method];
  const [kg, kp, kdata] = split(key(seed), 3);
  let g = initToyG(kg);
  let parts: Record<string, Tree> = definition.initParts ? definition.initParts(kp, config) : {};
  const gOpt: GradientTransformation<OptState[]> = adam({ learningRate: 1e-2 });
  const dOpt = adam({ learningRate: 1e-3, b1: 0.9, b2: 0.99 });
  const generatorParams = (): GeneratorParams => ({
    g,
    ...(parts.group ? { group: parts.group } : {}),
  });
  let gState = gOpt.init(generatorParams());
  let dState = parts.disc ? dOpt.init(parts.disc) : undefined;
  const total = o.warmupSteps + o.steps;
  for (let t = 0; t < total; t++) {
    const adapting = t >= o.warmupSteps && config.method !== "sourceOnly";
    const [ks, kt] = split(foldIn(kdata, t));
    const source = toyBatch(ks, "source", o), target = toyBatch(kt, "target", o);
    const batch: Batch = {
      source: { images: source.images, labels: source.labels },
      target: { images: target.images },
    };
    const out = valueAndGrad((p: GeneratorParams) => {
      const s = applyToyG(p.g, source.images);
      const seg = segmentationCrossEntropy(s.logits, source.labels);
      if (!adapting) return { loss: seg };
      const terms = definition.generator!({
        config,
        // The toy G is not a DeepLab; the method terms never read G's parameters.
        params: { seg: {} as never, ...parts, ...(p.group ? { group: p.group } : {}) },
        batch,
        source: s,
        target: applyToyG(p.g, target.images),
        updateCounts: {},
      });
      // D's inputs ride out of the gradient scope as metrics (which it keeps).
      return {
        loss: terms.loss ? tf.add(seg, terms.loss) : seg,
        metrics: (terms.disc ?? {}) as unknown as Tree,
      };
    })(generatorParams());
    const [updates, nextState] = gOpt.update(out.grads, gState, generatorParams());
    const next = applyUpdates(generatorParams(), updates);
    const discInputs = out.metrics;
    dispose([generatorParams(), gState] as Tree[]);
    g = next.g;
    if (next.group) parts = { ...parts, group: next.group };
    gState = nextState;
    if (adapting && definition.discriminator) {
      const d = valueAndGrad((disc: Tree) => {
        const r = definition.discriminator!(
          config,
          { ...parts, disc } as never,
          discInputs as never,
        );
        return { loss: r.loss };
      })(parts.disc);
      const [dUpdates, nextD] = dOpt.update(d.grads, dState!, parts.disc);
      const before = parts.disc, stateBefore = dState;
      parts = { ...parts, disc: applyUpdates(parts.disc, dUpdates) };
      dState = nextD;
      dispose([d.value, d.grads, dUpdates, before, stateBefore!] as Tree[]);
    }
    dispose([out.value, discInputs, out.grads, updates, source, target] as unknown as Tree[]);
  }
  // Score on held-out target maps.
  const test = toyBatch(key(10_000 + seed), "target", o, 16);
  const predicted = tf.tidy(() => tf.argMax(applyToyG(g, test.images).logits, -1));
  const p = predicted.dataSync(), y = test.labels.dataSync();
  const groups = parts.group ? groupStatistics(parts.group, g, config, seed, o) : undefined;
  dispose([predicted, test, generatorParams(), gState, parts, dState ?? []] as unknown as Tree[]);
  let right = 0, cross = 0;
  const inter = new Array(CLASSES).fill(0), union = new Array(CLASSES).fill(0);
  for (let i = 0; i < y.length; i++) {
    if (p[i] === y[i]) right++;
    if ((p[i] < 2) !== (y[i] < 2)) cross++;
    for (let c = 0; c < CLASSES; c++) {
      const a = p[i] === c, b = y[i] === c;
      if (a && b) inter[c]++;
      if (a || b) union[c]++;
    }
  }
  const miou = inter.reduce((s, v, c) => s + (union[c] ? v / union[c] : 0), 0) / CLASSES;
  return {
    accuracy: (100 * right) / y.length,
    miou: 100 * miou,
    crossGroup: (100 * cross) / y.length,
    ...(groups ? { groups } : {}),
  };
}

/** Group shares on held-out maps of both domains, and the target groups' share of shift group X. */
function groupStatistics(
  group: Tree,
  g: ToyG,
  config: MethodConfig,
  seed: number,
  o: Required<ToyOptions>,
): NonNullable<ToyResult["groups"]> {
  const grouping = groupingConfig(config);
  const k = grouping.groups;
  const assign = (domain: "source" | "target") => {
    const b = toyBatch(key(20_000 + seed), domain, o, 16);
    const a = tf.tidy(() => {
      const { logits, feature } = applyToyG(g, b.images);
      const appearance = (grouping.appearanceChannels ?? 0) > 0
        ? cellAppearance(b.images, [SIDE, SIDE])
        : undefined;
      return applyGrouping(
        group as unknown as GroupingParams,
        { probs: tf.softmax(logits), feature, appearance },
        grouping,
      );
    });
    const values = a.dataSync(), labels = b.labels.dataSync();
    dispose([a, b] as unknown as Tree[]);
    const share = new Array(k).fill(0), x = new Array(k).fill(0);
    for (let i = 0; i < labels.length; i++) {
      for (let j = 0; j < k; j++) {
        share[j] += values[i * k + j];
        if (labels[i] < 2) x[j] += values[i * k + j];
      }
    }
    return {
      share: share.map((v) => (100 * v) / labels.length),
      x: x.map((v, j) => (share[j] > 0 ? (100 * v) / share[j] : 0)),
    };
  };
  const source = assign("source"), target = assign("target");
  return { source: source.share, target: target.share, targetX: target.x };
}
