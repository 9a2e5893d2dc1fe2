#!/bin/bash
# The shipped `base` recipe against the real Debian archive, through the
# host's apt sources: a dynamically linked program compiled here runs in it
# under runc as uid 65532, the CA bundle is what update-ca-certificates
# makes, scanners find libc6 at the archive's version, no docs, and a
# rebuild from the lock gives the same digest.
. "$(dirname "$0")/lib.sh"
need cc readelf jq umoci curl openssl update-ca-certificates

export PLINTH_CACHE=${PLINTH_TEST_CACHE:-$TMP/cache}
# the first deb URI of the host's apt sources, to see whether it answers
uri=$(grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{ print $2; exit }')
[ -n "$uri" ] || uri=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' \
	/etc/apt/sources.list 2>/dev/null)
[ -n "$uri" ] && curl -fsS -m 20 -o /dev/null "${uri%/}/dists/" 2>/dev/null ||
	curl -fsS -m 20 -o /dev/null "${uri%/}/" 2>/dev/null ||
	t_skip_all "the host's Debian archive is not reachable"

cat >dyn.c <<'EOF'
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void)
{
	char line[4096];
	int certs = 0;
	FILE *f = fopen("/etc/ssl/certs/ca-certificates.crt", "r");
	while (f && fgets(line, sizeof(line), f))
		certs += !strcmp(line, "-----BEGIN CERTIFICATE-----\n");
	printf("dynamic uid=%d certs>100=%s\n", (int)getuid(), certs > 100 ? "yes" : "no");
	return 0;
}
EOF
cc -O2 -o dyn dyn.c
t_like "$(readelf -l dyn)" "program interpreter" "the test program is dynamically linked"
cp "$TOP/recipes/base/base.yaml" base.yaml
cat >>base.yaml <<'EOF'
files:
  - {path: /usr/local/bin/dyn, source: dyn, mode: "0755"}
EOF
sed -i 's|^  workdir: /home/nonroot|  workdir: /home/nonroot\n  entrypoint: [/usr/local/bin/dyn]|' base.yaml

run_plinth lock base.yaml
t_is "$rc" 0 "base locks against the host's apt sources"
run_plinth build base.yaml -o img --compression gzip
t_is "$rc" 0 "base builds"
digest=$(echo "$out" | tail -n 1)
run_plinth build base.yaml -o img2 --compression gzip --frozen
t_is "$(echo "$out" | tail -n 1)" "$digest" "building again from the lock gives the same digest"

umoci unpack --image img:1.0.0 bundle >/dev/null 2>&1
t_is $? 0 "umoci unpacks it"
root=bundle/rootfs
libc=$(jq -r '.packages[] | select(.name == "libc6") | .version' base.lock.json)
t_like "$libc" "^2\.[0-9]+-" "the lock pins libc6"
t_is "$(awk -F': ' '$1 == "Version" { print $2 }' $root/var/lib/dpkg/status.d/libc6)" "$libc" \
	"status.d lists libc6 with the archive's version"
t_is "$(awk -F': ' '$1 == "Package" { print $2 }' $root/var/lib/dpkg/status.d/libc6)" "libc6" \
	"...under its own name"
t_ok "status.d has libc6's md5sums" test -s $root/var/lib/dpkg/status.d/libc6.md5sums
t_is "$(ls -d $root/usr/share/doc $root/usr/share/man 2>&1 | grep -vc 'No such file')" 0 "no /usr/share/doc, no manuals"
t_is "$(readlink $root/lib)" "usr/lib" "/lib is merged into /usr"
t_ok "the dynamic loader is where programs look for it" test -e $root/lib64/ld-linux-x86-64.so.2

# the bundle, against update-ca-certificates run on the image's certificates
mkdir -p ref/etc ref/hooks ref/local
(cd $root/usr/share/ca-certificates && find . -type f -name '*.crt' -printf '%P\n' | LC_ALL=C sort) >ref/conf
update-ca-certificates --certsconf "$PWD/ref/conf" --certsdir "$PWD/$root/usr/share/ca-certificates" \
	--localcertsdir "$PWD/ref/local" --etccertsdir "$PWD/ref/etc" --hooksdir "$PWD/ref/hooks" >/dev/null 2>&1
t_ok "update-ca-certificates makes a reference bundle" test -s ref/etc/ca-certificates.crt
t_ok "the CA bundle is the one update-ca-certificates makes" \
	cmp $root/etc/ssl/certs/ca-certificates.crt ref/etc/ca-certificates.crt
n=$(openssl crl2pkcs7 -nocrl -certfile $root/etc/ssl/certs/ca-certificates.crt 2>/dev/null |
	openssl pkcs7 -print_certs -noout 2>/dev/null | grep -c '^subject=')
t_like "$n" "^[1-9][0-9][0-9]+$" "the CA bundle parses: $n certificates"

if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null; then
	t_skip "runc needs root"
	t_done; exit
fi
jq '.process.terminal = false' bundle/config.json >c.json && mv c.json bundle/config.json
id=plinth-debian-$$
t_is "$(cd bundle && timeout 60 runc run "$id" </dev/null 2>&1)" "dynamic uid=65532 certs>100=yes" \
	"the dynamic program runs in base under runc as uid 65532 and reads the bundle"
runc delete -f "$id" >/dev/null 2>&1

t_done
