#!/usr/bin/env bash
# The apt fixtures of lib-apt.sh themselves: the archives they make verify
# with gpgv and read with apt's own tools, the hostile .debs hold what they
# claim, and httpd.py serves, refuses and truncates as documented.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-apt.sh"
need_apt
need curl ar tar cmp

# sha256 FILE: the hex digest.
sha256() { sha256sum "$1" | cut -d' ' -f1; }

# field FILE PACKAGE FIELD: FIELD of PACKAGE's paragraph in a Packages file.
field() {
	awk -v p="$2" -v f="$3: " '/^$/ { in_p = 0 } $0 == "Package: " p { in_p = 1 }
		in_p && index($0, f) == 1 { print substr($0, length(f) + 1) }' "$1"
}

# gpgv_status KEYRING FILE...: gpgv's status lines, sans "[GNUPG:] ".
gpgv_status() {
	local k=$1; shift
	gpgv --status-fd 1 --keyring "$TMP/$k" "$@" 2>/dev/null | sed -n 's/^\[GNUPG:\] //p'
}

# --- keys ---------------------------------------------------------------
apt_keygen good
apt_keygen other
apt_keygen expired expired
apt_keygen old old
apt_keygen revoked revoked
t_like "$(cat good.fpr)" '^[0-9A-F]{40}$' "apt_keygen writes the fingerprint"
t_like "$(head -n 1 good.asc)" '^-----BEGIN PGP PUBLIC KEY BLOCK-----$' "apt_keygen writes an armoured key"
t_is "$(gpg --homedir gnupg-good --show-keys --with-colons good.gpg 2>/dev/null | awk -F: '$1 == "fpr" { print $10; exit }')" \
	"$(cat good.fpr)" "the binary keyring holds the key"
t_is "$(gpg --homedir gnupg-good --show-keys --with-colons good.gpg 2>/dev/null | awk -F: '$1 == "pub" { print $4 "/" $12 }')" \
	"22/scSC" "the key is an ed25519 signing key"

# --- packages -----------------------------------------------------------
files_hook() { mkdir -p "$1/etc" && echo hooked >"$1/etc/hooked.conf" && echo /etc/hooked.conf >"$1/DEBIAN/conffiles"; }
start=$(date +%s%N)
for i in 1 2 3 4 5 6; do apt_deb "pkg$i" "1.$i" >/dev/null; done
deb_lib=$(apt_deb libfoo 1:2.0-1 all Multi-Arch=foreign Provides=libfoo-abi)
deb_foo=$(apt_deb foo 1.0 amd64 Depends="libfoo (>= 1.0)" Pre-Depends=pkg1 Essential=yes \
	FILE=/usr/bin/foo:$'#!/bin/sh\necho foo\n' LINK=/usr/bin/bar:foo DIR=/var/lib/foo)
deb_hook=$(APT_DEB_HOOK=files_hook apt_deb hooked 1.0)
deb_zst=$(APT_DEB_COMPRESS=zstd apt_deb zst 1.0)
apt_hostile_deb pool/evil_1.0_amd64.deb dotdot
apt_archive repo stable
elapsed=$((($(date +%s%N) - start) / 1000000))
echo "# 10 packages and a signed archive in $elapsed ms"

t_is "$deb_lib" "$TMP/pool/libfoo_2.0-1_all.deb" "apt_deb prints the path, the epoch left out of the name"
t_is "$(dpkg-deb -f "$deb_foo" Package Version Architecture Depends Pre-Depends Essential)" \
	"Package: foo
Version: 1.0
Architecture: amd64
Depends: libfoo (>= 1.0)
Pre-Depends: pkg1
Essential: yes" "apt_deb writes the control fields"
t_is "$(dpkg-deb -f "$deb_lib" Version Multi-Arch Provides)" \
	"Version: 1:2.0-1
Multi-Arch: foreign
Provides: libfoo-abi" "apt_deb keeps the epoch in the version"
t_is "$(dpkg-deb -c "$deb_foo" | awk '{ print $1, $2, $6, $7, $8 }')" \
	"drwxr-xr-x root/root ./  
