#!/usr/bin/env bash
# Real tools read what plinth writes: skopeo inspects it, umoci unpacks it,
# runc runs the entrypoint, as uid 65532.
. "$(dirname "$0")/lib.sh"
need cc jq skopeo umoci

make_hello src
run_plinth build src/hello.yaml -o img --compression gzip --tag gz
t_is "$rc" 0 "a gzip build succeeds"
digest=$(echo "$out" | tail -1)
run_plinth build src/hello.yaml -o img
t_is "$rc" 0 "a zstd build into the same layout succeeds"
zdigest=$(echo "$out" | tail -1)

inspect=$(skopeo inspect oci:img:1.0.0)
t_is "$(echo "$inspect" | jq -r .Digest)" "$zdigest" "skopeo inspect sees the zstd image's digest"
t_is "$(echo "$inspect" | jq -r '.Os + "/" + .Architecture')" "linux/$(dpkg --print-architecture 2>/dev/null || echo amd64)" "skopeo sees os and architecture"
config=$(skopeo inspect --config oci:img:gz)
t_is "$(echo "$config" | jq -r .config.User)" "65532:65532" "the image runs as nonroot by default"
t_is "$(echo "$config" | jq -c .config.Entrypoint)" '["/usr/local/bin/hello"]' "the entrypoint is the recipe's"
t_is "$(echo "$config" | jq -r .config.WorkingDir)" "/home/nonroot" "the working directory is the recipe's"
t_is "$(skopeo inspect oci:img:gz | jq -r .Digest)" "$digest" "skopeo inspect sees the gzip image's digest"

# umoci 0.4 reads gzip layers only; skopeo converts the zstd one for it.
umoci unpack --image img:gz bundle >/dev/null 2>umoci.err
t_is $? 0 "umoci unpacks the gzip image"
t_is "$(stat -c '%a %u:%g' bundle/rootfs/tmp bundle/rootfs/home/nonroot bundle/rootfs/root)" \
	"$(printf '1777 0:0\n700 65532:65532\n700 0:0')" "/tmp, /home/nonroot and /root have hardened modes"
t_is "$(cat bundle/rootfs/etc/passwd)" "$(printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin')" "/etc/passwd has root, nobody and nonroot"
t_is "$(cmp bundle/rootfs/usr/local/bin/hello src/bin/hello && echo same)" same "the binary is the recipe's"
t_is "$(readlink bundle/rootfs/usr/bin/hello)" "../local/bin/hello" "the symlink is the recipe's"

skopeo copy -q oci:img:1.0.0 oci:converted:1.0.0 --dest-compress-format gzip 2>skopeo.err
t_is $? 0 "skopeo copies (decompresses) the zstd image"
umoci unpack --image converted:1.0.0 zbundle >/dev/null 2>&1
t_is "$(cd zbundle/rootfs && find . | LC_ALL=C sort)" "$(cd bundle/rootfs && find . | LC_ALL=C sort)" "the zstd image holds the same tree"

if [ "$(id -u)" -ne 0 ] || ! command -v runc >/dev/null; then
	t_skip "runc needs root"
	t_skip "runc needs root"
	t_skip "runc needs root"
	t_done; exit
fi
for b in bundle zbundle; do
	jq '.process.terminal = false' $b/config.json >$b/c.json && mv $b/c.json $b/config.json
done
id=plinth-test-$$
runc_out=$(cd bundle && timeout 60 runc run "$id" </dev/null 2>&1)
t_is $? 0 "runc runs the gzip image"
t_is "$runc_out" "$(printf 'hello from plinth\nuid=65532 gid=65532')" "the entrypoint runs as uid 65532"
runc_out=$(cd zbundle && timeout 60 runc run "$id-z" </dev/null 2>&1)
t_is "$runc_out" "$(printf 'hello from plinth\nuid=65532 gid=65532')" "the zstd image runs the same"
runc delete -f "$id" >/dev/null 2>&1
runc delete -f "$id-z" >/dev/null 2>&1

t_done
