# lib-apt.sh - fixtures for CLI tests that need a real, signed Debian
# archive: throwaway OpenPGP keys, .debs built with dpkg-deb, hostile .debs
# made by hand, an archive indexed with dpkg-scanpackages and apt-ftparchive
# and signed with gpg, and a local HTTP server for it.
#
# Source it after lib.sh:
#     . "$(dirname "$0")/lib.sh"
#     . "$TOP/tests/cli/lib-apt.sh"   # not $(dirname "$0"): lib.sh has cd'd
#     need_apt
#
# Everything lands under $APT_DIR, the directory lib-apt.sh was sourced in
# (the test's temporary directory): keys, the pool of .debs, the server's
# port file and log.  Sourcing it chains apt_cleanup (which stops gpg-agents
# and servers) into lib.sh's EXIT trap.  No network beyond 127.0.0.1.
#
# A typical archive:
#     apt_keygen good
#     apt_deb libfoo 1.0
#     apt_deb foo 1.0 amd64 Depends="libfoo (>= 1.0)" FILE=/usr/bin/foo:'#!/bin/sh'
#     apt_archive repo stable
#     apt_serve repo        # then $APT_URL/dists/stable/InRelease
#
# Knobs (environment, read when the function runs):
#     APT_POOL          where apt_deb writes and apt_archive reads .debs
#                       (default $APT_DIR/pool); use several pools to give
#                       archives or components different packages
#     APT_DEB_COMPRESS  dpkg-deb -Z: xz (default), zstd, gzip
#     APT_DEB_HOOK      name of a function apt_deb calls with the staging
#                       directory as $1 before building: add files, symlinks,
#                       DEBIAN/conffiles, maintainer scripts...
#     APT_DEB_DEFAULT_FILES=0  apt_deb ships no default files
#     APT_SIGN_KEY      key apt_archive signs with (default: the first made)
#     APT_SIGN_TIME     gpg --faked-system-time for signing (e.g.
#                       20200101T120000; keys made "expired" or "old" use
#                       that time by default)
#     APT_SIG_EXPIRE    signature expiry (gpg --default-sig-expire, e.g. 1d)
#     APT_NO_INRELEASE=1   no InRelease, only Release + Release.gpg
#     APT_NO_RELEASE_GPG=1 no Release.gpg
#     APT_UNSIGNED=1       neither: an unsigned Release only
#     APT_VALID_UNTIL   a date (anything `date -d` reads) for Valid-Until
#     APT_RELEASE_DATE  a date that replaces apt-ftparchive's Date
#     APT_NO_SUPPORT_ALL=0 omit "No-Support-for-Architecture-all: Packages"
#     APT_RELEASE_EXTRA extra header lines for Release ("Field: value\n...")

APT_DIR=${APT_DIR:-$PWD}
APT_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1700000000}

# need_apt: skip the whole test unless the archive tools are installed.
need_apt() {
	need gpg gpgv gpgconf dpkg-deb dpkg-scanpackages apt-ftparchive python3 xz gzip
}

# apt__die MSG: a fixture failed; say so on stderr and fail the caller.
apt__die() {
	echo "lib-apt: $*" >&2
	return 1
}

# apt__gpg NAME ARGS...: gpg on key NAME's own home, never the user's.
apt__gpg() {
	local name=$1; shift
	gpg --homedir "$APT_DIR/gnupg-$name" --batch --no-tty --quiet --passphrase '' \
		--pinentry-mode loopback "$@"
}

