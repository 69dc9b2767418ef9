#!/usr/bin/env bash
# Packs what the device machine needs to run the WebGPU benchmark into DIR (default
# /work/main/.gpu: the device tool sends the session's main checkout, so DIR must be an ignored
# folder of that checkout, named in the run's `carry`). Nothing here is committed: binaries
# (node, dawn.node, onnxruntime-web's wasm) are compressed with xz, models are made on the device.
#   bash scripts/webgpu-device/build-carry.sh [DIR]      (from the repo root; needs network once
#   for `npm pack webgpu@0.6.2` and `apt-get download libvulkan1`)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-/work/main/.gpu}
here="$root/scripts/webgpu-device"
mkdir -p "$dir"/{ort,webgpu,gl,pkg}
# node (x86-64, the device has none)
[ -s "$dir/node.xz" ] || xz -T2 -6 < "$(command -v node)" > "$dir/node.xz"
# Dawn for Node: the npm package webgpu (not a dependency of the studio)
if [ ! -s "$dir/webgpu/dawn.node.xz" ]; then
  (cd "$dir/pkg" && npm pack -q webgpu@0.6.2 >/dev/null && tar xzf webgpu-0.6.2.tgz)
  cp "$dir/pkg/package/index.js" "$dir/pkg/package/package.json" "$dir/webgpu/"
  mkdir -p "$dir/webgpu/dist/linux-x64"
  xz -T2 -6 < "$dir/pkg/package/dist/linux-x64/dawn.node" > "$dir/webgpu/dawn.node.xz"
fi
rm -rf "$dir/pkg"
# onnxruntime-web: the studio's build (JSEP)
d="$root/node_modules/onnxruntime-web/dist"
cp "$d/ort.min.mjs" "$d/ort-wasm-simd-threaded.jsep.mjs" "$dir/ort/"
[ -s "$dir/ort/ort-wasm-simd-threaded.jsep.wasm.xz" ] || xz -T2 -6 < "$d/ort-wasm-simd-threaded.jsep.wasm" > "$dir/ort/ort-wasm-simd-threaded.jsep.wasm.xz"
# the Vulkan loader (Dawn's backend on Linux), as /work/.library/device/README.md's .gl recipe
if ! ls "$dir"/gl/libvulkan1_*.deb >/dev/null 2>&1; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update -qq && (cd "$dir/gl" && apt-get $o download libvulkan1)
fi
# the studio's CLI and the benchmark, bundled for a plain node
esb="$root/node_modules/.bin/esbuild"
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
"$esb" "$root/src/cli/main.ts" --bundle --platform=node --format=esm --target=node20 --external:onnxruntime-node --banner:js="$banner" --outfile="$dir/cli.mjs" --log-level=warning
"$esb" "$here/bench.ts" --bundle --platform=node --format=esm --target=node20 --outfile="$dir/bench.mjs" --log-level=warning
cp "$here/make-models.py" "$here/run.sh" "$here"/recipe-*.json "$root/public/sample/digits-cnn.onnx" "$dir/"
(cd "$root" && git rev-parse HEAD) > "$dir/commit.txt"
du -sh "$dir"
