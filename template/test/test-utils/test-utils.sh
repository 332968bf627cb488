#!/bin/bash
# Helpers for the template smoke tests, in the style of devcontainers/templates' test-utils.sh.
# The test workflow copies this file next to test/<template-id>/test.sh inside the applied
# template and runs test.sh in the dev container. Usage: source test-utils.sh [username]

USERNAME=${1:-node}

if [ -z "$HOME" ]; then
    HOME="/root"
fi

FAILED=()

echoStderr() {
    echo "$@" 1>&2
}

# check <label> <command> [args...]: runs the command and records the label when it fails.
check() {
    LABEL=$1
    shift
    echo -e "\n🧪 Testing $LABEL"
    if "$@"; then
        echo "✅  Passed!"
        return 0
    else
        echoStderr "❌ $LABEL check failed."
        FAILED+=("$LABEL")
        return 1
    fi
}

# checkOutput <label> <extended regex> <command> [args...]: the command succeeds and its
# output (stdout and stderr) matches the pattern.
checkOutput() {
    LABEL=$1
    PATTERN=$2
    shift 2
    echo -e "\n🧪 Testing $LABEL"
    local output
    if output=$("$@" 2>&1) && echo "$output" | grep -Eq -- "$PATTERN"; then
        echo "$output"
        echo "✅  Passed!"
        return 0
    else
        echo "$output"
        echoStderr "❌ $LABEL check failed: expected output matching '$PATTERN'."
        FAILED+=("$LABEL")
        return 1
    fi
}

reportResults() {
    if [ ${#FAILED[@]} -ne 0 ]; then
        echoStderr -e "\n💥  Failed tests: ${FAILED[*]}"
        exit 1
    else
        echo -e "\n💯  All passed!"
        exit 0
    fi
}
