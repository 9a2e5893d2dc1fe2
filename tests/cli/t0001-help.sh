#!/usr/bin/env bash
# The command line contract: --help everywhere, exit codes 0/1/2.
. "$(dirname "$0")/lib.sh"

run_plinth --help
t_is "$rc" 0 "plinth --help exits 0"
t_like "$out" "^usage: plinth " "plinth --help prints usage"
t_like "$out" "build +build an OCI image from a recipe" "plinth --help lists build"

run_plinth
t_is "$rc" 2 "plinth without a command is a usage error"

run_plinth frobnicate
t_is "$rc" 2 "an unknown command exits 2"
t_is "$(echo "$err" | head -1)" "plinth: unknown command 'frobnicate'" "an unknown command is named"

run_plinth --version
t_like "$out" '^plinth [0-9]+\.[0-9]+\.[0-9]+$' "plinth --version"

# every command plinth --help lists has --help of its own, and an unknown
# option is a usage error
for cmd in $("$PLINTH" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	run_plinth "$cmd" --help
	t_like "$rc $out" "^0 usage: plinth $cmd" "plinth $cmd --help exits 0 with its usage"
	run_plinth "$cmd" --no-such-option
	t_is "$rc" 2 "plinth $cmd --no-such-option exits 2"
done

run_plinth build --help
t_is "$rc" 0 "plinth build --help exits 0"
t_like "$out" "^usage: plinth build RECIPE -o DIR" "plinth build --help prints usage"

run_plinth build
t_is "$rc" 2 "build without a recipe exits 2"
t_is "$(echo "$err" | head -1)" "plinth: a RECIPE is required" "build says the recipe is missing"

run_plinth build x.yaml
t_is "$rc" 2 "build without -o exits 2"
t_is "$(echo "$err" | head -1)" "plinth: an output layout is required (-o DIR)" "build says -o is missing"

run_plinth build --frob x.yaml -o out
t_is "$rc" 2 "an unknown option exits 2"
t_is "$(echo "$err" | head -1)" "plinth: unknown option '--frob'" "an unknown option is named"

run_plinth build -xy x.yaml -o out
t_is "$(echo "$err" | head -1)" "plinth: unknown option '-x'" "an unknown short option in a cluster is named"

run_plinth build --json=yes x.yaml -o out
t_is "$(echo "$err" | head -1)" "plinth: option '--json' takes no value" "a long option given a value it takes none of is named"

rc=0; "$PLINTH" build --help >/dev/full 2>/dev/null || rc=$?
t_is "$rc" 1 "--help into a full disk fails"

run_plinth build x.yaml -o
t_is "$(echo "$err" | head -1)" "plinth: option '-o' needs a value" "a missing value is named"
t_is "$(echo "$err" | tail -1)" "try 'plinth build --help'" "a usage error points at --help"

run_plinth build x.yaml -o out --compression lz4
t_is "$rc" 2 "an unknown compression exits 2"
t_is "$(echo "$err" | head -1)" "plinth: unknown compression 'lz4' (use zstd or gzip)" "an unknown compression is named"

run_plinth build x.yaml -o out --tag 'bad tag'
t_is "$rc" 2 "an invalid tag exits 2"

SOURCE_DATE_EPOCH=yesterday run_plinth build x.yaml -o out
t_is "$rc" 2 "a malformed SOURCE_DATE_EPOCH exits 2"
t_is "$(echo "$err" | head -1)" "plinth: SOURCE_DATE_EPOCH must be a whole number of seconds, not 'yesterday'" "a malformed SOURCE_DATE_EPOCH is named"

run_plinth build missing.yaml -o out
t_is "$rc" 1 "a missing recipe exits 1"
t_is "$err" "plinth: recipe: cannot open 'missing.yaml': No such file or directory" "a missing recipe is named"
t_is "$(state out)" "absent" "nothing is written for a missing recipe"

# lock
run_plinth --help
t_like "$out" "lock +resolve a recipe's Debian packages" "plinth --help lists lock"
run_plinth lock --help
t_is "$rc" 0 "plinth lock --help exits 0"
t_like "$out" "^usage: plinth lock RECIPE" "plinth lock --help prints usage"
t_like "$out" "PLINTH_CACHE" "plinth lock --help names the cache's variable"
run_plinth build --help
t_like "$out" "--frozen" "plinth build --help shows --frozen"
run_plinth lock
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: a RECIPE is required" "lock without a recipe exits 2"
run_plinth lock a.yaml b.yaml
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: exactly one RECIPE is expected" "lock takes one recipe"
run_plinth lock --frob a.yaml
t_is "$rc:$(echo "$err" | tail -1)" "2:try 'plinth lock --help'" "an unknown lock option points at --help"
run_plinth lock missing.yaml
t_is "$rc" 1 "lock of a missing recipe exits 1"
t_is "$(ls missing.lock.json 2>&1 | grep -c 'No such')" 1 "...and writes no lock"
printf 'name: p\nversion: 1.0.0\nrepositories: [host]\npackages: [libc6]\n' >p.yaml
env -u HOME -u PLINTH_CACHE -u XDG_CACHE_HOME "$PLINTH" lock p.yaml >/dev/null 2>.err; rc=$?
t_is "$rc:$(cat .err)" "1:plinth: no cache directory for Debian packages: set PLINTH_CACHE or HOME" \
	"no cache directory is a clear error when packages need one"
printf 'name: p\nversion: 1.0.0\n' >nopkg.yaml
env -u HOME -u PLINTH_CACHE -u XDG_CACHE_HOME "$PLINTH" build nopkg.yaml -o nopkg --frozen >/dev/null 2>.err
t_is "$?:$(cat .err)" "0:" "a recipe without packages needs no cache and no lock, even --frozen"

t_done
