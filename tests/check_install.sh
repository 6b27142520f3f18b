#!/usr/bin/env bash
# cprof installed and used as a library: make install PREFIX=..., then a two-file consumer project
# (tests/consumer) built with pkg-config, with find_package(cprof) against that prefix, with
# add_subdirectory and FetchContent (an archive of the source tree), and find_package against a prefix
# that cmake --install filled from CMakeLists.txt. Each program runs and reports both files' scopes.
# Usage: tests/check_install.sh BUILD
set -eu
build=$(cd "$1" && pwd)
dir=$build/check/install
source=$(pwd)
rm -rf "$dir" && mkdir -p "$dir"
runs() { # program: its report names the scopes of both files
  "$1" > "$1.out"
  grep -q '^total 1498500$' "$1.out" && grep -q ' consumer_loop ' "$1.out" && grep -q ' work ' "$1.out" ||
    { echo "FAIL: $1 did not report both scopes"; cat "$1.out"; exit 1; }
  echo "ok: $1"
}
make --no-print-directory -s install PREFIX="$dir/prefix" > /dev/null
for f in include/cprof.h bin/cprof lib/pkgconfig/cprof.pc lib/cmake/cprof/cprofConfig.cmake lib/cmake/cprof/cprofConfigVersion.cmake; do
  [ -f "$dir/prefix/$f" ] || { echo "FAIL: make install did not install $f"; exit 1; }
done
"$dir/prefix/bin/cprof" --version | grep -q '^cprof '

# pkg-config
flags=$(PKG_CONFIG_PATH=$dir/prefix/lib/pkgconfig pkg-config --cflags --libs cprof)
echo "pkg-config --cflags --libs cprof: $flags"
gcc -std=c99 -Wall -Wextra -Werror tests/consumer/main.c tests/consumer/work.c $flags -o "$dir/pkg-config"
runs "$dir/pkg-config"

cmake_build() { # name cmake-arguments...
  local name=$1; shift
  cmake -S tests/consumer -B "$dir/$name" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" "$@" > "$dir/$name.log" 2>&1 &&
    cmake --build "$dir/$name" >> "$dir/$name.log" 2>&1 || { echo "FAIL: $name"; tail -30 "$dir/$name.log"; exit 1; }
  runs "$dir/$name/consumer"
}
cmake_build find_package -DHOW=find_package -DCMAKE_PREFIX_PATH="$dir/prefix"
cmake_build add_subdirectory -DHOW=add_subdirectory -DCPROF_SOURCE="$source"
tar -czf "$dir/cprof-src.tar.gz" --transform 's|^|cprof/|' cprof.h CMakeLists.txt cmake
cmake_build FetchContent -DHOW=FetchContent -DCPROF_ARCHIVE="$dir/cprof-src.tar.gz"
# the tree's own CMakeLists.txt builds the tool and installs what make install does
cmake -S . -B "$dir/self" -DCMAKE_INSTALL_PREFIX="$dir/cmake-prefix" > "$dir/self.log" 2>&1 &&
  cmake --build "$dir/self" >> "$dir/self.log" 2>&1 && cmake --install "$dir/self" >> "$dir/self.log" 2>&1 ||
  { echo "FAIL: cmake --install"; tail -30 "$dir/self.log"; exit 1; }
"$dir/cmake-prefix/bin/cprof" --version | grep -q '^cprof '
cmake_build find_package-cmake -DHOW=find_package -DCMAKE_PREFIX_PATH="$dir/cmake-prefix"
diff <(cd "$dir/prefix" && find . -type f | sort) <(cd "$dir/cmake-prefix" && find . -type f | sort)
echo "make install and cmake --install install the same files"
