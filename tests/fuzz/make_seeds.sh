#!/bin/sh
# Regenerates the seed corpora of tests/fuzz/ (checked in; run from the
# repository root after `make`):  tests/fuzz/make_seeds.sh ./nanprobe
# Crash inputs found by `make fuzz` are added to the same folders by hand,
# named crash-ISSUE-WHAT, and replayed by test_fuzz_replay in `make test`.
set -eu
nanprobe=${1:-./nanprobe}
root=tests/fuzz/corpus
mkdir -p "$root/npy" "$root/options" "$root/inject" "$root/rundata" "$root/keras"

# .npy: byte 0 selects the fuzzed file (0 clips, 1 labels), the rest is it.
/usr/bin/python3 - "$root/npy" <<'PY'
import io, sys, numpy as np
out = sys.argv[1]
def save(name, sel, arr, version=None):
    b = io.BytesIO()
    if version: np.lib.format.write_array(b, arr, version=version)
    else: np.save(b, arr)
    open(f"{out}/{name}", "wb").write(bytes([sel]) + b.getvalue())
save("clips-u1", 0, np.zeros((4, 2, 4, 4, 1), np.uint8))
save("clips-f4", 0, np.full((4, 2, 4, 4, 1), 0.5, np.float32))
save("clips-f8-v2", 0, np.ones((4, 2, 4, 4, 1), np.float64), (2, 0))
save("clips-u2-v3", 0, np.arange(128, dtype=np.uint16).reshape(4, 2, 4, 4, 1), (3, 0))
save("labels-i8", 1, np.array([0, 1, 2, 1], np.int64))
save("labels-u1", 1, np.array([2, 1, 0, 1], np.uint8))
b = io.BytesIO(); np.save(b, np.zeros((4, 2, 4, 4, 1), np.uint8))
open(f"{out}/clips-truncated", "wb").write(bytes([0]) + b.getvalue()[:200])
open(f"{out}/not-npy", "wb").write(b"\x00PK\x03\x04 not a numpy file")
PY

# options: one argument per line.
printf -- '--depth\n18\n--width\n4\n--clip\n8x32x32x3\n--threads\n1' > "$root/options/small"
printf -- '--batch=4096\n--lr=1e-3\n--l2=0\n--on-nan=continue=5' > "$root/options/values"
printf -- '--inject\nnan-input@step=1,sample=0\n--inject=inf-forward@layer=conv3d_2,step=3' > "$root/options/inject"
printf -- '--resume\nruns/a\n--epochs\n9\n--no-report\n--report' > "$root/options/resume"
printf -- '--clip=16x112x112\n--seed=-1\n--max-steps=0' > "$root/options/bad"

# --inject specs, with the crashes of issue 16.
printf 'nan-input@step=3,sample=1' > "$root/inject/nan-input"
printf 'inf-forward@layer=conv3d_2,step=10,d=1,h=2,w=3,channel=1' > "$root/inject/inf-forward"
printf 'inf-backward@layer=activation_3,step=2' > "$root/inject/inf-backward"
printf 'scale-weights@layer=conv3d_5,step=4,factor=1e30' > "$root/inject/scale-weights"
printf 'nan-input@step=1,sample=2147483648' > "$root/inject/crash-16-sample-2147483648"
printf 'nan-input@step=1,sample=4294967295' > "$root/inject/crash-16-sample-4294967295"
printf 'inf-forward@layer=conv3d_2,step=1,d=4294967295,h=0,w=0' > "$root/inject/crash-16-d-negative"
printf 'nan-input@sample=0,%0150dstep=1234' 0 > "$root/inject/crash-16-long-spec"

# run.db: a real two-step run, and SQL planting hostile values.
tmp=$(mktemp -d)
"$nanprobe" train --depth 18 --width 2 --clip 4x8x8x1 --classes 3 --batch 2 --train-clips 4 --val-clips 2 \
    --epochs 1 --threads 1 --quiet --no-report --out "$tmp/run" >/dev/null || true
