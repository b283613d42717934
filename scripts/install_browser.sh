#!/usr/bin/env bash
# Install a headless Chromium for the HTML report's browser test (tests/report/test_browser.py).
#
# Idempotent: does nothing when chromium, chromium-browser or google-chrome is already on
# PATH. Otherwise, as root on a Debian/Ubuntu system, installs Debian's `chromium` package.
# Without root or apt-get it prints how to install one and exits 1.
set -euo pipefail

for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        echo "install_browser: found $(command -v "$name")"
        exit 0
    fi
done

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: installing Debian's chromium package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium
    command -v chromium >/dev/null 2>&1 || { echo "install_browser: chromium not on PATH after install" >&2; exit 1; }
    echo "install_browser: installed $(command -v chromium)"
    exit 0
fi

cat >&2 <<'MSG'
install_browser: no headless browser found (chromium, chromium-browser or google-chrome).
Install one, then re-run the tests:
  Debian/Ubuntu:  sudo apt-get install --no-install-recommends chromium
  Fedora:         sudo dnf install chromium
  macOS:          brew install --cask chromium
Or set TRUSTBENCH_CHROMIUM=/path/to/chrome.
MSG
exit 1
