#!/usr/bin/env bash
# Makes punchgate-VERSION.tar.gz, the release that punchgate-install puts on a Raspberry Pi
# (docs/deploy-pi.md). Run in a git checkout whose dependencies are installed (npm ci):
#
#   provisioning/pi/make-release.sh [--out DIR] [--no-build]
#
# It builds dist/ (unless --no-build), then packs, in one folder punchgate-VERSION/, the files git
# tracks (as they are in the work tree, so they match the dist/ just built) except the tests, with
# dist/ and package-lock.json: on the Pi, `npm ci --omit=dev` installs exactly the locked
# dependencies and builds the native ones for arm64, and no TypeScript build is needed there.
set -euo pipefail

die() {
  printf 'make-release: %s\n' "$*" >&2
  exit 1
}

root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)
out=$root
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) [ $# -ge 2 ] || die "--out needs a folder"; out=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[ -d "$out" ] || die "no such folder: $out"
out=$(cd "$out" && pwd)

cd "$root"
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || die "$root is not a git checkout"
version=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' package.json | sed -n 1p)
[[ $version =~ ^[0-9A-Za-z.+-]+$ ]] || die "cannot read the version in package.json"
if [ "$build" -eq 1 ]; then
  npm run build >&2
fi
[ -f dist/bin/punchgate.js ] || die "dist/ is not built (npm run build)"
[ -f package-lock.json ] || die "package-lock.json is missing: the Pi installs the locked dependencies"

name=punchgate-$version
archive=$out/$name.tar.gz
list=$(mktemp)
trap 'rm -f "$list"' EXIT
# Tracked files that exist in the work tree (not the tests), then the build.
git ls-files -z -- . ':(exclude)test/**' | while IFS= read -r -d '' file; do
  if [ -f "$file" ] && [ ! -L "$file" ]; then printf '%s\0' "$file"; fi
done >"$list"
find dist -type f -print0 | sort -z >>"$list"
# Reproducible: the same tree gives the same archive (names sorted, owner root, last commit's time).
tar --null --files-from="$list" --transform "flags=r;s,^,$name/," --sort=name --owner=0 --group=0 --numeric-owner \
  --mtime="@$(git log -1 --format=%ct)" -cf - | gzip -n >"$archive"
printf '%s\n' "$archive"
