#!/bin/sh
# Data time of a video dataset against a ResNet3D-34 step (issue 12).
#   bench/video_bench.sh [DIR]     (default DIR: bench/results/video)
# Makes DIR/videos once: 4 classes x 6 MPEG-4 .avi files of 320x240 at
# 25 fps, 8 s each (UCF101's format and a little above its mean length),
# then trains the seed's ResNet3D-34 (16x112x112x3, batch 8, 2 threads)
# for 10 steps on them and on the synthetic data with --timing, and prints
# the steady-state data time per step (the wait for the prefetch thread)
# as a share of the step.  The target is at most 2 %.  Writes DIR/video.txt.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-bench/results/video}
steps=${VIDEO_BENCH_STEPS:-10}
mkdir -p "$dir/videos"
if [ ! -f "$dir/videos/.done" ]; then
    for c in 0 1 2 3; do
        mkdir -p "$dir/videos/class$c"
        for v in 0 1 2 3 4 5; do
            # Four different moving test patterns, one per class.
            case $c in
                0) src="testsrc=size=320x240:rate=25" ;;
                1) src="testsrc2=size=320x240:rate=25" ;;
                2) src="mandelbrot=size=320x240:rate=25" ;;
                3) src="life=size=320x240:rate=25:mold=10:ratio=0.1" ;;
            esac
            ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i "$src" -ss "$v" -frames:v 200 \
                -c:v mpeg4 -q:v 5 "$dir/videos/class$c/v_${c}_${v}.avi" </dev/null
        done
    done
    touch "$dir/videos/.done"
fi
run() { # run NAME DATA-OPTIONS...
    name=$1
    shift
    rm -rf "$dir/run-$name"
    ./nanprobe train "$@" --depth 34 --width 64 --clip 16x112x112x3 --batch 8 --threads 2 --epochs 100 \
        --max-steps "$steps" --val-clips 0 --timing --no-report --quiet --out "$dir/run-$name" 2> "$dir/$name.timing"
    tail -n 1 "$dir/$name.timing"
}
video_json=$(run video --data "$dir/videos")
synthetic_json=$(run synthetic --data synthetic --classes 4 --train-clips 24)
/usr/bin/python3 - "$video_json" "$synthetic_json" <<'PY' | tee "$dir/video.txt"
import json, sys
v, s = json.loads(sys.argv[1]), json.loads(sys.argv[2])
def step(t): return sum(x for k, x in t.items() if k != "steps")
for name, t in (("videos (320x240 MPEG-4, prefetch)", v), ("synthetic (generated in the step)", s)):
    print(f"{name:36s} step {step(t) * 1000:8.1f} ms  data {t['data'] * 1000:7.2f} ms  "
          f"= {100 * t['data'] / step(t):5.2f} % of the step  ({t['steps']} steady-state steps)")
print(f"video step / synthetic step = {step(v) / step(s):.3f}")
print("target: data <= 2 % of a ResNet3D-34 step:", "met" if v["data"] <= 0.02 * step(v) else "NOT met")
PY
