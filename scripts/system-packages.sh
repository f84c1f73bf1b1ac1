#!/usr/bin/env bash
# Install the Debian packages studio-intake uses, when they are missing and we may (root + apt).
#   unar, libarchive-tools (bsdtar): RAR4 and RAR5, solid or not, between them
#   7zip (7zz): py7zr's fallback for BCJ2 / Deflate64 / AES archives
#   dovecot-imapd: only for the tests (a real IMAP server on loopback)
#   chromium, chromium-driver: only for the tests (the HTML report as webmail would show it; the staff console
#     driven through Selenium)
#   libreoffice-writer-nogui (soffice): optional, reads .doc/.wps by converting them to .docx (without it
#     they go to staff as unreadable); installed with --tests so the conversion tests run
# Usage: scripts/system-packages.sh [--tests]
set -euo pipefail
missing=()
command -v unar >/dev/null || missing+=(unar)
command -v bsdtar >/dev/null || missing+=(libarchive-tools)
command -v 7zz >/dev/null || missing+=(7zip)
if [ "${1:-}" = "--tests" ] && [ ! -x /usr/sbin/dovecot ]; then missing+=(dovecot-imapd); fi
if [ "${1:-}" = "--tests" ] && [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if [ "${1:-}" = "--tests" ] && [ ! -x /usr/bin/chromedriver ]; then missing+=(chromium-driver); fi
if [ "${1:-}" = "--tests" ] && ! command -v soffice >/dev/null; then missing+=(libreoffice-writer-nogui); fi
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
if command -v apt-get >/dev/null && { [ -z "$SUDO" ] || sudo -n true 2>/dev/null; }; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "note: install the Debian packages ${missing[*]}; until then the features and tests that need them are skipped" >&2
fi