cp "$tmp/run/run.db" "$root/rundata/real-run.db"
rm -rf "$tmp"
base="INSERT INTO runs (run_id, name, version, started_at, status, depth, width, clip, classes, batch, init, l2, lr, seed, data, normalize, probe_every, config_json) VALUES (1, 'r', 'v', 't', 'nan', 18, 2, '4x8x8x1', 3, 2, 'he_normal', 0, 0.001, 1, 'synthetic', 'scale', 1, '{}');
INSERT INTO layers VALUES (1, 0, 'input_1', 'input', 'InputLayer', '', '(None, 4, 8, 8, 1)', 0);
INSERT INTO layers VALUES (1, 1, 'conv3d_1', 'stem.conv', 'Conv3D', 'input_1', '(None, 2, 4, 4, 2)', 10);
INSERT INTO steps VALUES (1, 1, 1, 0.001, 1.0, 1.0, 0.0, 0.5, 0.1, 1, '0,1', 1, NULL, 0);
INSERT INTO steps VALUES (1, 2, 1, 0.001, NULL, NULL, 0.0, 0.5, 0.1, 1, '2,3', 0, NULL, 0);"
stats="INSERT INTO stats VALUES (1, 1, 1, 'output', 64, 0, 1, -1, 1, 1, 8, 0.5, 0, 0, 0);"
printf '%s\n%s\n' "$base" "$stats" > "$root/rundata/sql-valid"
printf '%s\n%s\n' "$base" "INSERT INTO stats VALUES (1, 1.5, 1, 'output', 64, 0, 1, -1, 1, 1, 8, 0.5, 0, 0, 0);" > "$root/rundata/crash-16-step-1.5"
printf '%s\n%s\n' "$base" "INSERT INTO stats VALUES (1, 4294967297, 1, 'output', 64, 0, 1, -1, 1, 1, 8, 0.5, 0, 0, 0);" > "$root/rundata/crash-16-step-4294967297"
printf '%s\n%s\n%s\n' "$base" "$stats" "INSERT INTO stats VALUES (1, 1, 1099511627776, 'output', 64, 0, 1, -1, 1, 1, 8, 0.5, 0, 0, 0);" > "$root/rundata/crash-16-huge-layer-id"
printf '%s\n%s\n%s\n' "$base" "$stats" "INSERT INTO stats VALUES (1, 2000000000, 1, 'output', 64, 0, 1, -1, 1, 1, 8, 0.5, 0, 0, 0);" > "$root/rundata/crash-16-huge-step"
printf '%s\n%s\n%s\n' "$base" "$stats" "INSERT INTO stats VALUES (1, 2, 1, 'output', 64, 0, 1, -1, 1, 1, 8, 0.5, 9223372036854775807, 9223372036854775807, 1);" > "$root/rundata/crash-16-count-overflow"
printf '%s\n%s\n%s\n' "$base" "$stats" "INSERT INTO events (run_id, step, epoch, kind, layer_id, message) VALUES (1, 2, 1, 'nan', 77, 'x'); INSERT INTO input_samples VALUES (1, 1, 0, 5, 1, 0, 1, 0, 1, 1, 1e300, 1e300);" > "$root/rundata/crash-16-event-layer"
printf '%s\n%s\n' "DROP TABLE stats; CREATE VIEW stats AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT 1 AS run_id, x AS step, 1 AS layer_id, 'output' AS tensor FROM c;" "$base" > "$root/rundata/crash-16-recursive-view"
# Keras: 12-byte edits (op, link index, two arguments, 8 bytes of value)
# applied to a small exported file (see fuzz_keras.c); empty is the file itself.
/usr/bin/python3 - "$root/keras" <<'PY'
import struct, sys
out = sys.argv[1]
def edit(op, link=0, a=0, b=0, value=b"\0" * 8):
    return bytes([op, link, a, b]) + value
seeds = {
    "valid": b"",
    "iter-nan": edit(6, 0, 0, 0, struct.pack("<d", float("nan"))),
    "iter-huge": edit(6, 0, 1, 0, struct.pack("<q", 2**63 - 1)),
    "lr-1e38": edit(7, 0, 0, 0, struct.pack("<d", 1e38)),
    "lr-negative": edit(7, 0, 0, 0, struct.pack("<d", -1e-3)),
    "delete-links": edit(1, 5) + edit(1, 40) + edit(1, 77),
    "replace-datasets": edit(2, 12, 3, 2) + edit(2, 30, 4, 0),
    "config-bytes": edit(3, 0, 0, 40, b"9" * 8) + edit(3, 0, 1, 7, b"}" * 8),
    "soft-links": edit(4, 20, 1, 0) + edit(4, 21, 0, 3),
    "external-link": edit(5, 33),
}
for name, data in seeds.items():
    open(f"{out}/{name}", "wb").write(data)
PY
echo "seeds written under $root"