# apt_keygen NAME [EXPIRE]: a throwaway ed25519 signing key in
# $APT_DIR/gnupg-NAME, exported as the binary keyring NAME.gpg and the
# armoured NAME.asc (its fingerprint in NAME.fpr).  EXPIRE: "never"
# (default), any gpg expiry such as "1y", "expired" (made 2020-01-01, expired
# a day later: gpgv says EXPKEYSIG), "old" (made 2020-01-01, never expires:
# for expired signatures with APT_SIG_EXPIRE) or "revoked" (the exported
# keyring carries its revocation: gpgv says REVKEYSIG).
apt_keygen() {
	local name=$1 expire=${2:-never} home="$APT_DIR/gnupg-$1" when="" fpr pub
	case $expire in
	expired) when=20200101T000000 expire=1d ;;
	old) when=20200101T000000 expire=never ;;
	revoked) expire=never ;;
	esac
	mkdir -m 700 "$home" || return
	echo "$name" >>"$APT_DIR/.apt-keys"
	# Signing happens later in the key's (faked) lifetime than its creation.
	[ -z "$when" ] || echo 20200101T120000 >"$home/.sign-time"
	apt__gpg "$name" ${when:+--faked-system-time "$when"} \
		--quick-gen-key "plinth test key $name <$name@plinth.invalid>" ed25519 sign "$expire" \
		2>"$home/.log" || apt__die "cannot make key '$name': $(cat "$home/.log")" || return
	fpr=$(apt__gpg "$name" --with-colons --list-keys | awk -F: '$1 == "fpr" { print $10; exit }')
	echo "$fpr" >"$APT_DIR/$name.fpr"
	pub=$name
	if [ "${2:-}" = revoked ]; then
		# Revoke a copy of the public key, so the signing home can still sign.
		pub=$name-pub
		mkdir -m 700 "$APT_DIR/gnupg-$pub" && echo "$pub" >>"$APT_DIR/.apt-keys"
		apt__gpg "$name" --export | apt__gpg "$pub" --import 2>/dev/null &&
			sed 's/^:-----/-----/' "$home/openpgp-revocs.d/$fpr.rev" | apt__gpg "$pub" --import 2>/dev/null ||
			apt__die "cannot revoke key '$name'" || return
	fi
	apt__gpg "$pub" --export "$fpr" >"$APT_DIR/$name.gpg" &&
		apt__gpg "$pub" --armor --export "$fpr" >"$APT_DIR/$name.asc"
}

# apt__sign NAME IN: sign IN with key NAME as IN.clear (clearsigned) and
# IN.sig (armoured, detached), as APT_* ask.
apt__sign() {
	local name=$1 in=$2 home="$APT_DIR/gnupg-$1" when=${APT_SIGN_TIME:-}
	[ -d "$home" ] || apt__die "no key '$name' (apt_keygen it first)" || return
	[ -n "$when" ] || [ ! -f "$home/.sign-time" ] || when=$(cat "$home/.sign-time")
	set -- ${when:+--faked-system-time "$when"} ${APT_SIG_EXPIRE:+--default-sig-expire "$APT_SIG_EXPIRE"} \
		--digest-algo SHA256 --yes
	if [ "${APT_NO_INRELEASE:-0}" != 1 ]; then
		apt__gpg "$name" "$@" --clearsign --output "$in.clear" "$in" 2>/dev/null ||
			apt__die "cannot clearsign '$in' with key '$name'" || return
	fi
	if [ "${APT_NO_RELEASE_GPG:-0}" != 1 ]; then
		apt__gpg "$name" "$@" --armor --detach-sign --output "$in.sig" "$in" 2>/dev/null ||
			apt__die "cannot sign '$in' with key '$name'" || return
	fi
}

