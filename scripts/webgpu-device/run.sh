#!/usr/bin/env bash
# The device side: unpacks the carry folder, makes the models, compresses them with the studio's
# CLI (target webgpu: int4 block-32, int8 per-channel, fp16 compute), then times each original
# against its variants on onnxruntime-web's WebGPU EP (Dawn, Vulkan). Writes $OUT/*.json.
#   bash .gpu/run.sh [--small]     (--small: a quick dry run with small models)
# Every step has its own timeout so that a hang costs one step, not the lease.
set -u
G=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/wg-out}
W=/tmp/wg
mkdir -p "$W/webgpu/dist/linux-x64" "$W/ort" "$W/models" "$OUT"
small=${1:-}
step() { echo "== $(date +%T) $*"; }

step unpack
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in "$G"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$nv" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then export VK_DRIVER_FILES=$nv; fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
xz -dc "$G/node.xz" > "$W/node" && chmod +x "$W/node"
cp "$G/webgpu/index.js" "$G/webgpu/package.json" "$W/webgpu/"
xz -dc "$G/webgpu/dawn.node.xz" > "$W/webgpu/dist/linux-x64/dawn.node"
cp "$G/ort/"*.mjs "$W/ort/"
xz -dc "$G/ort/ort-wasm-simd-threaded.jsep.wasm.xz" > "$W/ort/ort-wasm-simd-threaded.jsep.wasm"
"$W/node" --version
nvidia-smi -L 2>/dev/null || true
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"

step models
if [ "$small" = --small ]; then
  timeout 120 python3 "$G/make-models.py" "$W/models" --hidden 256 --layers 2 --seq 32 --cnn
else
  timeout 150 python3 "$G/make-models.py" "$W/models" --hidden 1024 --layers 4 --seq 128 --cnn
fi
cp "$G/digits-cnn.onnx" "$W/models/digits.onnx"

step compress
for m in ${MODELS:-transformer resnet18 mobilenet_v3_small digits}; do
  [ -f "$W/models/$m.onnx" ] || continue
  for r in int4 int8 fp16; do
    timeout 90 "$W/node" "$G/cli.mjs" compress "$W/models/$m.onnx" --recipe "$G/recipe-$r.json" --out "$W/models/$m.$r.onnx" > "$W/models/$m.$r.txt" 2>&1 \
      || { echo "compress $m $r failed:"; tail -3 "$W/models/$m.$r.txt"; }
  done
  for r in int4 int8 fp16; do
    echo "$m $r: $(grep -o -E 'int[48]-matmul-nbits|int[48]-dequantize-linear|fp16-compute|computes in float32' "$W/models/$m.$r.txt" 2>/dev/null | sort | uniq -c | tr -s ' \n' ' ')"
  done
done
cat "$W"/models/*.txt > "$OUT/compress-reports.txt" 2>/dev/null

step bench
runs=${RUNS:-30}
for m in ${MODELS:-transformer resnet18 mobilenet_v3_small digits}; do
  [ -f "$W/models/$m.onnx" ] || continue
  v=()
  for r in int4 int8 fp16; do [ -f "$W/models/$m.$r.onnx" ] && v+=(--variant "$r=$W/models/$m.$r.onnx"); done
  step "bench $m"
  timeout "${BENCH_TIMEOUT:-100}" "$W/node" "$G/bench.mjs" --ort "$W/ort" --webgpu "$W/webgpu/index.js" \
    --model "$W/models/$m.onnx" "${v[@]}" --runs "$runs" --warmup "${WARMUP:-5}" --max-seconds "${MAX_SECONDS:-25}" \
    ${CPU_REF:+--cpu-ref "$CPU_REF"} --out "$OUT/$m.json" > "$W/bench-$m.log" 2>&1
  echo "rc $?"
  grep -v -E '\[[VI]:onnxruntime' "$W/bench-$m.log" | grep -v '^$' | cut -c1-2000 | head -40
done
step done
