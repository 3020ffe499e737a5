#!/usr/bin/env bash
# Fails when a tracked C++ file differs from clang-format's output
# (.clang-format: Google style, 100 columns). Fix with: clang-format -i FILE.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
mapfile -t files < <(git ls-files '*.cc' '*.h')
if ((${#files[@]} == 0)); then exit 0; fi
clang-format --dry-run -Werror "${files[@]}"
echo "format: ${#files[@]} C++ files match .clang-format"
