# Sourced helper: a Python with OpenUSD (`usd-core` from PyPI, module `pxr`) in a venv under
# the build dir, for `export.scene` with format `usd` and its round-trip tests. Debian has no
# OpenUSD package and its Blender 3.4.1 is built without the USD exporter (STACK-NOTES).
#
#   source scripts/usd-python.sh; ensure_usd_python   # exports WORKFLOW_USD_PYTHON
#
# Needs scripts/deps.sh sourced first (ensure_packages, PYTHON_VENV_PACKAGES).

USD_CORE_VERSION=26.11

ensure_usd_python() {
    local target_dir venv
    target_dir="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
    venv="$target_dir/usd-venv"
    # python3 -m venv needs ensurepip, which Debian ships apart (python3-venv).
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        ensure_packages "${PYTHON_VENV_PACKAGES[@]}"
    fi
    if ! "$venv/bin/python" -c "import pxr, importlib.metadata as m; assert m.version('usd-core') == '$USD_CORE_VERSION'" 2>/dev/null; then
        echo "==> installing usd-core $USD_CORE_VERSION (OpenUSD) into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "usd-core==$USD_CORE_VERSION"
    fi
    export WORKFLOW_USD_PYTHON="$venv/bin/python"
}
