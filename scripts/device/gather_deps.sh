#!/usr/bin/env bash
# Gathers into .deps/ (git-ignored; carried by a device call, never committed) what the GPU machine
# (Ubuntu 24.04 + CUDA, no network) lacks and this Debian 12 machine has as packages:
#   include/, lib/   cpp-httplib, nlohmann-json and PCRE2 (the engine's server and tokenizer)
#   googletest/      GoogleTest's sources (built there by scripts/engine/gpu_session.sh)
#   bin/aidc, lib/   the simulator's CLI built here (for `aidc load`), with its shared libraries
# Debian 12's glibc (2.36) is older than Ubuntu 24.04's (2.39), so these binaries run there.
set -euo pipefail
cd "$(dirname "$0")/../.."
aidc_binary=${1:-build/bin/aidc}
rm -rf .deps && mkdir -p .deps/include .deps/lib/pkgconfig .deps/bin
cp /usr/include/httplib.h .deps/include/
cp -r /usr/include/nlohmann .deps/include/
cp /usr/include/pcre2.h .deps/include/
# Debian builds cpp-httplib with OpenSSL, zlib and Brotli: its header includes theirs.
cp -r /usr/include/openssl /usr/include/brotli /usr/include/zlib.h /usr/include/zconf.h .deps/include/
cp /usr/include/x86_64-linux-gnu/openssl/*.h .deps/include/openssl/
copy_lib() {  # a library and the non-system libraries it needs, as their sonames
  for f in "$1" $(ldd "$1" | awk '$3 ~ /^\// {print $3}'); do
    case $(basename "$f") in libc.so*|libm.so*|libstdc++*|libgcc_s*|ld-linux*|libdl.so*|libpthread*|librt.so*) continue ;; esac
    cp -L "$f" .deps/lib/"$(basename "$f")"
  done
}
httplib=$(readlink -f /usr/lib/x86_64-linux-gnu/libcpp-httplib.so)
soname=$(objdump -p "$httplib" | awk '/SONAME/ {print $2}')
copy_lib "$httplib"
mv .deps/lib/"$(basename "$httplib")" .deps/lib/"$soname" 2>/dev/null || true
ln -sf "$soname" .deps/lib/libcpp-httplib.so
cp -L /usr/lib/x86_64-linux-gnu/libpcre2-8.so.0 .deps/lib/ && ln -sf libpcre2-8.so.0 .deps/lib/libpcre2-8.so
for pc in libpcre2-8 cpp-httplib; do  # relocatable: the tree lies elsewhere on the GPU machine
  sed 's|^prefix=.*|prefix=${pcfiledir}/../..|;s|^exec_prefix=.*|exec_prefix=${prefix}|;s|^libdir=.*|libdir=${prefix}/lib|;s|^includedir=.*|includedir=${prefix}/include|' \
    /usr/lib/x86_64-linux-gnu/pkgconfig/$pc.pc | grep -v '^Requires.private' > .deps/lib/pkgconfig/$pc.pc  # their .pc files are not there
done
cp -r /usr/src/googletest .deps/googletest
if [[ -x $aidc_binary ]]; then
  cp "$aidc_binary" .deps/bin/aidc
  copy_lib "$aidc_binary"
  rm -f .deps/lib/aidc
fi
du -sh .deps
