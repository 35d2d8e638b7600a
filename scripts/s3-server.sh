# Sourced by scripts/test (and usable by hand): a throwaway S3-compatible server (moto's server
# from PyPI, pinned, in a venv under the build dir) on a free loopback port, for the pass of the
# tests that keeps products and artifacts in a bucket.
#
#   start_s3_server   exports WORKFLOW_TEST_S3=http://127.0.0.1:PORT and the AWS_* variables
#                     object_store's AmazonS3Builder::from_env reads (dummy credentials, the
#                     endpoint, plain http allowed); tests create a bucket each
#   stop_s3_server    stops it and removes its directory (safe to call twice)
#
# Needs scripts/deps.sh sourced first (ensure_packages, PYTHON_VENV_PACKAGES).

MOTO_VERSION=5.2.5

s3_venv() {
    printf '%s\n' "$(realpath -m "${CARGO_TARGET_DIR:-target}")/moto-venv"
}

install_moto() {
    local venv
    venv=$(s3_venv)
    # python3 -m venv needs ensurepip, which Debian ships apart (python3-venv).
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        ensure_packages "${PYTHON_VENV_PACKAGES[@]}"
    fi
    if ! "$venv/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
        echo "==> installing moto[server] $MOTO_VERSION into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
}

start_s3_server() {
    local venv port
    install_moto || return 1
    venv=$(s3_venv)
    S3_SERVER_DIR=$(mktemp -d /tmp/workflow-s3.XXXXXX)
    export S3_SERVER_DIR
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$S3_SERVER_DIR/server.log" 2>&1 &
    S3_SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$port/moto-api/" >/dev/null 2>&1 ||
            python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            break
        fi
        if ! kill -0 "$S3_SERVER_PID" 2>/dev/null; then
            cat "$S3_SERVER_DIR/server.log" >&2
            return 1
        fi
        sleep 0.1
    done
    export WORKFLOW_TEST_S3="http://127.0.0.1:$port"
    export AWS_ENDPOINT_URL="$WORKFLOW_TEST_S3"
    export AWS_ALLOW_HTTP=true
    export AWS_ACCESS_KEY_ID=testing
    export AWS_SECRET_ACCESS_KEY=testing
    export AWS_REGION=us-east-1
    echo "==> moto $MOTO_VERSION S3 test server on 127.0.0.1:$port"
}

stop_s3_server() {
    [ -n "${S3_SERVER_PID:-}" ] || return 0
    kill "$S3_SERVER_PID" 2>/dev/null || true
    wait "$S3_SERVER_PID" 2>/dev/null || true
    S3_SERVER_PID=
    [ -n "${S3_SERVER_DIR:-}" ] && rm -rf "$S3_SERVER_DIR"
    S3_SERVER_DIR=
    unset WORKFLOW_TEST_S3 AWS_ENDPOINT_URL AWS_ALLOW_HTTP AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION
}
