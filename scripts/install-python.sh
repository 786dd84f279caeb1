#!/usr/bin/env bash
# Makes `import iotsim` work for Debian's /usr/bin/python3 for good, without PYTHONPATH: writes
# iotsim.pth, naming <build dir>/python, into the site-packages directory Debian's python3 keeps
# for local packages (/usr/local/lib/python3.X/dist-packages). Builds nothing; run it again after
# switching build directories. Idempotent.
#
# Usage: scripts/install-python.sh [--user] [BUILD_DIR]     (BUILD_DIR defaults to build/release)
#   --user  write into the user's site-packages (~/.local/lib/python3.X/site-packages) instead,
#           for when the system directory is not writable.
# Environment: IOTSIM_PYTHON (default /usr/bin/python3) is the interpreter; IOTSIM_SITE_PACKAGES
# overrides the target directory (the tests use a temporary one).
# Undo: rm the .pth file it prints.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
python="${IOTSIM_PYTHON:-/usr/bin/python3}"
user=0
build=""
for arg in "$@"; do
    case "$arg" in
        --user) user=1 ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        -*) echo "install-python.sh: unknown option $arg" >&2; exit 2 ;;
        *)
            if [ -n "$build" ]; then
                echo "install-python.sh: one build directory only" >&2; exit 2
            fi
            build="$arg" ;;
    esac
done
build="${build:-$root/build/release}"

if [ ! -x "$python" ]; then
    echo "install-python.sh: $python not found (set IOTSIM_PYTHON)" >&2
    exit 1
fi
if [ ! -d "$build" ]; then
    echo "install-python.sh: no build directory $build (build it first, e.g. cmake --preset release && cmake --build --preset release)" >&2
    exit 1
fi
pkg_parent="$(cd "$build" && pwd)/python"
if [ ! -f "$pkg_parent/iotsim/__init__.py" ] || ! compgen -G "$pkg_parent/iotsim/_core*.so" >/dev/null; then
    echo "install-python.sh: $pkg_parent/iotsim has no built module: run cmake --build $build --target _core first" >&2
    exit 1
fi

if [ -n "${IOTSIM_SITE_PACKAGES:-}" ]; then
    site="$IOTSIM_SITE_PACKAGES"
elif [ "$user" = 1 ]; then
    site="$("$python" -c 'import site; print(site.getusersitepackages())')"
else
    site="$("$python" -c 'import site; print(site.getsitepackages()[0])')"
fi
pth="$site/iotsim.pth"

if [ -f "$pth" ] && [ "$(cat "$pth")" = "$pkg_parent" ]; then
    echo "unchanged: $pth already points at $pkg_parent"
else
    if ! mkdir -p "$site" 2>/dev/null || [ ! -w "$site" ]; then
        echo "install-python.sh: cannot write to $site: run as root, or pass --user" >&2
        exit 1
    fi
    previous="$(cat "$pth" 2>/dev/null || true)"
    tmp="$(mktemp "$site/.iotsim.pth.XXXXXX")"
    printf '%s\n' "$pkg_parent" >"$tmp"
    chmod 644 "$tmp"
    mv -f "$tmp" "$pth"
    if [ -n "$previous" ]; then
        echo "updated: $pth now points at $pkg_parent (was $previous)"
    else
        echo "wrote: $pth -> $pkg_parent"
    fi
fi

# Check from a clean environment that the interpreter now finds this very package. addsitedir
# reads the .pth files of $site as start-up does (a no-op for a directory already on sys.path).
# With IOTSIM_SITE_PACKAGES (a chosen directory, as in the tests) only that directory is checked:
# -S keeps the interpreter's own site-packages (and any iotsim.pth there) out of the way.
check_flags=()
if [ -n "${IOTSIM_SITE_PACKAGES:-}" ]; then
    check_flags=(-S)
fi
found="$(env -u PYTHONPATH "$python" "${check_flags[@]}" -c 'import site, sys
site.addsitedir(sys.argv[1])
import iotsim
print(iotsim.__file__)' "$site")"
case "$found" in
    "$pkg_parent"/iotsim/*) echo "ok: $python imports iotsim from $(dirname "$found")" ;;
    *)
        echo "install-python.sh: $python imports iotsim from $found, not $pkg_parent (another installation comes first on sys.path)" >&2
        exit 1 ;;
esac
