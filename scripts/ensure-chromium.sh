#!/usr/bin/env bash
# Makes sure Debian's chromium is at /usr/bin/chromium, the browser the e2e tests drive
# (playwright.config.ts); Playwright itself never downloads browsers in this project.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
[[ -x $CHROMIUM ]] && exit 0

install=(apt-get install -y -q chromium)
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and this is not a Debian/Ubuntu system; install Chromium so that $CHROMIUM exists, then rerun." >&2
  exit 1
fi
if [[ $(id -u) -eq 0 ]]; then
  echo "ensure-chromium: installing Debian's chromium (apt-get)…" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  echo "ensure-chromium: installing Debian's chromium (sudo apt-get)…" >&2
  sudo DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  sudo DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null
else
  echo "ensure-chromium: $CHROMIUM is missing; install it with 'sudo apt-get install chromium' (needs root), then rerun." >&2
  exit 1
fi

if [[ ! -x $CHROMIUM ]]; then
  echo "ensure-chromium: apt-get finished but $CHROMIUM is still missing." >&2
  exit 1
fi