# apt_deb NAME VERSION [ARCH] [ARG...]: build NAME_VERSION_ARCH.deb (no
# epoch in the file name) into $APT_POOL with dpkg-deb and print its path.
# ARCH defaults to amd64.  Each ARG is one of
#     Field=value      an extra control field (Depends="libfoo (>= 1.0)",
#                      Pre-Depends, Provides, Conflicts, Breaks, Source,
#                      Multi-Arch, Essential...) or a new value for a
#                      default one (Maintainer, Description, Installed-Size)
#     FILE=/path:text  a regular file holding exactly `text` (mode 0644)
#     CONFFILE=/path:text  the same, listed in DEBIAN/conffiles (and so left
#                      out of DEBIAN/md5sums, as dh_md5sums does)
#     LINK=/path:dest  a symlink to `dest`
#     DIR=/path        a directory
# Default files (unless APT_DEB_DEFAULT_FILES=0): /usr/share/NAME/VERSION
# holding "NAME VERSION\n", /usr/share/doc/NAME/copyright and
# /usr/share/man/man1/NAME.1.gz.  Then APT_DEB_HOOK runs, then DEBIAN/md5sums
# is written as dh_md5sums does.  Builds are reproducible: mtimes are
# clamped to SOURCE_DATE_EPOCH and owners are root.
apt_deb() {
	local name=$1 version=$2 arch=amd64
	shift 2
	case ${1:-} in *=*) ;; ?*) arch=$1; shift ;; esac
	local pool=${APT_POOL:-$APT_DIR/pool}
	local out="$pool/${name}_${version#*:}_$arch.deb"
	local stage="$APT_DIR/.stage-${name}_${version#*:}_$arch"
	(
		set -e
		umask 022
		rm -rf "$stage"
		mkdir -p "$pool" "$stage/DEBIAN"
		if [ "${APT_DEB_DEFAULT_FILES:-1}" != 0 ]; then
			mkdir -p "$stage/usr/share/$name" "$stage/usr/share/doc/$name" "$stage/usr/share/man/man1"
			printf '%s %s\n' "$name" "$version" >"$stage/usr/share/$name/${version#*:}"
			printf 'Copyright: none, a test fixture\n' >"$stage/usr/share/doc/$name/copyright"
			printf '.TH %s 1\n' "$name" | gzip -9n >"$stage/usr/share/man/man1/$name.1.gz"
		fi
		# Control fields in order; ARGs replace defaults or are appended.
		local -a keys=(Package Version Architecture Maintainer Installed-Size)
		local -A val=([Package]=$name [Version]=$version [Architecture]=$arch
			[Maintainer]="plinth tests <tests@plinth.invalid>")
		local arg key path
		for arg in "$@"; do
			key=${arg%%=*} arg=${arg#*=}
			case $key in
			FILE) path=${arg%%:*}; mkdir -p "$stage$(dirname "$path")"
				printf '%s' "${arg#*:}" >"$stage$path" ;;
			CONFFILE) path=${arg%%:*}; mkdir -p "$stage$(dirname "$path")"
				printf '%s' "${arg#*:}" >"$stage$path"
				echo "$path" >>"$stage/DEBIAN/conffiles" ;;
			LINK) path=${arg%%:*}; mkdir -p "$stage$(dirname "$path")"
				ln -sfn "${arg#*:}" "$stage$path" ;;
			DIR) mkdir -p "$stage$arg" ;;
			*) [[ $key =~ ^[A-Za-z][A-Za-z0-9-]*$ ]] || { echo "lib-apt: bad argument '$key=$arg'" >&2; exit 1; }
				[ -n "${val[$key]+set}" ] || [ "$key" = Installed-Size ] || [ "$key" = Description ] ||
					keys+=("$key")
				val[$key]=$arg ;;
			esac
		done
		[ -z "${APT_DEB_HOOK:-}" ] || "$APT_DEB_HOOK" "$stage"
		[ -n "${val[Installed-Size]+set}" ] ||
			val[Installed-Size]=$(du -sk --apparent-size --exclude=DEBIAN "$stage" | cut -f1)
		{
			for key in "${keys[@]}"; do printf '%s: %s\n' "$key" "${val[$key]}"; done
			printf 'Description: %s\n' "${val[Description]:-test package $name}"
		} >"$stage/DEBIAN/control"
		(cd "$stage" && find . -type f ! -path './DEBIAN/*' | LC_ALL=C sort | sed 's|^\./||' |
			grep -vxF -f <(sed 's|^/||' DEBIAN/conffiles 2>/dev/null) |
			xargs -r -d '\n' md5sum) >"$stage/DEBIAN/md5sums"
		[ -s "$stage/DEBIAN/md5sums" ] || rm "$stage/DEBIAN/md5sums"
		dpkg-deb --root-owner-group -Z"${APT_DEB_COMPRESS:-xz}" --build "$stage" "$out" \
			>"$stage.log" 2>&1 || { cat "$stage.log" >&2; exit 1; }
		rm -rf "$stage" "$stage.log"
	) || apt__die "cannot build '$name $version $arch'" || return
	echo "$out"
}

