# Sourced by scripts/run and scripts/test: installs the Debian packages a command needs when
# they are missing (as root through apt-get; otherwise it names them and carries on).

ensure_packages() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        echo "==> installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
        # The downloaded .deb files are not needed once unpacked; on a small disk they are
        # room the build needs.
        apt-get clean
    else
        echo "warning: missing packages ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    fi
}

# What the desktop app needs at run time (X11/Wayland windowing and OpenGL through Mesa).
APP_RUNTIME_PACKAGES=(libx11-6 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0 libwayland-client0 libgl1 libegl1 libgl1-mesa-dri)
# The save/open file dialog when no desktop portal runs (e.g. on a bare X server). Only the
# running app needs it (~250 MB with WebKit and GStreamer), so the test command skips it.
APP_DIALOG_PACKAGES=(zenity)
# Building the engine: khronos-egl links the system libEGL through pkg-config; the STEP
# converter (crates/step-converter) compiles against OpenCASCADE's headers and links its
# toolkits (the -dev package pulls the other OCCT -dev packages it needs).
BUILD_PACKAGES=(pkg-config libegl-dev g++ libocct-data-exchange-dev)
# The headless renderer (EGL surfaceless; Mesa llvmpipe without a GPU). STEP import runs
# workflow-step-converter, whose OpenCASCADE libraries come with the build packages (and, in
# the .deb, through the shared-library dependencies cargo-deb finds).
ENGINE_RUNTIME_PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri)
# OpenCASCADE's DRAW: the STEP converter where workflow-step-converter is not installed, and
# the reference the converter's GLB is compared with byte for byte in the tests and the
# benchmark (pload opens the unversioned plugin names the -dev packages carry).
STEP_REFERENCE_PACKAGES=(occt-draw libocct-draw-dev)
# Blender for .blend scene exports and Cycles renders (run headless out of process; its glTF
# importer needs numpy). About 160 packages, 660 MB installed, ~30 s to install (measured
# in docs/performance.md).
BLENDER_PACKAGES=(blender python3-numpy)

# scripts/api-conformance installs schemathesis into a virtual environment: Debian ships
# venv's ensurepip apart from python3.
PYTHON_VENV_PACKAGES=(python3 python3-venv)

# A full test build needs about 3.5 GB. CI machines' disks vary (one run had under 1 GB
# free once the packages were in); when the checkout's filesystem is that short and the
# RAM-backed /dev/shm has more room, build there instead. An explicit CARGO_TARGET_DIR wins.
choose_build_dir() {
    local need_mb="${WORKFLOW_BUILD_MIN_FREE_MB:-6000}" here shm
    here=$(df -Pm . | awk 'NR==2 {print $4}')
    echo "==> ${here} MB free on the checkout's disk"
    [ -n "${CARGO_TARGET_DIR:-}" ] && return 0
    [ "${here:-0}" -ge "$need_mb" ] && return 0
    shm=$(df -Pm /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
    # Test binaries run from the build dir: a noexec mount is no use.
    if grep -qE '^[^ ]+ /dev/shm [^ ]+ [^ ]*noexec' /proc/mounts 2>/dev/null; then shm=0; fi
    if [ "${shm:-0}" -gt "${here:-0}" ] && [ "${shm:-0}" -ge 4000 ]; then
        export CARGO_TARGET_DIR=/dev/shm/workflow-studio-target
        echo "==> short of disk: building in $CARGO_TARGET_DIR (${shm} MB free there)"
    else
        echo "warning: ${here} MB free; a full test build needs about 3500 MB" >&2
    fi
}

# How much room the build took and what is left (printed at the end of a CI run, so a
# failure for want of disk shows the figures).
report_disk() {
    local dir="${CARGO_TARGET_DIR:-target}"
    echo "==> build dir $(du -sh "$dir" 2>/dev/null | cut -f1); free: $(df -Ph "$dir" | awk 'NR==2 {print $4}')"
}

# The path of the binary named $1 that a `cargo build --message-format=json-render-diagnostics`
# on stdin reports: wherever CARGO_TARGET_DIR, a cargo config or --target put it (a fixed
# target/release path launched a stale binary, or none, when the build went elsewhere).
built_executable() {
    local name="$1" path
    path=$(sed -n 's/.*"reason":"compiler-artifact".*"executable":"\([^"]*\/'"$name"'\)".*/\1/p' | tail -n 1)
    if [ -z "$path" ]; then
        echo "error: cargo reported no executable named $name" >&2
        return 1
    fi
    printf '%s\n' "$path"
}
