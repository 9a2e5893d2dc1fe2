#!/bin/bash
# Debian packages from a real, signed archive made here: lock, build,
# extraction, scanner metadata, the CA bundle, merged /usr, the cache, and
# the lock's promises (stale locks refused, a locked build fetches only the
# pinned .debs).
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-apt.sh"
need_apt
need tar zstd sha256sum

export PLINTH_CACHE=$TMP/cache

apt_keygen good
# ca-certificates' certificates, one without a final newline
cert_hook() {
	mkdir -p "$1/usr/share/ca-certificates/mozilla" "$1/etc/ssl/certs"
	printf 'CERT B\n' >"$1/usr/share/ca-certificates/mozilla/B_b.crt"
	printf 'CERT A' >"$1/usr/share/ca-certificates/mozilla/A-a.crt"
	printf 'not a cert\n' >"$1/usr/share/ca-certificates/mozilla/README"
}
APT_DEB_HOOK=cert_hook apt_deb ca-certificates 1.0 all \
	Depends="openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0" >/dev/null
apt_deb libfoo 1.0 FILE=/lib/x86_64-linux-gnu/libfoo.so.1:foo1 >/dev/null
apt_deb libfoo 2.0 FILE=/lib/x86_64-linux-gnu/libfoo.so.1:foo2 \
	LINK=/lib64/ld-foo.so:/lib/x86_64-linux-gnu/libfoo.so.1 >/dev/null
apt_deb foo 1:1.0-1 Depends="libfoo (>= 2.0), awk" Source="foo-src (1.0-0)" \
	FILE=/bin/foo:'#!foo' LINK=/bin/foo-again:foo LINK=/bin/foo-up:../usr/share/foo/data \
	FILE=/usr/share/foo/data:data >/dev/null
apt_deb mawk 1.3 Provides=awk >/dev/null
apt_deb clash-a 1.0 FILE=/usr/share/clash:a >/dev/null
apt_deb clash-b 1.0 FILE=/usr/share/clash:b >/dev/null
apt_deb same-a 1.0 FILE=/usr/share/same:s >/dev/null
apt_deb same-b 1.0 FILE=/usr/share/same:s >/dev/null
apt_deb x-conflicts 1.0 all Conflicts=mawk >/dev/null
apt_deb conf 1.0 all CONFFILE=/etc/conf/app.conf:setting=1 FILE=/usr/share/conf/data:d >/dev/null
# a hard link, a setuid program, a file the recipe excludes by its old path
links_hook() {
	mkdir -p "$1/bin" "$1/usr/bin"
	printf 'program' >"$1/usr/bin/prog"
	ln "$1/usr/bin/prog" "$1/usr/bin/prog-link"
	printf 'su' >"$1/bin/su" && chmod 4755 "$1/bin/su"
	printf 'gone' >"$1/bin/excluded"
}
APT_DEB_HOOK=links_hook apt_deb links 1.0 >/dev/null
# a newer base-files ships the merged-/usr links itself
APT_DEB_DEFAULT_FILES=0 apt_deb merged-base 1.0 LINK=/bin:usr/bin LINK=/lib64:usr/lib64 >/dev/null
mkdir srv
apt_archive srv/good stable || exit 1
apt_serve srv || exit 1

# recipe NAME URI PACKAGES [KEYRING]: apt_recipe, with ca-certificates'
# openssl assumed
recipe() { apt_recipe "$@" && echo 'assume-installed: [openssl]' >>"$1.yaml"; }
# layer LAYOUT: the image's layer as an uncompressed tar
layer() {
	local m
	m=$(manifest_of "$1" 1.0.0)
	zstd -dc "$(blob "$1" "$(jq -r '.layers[0].digest' "$(blob "$1" "$m")")")"
}

# ---- lock ------------------------------------------------------------------
recipe pk '${APT_URL}/good' 'foo, ca-certificates'
run_plinth lock pk.yaml
t_is "$rc" 0 "lock resolves and writes the lock"
t_like "$out" "^locked 4 packages .* in pk.lock.json$" "lock says what it pinned"
t_is "$(jq -r '[.packages[] | .name + "=" + .version] | join(" ")' pk.lock.json)" \
	"ca-certificates=1.0 foo=1:1.0-1 libfoo=2.0 mawk=1.3" \
	"the lock has the newest satisfying versions, dependencies and a provider"
t_is "$(jq -r '.packages[] | select(.name == "foo") | .source + " " + .sourceVersion' pk.lock.json)" \
	"foo-src 1.0-0" "the lock records the source package and its version"
t_is "$(jq -r '.packages[] | select(.name == "libfoo") | .sha256 + " " + (.size|tostring) + " " + .filename' pk.lock.json)" \
	"$(sha256sum <srv/good/pool/main/libfoo_2.0_amd64.deb | cut -d' ' -f1) $(stat -c %s srv/good/pool/main/libfoo_2.0_amd64.deb) pool/main/libfoo_2.0_amd64.deb" \
	"the lock pins each .deb's sha256, size and file name"
