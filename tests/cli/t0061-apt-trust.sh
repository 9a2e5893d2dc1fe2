#!/bin/bash
# The verified chain: every bad signature, tampered or truncated download
# and hostile package is refused with one clear error, writes nothing and
# caches nothing bad.  Also where repositories come from: the host's apt
# sources, file:// archives, Release + Release.gpg.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-apt.sh"
need_apt

export PLINTH_CACHE=$TMP/cache

apt_keygen good
apt_keygen other
apt_keygen old expired
apt_deb hello 1.0 FILE=/usr/bin/hello:hi >/dev/null
mkdir srv
apt_archive srv/good stable || exit 1
cp -a srv/good srv/base # pristine copy to make bad archives from

# bad ARCHIVE: a fresh copy of the good archive in srv/ARCHIVE
bad() { rm -rf "srv/$1" && cp -a srv/base "srv/$1"; }
recipe() { apt_recipe "$@"; }
# refused DESC ARCHIVE REGEX [KEYRING]: building from srv/ARCHIVE over HTTP
# with a cache of its own fails with REGEX, writes no layout, leaves no
# temporary file and caches nothing but what was verified.
refused() {
	recipe "$2" "\${APT_URL}/$2" hello "${4:-}"
	PLINTH_CACHE=$TMP/cache-$2 run_plinth build "$2.yaml" -o "out-$2"
	t_is "$rc" 1 "$1: refused"
	t_like "$err" "$3" "$1: the error says why"
	t_is "$(state "out-$2")$(ls "cache-$2/tmp" 2>/dev/null)" "absent" "$1: nothing written"
}
apt_serve srv || exit 1

# ---- good archives, several ways -----------------------------------------
recipe ok '${APT_URL}/good' hello
run_plinth build ok.yaml -o out-ok
t_is "$rc" 0 "a signed archive over HTTP builds"
ok=$(content out-ok "$(echo "$out" | tail -n 1)")
# other recipes (other sources) name other recipe digests: the images hold
# the same
recipe ok-file "file://$TMP/srv/good" hello good.asc
PLINTH_CACHE=$TMP/cache-file run_plinth build ok-file.yaml -o out-ok-file
t_is "$rc:$(content out-ok-file "$(echo "$out" | tail -n 1)")" "0:$ok" "a file:// archive and an armoured keyring give the same image"

bad detached
(APT_NO_INRELEASE=1 apt_archive srv/detached stable) || exit 1
recipe detached '${APT_URL}/detached' hello
PLINTH_CACHE=$TMP/cache-detached run_plinth build detached.yaml -o out-detached
t_is "$rc:$(content out-detached "$(echo "$out" | tail -n 1)")" "0:$ok" "Release + Release.gpg work when there is no InRelease"

# the host's apt sources: deb822 with a Signed-By file, and one-line format
mkdir -p apt/sources.list.d
cat >apt/sources.list.d/test.sources <<EOF
# a comment
Types: deb deb-src
URIs: http://127.0.0.1:$APT_PORT/good
Suites: stable
Components: main
Signed-By: $TMP/good.gpg
EOF
cat >host.yaml <<'EOF'
name: img
version: 1.0.0
repositories: [host]
packages: [hello]
EOF
PLINTH_APT_DIR=$TMP/apt run_plinth build host.yaml -o out-host
t_is "$rc:$(content out-host "$(echo "$out" | tail -n 1)")" "0:$ok" "'host' reads the host's deb822 sources"
rm apt/sources.list.d/test.sources
echo "deb [arch=amd64 signed-by=$TMP/good.gpg] http://127.0.0.1:$APT_PORT/good stable main" \
	>apt/sources.list
