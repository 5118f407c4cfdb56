#!/bin/sh
# Installs bubblewrap (bwrap), which McpGuard uses to sandbox local (stdio) MCP servers on Linux, when it is missing.
# Pinned to the Debian 12 (bookworm) package. Run by eng/Bubblewrap.targets before the test and scenario projects build;
# safe to run by hand and more than once. It never fails the build: if bwrap cannot be installed (not root, no apt-get,
# the pinned version is not served), it says so and the tests that need a sandbox fail with the same explanation.
set -u

pinned="bubblewrap=0.8.0-2+deb12u1"

if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi

if [ "$(uname -s)" != "Linux" ]; then
  echo "install-bubblewrap: not Linux; McpGuard's sandbox uses bubblewrap on Linux only. Nothing to do."
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  echo "install-bubblewrap: WARNING: bwrap is missing and this build does not run as root, so it cannot install it." >&2
  echo "install-bubblewrap: install it yourself (Debian 12: sudo apt-get install $pinned); sandbox tests fail until then." >&2
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1 || ! command -v flock >/dev/null 2>&1; then
  echo "install-bubblewrap: WARNING: bwrap is missing and there is no apt-get/flock here; install the bubblewrap package with this system's package manager." >&2
  exit 0
fi

# Parallel builds of several projects call this at once: one installs, the others wait and then find bwrap.
lock="${TMPDIR:-/tmp}/mcpguard-install-bubblewrap.lock"
exec 9>"$lock"
flock 9
if command -v bwrap >/dev/null 2>&1; then
  exit 0
fi

echo "install-bubblewrap: bwrap is missing; installing $pinned (apt-get update, apt-get install)."
export DEBIAN_FRONTEND=noninteractive
if apt-get -o DPkg::Lock::Timeout=300 update -qq \
   && apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "$pinned"; then
  echo "install-bubblewrap: installed $(command -v bwrap) ($(bwrap --version 2>/dev/null))."
else
  echo "install-bubblewrap: WARNING: apt-get could not install $pinned; sandbox tests fail until bwrap is installed." >&2
fi
exit 0
