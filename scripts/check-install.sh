#!/usr/bin/env bash
# `npm run check:install`: installs the packed tarball the way a user does, in fresh directories, and checks
# that it works there (CI runs it):
#   1. --omit=optional with no CMake on PATH: koffi is absent, the install succeeds without building
#      anything, and acquire, onlyone run, status and stop work through the /proc fallback, while
#      --backend lockfile (flock through koffi) fails with its clear ERR_BACKEND (exit 69);
#   2. a normal install, also without CMake: koffi's prebuilt binary loads, identity is kernel-verified,
#      the lockfile backend works, and `npm install -g` puts onlyone in PREFIX/bin and its man page in
#      PREFIX/share/man/man1;
#   3. the same install with koffi's native package deleted (a failed build, an unsupported platform):
#      everything still runs through /proc.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/onlyone-install-XXXXXX")
trap 'rm -rf "$work"' EXIT
say() { printf 'check-install: %s\n' "$*"; }
fail() { printf 'check-install: FAILED: %s\n' "$*" >&2; exit 1; }

# No CMake: a cmake that says it is missing comes first on PATH (koffi's source build needs it).
mkdir "$work/no-cmake"
printf '#!/bin/sh\necho "cmake: not installed (check-install)" >&2\nexit 127\n' > "$work/no-cmake/cmake"
chmod +x "$work/no-cmake/cmake"
export PATH="$work/no-cmake:$PATH"
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

say "packing $root"
tarball=$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -n 1)
tarball="$work/$tarball"
tar -tzf "$tarball" > "$work/contents"
grep -qx 'package/dist/cli/main.js' "$work/contents" || fail "the tarball has no dist/cli/main.js"
grep -qx 'package/dist/man/onlyone.1' "$work/contents" || fail "the tarball has no man page"
if grep -q 'package/dist/cli/main.d.ts' "$work/contents"; then fail "the tarball ships dist/cli/main.d.ts"; fi

# install DIR [npm flags...]: a fresh project in DIR with the tarball installed; fails on any build step.
install() {
  local dir=$1; shift
  mkdir -p "$dir"
  (cd "$dir" && npm init -y >/dev/null && npm install "$@" "$tarball" >"$dir/npm.log" 2>&1) || { cat "$dir/npm.log"; fail "npm install $* failed in $dir"; }
  # npm 11 lists dependencies' install scripts it has not been told to allow (koffi's); never ours.
  if grep -Eiq 'onlyone@.*(prepare|install)|npm run build|rebuilding from source|cmake' "$dir/npm.log"; then cat "$dir/npm.log"; fail "npm install $* built something"; fi
}

# exercise DIR MODE: MODE is verified (koffi loads) or proc (the /proc fallback).
exercise() {
  local dir=$1 mode=$2 bin="$1/node_modules/.bin/onlyone" name="check-install-$$-$RANDOM"
  cd "$dir"
  node --input-type=module -e "
    import { acquire, status } from 'onlyone';
    const lock = await acquire('$name-lib');
    const seen = await status('$name-lib');
    if (seen?.pid !== process.pid) throw new Error('status does not name this process: ' + JSON.stringify(seen));
    await lock.release();
    if (await status('$name-lib') !== undefined) throw new Error('still held after release');"
  say "$mode: acquire, status and release from the library"
  "$bin" run "$name" -- true || fail "onlyone run failed"
  "$bin" run "$name" -- sleep 60 &
  local runner=$!
  for _ in $(seq 100); do "$bin" status "$name" >/dev/null && break; sleep 0.1; done
  local seen
  seen=$("$bin" status "$name" --json) || fail "status does not see the running holder"
  case $mode in
    verified) [[ $seen == *'"verified":true'* ]] || fail "status is not kernel-verified with koffi: $seen" ;;
    proc) [[ $seen == *'"held":true'* ]] || fail "status --json does not show the lock held: $seen" ;;
  esac
  "$bin" stop "$name" --timeout 10 >/dev/null || fail "onlyone stop failed"
  wait "$runner" || true
  if "$bin" status "$name" >/dev/null; then fail "still held after stop"; fi
  say "$mode: onlyone run, status --json and stop"
  local out code=0
  out=$("$bin" run --backend lockfile --dir "$dir/locks" "$name" -- true 2>&1) || code=$?
  if [[ $mode == verified ]]; then
    [[ $code == 0 ]] || fail "the lockfile backend failed with koffi installed: $out"
    say "$mode: --backend lockfile runs"
  else
    [[ $code == 69 && $out == *koffi* ]] || fail "--backend lockfile without koffi: exit $code, '$out' (want 69 and a message naming koffi)"
    node --input-type=module -e "
      import { acquire } from 'onlyone';
      const error = await acquire('$name', { backend: 'lockfile', dir: '$dir/locks' }).then(() => undefined, (e) => e);
      if (error?.code !== 'ERR_BACKEND') throw new Error('want ERR_BACKEND, got ' + (error?.code ?? 'no error'));"
    say "$mode: --backend lockfile fails clearly (exit 69, ERR_BACKEND): $out"
  fi
  cd "$root"
}

install "$work/omit" --omit=optional
[[ ! -e $work/omit/node_modules/koffi ]] || fail "--omit=optional installed koffi"
say "--omit=optional without CMake: installed, no koffi, nothing built"
exercise "$work/omit" proc

install "$work/normal"
[[ -e $work/normal/node_modules/koffi ]] || fail "a normal install has no koffi"
say "normal install without CMake: installed, koffi's prebuilt binary, nothing built"
exercise "$work/normal" verified

rm -rf "$work/normal/node_modules/@koromix"
say "normal install with koffi's native package deleted (as after a failed build)"
exercise "$work/normal" proc

mkdir "$work/global"
npm install -g --prefix "$work/global" "$tarball" >"$work/global.log" 2>&1 || { cat "$work/global.log"; fail "npm install -g failed"; }
[[ -x $work/global/bin/onlyone ]] || fail "npm install -g put no onlyone in PREFIX/bin"
"$work/global/bin/onlyone" --version >/dev/null || fail "the global onlyone does not run"
[[ -e $work/global/share/man/man1/onlyone.1 ]] || fail "npm install -g installed no man page"
say "npm install -g: PREFIX/bin/onlyone runs, PREFIX/share/man/man1/onlyone.1 is there"
say PASSED
