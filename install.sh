#!/usr/bin/env bash
# Installs the claude-coord CLI (a native binary) for this machine from the project's release assets.
#
#   curl -fsSL https://raw.githubusercontent.com/claude-coord/claude-coord/main/install.sh | bash
#
# Environment (all optional):
#   CLAUDE_COORD_VERSION        release tag to install, e.g. v0.1.0 (default: the latest release)
#   CLAUDE_COORD_DOWNLOAD_URL   base URL that holds the assets (default: the GitHub release of that tag)
#   CLAUDE_COORD_INSTALL_DIR    folder to install into (default: /usr/local/bin as root, else ~/.local/bin)
#
# The asset's SHA-256 is checked against <asset>.sha256 or SHA256SUMS next to it before anything is
# installed; a missing or wrong checksum installs nothing and exits 1.
set -euo pipefail

REPOSITORY_URL="https://github.com/claude-coord/claude-coord"

say() { printf 'claude-coord install: %s\n' "$*" >&2; }
fail() {
  printf 'ERROR: %s\n' "$1" >&2
  [ $# -gt 1 ] && printf '\nACTION REQUIRED: %s\n' "$2" >&2
  exit 1
}

# --- Which asset ---------------------------------------------------------------------------------
os=$(uname -s)
arch=$(uname -m)
case "$os" in
  Linux) os=Linux ;;
  Darwin) os=Darwin ;;
  MINGW* | MSYS* | CYGWIN* | Windows_NT) os=Windows ;;
  *) fail "unsupported operating system '$os'." "Build from source: dotnet publish src/ClaudeCoord.Cli -c Release -r <rid>, or install the dotnet tool: dotnet tool install -g ClaudeCoord.Cli" ;;
esac
case "$arch" in
  x86_64 | amd64 | AMD64) arch=x86_64 ;;
  aarch64 | arm64 | ARM64) if [ "$os" = Darwin ]; then arch=arm64; else arch=aarch64; fi ;;
  *) fail "unsupported processor '$arch' on $os." "Install the dotnet tool instead: dotnet tool install -g ClaudeCoord.Cli" ;;
esac
if [ "$os" = Windows ] && [ "$arch" != x86_64 ]; then
  fail "no Windows build for '$arch'." "Install the dotnet tool instead: dotnet tool install -g ClaudeCoord.Cli"
fi

asset="claude-coord-$os-$arch"
binary=claude-coord
if [ "$os" = Windows ]; then
  asset="$asset.exe"
  binary=claude-coord.exe
fi

if [ -n "${CLAUDE_COORD_DOWNLOAD_URL:-}" ]; then
  base_url=${CLAUDE_COORD_DOWNLOAD_URL%/}
elif [ -n "${CLAUDE_COORD_VERSION:-}" ]; then
  base_url="$REPOSITORY_URL/releases/download/$CLAUDE_COORD_VERSION"
else
  base_url="$REPOSITORY_URL/releases/latest/download"
fi

# --- Where -----------------------------------------------------------------------------------------
if [ -n "${CLAUDE_COORD_INSTALL_DIR:-}" ]; then
  install_dir=$CLAUDE_COORD_INSTALL_DIR
elif [ "$(id -u)" = 0 ]; then
  install_dir=/usr/local/bin
else
  install_dir="$HOME/.local/bin"
fi

# --- Tools -----------------------------------------------------------------------------------------
if command -v curl >/dev/null 2>&1; then
  download() { curl -fsSL --retry 2 --connect-timeout 20 --max-time 300 -o "$2" "$1"; }
elif command -v wget >/dev/null 2>&1; then
  download() { wget -q --tries=3 --timeout=60 -O "$2" "$1"; }
else
  fail "neither curl nor wget is installed." "Install curl (e.g. apt-get install curl) and run this script again."
fi
if command -v sha256sum >/dev/null 2>&1; then
  sha256_of() { sha256sum "$1" | awk '{print $1}'; }
elif command -v shasum >/dev/null 2>&1; then
  sha256_of() { shasum -a 256 "$1" | awk '{print $1}'; }
else
  fail "neither sha256sum nor shasum is installed, so the download cannot be verified." "Install coreutils (sha256sum) and run this script again."
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/claude-coord-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

# --- Download and verify ---------------------------------------------------------------------------
say "downloading $asset from $base_url"
download "$base_url/$asset" "$work/$asset" \
  || fail "could not download $base_url/$asset." "Check the network and the release (CLAUDE_COORD_VERSION / CLAUDE_COORD_DOWNLOAD_URL), then run this script again."

expected=""
if download "$base_url/$asset.sha256" "$work/$asset.sha256" 2>/dev/null; then
  expected=$(awk 'NF { print $1; exit }' "$work/$asset.sha256")
elif download "$base_url/SHA256SUMS" "$work/SHA256SUMS" 2>/dev/null; then
  # Lines are "<hash>  <name>" or "<hash> *<name>" (binary mode).
  expected=$(awk -v name="$asset" '$2 == name || $2 == "*" name { print $1; exit }' "$work/SHA256SUMS")
fi
expected=$(printf '%s' "$expected" | tr 'A-F' 'a-f')
if ! printf '%s' "$expected" | grep -Eq '^[0-9a-f]{64}$'; then
  fail "no published SHA-256 for $asset ($asset.sha256 or SHA256SUMS at $base_url); nothing was installed." \
    "Use a release that publishes checksums, or check CLAUDE_COORD_DOWNLOAD_URL."
fi
actual=$(sha256_of "$work/$asset")
if [ "$actual" != "$expected" ]; then
  fail "checksum mismatch for $asset: expected $expected, got $actual; nothing was installed." \
    "The download is corrupt or was tampered with. Run this script again; if it fails again, report it to the claude-coord maintainers."
fi
say "SHA-256 verified ($actual)"

# --- Install (atomically: a running copy is never half-written) ------------------------------------
mkdir -p "$install_dir" || fail "cannot create $install_dir." "Set CLAUDE_COORD_INSTALL_DIR to a folder you can write to."
target="$install_dir/$binary"
staging="$install_dir/.$binary.install.$$"
cp "$work/$asset" "$staging" 2>/dev/null || fail "cannot write to $install_dir." "Set CLAUDE_COORD_INSTALL_DIR to a folder you can write to, or run as a user who can write there."
chmod 755 "$staging"
mv -f "$staging" "$target"
say "installed $target"

if version=$("$target" --version 2>/dev/null); then
  say "$binary --version: $version"
else
  say "warning: $target did not run (--version failed); check that $asset matches this machine."
fi

case ":$PATH:" in
  *":$install_dir:"*) ;;
  *) say "note: $install_dir is not on PATH; add it:  export PATH=\"$install_dir:\$PATH\"" ;;
esac