drwxr-xr-x root/root ./usr/  
drwxr-xr-x root/root ./usr/bin/  
-rw-r--r-- root/root ./usr/bin/foo  
drwxr-xr-x root/root ./usr/share/  
drwxr-xr-x root/root ./usr/share/doc/  
drwxr-xr-x root/root ./usr/share/doc/foo/  
-rw-r--r-- root/root ./usr/share/doc/foo/copyright  
drwxr-xr-x root/root ./usr/share/foo/  
-rw-r--r-- root/root ./usr/share/foo/1.0  
drwxr-xr-x root/root ./usr/share/man/  
drwxr-xr-x root/root ./usr/share/man/man1/  
-rw-r--r-- root/root ./usr/share/man/man1/foo.1.gz  
drwxr-xr-x root/root ./var/  
drwxr-xr-x root/root ./var/lib/  
drwxr-xr-x root/root ./var/lib/foo/  
lrwxrwxrwx root/root ./usr/bin/bar -> foo" "apt_deb ships the default files, FILE, LINK and DIR, owned by root"
mkdir x && dpkg-deb -x "$deb_foo" x && dpkg-deb -e "$deb_foo" x/DEBIAN
t_is "$(cat x/usr/share/foo/1.0)" "foo 1.0" "the default file holds 'NAME VERSION'"
t_is "$(cat x/usr/bin/foo)" $'#!/bin/sh\necho foo' "FILE= writes the content given"
t_is "$(cut -d' ' -f3 x/DEBIAN/md5sums)" "usr/bin/foo
usr/share/doc/foo/copyright
usr/share/foo/1.0
usr/share/man/man1/foo.1.gz" "md5sums lists the regular files, sorted, without ./"
t_ok "md5sums matches the files" sh -c 'cd x && md5sum -c --quiet DEBIAN/md5sums'
t_is "$(dpkg-deb --fsys-tarfile "$deb_hook" | tar -xOf - ./etc/hooked.conf)" "hooked" "APT_DEB_HOOK adds files"
t_is "$(dpkg-deb -e "$deb_hook" h && cat h/conffiles)" "/etc/hooked.conf" "APT_DEB_HOOK can write DEBIAN/"
t_is "$(ar t "$deb_zst" | tr '\n' ' ')" "debian-binary control.tar.zst data.tar.zst " "APT_DEB_COMPRESS=zstd"
t_is "$(ar t "$deb_foo" | tr '\n' ' ')" "debian-binary control.tar.xz data.tar.xz " "xz by default"
mv "$deb_foo" foo.first
apt_deb foo 1.0 amd64 Depends="libfoo (>= 1.0)" Pre-Depends=pkg1 Essential=yes \
	FILE=/usr/bin/foo:$'#!/bin/sh\necho foo\n' LINK=/usr/bin/bar:foo DIR=/var/lib/foo >/dev/null
t_ok "apt_deb is reproducible" cmp foo.first "$deb_foo"
rc=0; apt_deb bad 1.0 amd64 'Bad Field=x' 2>/dev/null || rc=$?
t_is "$rc" 1 "apt_deb refuses a malformed field name"

# --- the archive --------------------------------------------------------
R=repo/dists/stable
P=$R/main/binary-amd64/Packages
t_is "$(gpgv_status good.gpg $R/InRelease | grep -E '^(GOODSIG|VALIDSIG)' | cut -d' ' -f1,2)" \
	"GOODSIG $(cut -c25- good.fpr)
VALIDSIG $(cat good.fpr)" "InRelease verifies with the first key made"
t_ok "gpgv --keyring good.gpg InRelease" gpgv --keyring "$TMP/good.gpg" $R/InRelease
t_ok "Release.gpg verifies Release" gpgv --keyring "$TMP/good.gpg" $R/Release.gpg $R/Release
t_ok "the armoured key is the binary one" sh -c 'gpg --dearmor <good.asc | cmp - good.gpg'
t_ok "InRelease signs exactly Release" \
	sh -c "gpgv --keyring '$TMP/good.gpg' --output signed $R/InRelease && cmp signed $R/Release"
rc=0; gpgv --keyring "$TMP/other.gpg" $R/InRelease 2>/dev/null || rc=$?
t_is "$rc" 2 "another key's keyring does not verify it"
t_is "$(grep -E '^(Origin|Label|Suite|Codename|Architectures|Components|No-Support-for-Architecture-all):' $R/Release | sort)" \
	"Architectures: amd64
Codename: stable
Components: main
Label: plinth-tests
No-Support-for-Architecture-all: Packages
Origin: plinth-tests
Suite: stable" "Release's fields"
t_is "$(sed -n '/^SHA256:/,/^[^ ]/p' $R/Release | awk '/^ / { print $3 }')" \
	"main/binary-amd64/Packages