t_is "$(jq -r '.architecture' pk.lock.json)" "amd64" "the lock names the architecture"
t_is "$(grep -c "$APT_PORT" pk.lock.json)" 0 "the lock names no mirror"

# ---- build -----------------------------------------------------------------
: >"$APT_LOG"
run_plinth build pk.yaml -o out
t_is "$rc" 0 "build installs the locked packages"
t_is "$(grep -c 'InRelease\|Packages' "$APT_LOG")" 0 "a build from the lock reads no index"
t_is "$(grep -c '^GET /good/pool/' "$APT_LOG")" 4 "...and fetches each pinned .deb once"
digest=$(echo "$out" | tail -n 1)
layer out >layer.tar
list=$(tar -tvf layer.tar | awk '{ s = $1 " " $6; for (i = 7; i <= NF; i++) s = s " " $i; print s }')
t_like "$list" "^-rw-r--r-- usr/lib/x86_64-linux-gnu/libfoo.so.1$" "files under /lib land in /usr/lib"
t_like "$list" "^lrwxrwxrwx lib -> usr/lib$" "/lib is a symlink into /usr"
t_like "$list" "^lrwxrwxrwx bin -> usr/bin$" "/bin is a symlink into /usr"
t_like "$list" "^lrwxrwxrwx lib64 -> usr/lib64$" "/lib64 too, as a package ships there"
t_like "$list" "^lrwxrwxrwx usr/lib64/ld-foo.so -> /lib/x86_64-linux-gnu/libfoo.so.1$" \
	"absolute link targets are kept"
t_like "$list" "^lrwxrwxrwx usr/bin/foo-again -> foo$" "relative links beside their target are kept"
t_like "$list" "^lrwxrwxrwx usr/bin/foo-up -> ../share/foo/data$" \
	"relative links moved into /usr still point at their target"
t_is "$(tar -xOf layer.tar usr/lib/x86_64-linux-gnu/libfoo.so.1)" "foo2" "the newest libfoo is installed"
t_is "$(echo "$list" | grep -c 'usr/share/doc\|usr/share/man')" 0 "no docs, no manuals"
t_is "$(tar -xOf layer.tar var/lib/dpkg/status.d/foo)" \
	"$(dpkg-deb --ctrl-tarfile srv/good/pool/main/foo_1.0-1_amd64.deb | tar -xOf - ./control)" \
	"status.d/foo is the package's control paragraph"
t_is "$(tar -xOf layer.tar var/lib/dpkg/status.d/foo.md5sums)" \
	"$(dpkg-deb --ctrl-tarfile srv/good/pool/main/foo_1.0-1_amd64.deb | tar -xOf - ./md5sums)" \
	"status.d/foo.md5sums is the package's md5sums"
t_is "$(tar -xOf layer.tar etc/ssl/certs/ca-certificates.crt | od -c | head -n 2)" \
	"$(printf 'CERT A\nCERT B\n' | od -c | head -n 2)" \
	"the CA bundle joins the certificates in name order, newline-terminated"
t_like "$list" "^-rw-r--r-- etc/passwd$" "plinth's generated files are still there"
run_plinth build pk.yaml -o out2 --json
t_is "$(echo "$out" | jq -r '.digest + " " + (.packages|tostring) + " " + (.from_lock|tostring)')" \
	"$digest 4 true" "a second build from the warm cache gives the same digest"

# a fresh cache, the same digest; then the archive is gone, and the cache serves
PLINTH_CACHE=$TMP/cache2 run_plinth build pk.yaml -o out3
t_is "$(echo "$out" | tail -n 1)" "$digest" "a build with an empty cache gives the same digest"
t_is "$(ls cache2/tmp | wc -l)" 0 "no temporary files are left in the cache"
mv srv/good srv/gone
run_plinth build pk.yaml -o out4
t_is "$(echo "$out" | tail -n 1)" "$digest" "a build from the lock needs only the cache"
PLINTH_CACHE=$TMP/cache3 run_plinth build pk.yaml -o out5
t_is "$rc" 1 "without the archive and the cache the build fails"
t_like "$err" "package 'ca-certificates' 1.0: .*HTTP 404" "...naming the package and why"
t_is "$(state out5)" "absent" "...and writes nothing"
mv srv/gone srv/good

# several builds at once share one empty cache
pids=""
for i in 1 2 3; do
	PLINTH_CACHE=$TMP/shared "$PLINTH" build pk.yaml -o "par$i" >"par$i.out" 2>"par$i.err" &
	pids="$pids $!"
done
wait $pids # not the HTTP server
t_is "$(tail -qn 1 par1.out par2.out par3.out | sort -u)" "$digest" \
	"three builds sharing an empty cache at once all give the same digest"
t_is "$(ls shared/sha256 | wc -l):$(ls shared/tmp | wc -l)" "4:0" \
	"...and leave each .deb cached once, no temporary file"