# apt_hostile_deb OUT KIND [NAME]: write a hand-made .deb to OUT whose
# data.tar.xz holds one hostile entry, beside a valid debian-binary and
# control.tar.xz (package NAME, default "evil", version 1.0, amd64), so it
# can be indexed and fetched like any other.  KIND:
#     dotdot            regular file ./../../etc/evil
#     absolute          regular file /etc/evil
#     symlink-escape    ./usr/lib/x -> ../../../../../etc/shadow
#     hardlink-outside  ./usr/lib/x hardlinked to ../../etc/passwd
#     device            character device ./dev/sda (8, 0)
#     fifo              fifo ./run/fifo
#     duplicate         ./usr/share/evil twice, with different content
#     through-symlink   ./usr/lib/d -> /etc (absolute), then ./usr/lib/d/evil
#                       (an extractor that follows host symlinks writes /etc)
apt_hostile_deb() {
	python3 - "$1" "$2" "${3:-evil}" <<'EOF'
import io, sys, tarfile

out, kind, name = sys.argv[1:4]
MTIME = 1700000000

def entry(path, type_=tarfile.REGTYPE, data=b"", mode=0o644, link=""):
    ti = tarfile.TarInfo(path)
    ti.type, ti.mode, ti.mtime, ti.linkname = type_, mode, MTIME, link
    if type_ == tarfile.SYMTYPE:
        ti.mode = 0o777
    ti.uname = ti.gname = "root"
    ti.size = len(data) if type_ == tarfile.REGTYPE else 0
    if type_ == tarfile.CHRTYPE:
        ti.devmajor, ti.devminor = 8, 0
    return ti, data

def dirs(*paths):
    return [entry(p, tarfile.DIRTYPE, mode=0o755) for p in paths]

def tar_xz(entries):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz", format=tarfile.GNU_FORMAT) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.size else None)
    return buf.getvalue()

evil = b"evil\n"
data = {
    "dotdot": [entry("./../../etc/evil", data=evil)],
    "absolute": [entry("/etc/evil", data=evil)],
    "symlink-escape": dirs("./usr/", "./usr/lib/")
    + [entry("./usr/lib/x", tarfile.SYMTYPE, link="../../../../../etc/shadow")],
    "hardlink-outside": dirs("./usr/", "./usr/lib/")
    + [entry("./usr/lib/x", tarfile.LNKTYPE, link="../../etc/passwd")],
    "device": dirs("./dev/") + [entry("./dev/sda", tarfile.CHRTYPE, mode=0o660)],
    "fifo": dirs("./run/") + [entry("./run/fifo", tarfile.FIFOTYPE)],
    "duplicate": dirs("./usr/", "./usr/share/")
    + [entry("./usr/share/evil", data=b"first\n"), entry("./usr/share/evil", data=evil)],
    "through-symlink": dirs("./usr/", "./usr/lib/")
    + [entry("./usr/lib/d", tarfile.SYMTYPE, link="/etc"), entry("./usr/lib/d/evil", data=evil)],
}
if kind not in data:
    sys.exit(f"lib-apt: unknown hostile kind '{kind}'")
control = (f"Package: {name}\nVersion: 1.0\nArchitecture: amd64\n"
           "Maintainer: plinth tests <tests@plinth.invalid>\n"
           f"Description: hostile test package ({kind})\n").encode()
members = [
    ("debian-binary", b"2.0\n"),
    ("control.tar.xz", tar_xz(dirs("./") + [entry("./control", data=control)])),
    ("data.tar.xz", tar_xz(dirs("./") + data[kind])),
]
with open(out, "wb") as f:
    f.write(b"!<arch>\n")
    for member, body in members:
        # name/16 mtime/12 uid/6 gid/6 mode/8 size/10 "`\n", as dpkg-deb writes
        f.write(b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (member.encode(), MTIME, 0, 0, b"100644", len(body)))
        f.write(body + (b"\n" if len(body) % 2 else b""))
EOF
}

