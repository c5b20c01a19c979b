import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfusionMatrix, evaluate } from "../eval/metrics.ts";
import { gapClosed, iouJson, iouTable, summaryTable } from "../eval/table.ts";
import { strideOracle } from "../eval/stride_oracle.ts";
import { CITYSCAPES_CLASSES, PROTOCOLS } from "../data/labels.ts";
import { MAX_CHART_POINTS, svgDocument } from "../cli/svg_chart.ts";

const mapArb = fc.integer({ min: 2, max: 6 }).chain((c) =>
  fc.record({
    c: fc.constant(c),
    pairs: fc.array(fc.tuple(fc.nat(c - 1), fc.oneof(fc.nat(c - 1), fc.constant(255))), {
      minLength: 1,
      maxLength: 60,
    }),
    order: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 60, maxLength: 60 }),
  })
);

const same = (a: number[], b: number[]) =>
  a.every((v, i) => (Number.isNaN(v) && Number.isNaN(b[i])) || Math.abs(v - b[i]) < 1e-12);

Deno.test("IoU is invariant to a permutation of the pixels", () => {
  fc.assert(fc.property(mapArb, ({ c, pairs, order }) => {
    const perm = pairs.map((_, i) => i).sort((a, b) => order[a] - order[b]);
    const m1 = new ConfusionMatrix(c).add(pairs.map((p) => p[0]), pairs.map((p) => p[1]));
    const m2 = new ConfusionMatrix(c).add(
      perm.map((i) => pairs[i][0]),
      perm.map((i) => pairs[i][1]),
    );
    assert.ok(same(m1.iou(), m2.iou()));
    assert.ok(same([m1.meanIoU(), m1.pixelAccuracy()], [m2.meanIoU(), m2.pixelAccuracy()]));
  }));
});

Deno.test("a perfect prediction gives IoU 1 for every present class and mIoU 1", () => {
  fc.assert(fc.property(mapArb, ({ c, pairs }) => {
    const labels = pairs.map((p) => p[1]);
    const prediction = labels.map((l, i) => (l === 255 ? pairs[i][0] : l));
    const m = new ConfusionMatrix(c).add(prediction, labels);
    const present = new Set(labels.filter((l) => l !== 255));
    m.iou().forEach((v, k) => {
      if (present.has(k)) assert.equal(v, 1);
    });
    if (present.size > 0) {
      assert.equal(m.pixelAccuracy(), 1);
      // classes predicted only at ignored pixels do not count: they are ignored.
      assert.equal(m.meanIoU([...present]), 1);
    }
  }));
});

Deno.test("ignored pixels change nothing, whatever is predicted there", () => {
  fc.assert(
    fc.property(
      mapArb,
      fc.array(fc.nat(5), { minLength: 60, maxLength: 60 }),
      ({ c, pairs }, noise) => {
        const labels = pairs.map((p) => p[1]);
        const a = new ConfusionMatrix(c).add(pairs.map((p) => p[0]), labels);
        const b = new ConfusionMatrix(c).add(
          pairs.map((p, i) => (p[1] === 255 ? noise[i] % c : p[0])),
          labels,
        );
        assert.deepEqual([...a.counts], [...b.counts]);
      },
    ),
  );
});

Deno.test("matrices accumulate over a stream; bad ids are errors", () => {
  const m = new ConfusionMatrix(3).add([0, 1], [0, 1]).merge(
    new ConfusionMatrix(3).add([2, 2], [1, 2]),
  );
  assert.deepEqual(m.iou(), [1, 0.5, 0.5]);
  assert.throws(() => new ConfusionMatrix(3).add([3], [0]), /outside 0 … 2/);
  assert.throws(() => new ConfusionMatrix(3).add([0, 1], [0]), /2 predictions for 1 labels/);
});