# without a lock: resolved afresh, same result
mv pk.lock.json pk.lock.saved
run_plinth build pk.yaml -o out6 --json
t_is "$(content out6 "$(echo "$out" | jq -r .digest)") $(echo "$out" | jq .from_lock)" \
	"$(content out "$digest") false" \
	"without a lock the packages are resolved afresh, to the same image (but for the lock's digest)"
run_plinth build pk.yaml -o out7 --frozen
t_is "$rc" 1 "--frozen refuses to build without a lock"
t_like "$err" "lock 'pk.lock.json' does not exist .*run 'plinth lock pk.yaml'" "...and says what to do"
mv pk.lock.saved pk.lock.json
sed -i 's/packages: \[foo, ca-certificates\]/packages: [foo]/' pk.yaml
run_plinth build pk.yaml -o out8
t_is "$rc" 1 "a stale lock is refused"
t_like "$err" "lock 'pk.lock.json' is stale" "...with the reason"
t_is "$(state out8)" "absent" "...and nothing is written"
sed -i 's/packages: \[foo\]/packages: [foo, ca-certificates]/' pk.yaml
echo "description: only the description changed" >>pk.yaml
run_plinth build pk.yaml -o out8
t_is "$rc" 0 "changing what the lock does not cover keeps it valid"

# ---- what dpkg would not have done ------------------------------------------
recipe links '${APT_URL}/good' 'links, merged-base'
echo 'exclude: [/bin/excluded]' >>links.yaml
run_plinth build links.yaml -o links
t_is "$rc" 0 "a package with hard links, setuid bits and its own /usr links builds"
layer links >links.tar
list=$(tar -tvf links.tar | awk '{ s = $1 " " $6; for (i = 7; i <= NF; i++) s = s " " $i; print s }')
t_is "$(tar -xOf links.tar usr/bin/prog-link)" "program" "a hard link becomes a copy of its file"
t_like "$list" "^-rwxr-xr-x usr/bin/su$" "setuid bits are dropped"
t_is "$(echo "$list" | grep -c excluded)" 0 "exclude matches the path the package names"
t_like "$list" "^lrwxrwxrwx bin -> usr/bin$" "a package's own /bin link is kept as plinth's"
t_is "$(echo "$list" | grep -c '^l.* usr/bin -> ')" 0 "...and not moved into /usr"

# ---- resolution errors ----------------------------------------------------
recipe r1 '${APT_URL}/good' 'fo'
run_plinth lock r1.yaml
t_is "$rc" 1 "an unknown package fails"
t_like "$err" "r1.yaml:[0-9]+:[0-9]+: package 'fo' is in no repository \(did you mean 'foo'\?\)" \
	"...with its position and a suggestion"
t_is "$(ls r1.lock.json 2>/dev/null)" "" "...and writes no lock"
recipe r2 '${APT_URL}/good' 'clash-a, clash-b'
run_plinth build r2.yaml -o r2
t_is "$rc" 1 "two packages shipping one path differently fail"
t_like "$err" "'/usr/share/clash' is shipped by package 'clash-a' and by package 'clash-b' with different content" \
	"...naming both"
recipe r3 '${APT_URL}/good' 'same-a, same-b'
run_plinth build r3.yaml -o r3
t_is "$rc" 0 "two packages shipping one path identically are fine"
recipe r4 '${APT_URL}/good' 'foo, x-conflicts'
run_plinth lock r4.yaml
t_is "$rc" 1 "Conflicts fail"
t_like "$err" "package 'x-conflicts' 1.0 \(needed by x-conflicts\) conflicts with 'mawk', but 'mawk' 1.3 is needed by foo -> mawk" \
	"...naming the chains"
# ---- conffiles: dpkg's status names them, as md5sums does not ------------------
recipe rc '${APT_URL}/good' 'conf'
run_plinth build rc.yaml -o rcout
t_is "$rc" 0 "a package with a conffile installs"
layer rcout >rc.tar
t_is "$(tar -xOf rc.tar var/lib/dpkg/status.d/conf | sed -n '/^Conffiles:/,$p')" \
	"$(printf 'Conffiles:\n /etc/conf/app.conf %s' "$(printf 'setting=1' | md5sum | cut -d' ' -f1)")" \
	"status.d/conf lists the conffile with its MD5, as dpkg's status does"
t_is "$(tar -xOf rc.tar var/lib/dpkg/status.d/conf.md5sums | grep -c app.conf)" 0 "md5sums leaves it out"
run_plinth scan --json oci:rcout:1.0.0
t_is "$(jq -r '[.findings[] | select(.rule == "S013") | .path | select(startswith("/etc/conf") or startswith("/usr/share/conf"))] | length' <<<"$out")" 0 \
	"scan knows the package owns its conffile"
run_plinth sbom oci:rcout:1.0.0
t_is "$(jq -r '[.files[].fileName | select(test("conf/"))] | length' <<<"$out")" 0 \
	"...and so does the SBOM"

recipe r5 '${UNSET_MIRROR}/good' 'foo'
run_plinth lock r5.yaml
t_is "$rc" 1 "an unset \${VAR} in a uri fails"
t_like "$err" "UNSET_MIRROR" "...naming it"

t_done
