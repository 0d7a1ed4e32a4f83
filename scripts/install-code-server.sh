#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100.3: the VS Code server plus its web workbench) into
# .vscode-test/code-server-4.100.3 without any network but the npm registry, for the extension-host
# and end-to-end tests (test/vscode/). @vscode/test-electron would download VS Code desktop from the
# VS Code update service, which this machine cannot reach. The steps are those of
# notes/vscode-test-host.md; the network-only steps (postinstall scripts, ripgrep's GitHub download,
# node-pty's compile_commands step) are skipped, and success is judged by the native modules being
# there, not by exit codes. Idempotent: a finished install is detected and left alone.
#
# Needs the Debian packages: ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev
# (and chromium to run the tests), python3, make, g++. Node 20 (code-server 4.100 refuses others).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=4.100.3
DIR="$PWD/.vscode-test/code-server-$VERSION"
CS="$DIR/node_modules/code-server"
VSC="$CS/lib/vscode"
STAMP="$DIR/.installed"

# code-server writes into ~/.config and ~/.local/share even for --version: keep it in the folder.
export XDG_CONFIG_HOME="$DIR/.xdg/config" XDG_DATA_HOME="$DIR/.xdg/data" XDG_CACHE_HOME="$DIR/.xdg/cache"
# No telemetry, update or audit traffic from npm.
export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false

log() { echo "== install-code-server: $*"; }

NATIVE=(
  "$DIR/node_modules/argon2/lib/binding/napi-v3/argon2.node"
  "$VSC/node_modules/node-pty/build/Release/pty.node"
  "$VSC/node_modules/@vscode/spdlog/build/Release/obj.target/spdlog.node"
  "$VSC/node_modules/kerberos/build/Release/kerberos.node"
  "$VSC/node_modules/native-watchdog/build/Release/watchdog.node"
)

complete() {
  local m=0
  for f in "${NATIVE[@]}"; do [[ -f "$f" ]] || { echo "missing: $f" >&2; m=1; }; done
  [[ -e "$VSC/node_modules.asar" ]] || { echo "missing: $VSC/node_modules.asar" >&2; m=1; }
  [[ -x "$VSC/node_modules/@vscode/ripgrep/bin/rg" ]] || { echo "missing: $VSC/node_modules/@vscode/ripgrep/bin/rg" >&2; m=1; }
  [[ -d "$VSC/extensions/node_modules" ]] || { echo "missing: $VSC/extensions/node_modules" >&2; m=1; }
  return $m
}

version_ok() {
  local out
  out=$(node "$CS/out/node/entry.js" --config "$DIR/.xdg/config.yaml" --version 2>/dev/null) || return 1
  grep -q "^$VERSION .*with Code 1.100.3$" <<<"$out"
}

if [[ -f "$STAMP" ]] && complete 2>/dev/null && version_ok; then
  log "code-server $VERSION already installed in $DIR"
  exit 0
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [[ "$node_major" != 20 ]]; then
  echo "code-server $VERSION needs Node 20; this is Node $(node --version)" >&2
  exit 1
fi
RG=$(command -v rg || true)
if [[ -z "$RG" ]]; then
  echo "ripgrep (rg) is not installed: apt-get install -y ripgrep libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev chromium" >&2
  exit 1
fi
rm -f "$STAMP"
mkdir -p "$DIR"

# 1. code-server itself, without its postinstall (which builds VS Code's dependencies online),
#    then its own native dependency.
if [[ ! -f "$CS/package.json" ]]; then
  log "npm install --ignore-scripts code-server@$VERSION"
  [[ -f "$DIR/package.json" ]] || echo '{"name":"code-server-cache","private":true}' > "$DIR/package.json"
  (cd "$DIR" && npm install --no-save --ignore-scripts "code-server@$VERSION")
fi
if [[ ! -f "${NATIVE[0]}" ]]; then
  log "npm rebuild argon2"
  (cd "$DIR" && npm rebuild argon2)
fi

# 2. VS Code's own dependencies, scripts skipped; ripgrep from Debian instead of GitHub; then the
#    native builds. `npm rebuild` ends non-zero: node-pty's last step (node-gyp configure -f
#    compile_commands_json via npx) needs the network, after every .node file is built.
if [[ ! -d "$VSC/node_modules/node-pty" ]]; then
  log "npm install --omit=dev --ignore-scripts in lib/vscode"
  (cd "$VSC" && npm install --omit=dev --ignore-scripts)
fi
mkdir -p "$VSC/node_modules/@vscode/ripgrep/bin"
ln -sfn "$RG" "$VSC/node_modules/@vscode/ripgrep/bin/rg"
need_rebuild=0
for f in "${NATIVE[@]:1}"; do [[ -f "$f" ]] || need_rebuild=1; done
if [[ $need_rebuild == 1 ]]; then
  log "npm rebuild in lib/vscode (its non-zero exit is expected; the native modules are checked below)"
  (cd "$VSC" && npm rebuild) > "$DIR/rebuild.log" 2>&1 || log "npm rebuild exited $? (see $DIR/rebuild.log)"
fi

# 3. VS Code loads node_modules.asar in a packaged build.
ln -sfn node_modules "$VSC/node_modules.asar"

# 4. The built-in extensions' dependencies.
if [[ ! -d "$VSC/extensions/node_modules" ]]; then
  log "npm install --omit=dev in lib/vscode/extensions"
  (cd "$VSC/extensions" && npm install --omit=dev)
fi

# 5. Check the result rather than trusting exit codes.
if ! complete; then
  echo "code-server install in $DIR is incomplete (see the missing files above; $DIR/rebuild.log)" >&2
  exit 1
fi
if ! version_ok; then
  echo "code-server in $DIR does not start: $(node "$CS/out/node/entry.js" --config "$DIR/.xdg/config.yaml" --version 2>&1 | tail -5)" >&2
  exit 1
fi
touch "$STAMP"
log "installed: $(node "$CS/out/node/entry.js" --config "$DIR/.xdg/config.yaml" --version 2>/dev/null | tail -1)"