Deno.test("the 19-, 16- and 13-class protocols come from one matrix; the table is the papers'", () => {
  const m = new ConfusionMatrix(19);
  for (let c = 0; c < 19; c++) m.add([c, c, c === 9 ? 14 : c], [c, c, c]); // terrain taken for truck: neither is among the 16
  const names = [...CITYSCAPES_CLASSES];
  const protocols = {
    "16": PROTOCOLS["16"].map((i) => names[i]),
    "13": PROTOCOLS["13"].map((i) => names[i]),
  };
  const e = evaluate(m, names, protocols);
  assert.ok(e.miou.all < 1);
  assert.equal(e.miou["16"], 1);
  assert.equal(e.miou["13"], 1);
  const table = iouTable([{ name: "source only", evaluation: e }]);
  const [header, , row] = table.split("\n");
  assert.match(
    header,
    /^\| method \| road \| sidewalk .* \| bicycle \| mIoU \| mIoU16 \| mIoU13 \| pixel acc\. \|$/,
  );
  assert.match(row, /^\| source only \| 100\.0 \| .* \| 100\.0 \| 100\.0 \| /);
  const json = iouJson([{
    name: "x",
    evaluation: evaluate(new ConfusionMatrix(2).add([0], [0]), ["a", "b"]),
  }]) as {
    iou: Record<string, number | null>;
  }[];
  assert.deepEqual(json[0].iou, { a: 1, b: null });
});

Deno.test("stride-8 reference: cell-aligned regions survive, a one-pixel stroke does not", () => {
  const blocks = Uint8Array.from({ length: 32 * 32 }, (_, i) => ((i % 32) < 16 ? 1 : 2));
  assert.deepEqual(strideOracle(blocks, 32, 32, 8, 3), blocks);
  const stroke = Uint8Array.from({ length: 32 * 32 }, (_, i) => ((i % 32) === 13 ? 1 : 0));
  const best = strideOracle(stroke, 32, 32, 8, 2);
  assert.ok(best.every((v) => v === 0), "a 1-pixel stroke is lost at stride 8");
  assert.throws(() => strideOracle(blocks, 32, 32, 0, 3), /stride must be a positive integer/);
});

Deno.test("gap closed and the summary table", () => {
  assert.ok(Math.abs(gapClosed(0.3, 0.2, 0.6) - 0.25) < 1e-12);
  assert.ok(Number.isNaN(gapClosed(0.3, 0.4, 0.4)), "no gap, no share");
  const table = summaryTable([
    { name: "source only", target: 0.2, styles: { a: 0.1 }, source: 0.5, gapClosed: NaN },
    { name: "m", target: 0.3, styles: { a: 0.2 }, source: NaN, gapClosed: 0.25 },
  ]);
  assert.match(table, /\| method \| target mIoU \| a \| held-out source mIoU \| gap closed \|/);
  assert.match(table, /\| m \| 30\.0 \| 20\.0 \| – \| 25% \|/);
});

Deno.test("plots of a long run: 300,000 steps per series neither overflow the stack nor bloat the SVG", () => {
  const steps = 300_000;
  const series = ["seg", "adv", "sc"].map((name, k) => ({
    name,
    points: Array.from(
      { length: steps },
      (_, i) => [i + 1, k + Math.sin(i / 1000)] as [number, number],
    ),
  }));
  const svg = svgDocument([{ title: "losses", series }]);
  // The extents are the data's: step 1 to 300,000, values up to 2 + 1.
  assert.ok(svg.includes("step 300000"), "the last step labels the axis");
  assert.ok(svg.includes(">3.00<"), "the highest value labels the axis");
  const points = [...svg.matchAll(/points="([^"]*)"/g)].map((m) => m[1].split(" ").length);
  assert.deepEqual(points.length, 3);
  for (const n of points) assert.ok(n <= MAX_CHART_POINTS + 1 && n >= MAX_CHART_POINTS / 2, `${n}`);
  assert.ok(svg.length < 400_000, `${svg.length} characters`);
});