main/binary-amd64/Packages.gz
main/binary-amd64/Packages.xz" "Release lists the indexes under SHA256"
ok=yes
for f in Packages Packages.gz Packages.xz; do
	line=$(sed -n '/^SHA256:/,/^[^ ]/p' $R/Release | grep " main/binary-amd64/$f$")
	[ "$line" = " $(sha256 $R/main/binary-amd64/$f) $(printf '%16s' "$(stat -c %s $R/main/binary-amd64/$f)") main/binary-amd64/$f" ] ||
		ok="no: $line"
done
t_is "$ok" yes "Release's SHA256 and sizes match the indexes"
t_is "$(xz -dc $P.xz | sha256sum)" "$(sha256sum <$P)" "Packages.xz is Packages"
t_is "$(gzip -dc $P.gz | sha256sum)" "$(sha256sum <$P)" "Packages.gz is Packages"
t_is "$(grep '^Package: ' $P | cut -d' ' -f2 | tr '\n' ' ')" \
	"evil foo hooked libfoo pkg1 pkg2 pkg3 pkg4 pkg5 pkg6 zst " "Packages lists every package, arch all ones too"
ok=yes
for p in evil foo hooked libfoo pkg1 pkg2 pkg3 pkg4 pkg5 pkg6 zst; do
	f=repo/$(field $P $p Filename)
	[ -f "$f" ] && [ "$(field $P $p SHA256)" = "$(sha256 "$f")" ] && [ "$(field $P $p Size)" = "$(stat -c %s "$f")" ] ||
		ok="no: $p"
done
t_is "$ok" yes "Packages' SHA256 and Size match every .deb"
t_is "$(field $P libfoo Filename)" "pool/main/libfoo_2.0-1_all.deb" "Filename is relative to the archive root"
t_is "$(field $P foo Depends)" "libfoo (>= 1.0)" "Packages carries Depends"

# A second component from another pool, and a second version of a package.
APT_POOL=$TMP/pool2 apt_deb extra 1.0 >/dev/null
APT_POOL=$TMP/pool2 apt_deb extra 2.0 >/dev/null
APT_POOL=$TMP/pool2 apt_archive repo stable contrib
t_is "$(grep '^Components:' $R/Release)" "Components: contrib main" "a second component is added to Release"
t_is "$(grep '^Version: ' $R/contrib/binary-amd64/Packages | tr '\n' ' ')" "Version: 1.0 Version: 2.0 " \
	"--multiversion keeps both versions"
t_is "$(grep -c '^Package: extra' $P)" 0 "the other pool's packages stay out of main"
t_ok "the re-signed InRelease verifies" gpgv --keyring "$TMP/good.gpg" $R/InRelease

# --- Release knobs ------------------------------------------------------
APT_NO_INRELEASE=1 APT_SIGN_KEY=other apt_archive r2 sid
t_is "$(ls r2/dists/sid | tr '\n' ' ')" "Release Release.gpg main " "APT_NO_INRELEASE=1: Release and Release.gpg only"
t_ok "APT_SIGN_KEY=other signs with that key" gpgv --keyring "$TMP/other.gpg" r2/dists/sid/Release.gpg r2/dists/sid/Release
APT_UNSIGNED=1 apt_archive r3 sid
t_is "$(ls r3/dists/sid | tr '\n' ' ')" "Release main " "APT_UNSIGNED=1: no signature"
APT_VALID_UNTIL=2020-01-02 APT_RELEASE_DATE=2020-01-01T00:00:00Z APT_RELEASE_EXTRA="Acquire-By-Hash: yes" \
	apt_archive r4 sid
t_is "$(grep -E '^(Date|Valid-Until|Acquire-By-Hash):' r4/dists/sid/Release)" "Acquire-By-Hash: yes
Date: Wed, 01 Jan 2020 00:00:00 UTC
Valid-Until: Thu, 02 Jan 2020 00:00:00 UTC" "APT_VALID_UNTIL, APT_RELEASE_DATE and APT_RELEASE_EXTRA"
t_is "$(gpgv --keyring "$TMP/good.gpg" --output - r4/dists/sid/InRelease 2>/dev/null | grep '^Valid-Until:')" \
	"Valid-Until: Thu, 02 Jan 2020 00:00:00 UTC" "Valid-Until is signed"

