#!/usr/bin/env bash
# Installs Debian's chromium for the aid desk's operator-page test
# (crates/service/tests/operator_page.rs renders the page in headless Chromium and takes a
# screenshot). Idempotent: does nothing when chromium is already on PATH.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq chromium >/dev/null
chromium --version
