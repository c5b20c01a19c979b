import assert from "node:assert/strict";

// A throwaway project with a deno.json of its own (and none of our import
// map) imports our mod.ts by URL and runs a tiny training step: this is how
// the library is used from a URL.
Deno.test("a separate project imports mod.ts by URL and trains a step", async () => {
  const dir = await Deno.makeTempDir({ prefix: "uda-client-" });
  try {
    const modUrl = new URL("../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      `${dir}/deno.json`,
      JSON.stringify({ imports: { "fast-check": "npm:fast-check@3.0.0" } }),
    );
    await Deno.writeTextFile(
      `${dir}/main.ts`,
      `import { adam, applyUpdates, random, replace, tf, tidy, tree, useBackend, valueAndGrad } from "${modUrl}";
await useBackend("wasm");
const [k1, k2] = random.split(random.key(0));
let params = { conv: random.normal(k1, [3, 3, 2, 4], { stddev: 0.3 }), bias: tf.zeros([4]) };
const x = random.normal(k2, [1, 8, 8, 2]);
const opt = adam({ learningRate: 0.05 });
let state = opt.init(params);
const loss = (p: typeof params) => ({
  loss: tf.mean(tf.square(tf.add(tf.conv2d(x as never, p.conv as never, 1, "same", "NHWC", 2), p.bias))),
});
const losses: number[] = [];
for (let i = 0; i < 3; i++) {
  const [next, nextState, value] = tidy(() => {
    const { value, grads } = valueAndGrad(loss)(params);
    const [updates, s] = opt.update(grads, state, params);
    return [applyUpdates(params, updates), s, value] as const;
  });
  losses.push((await value.data())[0]);
  [params, state] = replace([params, state, value], [next, nextState]);
}
tree.dispose([params, state]);
console.log(JSON.stringify(losses));
`,
    );
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", "--no-lock", "main.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const err = new TextDecoder().decode(stderr);
    assert.equal(code, 0, err);
    const losses = JSON.parse(new TextDecoder().decode(stdout)) as number[];
    assert.equal(losses.length, 3);
    assert.ok(losses[2] < losses[0], `loss should fall: ${losses}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
