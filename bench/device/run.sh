#!/bin/sh
# The GPU bench, run on the device machine (see prepare.sh, run first on a CPU
# machine). Writes bench.log/bench.json (the reference step, the default CDGA
# step and the DeepLab MobileNetV2 step on tfjs-webgpu beside PyTorch's
# reference step and the ports of both training steps on CUDA, same card)
# and losses.log (the default training run's first steps on webgpu against
# the wasm run made by prepare.sh) under $OUT.
set -u
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig 2>/dev/null || true
if [ -d /usr/local/nvidia/share/vulkan/icd.d ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
fi
export XDG_RUNTIME_DIR=/tmp/xdg && mkdir -p -m 0700 "$XDG_RUNTIME_DIR"
xz -dc .device/deno.xz > /tmp/deno && chmod +x /tmp/deno
xz -dkf .device/bench.js.xz .device/train.js.xz
mkdir -p /tmp/mnist && for f in .device/mnist/*.gz; do gunzip -c "$f" > "/tmp/mnist/$(basename "$f" .gz)"; done
export UDA_MNIST_DIR=/tmp/mnist NO_COLOR=1
STEPS=$(cat .device/steps)
nvidia-smi -L > "$OUT/gpu.txt" 2>&1

/tmp/deno run -A .device/bench.js --backends webgpu --memory-steps 0 \
  --torch bench/device/torch_step.py --ports bench/torch_steps.py --torch-device cuda --python python3 \
  --json "$OUT/bench.json" > "$OUT/bench.log" 2>&1
echo "bench exit $?" >> "$OUT/bench.log"
cat "$OUT/bench.log"

rm -rf /tmp/runs
/tmp/deno run -A .device/train.js --backend webgpu --warmup-steps "$STEPS" --steps "$STEPS" \
  --baseline none --eval-every 0 --test-samples 16 --out /tmp/runs --name webgpu > "$OUT/train.log" 2>&1
echo "train exit $?" >> "$OUT/train.log"
/tmp/deno run --allow-read bench/device/compare_losses.ts /tmp/runs/webgpu/metrics.jsonl \
  .device/wasm_metrics.jsonl > "$OUT/losses.log" 2>&1
echo "compare exit $?" >> "$OUT/losses.log"
cp /tmp/runs/webgpu/metrics.jsonl "$OUT/webgpu_metrics.jsonl" 2>/dev/null
tail -3 "$OUT/train.log"
cat "$OUT/losses.log"
