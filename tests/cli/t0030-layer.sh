#!/usr/bin/env bash
# The layer itself: sorted pax tar, numeric ids with empty names, every
# mtime at the clock, digests that match, deterministic gzip header.
. "$(dirname "$0")/lib.sh"
need cc jq zstd tar

layer_of() { # LAYOUT TAG -> path of the first layer blob
	local m; m=$(manifest_of "$1" "$2")
	blob "$1" "$(jq -r '.layers[0].digest' "$(blob "$1" "$m")")"
}
list() { tar --utc --full-time -tvf - | sed 's/  */ /g'; }

make_hello src
run_plinth build src/hello.yaml -o img
t_is "$rc" 0 "build succeeds"
size=$(stat -c %s src/bin/hello)
layer=$(layer_of img 1.0.0)
want="drwxr-xr-x 0/0 0 2023-11-14 22:13:20 etc/
-rw-r--r-- 0/0 43 2023-11-14 22:13:20 etc/group
-rw-r--r-- 0/0 226 2023-11-14 22:13:20 etc/nsswitch.conf
-rw-r--r-- 0/0 94 2023-11-14 22:13:20 etc/os-release
-rw-r--r-- 0/0 149 2023-11-14 22:13:20 etc/passwd
drwxr-xr-x 0/0 0 2023-11-14 22:13:20 home/
drwx------ 65532/65532 0 2023-11-14 22:13:20 home/nonroot/
drwx------ 0/0 0 2023-11-14 22:13:20 root/
drwxrwxrwt 0/0 0 2023-11-14 22:13:20 tmp/
drwxr-xr-x 0/0 0 2023-11-14 22:13:20 usr/
drwxr-xr-x 0/0 0 2023-11-14 22:13:20 usr/bin/
lrwxrwxrwx 0/0 0 2023-11-14 22:13:20 usr/bin/hello -> ../local/bin/hello
drwxr-xr-x 0/0 0 2023-11-14 22:13:20 usr/local/
drwxr-xr-x 0/0 0 2023-11-14 22:13:20 usr/local/bin/
-rwxr-xr-x 0/0 $size 2023-11-14 22:13:20 usr/local/bin/hello"
# Without --numeric-owner tar prints names when there are any: 0/0 means none.
t_is "$(zstd -dc "$layer" | list)" "$want" "the layer holds exactly the hardened tree, sorted, ids numeric, mtimes at the epoch"

m=$(blob img "$(manifest_of img 1.0.0)")
cfg=$(blob img "$(jq -r .config.digest "$m")")
t_is "sha256:$(zstd -dc "$layer" | sha256sum | cut -d' ' -f1)" "$(jq -r '.rootfs.diff_ids[0]' "$cfg")" "diff_id is the sha256 of the uncompressed tar"
t_is "$(sha256sum <"$layer" | cut -d' ' -f1)" "$(basename "$layer")" "the layer blob hashes to its digest"
t_is "$(stat -c %s "$layer")" "$(jq -r '.layers[0].size' "$m")" "the manifest records the layer's size"
t_is "$(jq -r '.layers[0].mediaType' "$m")" "application/vnd.oci.image.layer.v1.tar+zstd" "zstd is the default"
t_is "$(jq -r '.annotations | [."org.opencontainers.image.title", ."org.opencontainers.image.version", ."org.opencontainers.image.source"] | join(" ")' "$m")" \
	"hello 1.0.0 https://example.invalid/plinth/recipes/hello" "the manifest carries title, version and source annotations"
t_is "$(cat "$m")" "$(jq -cS . "$m")" "the manifest is canonical JSON (sorted keys, no whitespace)"
t_is "$(cat "$cfg")" "$(jq -cS . "$cfg")" "the config is canonical JSON"

# An awkward tree: names that sort differently per-component, long and non-ASCII names,
# modes and owners from the recipe, a nested directory source.
mkdir -p t/tree/a/b t/tree/a-b "t/tree/ü"
long=$(printf 'x%.0s' $(seq 1 150))
echo one >t/tree/a/b/f; echo two >t/tree/a-b/f; echo three >t/tree/a.b
echo four >"t/tree/ü/$long"; chmod 755 t/tree/a/b/f
ln -s ../a.b t/tree/a/link
cat >t/r.yaml <<'Y'
name: awkward
version: 0.1.0
files:
  - {path: /srv, source: tree, owner: "1000:1000"}
  - {path: /srv/a/b/g, source: tree/a.b, mode: "4750"}
