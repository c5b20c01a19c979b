// The public surface as `deno doc mod.ts` shows it to a user: every function,
// class and constant has a runnable example that imports from mod.ts (so it
// can be pasted into the user's own file), and none is marked `ignore`. The
// examples themselves run under `deno test --doc`.
import assert from "node:assert/strict";

interface DocDeclaration {
  kind: string;
  jsDoc?: { tags?: { kind: string; doc?: string }[] };
  def?: { elements?: DocSymbol[] };
}
interface DocSymbol {
  name: string;
  declarations: DocDeclaration[];
}

const RUNTIME_KINDS = new Set(["function", "class", "variable"]);

async function publicSymbols(): Promise<{ name: string; declaration: DocDeclaration }[]> {
  const mod = new URL("../mod.ts", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", mod.pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const json = JSON.parse(new TextDecoder().decode(stdout));
  const symbols: DocSymbol[] = json.nodes[mod.href].symbols;
  const found: { name: string; declaration: DocDeclaration }[] = [];
  const visit = (prefix: string, symbol: DocSymbol) => {
    for (const declaration of symbol.declarations) {
      if (declaration.kind === "namespace") {
        for (const element of declaration.def?.elements ?? []) {
          visit(`${prefix}${symbol.name}.`, element);
        }
      } else found.push({ name: prefix + symbol.name, declaration });
    }
  };
  symbols.forEach((s) => visit("", s));
  return found;
}

Deno.test("every exported function, class and constant has an example that imports mod.ts", async () => {
  const symbols = await publicSymbols();
  const runtime = symbols.filter((s) => RUNTIME_KINDS.has(s.declaration.kind));
  assert.ok(runtime.length > 60, `only ${runtime.length} runtime exports found`);
  const problems: string[] = [];
  for (const { name, declaration } of runtime) {
    const examples = (declaration.jsDoc?.tags ?? []).filter((t) => t.kind === "example")
      .map((t) => t.doc ?? "");
    if (examples.length === 0) problems.push(`${name}: no example`);
    else if (examples.some((e) => /```ts ignore/.test(e))) problems.push(`${name}: ts ignore`);
    else if (!examples.some((e) => /from "(\.\.?\/)+mod\.ts"/.test(e))) {
      problems.push(`${name}: no example imports mod.ts`);
    }
  }
  assert.deepEqual(problems, []);
});
