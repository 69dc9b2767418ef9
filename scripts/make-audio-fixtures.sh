#!/bin/bash
# Makes e2e/fixtures/tone.mp3 and tone.ogg (a 1 s, 16 kHz mono tone that comes and goes: the
# wav of src/testing/vad.ts toneWav), for the e2e test of the browser's audio decoder in the
# Data tab. Needs Debian's lame and vorbis-tools (apt-get install -y lame vorbis-tools).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
node --import tsx -e "
import('./src/testing/vad.ts').then(async (v) => {
  const fs = await import('node:fs');
  fs.writeFileSync('$tmp/tone.wav', v.toneWav(1));
});"
mkdir -p e2e/fixtures
lame --quiet -m m -b 32 "$tmp/tone.wav" e2e/fixtures/tone.mp3
oggenc -Q -q 1 "$tmp/tone.wav" -o e2e/fixtures/tone.ogg
ls -l e2e/fixtures/tone.mp3 e2e/fixtures/tone.ogg