directories: [{path: /data, mode: "0750", owner: "65532:65532"}]
accounts: {users: [{name: app, uid: 1000}], run-as: app}
Y
# the setuid file is there on purpose: the gates let it through by policy
printf 'ignore:\n  - {rule: L008, reason: mode bits are what is tested}\n  - {rule: S001, reason: mode bits are what is tested}\n' >setuid-ok.yaml
SOURCE_DATE_EPOCH=86400 run_plinth build --policy setuid-ok.yaml t/r.yaml -o awk -c gzip
t_is "$rc" 0 "the awkward recipe builds"
layer=$(layer_of awk 0.1.0)
got=$(zcat "$layer" | list | grep -v -e ' etc/' -e ' home/' -e ' root/' -e ' tmp/')
want="drwxr-x--- 65532/65532 0 1970-01-02 00:00:00 data/
drwxr-xr-x 1000/1000 0 1970-01-02 00:00:00 srv/
drwxr-xr-x 1000/1000 0 1970-01-02 00:00:00 srv/a/
drwxr-xr-x 1000/1000 0 1970-01-02 00:00:00 srv/a/b/
-rwxr-xr-x 1000/1000 4 1970-01-02 00:00:00 srv/a/b/f
-rwsr-x--- 0/0 6 1970-01-02 00:00:00 srv/a/b/g
lrwxrwxrwx 1000/1000 0 1970-01-02 00:00:00 srv/a/link -> ../a.b
drwxr-xr-x 1000/1000 0 1970-01-02 00:00:00 srv/a-b/
-rw-r--r-- 1000/1000 4 1970-01-02 00:00:00 srv/a-b/f
-rw-r--r-- 1000/1000 6 1970-01-02 00:00:00 srv/a.b
drwxr-xr-x 1000/1000 0 1970-01-02 00:00:00 srv/ü/
-rw-r--r-- 1000/1000 5 1970-01-02 00:00:00 srv/ü/$long"
t_is "$got" "$want" "parents first, a directory's subtree before its siblings, long and UTF-8 names intact"
t_like "$(zcat "$layer" | list | grep ' home/app/')" '^drwx------ 1000/1000 ' "a recipe user gets a private home"
t_like "$(zcat "$layer" | tar -xOf - etc/group)" 'app:x:1000:' "a user without a group gets one"

# gzip: no name, no mtime, OS "unknown".
t_is "$(od -An -tx1 -N10 "$layer" | tr -d ' \n')" "1f8b08000000000000ff" "the gzip header has no name and no mtime"
SOURCE_DATE_EPOCH=86400 "$PLINTH" build --policy setuid-ok.yaml t/r.yaml -o awk2 -c gzip >/dev/null
t_is "$(state awk2)" "$(state awk)" "the awkward tree builds reproducibly"

# Content is streamed: a large sparse file builds without holding it in memory.
mkdir big && truncate -s 1G big/zeros
printf 'name: big\nversion: 1.0.0\nfiles: [{path: /zeros, source: zeros}]\n' >big/r.yaml
rss=$( { /usr/bin/time -f '%M' "$PLINTH" build big/r.yaml -o bigout >/dev/null; } 2>&1 | tail -1)
if [ -n "${PLINTH_SANITIZED:-}" ]; then
	t_skip "memory is measured on the unsanitized build"
elif [ -x /usr/bin/time ]; then
	[ "$rss" -lt 131072 ]; t_is $? 0 "a 1 GiB file builds in bounded memory (peak RSS ${rss} KiB)"
else
	t_skip "/usr/bin/time is not installed"
fi
t_is "$(zstd -dc "$(layer_of bigout 1.0.0)" | tar -tvf - zeros | awk '{print $3}')" 1073741824 "the large file is whole in the layer"

t_done