# apt_archive DIR SUITE [COMPONENT]: copy $APT_POOL's .debs to
# DIR/pool/COMPONENT (default main), index them in
# DIR/dists/SUITE/COMPONENT/binary-amd64/Packages{,.xz,.gz} (arch all ones
# too), write DIR/dists/SUITE/Release for every component present and sign
# it as InRelease and Release.gpg (see the knobs at the top).  Run it again
# after adding packages, or with another pool and component.
apt_archive() {
	local dir=$1 suite=$2 comp=${3:-main} pool=${APT_POOL:-$APT_DIR/pool}
	local dists="$dir/dists/$suite" idx="$dir/dists/$suite/$comp/binary-amd64"
	local tmp="$APT_DIR/.apt-release" key=${APT_SIGN_KEY:-} comps
	mkdir -p "$dir/pool/$comp" "$idx" || return
	if compgen -G "$pool/*.deb" >/dev/null; then cp "$pool"/*.deb "$dir/pool/$comp/" || return; fi
	(cd "$dir" && dpkg-scanpackages --multiversion -a amd64 "pool/$comp" >"dists/$suite/$comp/binary-amd64/Packages" \
		2>"$tmp.log") || apt__die "dpkg-scanpackages failed: $(cat "$tmp.log")" || return
	xz -9 -c "$idx/Packages" >"$idx/Packages.xz" && gzip -9n -c "$idx/Packages" >"$idx/Packages.gz" || return
	rm -f "$dists/Release" "$dists/InRelease" "$dists/Release.gpg"
	comps=$(cd "$dists" && for c in */; do printf '%s ' "${c%/}"; done)
	(cd "$dists" && apt-ftparchive \
		-o APT::FTPArchive::Release::Origin=plinth-tests \
		-o APT::FTPArchive::Release::Label=plinth-tests \
		-o APT::FTPArchive::Release::Suite="$suite" \
		-o APT::FTPArchive::Release::Codename="$suite" \
		-o APT::FTPArchive::Release::Architectures=amd64 \
		-o APT::FTPArchive::Release::Components="${comps% }" \
		release . >"$tmp" 2>"$tmp.log") || apt__die "apt-ftparchive failed: $(cat "$tmp.log")" || return
	# Header lines apt-ftparchive cannot write, placed as Debian's archive has them.
	local date="" until="" extra=${APT_RELEASE_EXTRA:-}
	[ -z "${APT_RELEASE_DATE:-}" ] || date=$(LC_ALL=C date -u -d "$APT_RELEASE_DATE" '+%a, %d %b %Y %H:%M:%S UTC') || return
	[ -z "${APT_VALID_UNTIL:-}" ] || until=$(LC_ALL=C date -u -d "$APT_VALID_UNTIL" '+%a, %d %b %Y %H:%M:%S UTC') || return
	[ "${APT_NO_SUPPORT_ALL:-1}" = 0 ] || extra="No-Support-for-Architecture-all: Packages${extra:+
