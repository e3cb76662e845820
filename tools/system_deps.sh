#!/usr/bin/env bash
# Debian packages echo_edu uses beside pip: the speech engines of the synthetic corpus (espeak-ng;
# flite; festival and its free voices festvox-kallpc16k, festvox-kdlpc16k, festvox-us-slt-hts) and
# chromium (the browser test of the notebooks). Installs what is missing when run as root;
# otherwise says what to install and goes on (the pip-only path still works with piper alone).
# Quick and idempotent: with everything present it only looks (no apt-get at all).
set -u
need=()
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
command -v flite >/dev/null 2>&1 || need+=(flite)
command -v festival >/dev/null 2>&1 || need+=(festival)
# festival voice package -> the folder it installs under /usr/share/festival/voices/
for pair in festvox-kallpc16k:english/kal_diphone festvox-kdlpc16k:english/ked_diphone \
            festvox-us-slt-hts:us/cmu_us_slt_arctic_hts; do
  [ -d "/usr/share/festival/voices/${pair#*:}" ] || need+=("${pair%%:*}")
done
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
else
  echo "note: not root, so not installing: ${need[*]} (sudo apt-get install ${need[*]})" >&2
fi
exit 0
