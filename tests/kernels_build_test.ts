/**
 * The committed kernel module can never drift from its C sources: where
 * Debian's clang 19 and wasm-ld are installed, `build.sh` rebuilds it and the
 * bytes must equal the committed ones. Elsewhere the test says why it skips.
 */
import assert from "node:assert/strict";

const native = new URL("../lib/kernels/native/", import.meta.url).pathname;
const CLANG = Deno.env.get("CLANG") ?? "clang-19";
const LLD = Deno.env.get("LLD") ?? "/usr/lib/llvm-19/bin/wasm-ld";

async function present(command: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(command, { args, stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}

const toolchain = await present(CLANG, ["--version"]) && await present(LLD, ["--version"]);
if (!toolchain) {
  console.log(
    `kernels_build_test: skipped, ${CLANG} or ${LLD} is missing (apt-get install clang-19 lld-19)`,
  );
}

Deno.test({
  name: "the committed wasm kernels are exactly what build.sh makes of the C sources",
  ignore: !toolchain,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "uda-kernels-" });
    const out = `${dir}/kernels_wasm.ts`;
    const built = await new Deno.Command("sh", {
      args: [`${native}build.sh`],
      env: { OUT: out, CLANG, LLD },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(built.success, new TextDecoder().decode(built.stderr));
    const fresh = await Deno.readTextFile(out);
    const committed = await Deno.readTextFile(`${native}kernels_wasm.ts`);
    const module = (text: string) => /"([A-Za-z0-9+/=]+)"/.exec(text)?.[1];
    assert.ok(module(committed), "the committed file holds a base64 module");
    assert.equal(
      module(fresh),
      module(committed),
      "kernels_wasm.ts differs from a rebuild of the C sources: run lib/kernels/native/build.sh",
    );
    await Deno.remove(dir, { recursive: true });
  },
});