APT_SIGN_KEY=expired apt_archive r5 sid
t_like "$(gpgv_status expired.gpg r5/dists/sid/InRelease)" '^EXPKEYSIG ' "an expired key's signature: gpgv says EXPKEYSIG"
APT_SIGN_KEY=revoked apt_archive r6 sid
t_like "$(gpgv_status revoked.gpg r6/dists/sid/InRelease)" '^REVKEYSIG ' "a revoked key's signature: gpgv says REVKEYSIG"
APT_SIGN_KEY=old APT_SIG_EXPIRE=1d apt_archive r7 sid
t_like "$(gpgv_status old.gpg r7/dists/sid/InRelease)" '^EXPSIG ' "an expired signature: gpgv says EXPSIG"
t_like "$(gpgv_status other.gpg $R/InRelease)" '^NO_PUBKEY ' "an unknown key: gpgv says NO_PUBKEY"

# --- hostile packages ---------------------------------------------------
for kind in dotdot absolute symlink-escape hardlink-outside device fifo duplicate through-symlink; do
	apt_hostile_deb "h-$kind.deb" "$kind"
done
ok=yes
for kind in dotdot absolute symlink-escape hardlink-outside device fifo duplicate through-symlink; do
	[ "$(ar t "h-$kind.deb" | tr '\n' ' ')" = "debian-binary control.tar.xz data.tar.xz " ] &&
		[ "$(ar p "h-$kind.deb" debian-binary)" = "2.0" ] &&
		[ "$(dpkg-deb -f "h-$kind.deb" Package Version Architecture | tr '\n' ' ')" = \
			"Package: evil Version: 1.0 Architecture: amd64 " ] || ok="no: $kind"
done
t_is "$ok" yes "every hostile .deb has the right members and a valid control"
# hostile KIND: the data member's entries past the leading dirs, as tar -tv shows them
hostile() {
	ar p "h-$1.deb" data.tar.xz | tar -tvJPf - | grep -v '^d' | awk '{ $2 = $4 = $5 = ""; print }' | tr -s ' '
}
t_is "$(hostile dotdot)" "-rw-r--r-- 5 ./../../etc/evil" "dotdot"
t_is "$(hostile absolute)" "-rw-r--r-- 5 /etc/evil" "absolute"
t_is "$(hostile symlink-escape)" "lrwxrwxrwx 0 ./usr/lib/x -> ../../../../../etc/shadow" "symlink-escape"
t_is "$(hostile hardlink-outside)" "hrw-r--r-- 0 ./usr/lib/x link to ../../etc/passwd" "hardlink-outside"
t_is "$(hostile device)" "crw-rw---- 8,0 ./dev/sda" "device"
t_is "$(hostile fifo)" "prw-r--r-- 0 ./run/fifo" "fifo"
t_is "$(hostile duplicate)" "-rw-r--r-- 6 ./usr/share/evil
-rw-r--r-- 5 ./usr/share/evil" "duplicate"
t_is "$(hostile through-symlink)" "lrwxrwxrwx 0 ./usr/lib/d -> /etc
-rw-r--r-- 5 ./usr/lib/d/evil" "through-symlink"
t_is "$(field $P evil SHA256)" "$(sha256 pool/evil_1.0_amd64.deb)" "a hostile .deb is indexed like any other"

# --- tampering ----------------------------------------------------------
cp $P tampered
apt_tamper tampered
t_is "$(cmp -l $P tampered | wc -l)" 1 "apt_tamper changes one byte"
t_is "$(stat -c %s tampered)" "$(stat -c %s $P)" "apt_tamper keeps the size"

# --- the server ---------------------------------------------------------
apt_serve repo
t_like "$APT_URL" '^http://127\.0\.0\.1:[0-9]+$' "apt_serve exports APT_URL"
t_is "$(curl -fsS "$APT_URL/dists/stable/InRelease" | sha256sum)" "$(sha256sum <$R/InRelease)" "it serves a file"
t_like "$(curl -sSI "$APT_URL/$(field $P foo Filename)" | tr '\r\n' '  ')" \
	"^HTTP/1.1 200 OK.*Content-Length: $(stat -c %s repo/pool/main/foo_1.0_amd64.deb)" "HEAD gives the size"
