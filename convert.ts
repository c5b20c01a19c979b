/**
 * `deno task convert --from caffe|torchvision --input STATE.safetensors
 * --output G.safetensors --classes N`: a PyTorch state dict of DeepLab-V2
 * ResNet-101 (written as safetensors by `tools/pth_to_safetensors.py`) →
 * G's weights for `deno task train --init-from G.safetensors`.
 *
 * `caffe`: AdaptSegNet's and ADVENT's `DeepLab_resnet_pretrained_init`
 * (Caffe-converted; train with `--resnet-variant caffe`). `torchvision`:
 * torchvision's `resnet101` (train with `--resnet-variant torchvision`).
 * Where the state dict has no classifier of N classes (torchvision's has
 * none; the Caffe one has 21 VOC classes), the ASPP head is initialised as
 * AdaptSegNet does (normal, std 0.01, biases 0, seeded) and the output says
 * so; AdaptSegNet's own training copies no classifier either for 19 classes.
 *
 * @module
 */
import { checkOutputFile } from "./cli/arguments.ts";
import { type CommandSpec, runCommand } from "./cli/command.ts";
import { tf } from "./lib/tf.ts";
import { key } from "./lib/random.ts";
import { flatten } from "./lib/tree.ts";
import { type DeepLabConfig, initDeepLab } from "./model/deeplab.ts";
import { fromPyTorch } from "./model/pytorch_names.ts";
import { RESNET_DEPTHS } from "./model/resnet.ts";
import { parseSafetensors, writeSafetensors } from "./io/safetensors.ts";

const COMMAND = {
  usage: `deno task convert --from caffe|torchvision --input FILE --output FILE --classes N
                  [--depth 101] [--width 1] [--aspp-rates LIST] [--seed S]`,
  flags: {
    from: {
      kind: "string",
      value: "V",
      help: "caffe (DeepLab_resnet_pretrained_init, AdaptSegNet / ADVENT) or torchvision",
      choices: ["caffe", "torchvision"],
      required: true,
    },
    input: {
      kind: "string",
      value: "FILE",
      help: "the state dict as safetensors (python3 tools/pth_to_safetensors.py X.pth FILE)",
      required: true,
    },
    output: {
      kind: "string",
      value: "FILE",
      help: "G's weights under our names (for --init-from)",
      required: true,
    },
    classes: {
      kind: "integer",
      value: "N",
      help: "the classes G predicts (19 for GTA5→Cityscapes, 16 or 13 for SYNTHIA)",
      min: 2,
      required: true,
    },
    depth: {
      kind: "integer",
      value: "D",
      help: "ResNet depth: 50 or 101 (bottleneck ResNets)",
      default: 101,
    },
    width: {
      kind: "number",
      value: "W",
      help: "the network's width multiplier (1: the published widths)",
      default: 1,
    },
    "aspp-rates": {
      kind: "string",
      value: "L",
      help: "the ASPP branches kept (default: 6,12 for caffe, as AdaptSegNet's network sums;\n" +
        "6,12,18,24 for torchvision); give the same to deno task train",
    },
    seed: {
      kind: "integer",
      value: "S",
      help: "seed of a head initialised here",
      min: 0,
      default: 0,
    },
  },
} as const satisfies CommandSpec;

await runCommand("convert", COMMAND, async (values) => {
  await checkOutputFile(values.output, "--output");
  const variant = values.from as "caffe" | "torchvision";
  const classes = values.classes;
  const depth = values.depth as 101;
  if (!RESNET_DEPTHS.includes(depth) || depth < 50) {
    throw new Error(`--depth must be 50 or 101 (bottleneck ResNets), got ${values.depth}`);
  }
  const rates = (values["aspp-rates"] ?? (variant === "caffe" ? "6,12" : "6,12,18,24"))
    .split(",").map(Number);
  if (!rates.every((r) => Number.isInteger(r) && r > 0)) {
    throw new Error(`--aspp-rates must be positive integers, got ${values["aspp-rates"]}`);
  }
  const bytes = await Deno.readFile(values.input).catch((error) => {
    throw new Error(`${values.input}: cannot read (${(error as Error).message})`);
  });
  const { values: converted, unused } = fromPyTorch(parseSafetensors(bytes, values.input));
  const width = values.width;
  if (!(width > 0)) throw new Error(`--width must be > 0, got ${values.width}`);
  const config: DeepLabConfig = { depth, width, classes, variant, atrousRates: rates };
  const template = initDeepLab(key(values.seed), config);
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  const fresh: string[] = [];
  for (const [path, leaf] of flatten(template)) {
    const found = converted.get(path);
    if (found && found.shape.join() === leaf.shape.join()) {
      out.set(path, found);
    } else if (path.startsWith("head/")) {
      out.set(path, { shape: leaf.shape, data: Float32Array.from(await leaf.data()) });
      fresh.push(path);
    } else {
      throw new Error(
        `${values.input}: ${
          found
            ? `'${path}' has shape [${found.shape}], G needs [${leaf.shape}]`
            : `no tensor for '${path}'`
        } (is it a ResNet-${depth} of the ${variant} layout?)`,
      );
    }
  }
  tf.dispose(flatten(template).map(([, t]) => t));
  const ignored = [...converted.keys()].filter((p) => !out.has(p));
  const deeper = ignored.filter((p) => p.startsWith("backbone/"));
  if (deeper.length > 0) {
    throw new Error(
      `${values.input}: ${deeper.length} backbone tensors that a ResNet-${depth} lacks (${
        deeper.slice(0, 3).join(", ")
      }, …): is it a deeper network? (--depth)`,
    );
  }
  await writeSafetensors(values.output, out);
  console.log(`${values.output}: ${out.size} tensors of G (ResNet-${depth}, ${variant})`);
  if (fresh.length > 0) {
    console.log(
      `head: initialised here (normal, std 0.01; seed ${values.seed}): the state dict has no classifier of ${classes} classes`,
    );
  }
  if (ignored.length + unused.length > 0) {
    console.log(`left out: ${[...ignored, ...unused].join(", ")}`);
  }
  console.log(
    `train with: --backbone resnet --depth ${depth} --width ${width} --resnet-variant ${variant} ` +
      `--aspp-rates ${rates.join(",")} --norm frozen --init-from ${values.output}`,
  );
});
