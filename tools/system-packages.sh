#!/usr/bin/env bash
# Installs the Debian packages the portal needs outside Python.
#   tools/system-packages.sh run   what serving needs: Pango/HarfBuzz and a font for WeasyPrint's PDFs
#   tools/system-packages.sh       also what the tests and benchmarks need: Chromium for the browser
#                                  tests, poppler-utils (pdftotext), redis-tools, wrk
# Installs only what is missing; without root or apt it names the missing packages and stops.
set -euo pipefail

PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b libharfbuzz-subset0 fonts-dejavu-core)
[ "${1:-}" = "run" ] || PACKAGES+=(chromium poppler-utils redis-tools wrk)

command -v dpkg-query >/dev/null 2>&1 || { echo "Kein Debian-System: bitte installieren Sie ${PACKAGES[*]} selbst."; exit 0; }
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Es fehlen Systempakete: ${missing[*]}"
  echo "Bitte installieren: sudo apt-get install ${missing[*]}"
  exit 1
fi
echo "Installiere Systempakete: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
