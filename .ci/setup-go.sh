#!/usr/bin/env bash
# Installs Go and golang.org/x/mod from Debian for the transparency-log interop test
# (crates/tlog/tests/interop_go.rs verifies our checkpoints and proofs with Go's
# sumdb/note and sumdb/tlog). Idempotent: does nothing when both are already present.
set -euo pipefail
if command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/golang.org/x/mod/sumdb ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends golang-go golang-golang-x-mod-dev >/dev/null
go version
