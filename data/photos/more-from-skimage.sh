#!/bin/sh
# Extracts the further scikit-image sample photos used by the 10-class photo-crop task
# (bench/select/photo-crops.ts) from Debian's python3-skimage package, converting the PNGs to
# JPEG (quality 90, ImageMagick) to keep the repository small. Needs apt-get and imagemagick.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
apt-get download python3-skimage
dpkg-deb -x python3-skimage_*.deb x
data=x/usr/lib/python3/dist-packages/skimage/data
cp "$data/rocket.jpg" "$data/retina.jpg" "$here/"
for name in astronaut ihc brick grass gravel; do
  convert "$data/$name.png" -strip -quality 90 "$here/$name.jpg"
done