PLINTH_APT_DIR=$TMP/apt run_plinth lock host.yaml
t_is "$rc" 0 "'host' reads a one-line sources.list"
echo "deb [signed-by=$TMP/other.gpg] http://127.0.0.1:$APT_PORT/good stable main" >apt/sources.list
PLINTH_APT_DIR=$TMP/apt run_plinth lock host.yaml
t_is "$rc" 1 "'host' uses the sources' own keyring"
t_like "$err" "not in the keyring|unknown key" "...and a key it lacks is refused"

# ---- bad signatures ---------------------------------------------------------
bad badsig
sed -i 's/^Origin: plinth-tests/Origin: plinth-tesTs/' srv/badsig/dists/stable/InRelease
refused "a changed signed InRelease" badsig "InRelease.*bad signature"
bad unknown
(APT_SIGN_KEY=other apt_archive srv/unknown stable) || exit 1
refused "a signature by a key not in the keyring" unknown "InRelease.*(unknown key|not in the keyring)"
bad expired
(APT_SIGN_KEY=old apt_archive srv/expired stable) || exit 1
refused "a signature by an expired key" expired "InRelease.*expired key" old.gpg
bad unsigned
rm srv/unsigned/dists/stable/InRelease srv/unsigned/dists/stable/Release.gpg
refused "an unsigned Release" unsigned "stable.*(no InRelease|not signed|Release.gpg)"
bad stale
(APT_VALID_UNTIL="2021-01-01" apt_archive srv/stale stable) || exit 1
refused "a Release past its Valid-Until" stale "Valid-Until|expired"
bad wrongsuite
(apt_archive srv/wrongsuite other && mv srv/wrongsuite/dists/other/InRelease srv/wrongsuite/dists/stable/InRelease) || exit 1
refused "a Release signed for another suite" wrongsuite "signed for suite 'other'"

# ---- tampered and truncated downloads ---------------------------------------
bad tampered-index
apt_tamper srv/tampered-index/dists/stable/main/binary-amd64/Packages.xz
refused "a tampered Packages.xz" tampered-index "Packages.xz.*sha256 mismatch"
bad tampered-deb
apt_tamper srv/tampered-deb/pool/main/hello_1.0_amd64.deb
refused "a tampered .deb" tampered-deb "hello_1.0_amd64.deb.*sha256 mismatch"
bad truncated
echo /truncated/pool/main/hello_1.0_amd64.deb >srv/.truncate
refused "a truncated download" truncated "hello_1.0_amd64.deb.*truncated"
rm srv/.truncate
t_is "$(ls cache-tampered-deb/sha256 | grep -c "$(sha256sum <srv/tampered-deb/pool/main/hello_1.0_amd64.deb | cut -c1-64)")" 0 \
	"the tampered .deb was not cached"
t_is "$(ls cache-tampered-index/sha256 2>/dev/null | wc -l)" 0 "the tampered index was not cached"

# ---- hostile packages ---------------------------------------------------------
for kind in dotdot absolute symlink-escape hardlink-outside device fifo duplicate through-symlink; do
	bad "$kind"
	rm srv/"$kind"/pool/main/*.deb
	mkdir "pool-$kind"
	apt_hostile_deb "pool-$kind/hello_1.0_amd64.deb" "$kind" hello
	(APT_POOL=$TMP/pool-$kind apt_archive "srv/$kind" stable) || exit 1
done
refused "a .deb with a .. path" dotdot "data.tar.*'\./\.\./\.\./etc/evil'|\.\."
refused "a .deb with an absolute path" absolute "data.tar.*'/etc/evil'"
refused "a .deb with a symlink out of the root" symlink-escape "'usr/lib/x'.*leaves the root"
refused "a .deb with a hard link out of the root" hardlink-outside "usr/lib/x.*(\.\.|leaves the root|hard link)"
refused "a .deb with a device node" device "dev/sda.*device"
refused "a .deb with a fifo" fifo "run/fifo"
refused "a .deb that ships a path twice" duplicate "usr/share/evil"
refused "a .deb that writes through its own symlink" through-symlink "usr/lib/d"

t_done
