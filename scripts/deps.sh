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
    else
        echo "warning: missing packages ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    fi
}

# What the desktop app needs at run time (X11/Wayland windowing and OpenGL through Mesa;
# zenity is the file dialog when no desktop portal runs, e.g. on a bare X server).
APP_RUNTIME_PACKAGES=(libx11-6 libxcursor1 libxrandr2 libxi6 libxkbcommon-x11-0 libwayland-client0 libgl1 libegl1 libgl1-mesa-dri zenity)
# Building the engine: khronos-egl links the system libEGL through pkg-config.
BUILD_PACKAGES=(pkg-config libegl-dev)
# The headless renderer (EGL surfaceless; Mesa llvmpipe without a GPU) and STEP import
# through OpenCASCADE (occt-draw loads the plugins the -dev packages name).
ENGINE_RUNTIME_PACKAGES=(libegl1 libegl-mesa0 libgl1-mesa-dri occt-draw libocct-draw-dev libocct-data-exchange-dev)