$extra}"
	DATE=$date UNTIL=$until EXTRA=$extra awk '
		/^Date: / && ENVIRON["DATE"] != "" { $0 = "Date: " ENVIRON["DATE"] }
		/^Architectures: / && ENVIRON["EXTRA"] != "" { print ENVIRON["EXTRA"] }
		{ print }
		/^Date: / && ENVIRON["UNTIL"] != "" { print "Valid-Until: " ENVIRON["UNTIL"] }
	' "$tmp" >"$dists/Release" || return
	rm -f "$tmp" "$tmp.log"
	[ "${APT_UNSIGNED:-0}" != 1 ] || return 0
	[ -n "$key" ] || key=$(head -n 1 "$APT_DIR/.apt-keys" 2>/dev/null) ||
		apt__die "no key to sign with (apt_keygen one first)" || return
	apt__sign "$key" "$dists/Release" || return
	[ ! -f "$dists/Release.clear" ] || mv "$dists/Release.clear" "$dists/InRelease"
	[ ! -f "$dists/Release.sig" ] || mv "$dists/Release.sig" "$dists/Release.gpg"
}

# apt_tamper FILE: flip the low bit of the byte in the middle of FILE.
apt_tamper() {
	python3 -c '
import sys
with open(sys.argv[1], "r+b") as f:
    size = f.seek(0, 2)
    if size == 0:
        sys.exit("lib-apt: cannot tamper with empty " + sys.argv[1])
    f.seek(size // 2); b = f.read(1)[0]
    f.seek(size // 2); f.write(bytes([b ^ 1]))
' "$1"
}

# apt_serve DIR: serve DIR over HTTP on 127.0.0.1 (httpd.py, a free port)
# until apt_cleanup; exports APT_PORT, APT_URL=http://127.0.0.1:PORT and
# APT_LOG, the request log (one "METHOD PATH STATUS [truncated]" line per
# request; the server's own errors go to httpd.err).  Paths listed in DIR/.truncate (one a line, like
# /dists/stable/InRelease) get their full Content-Length but half the body;
# "PATH CODE" lines in DIR/.status answer PATH with status CODE.  Both are
# read on every request.  Call it directly, not in $(...).
apt_serve() {
	local dir=$1 portfile
	APT_LOG="$(cd "$dir/.." && pwd)/httpd.log"
	portfile="$APT_DIR/.httpd-$$-$RANDOM.port"
	python3 "$APT_LIB/httpd.py" --log "$APT_LOG" "$dir" >"$portfile" 2>>"${APT_LOG%.log}.err" </dev/null &
	echo $! >>"$APT_DIR/.apt-pids"
	for _ in $(seq 100); do
		[ -s "$portfile" ] && break
		kill -0 $! 2>/dev/null || break
		sleep 0.05
	done
	APT_PORT=$(head -n 1 "$portfile")
	rm -f "$portfile"
	[ -n "$APT_PORT" ] || apt__die "httpd.py did not start: $(tail -n 5 "${APT_LOG%.log}.err")" || return
	export APT_PORT APT_URL="http://127.0.0.1:$APT_PORT" APT_LOG
}

# apt_recipe NAME URI PACKAGES [KEYRING]: write NAME.yaml, a recipe (image
# name "img", version 1.0.0) that takes PACKAGES (comma-separated) from the
# archive at URI (suite stable, component main), checked against KEYRING
# (default good.gpg, beside the recipe).  Append more keys as needed.
apt_recipe() {
	cat >"$1.yaml" <<EOF
name: img
version: 1.0.0
repositories:
  - uri: $2
    suites: [stable]
    components: [main]
    keyring: ${4:-good.gpg}
packages: [$3]
EOF
}

# apt_cleanup: stop the servers and the gpg-agents of every key; safe to
# run twice.
apt_cleanup() {
	local pid name
	if [ -f "$APT_DIR/.apt-pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || :
		done <"$APT_DIR/.apt-pids"
		rm -f "$APT_DIR/.apt-pids"
	fi
	if [ -f "$APT_DIR/.apt-keys" ]; then
		while read -r name; do
			gpgconf --homedir "$APT_DIR/gnupg-$name" --kill all 2>/dev/null || :
		done <"$APT_DIR/.apt-keys"
	fi
	return 0
}

trap 'apt_cleanup; t_cleanup' EXIT
