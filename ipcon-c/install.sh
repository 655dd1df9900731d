#!/bin/sh
# Installs libipcon from a cargo build of this crate:
#
#   cargo build --release -p ipcon-c [--target TRIPLE]
#   CC=cc DESTDIR=/tmp/root sh ipcon-c/install.sh target/[TRIPLE/]release
#
# into $DESTDIR: $LIBDIR/libipcon.so.$VERSION (soname libipcon.so.0, linked
# here from libipcon.a with libipcon.map: versioned symbols, only the
# header's functions exported) with the libipcon.so.0 and libipcon.so links,
# $LIBDIR/libipcon.a, $INCLUDEDIR/libipcon.h and
# $LIBDIR/pkgconfig/libipcon.pc.
#
# Environment: CC (the target's C compiler, default cc), LDFLAGS (added to
# the link), DESTDIR (default: none), PREFIX (default /usr), LIBDIR
# (default $PREFIX/lib), INCLUDEDIR (default $PREFIX/include), STRIP (if
# set, run on the shared library).
set -eu

usage() {
	echo "usage: [CC=...] [DESTDIR=...] [PREFIX=/usr] [LIBDIR=...] [INCLUDEDIR=...] $0 CARGO_OUT_DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
out=$1
here=$(cd "$(dirname "$0")" && pwd)
archive=$out/libipcon.a
[ -f "$archive" ] || { echo "$0: no $archive (cargo build -p ipcon-c first)" >&2; exit 1; }

CC=${CC:-cc}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
LDFLAGS=${LDFLAGS:-}
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/../Cargo.toml" | head -n 1)
[ -n "$version" ] || { echo "$0: no version in $here/../Cargo.toml" >&2; exit 1; }

mkdir -p "$DESTDIR$LIBDIR/pkgconfig" "$DESTDIR$INCLUDEDIR"
# The whole archive, then --gc-sections: what no exported function reaches
# goes; the symbol map makes everything but the API local.
# shellcheck disable=SC2086 # LDFLAGS is a list of flags
$CC -shared -o "$DESTDIR$LIBDIR/libipcon.so.$version" \
	-Wl,--whole-archive "$archive" -Wl,--no-whole-archive \
	-Wl,-soname,libipcon.so.0 \
	-Wl,--version-script="$here/libipcon.map" \
	-Wl,--gc-sections -Wl,-z,defs -Wl,-z,relro -Wl,-z,now \
	$LDFLAGS
if [ -n "${STRIP:-}" ]; then
	$STRIP --strip-unneeded "$DESTDIR$LIBDIR/libipcon.so.$version"
fi
ln -sf "libipcon.so.$version" "$DESTDIR$LIBDIR/libipcon.so.0"
ln -sf libipcon.so.0 "$DESTDIR$LIBDIR/libipcon.so"
cp "$archive" "$DESTDIR$LIBDIR/libipcon.a"
chmod 0644 "$DESTDIR$LIBDIR/libipcon.a"
cp "$here/include/libipcon.h" "$DESTDIR$INCLUDEDIR/libipcon.h"
chmod 0644 "$DESTDIR$INCLUDEDIR/libipcon.h"
sed -e "s|@PREFIX@|$PREFIX|" -e "s|@LIBDIR@|$LIBDIR|" \
	-e "s|@INCLUDEDIR@|$INCLUDEDIR|" -e "s|@VERSION@|$version|" \
	"$here/libipcon.pc.in" >"$DESTDIR$LIBDIR/pkgconfig/libipcon.pc"