t_is "$(curl -s -o /dev/null -w '%{http_code}' "$APT_URL/dists/stable/nope")" 404 "a missing file is 404"
t_is "$(curl -s -o /dev/null -w '%{http_code}' "$APT_URL/dists/stable/")" 404 "a directory is 404"
t_is "$(curl -s --path-as-is -o /dev/null -w '%{http_code}' "$APT_URL/../good.fpr")" 404 "a path with .. is 404"
ln -s "$TMP/good.fpr" repo/escape
t_is "$(curl -s -o /dev/null -w '%{http_code}' "$APT_URL/escape")" 404 "a symlink out of DIR is 404"
echo "/dists/stable/Release" >repo/.truncate
t_is "$(curl -s -o /dev/null -w '%{http_code}' "$APT_URL/.truncate")" 404 "control files are not served"
rc=0; curl -sS -o part "$APT_URL/dists/stable/Release" 2>/dev/null || rc=$?
got=$(stat -c %s part)
t_is "$rc/$got" "18/$(($(stat -c %s $R/Release) / 2))" "a listed path is truncated to half (curl: partial file)"
t_is "$(curl -fsS "$APT_URL/dists/stable/InRelease" | wc -c)" "$(stat -c %s $R/InRelease)" \
	"other paths are whole, on the same server"
: >repo/.truncate
t_is "$(curl -fsS "$APT_URL/dists/stable/Release" | wc -c)" "$(stat -c %s $R/Release)" \
	".truncate is read on every request"
echo "/dists/stable/InRelease 500" >repo/.status
t_is "$(curl -s -o /dev/null -w '%{http_code}' "$APT_URL/dists/stable/InRelease")" 500 ".status answers with the code"
: >repo/.status
t_is "$(cat "$APT_LOG")" "GET /dists/stable/InRelease 200
HEAD /pool/main/foo_1.0_amd64.deb 200
GET /dists/stable/nope 404
GET /dists/stable/ 404
GET /../good.fpr 404
GET /escape 404
GET /.truncate 404
GET /dists/stable/Release 200 truncated
GET /dists/stable/InRelease 200
GET /dists/stable/Release 200
GET /dists/stable/InRelease 500" "every request is logged, one line each"

# --- apt itself reads the archive ----------------------------------------
if command -v apt-get >/dev/null; then
	# A throwaway apt root: APT_CONFIG keeps the system's apt.conf.d out.
	mkdir -p apt/etc/apt/apt.conf.d apt/etc/apt/sources.list.d apt/etc/apt/preferences.d \
		apt/var/lib/apt/lists/partial apt/var/cache/apt/archives/partial && touch apt/status
	cat >apt/apt.conf <<-EOF
		Dir "$TMP/apt/";
		Dir::State::status "$TMP/apt/status";
		Dir::Etc::trusted "/dev/null";
		Dir::Etc::trustedparts "/dev/null";
		APT::Architecture "amd64";
		APT::Sandbox::User "$(id -un)";
		Acquire::Languages "none";
		Debug::NoLocking "true";
	EOF
	export APT_CONFIG=$TMP/apt/apt.conf
	echo "deb [signed-by=$TMP/good.gpg] $APT_URL stable main" >apt/etc/apt/sources.list
	t_ok "apt-get update reads the archive" apt-get update
	t_ok "apt-get fetches foo and libfoo" apt-get download foo libfoo
	t_is "$(sha256 foo_1.0_amd64.deb)" "$(field $P foo SHA256)" "apt fetched the indexed foo"
	t_like "$(apt-get -s install foo 2>&1 | grep ^Inst | tr '\n' ' ')" \
		"^Inst pkg1 \(1\.1 .*Inst libfoo \(1:2\.0-1 .*Inst foo \(1\.0 " "apt installs foo's dependencies first"
	apt_serve r4
	echo "deb [signed-by=$TMP/good.gpg] $APT_URL sid main" >apt/etc/apt/sources.list
	t_like "$(apt-get update 2>&1)" "/dists/sid/InRelease is expired" "apt refuses a Release past its Valid-Until"
	apt_serve r5
	echo "deb [signed-by=$TMP/expired.gpg] $APT_URL sid main" >apt/etc/apt/sources.list
	t_like "$(apt-get update 2>&1)" "EXPKEYSIG $(cut -c25- expired.fpr)" "apt refuses an expired key's signature"
else
	for i in 1 2 3 4 5 6; do t_skip "apt-get is not installed"; done
fi

t_done
