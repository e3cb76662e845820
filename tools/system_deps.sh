#!/usr/bin/env bash
# Debian packages echo_edu uses beside pip: espeak-ng (a speech engine for the synthetic corpus)
# and chromium (the browser test of the notebooks). Installs what is missing when run as root;
# otherwise says what to install and goes on (the pip-only path still works with piper alone).
set -u
need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "note: not root, so not installing: ${need[*]} (sudo apt-get install ${need[*]})" >&2
fi
exit 0
