#!/usr/bin/env bash
# Install the Debian packages the browser tests and the tweet renderer use:
#   chromium                 headless browser for tests/code/test_app_browser.py
#   fonts-noto-color-emoji   colour emoji in tweet images
#   fonts-noto-cjk           Chinese, Japanese and Korean text in tweet images
# Usage: install_system_packages.sh [PACKAGE...]   (default: all three; `make demo` asks for the two
# fonts, `make test` for all). Idempotent: does nothing when everything is present. Without apt-get, or without root (or
# password-less sudo), it prints one line saying what is missing and how to install it, and
# exits 0: the tests that need the browser then skip, and the renderer draws without those fonts.
set -euo pipefail

KNOWN=(chromium fonts-noto-color-emoji fonts-noto-cjk)
PACKAGES=("$@")
if [ ${#PACKAGES[@]} -eq 0 ]; then
    PACKAGES=("${KNOWN[@]}")
fi
for package in "${PACKAGES[@]}"; do
    case " ${KNOWN[*]} " in
        *" $package "*) ;;
        *) echo "Unknown package '$package': this script installs only ${KNOWN[*]}." >&2; exit 2 ;;
    esac
done

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

missing=()
for package in "${PACKAGES[@]}"; do
    if [ "$package" = chromium ] && [ -x /usr/bin/chromium ]; then
        continue
    fi
    if command -v dpkg-query >/dev/null 2>&1 && is_installed "$package"; then
        continue
    fi
    missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "System packages missing: ${missing[*]} (no apt-get here: install Chromium at /usr/bin/chromium and the Noto emoji and CJK fonts with your package manager; browser tests will skip)."
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "System packages missing: ${missing[*]} (run: sudo apt-get update && sudo apt-get install -y ${missing[*]}; browser tests will skip until then)."
    exit 0
fi

echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if ! "${as_root[@]}" apt-get update -qq || ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "Could not install ${missing[*]} with apt-get (see the messages above); browser tests will skip."
fi
exit 0
