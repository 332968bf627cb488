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

# What `devcontainer templates apply` copied: the guide, not the template's own page and metadata.
check "guide shipped (docs/README.md)" test -f "$WORKSPACE/docs/README.md"
check "template README.md not copied" test ! -e "$WORKSPACE/README.md"
check "devcontainer-template.json not copied" test ! -e "$WORKSPACE/devcontainer-template.json"
check "both workflows" test -f "$WORKSPACE/.github/workflows/deploy.yml" -a -f "$WORKSPACE/.github/workflows/preview.yml"
check "no template option left" bash -c "! grep -rIl --exclude-dir=node_modules --exclude-dir=test-project '\${templateOption' '$WORKSPACE'"

# Packaging resolves serverless.yml (the permissions boundary included) with no AWS credentials at all.
PACKAGE_DIR=$(mktemp -d)
check "serverless package without AWS credentials" bash -c "cd '$WORKSPACE' && env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off node_modules/.bin/serverless package --stage ci --package '$PACKAGE_DIR'"
check "the function role carries the permissions boundary" grep -q '"PermissionsBoundary"' "$PACKAGE_DIR/cloudformation-template-update-stack.json"
rm -rf "$PACKAGE_DIR"

reportResults
