#!/bin/sh
# tf_env.sh ENV_DIR: the TensorFlow / Keras reference environment (make tf-env).
# A Python virtual environment with pinned versions of the packages that the
# tools/keras_*.py scripts import.  Never a runtime dependency of nanprobe:
# only make reference-tf, check-tf and bench use it.  Each pin already
# present is kept; each missing one is installed on its own, so a failure
# names the package, and the script exits non-zero.  TF_ENV_PINS replaces
# the list (to try the failure path: PIP_NO_INDEX=1 TF_ENV_PINS=h5py==3.14.0).
set -eu
env_dir=${1:-.tf-env}
pins=${TF_ENV_PINS:-"tensorflow-cpu==2.21.0 tf-keras==2.21.0 keras==3.15.1 h5py==3.14.0 numpy==2.4.6"}
python=${PYTHON:-python3}

if [ ! -x "$env_dir/bin/python" ]; then
    echo "tf-env: creating the virtual environment $env_dir"
    "$python" -m venv "$env_dir" || { echo "tf-env: '$python -m venv' failed (Debian: apt-get install python3-venv)" >&2; exit 1; }
fi
# The version a package has in the environment ("" when absent).
installed() {
    "$env_dir/bin/python" -c 'import importlib.metadata as m, sys
try: print(m.version(sys.argv[1]))
except m.PackageNotFoundError: print("")' "$1"
}
failed=""
for pin in $pins; do
    name=${pin%%==*} want=${pin#*==}
    have=$(installed "$name")
    [ "$have" = "$want" ] && continue
    echo "tf-env: installing $pin${have:+ (found $have)}"
    "$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check "$pin" || failed="$failed $pin"
done
for pin in $pins; do # a later install may have moved an earlier pin
    name=${pin%%==*} want=${pin#*==}
    have=$(installed "$name")
    [ "$have" = "$want" ] || case "$failed" in *"$pin"*) ;; *) failed="$failed $pin" ;; esac
done
if [ -n "$failed" ]; then
    echo "tf-env: could not install into $env_dir:$failed" >&2
    exit 1
fi
echo "tf-env: $env_dir has $pins"
