#!/bin/bash
# Smoke test for the fastapi-lambda template, run inside the dev container built from the
# applied template (the devcontainers/templates test flow copies this folder to
# <workspace>/test-project together with test-utils.sh).
cd "$(dirname "$0")"

source test-utils.sh node

WORKSPACE=$(cd .. && pwd)

# The Python the template was applied with: serverless.yml says runtime: python3.X
PYTHON_VERSION=$(sed -nE 's/^[[:space:]]*runtime:[[:space:]]*python([0-9]+\.[0-9]+).*/\1/p' "$WORKSPACE/serverless.yml")

check "user is node" test "$(id -un)" = node
checkOutput "node 24" '^v24\.' node --version
check "runtime read from serverless.yml" test -n "$PYTHON_VERSION"
checkOutput "python ${PYTHON_VERSION}" "^Python ${PYTHON_VERSION//./\\.}\." python3 --version
checkOutput "python${PYTHON_VERSION} for serverless-python-requirements" "^Python ${PYTHON_VERSION//./\\.}\." "python${PYTHON_VERSION}" --version
checkOutput "pip" '^pip ' python3 -m pip --version
checkOutput "aws cli" '^aws-cli/2\.' aws --version
check "node_modules volume owned by node" test "$(stat -c '%U' "$WORKSPACE/node_modules")" = node
checkOutput "serverless 3.x" 'Framework Core: 3\.' bash -c "cd '$WORKSPACE' && SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off node_modules/.bin/serverless --version"
check "fastapi and mangum installed" python3 -c "import fastapi, mangum"
check "uvicorn installed" python3 -m uvicorn --version
check "starter tests" bash -c "cd '$WORKSPACE' && python3 -m pytest -p no:cacheprovider -q"

reportResults
