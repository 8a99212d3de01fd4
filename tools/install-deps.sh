#!/bin/sh
# Installs the Debian packages nanprobe needs, when they are missing.
#   install-deps.sh build       compiler-side: OpenBLAS (OpenMP flavour), SQLite, gnuplot, OpenMPI
#   install-deps.sh reference   build + python3-torch (regenerating the parity fixture)
#   install-deps.sh bench       build + python3-torch (the PyTorch peer)
#   install-deps.sh keras-fixtures  build + python3-torch, python3-h5py (tests/keras fixtures)
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu
what=${1:-build}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)

missing=""
need() { # need PACKAGE TEST-PATH-OR-COMMAND
    case "$2" in
        /*) [ -e "$2" ] || missing="$missing $1" ;;
        *)  command -v "$2" >/dev/null 2>&1 || missing="$missing $1" ;;
    esac
}
need libopenblas-openmp-dev "/usr/include/$multiarch/openblas-openmp/cblas.h"
need libsqlite3-dev /usr/include/sqlite3.h
need gnuplot-nox gnuplot
# Video datasets (--data DIR of .avi/.mp4): FFmpeg's libraries; the ffmpeg
# command makes the lossy test videos.
need libavformat-dev "/usr/include/$multiarch/libavformat/avformat.h"
need libavcodec-dev "/usr/include/$multiarch/libavcodec/avcodec.h"
need libswscale-dev "/usr/include/$multiarch/libswscale/swscale.h"
need libavutil-dev "/usr/include/$multiarch/libavutil/avutil.h"
need pkg-config pkg-config
need ffmpeg ffmpeg
need sqlite3 sqlite3
# Keras checkpoints (src/keras): HDF5, zip archives, JSON configs.
need libhdf5-dev /usr/include/hdf5/serial/hdf5.h
need libzip-dev /usr/include/zip.h
need libjansson-dev /usr/include/jansson.h
# OpenMPI: linked always, used only under mpirun (data-parallel train, ablate).
need libopenmpi-dev "/usr/lib/$multiarch/openmpi/include/mpi.h"
need openmpi-bin mpirun
case "$what" in
    reference|bench)
        /usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1 || missing="$missing python3-torch python3-numpy"
        [ "$what" = bench ] && need time /usr/bin/time
        ;;
    keras-fixtures)
        /usr/bin/python3 -c 'import torch, numpy' >/dev/null 2>&1 || missing="$missing python3-torch python3-numpy"
        /usr/bin/python3 -c 'import h5py' >/dev/null 2>&1 || missing="$missing python3-h5py"
        ;;
esac
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
    echo "nanprobe: installing missing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 ||
        { apt-get update >/dev/null && apt-get install -y --no-install-recommends $missing; }
else
    echo "nanprobe: missing Debian packages:$missing" >&2
    echo "run as root:  apt-get install -y$missing" >&2
    exit 1
fi
