#!/usr/bin/env bash
# Install a headless Chromium and its WebDriver for the browser tests: the HTML report's
# (tests/report/test_browser.py) and the monitoring dashboard's
# (tests/monitor/test_serve_browser.py).
#
# Idempotent: does nothing when a browser and chromedriver are already on PATH. Otherwise,
# as root on a Debian/Ubuntu system, installs Debian's `chromium` and `chromium-driver`
# packages. Without root or apt-get it prints how to install them and exits 1.
set -euo pipefail

browser=""
for name in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$name" >/dev/null 2>&1; then
        browser=$(command -v "$name")
        break
    fi
done
if [ -n "$browser" ] && command -v chromedriver >/dev/null 2>&1; then
    echo "install_browser: found $browser and $(command -v chromedriver)"
    exit 0
fi

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "install_browser: installing Debian's chromium and chromium-driver packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium chromium-driver
    command -v chromium >/dev/null 2>&1 || { echo "install_browser: chromium not on PATH after install" >&2; exit 1; }
    command -v chromedriver >/dev/null 2>&1 || { echo "install_browser: chromedriver not on PATH after install" >&2; exit 1; }
    echo "install_browser: installed $(command -v chromium) and $(command -v chromedriver)"
    exit 0
fi

cat >&2 <<'MSG'
install_browser: no headless browser with its WebDriver found (chromium and chromedriver).
Install them, then re-run the tests:
  Debian/Ubuntu:  sudo apt-get install --no-install-recommends chromium chromium-driver
  Fedora:         sudo dnf install chromium chromedriver
  macOS:          brew install --cask chromium chromedriver
Or set TRUSTBENCH_CHROMIUM=/path/to/chrome (the report's test needs no driver).
MSG
exit 1
