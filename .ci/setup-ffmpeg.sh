#!/usr/bin/env bash
# Installs Debian's ffmpeg (ffmpeg and ffprobe) for `masque mask` on videos and its tests
# (crates/cli/tests/mask_video_cli.rs). Idempotent: does nothing when both are on PATH.
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends ffmpeg >/dev/null
ffmpeg -version | head -1
