#!/usr/bin/env bash
# Install the Debian/Ubuntu system libraries fieldrec needs, when they are missing.
#   tools/setup-system.sh run    libraries for the app (PortAudio, libsndfile, Qt's X11/EGL libraries)
#   tools/setup-system.sh test   the above plus the test rig (PulseAudio, Xvfb, sox, ffmpeg, mediainfo, gpsd + gpsfake)
# As root it runs apt-get; otherwise it prints the exact command to run. A second run changes nothing.
set -eu
what=${1:-run}
pkgs="libportaudio2 libsndfile1 libegl1 libgl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0 libxcb-xinerama0"
if [ "$what" = test ] || [ "$what" = bench ]; then
  pkgs="$pkgs pulseaudio pulseaudio-utils libasound2-plugins alsa-utils xvfb xauth sox ffmpeg mediainfo gpsd gpsd-clients"
fi
command -v dpkg-query >/dev/null 2>&1 || { echo "setup-system: not a Debian/Ubuntu system; install PortAudio and libsndfile yourself"; exit 0; }
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "setup-system: installing$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
  echo "setup-system: missing system packages. Run:"
  echo "  sudo apt-get install$missing"
  exit 1
fi
