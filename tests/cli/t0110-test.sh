#!/usr/bin/env bash
# plinth test: a recipe's black-box tests run in its image with runc.  The
# shipped hello passes; failures, timeouts and wrong output are reported as
# TAP with what differed; the sandbox (user, read-only root, writable /tmp,
# loopback only, no capabilities) holds; the tests stored beside an image
# run; hand-made images with whiteouts unpack right and hostile ones
# (symlink escapes, device nodes) are refused; nothing is left behind.
. "$(dirname "$0")/lib.sh"
need cc jq python3 sha256sum

# usage errors need neither root nor runc
run_plinth test --help
t_is "$rc" 0 "plinth test --help exits 0"
t_like "$out" "^usage: plinth test RECIPE" "plinth test --help prints usage"
run_plinth test
t_is "$rc:$(echo "$err" | head -1)" "2:plinth: a RECIPE or an image (oci:DIR:TAG) is required" \
	"test without a recipe is a usage error"
run_plinth test x.yaml --timeout 0
t_is "$rc:$(echo "$err" | head -1)" \
	"2:plinth: --timeout must be a whole number of seconds from 1 to 3600, not '0'" \
	"--timeout 0 is a usage error"
run_plinth test x.yaml --recipe y.yaml
t_is "$rc" 2 "--recipe with a RECIPE is a usage error"
run_plinth test oci:img --recipe y.yaml
t_is "$rc" 2 "an image without a tag is a usage error"

printf 'name: x\nversion: 1.0.0\ntests: [{run: [/x]}]\n' >x.yaml
if [ "$(id -u)" -ne 0 ]; then
	run_plinth test x.yaml
	t_is "$rc:$err" "1:plinth: plinth test needs root to run runc" "without root it says it needs root"
	t_skip "the rest runs runc, which needs root"
	t_done; exit
fi
if ! command -v runc >/dev/null; then
	run_plinth test x.yaml
	t_is "$rc:$err" "1:plinth: runc is not installed: no 'runc' in PATH (install runc, or give its path with --runc)" \
		"without runc it says so"
	t_skip "the rest needs runc (run ci/setup)"
	t_done; exit
fi

# t_has GOT TEXT DESC: passes when GOT contains TEXT (lines and all).
t_has() {
	if [[ $1 == *"$2"* ]]; then t_pass "$3"
	else t_fail "$3" "got:  $(printf '%s' "$1" | head -c 3000)" "want to contain: $2"; fi
}

# Every run makes its directory here: it must be empty after each.
mkdir tmpdir
export TMPDIR=$TMP/tmpdir
left() { find "$TMP/tmpdir" -mindepth 1 | head -3; }
# runc's containers outlive nothing: none named plinth-test-* anywhere.
leftover_containers() {
	{ runc list -q 2>/dev/null; find /sys/fs/cgroup -maxdepth 5 -name 'plinth-test-*' 2>/dev/null; } |
		grep plinth-test- | head -3
}

# ---- the shipped hello ------------------------------------------------------
make_hello src
run_plinth test src/hello.yaml
t_is "$rc" 0 "the shipped hello recipe passes its tests"
t_is "$out" "$(printf '1..1\nok 1 - run: /usr/local/bin/hello')" "...and says so in TAP"
t_is "$(left)" "" "...leaving nothing in TMPDIR"

# ---- a probe in an image ----------------------------------------------------
cc -static -O2 -o src/bin/probe "$TOP/tests/cli/probe.c" 2>cc.err || t_skip_all "cannot link a static probe: $(head -1 cc.err)"
probe_recipe() { # NAME EXTRA-YAML TESTS-YAML
	cat >"src/$1.yaml" <<EOF
name: $1
version: 1.0.0
epoch: 1700000000
files:
  - {path: /usr/local/bin/probe, source: bin/probe, mode: "0755"}
  - {path: /usr/local/bin/hello, source: bin/hello, mode: "0755"}
config:
  workdir: /home/nonroot
  env: {GREETING: hi}
$2
tests:
$3
EOF
}

probe_recipe sandbox "" '
  - run: [/usr/local/bin/probe, id]
    expect-stdout: "^uid=65532 gid=65532\n$"
  - run: [/usr/local/bin/probe, caps]
    expect-stdout: "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\nNoNewPrivs:\t1"
  - run: [/usr/local/bin/probe, write, /x]
    expect-exit: 1
    expect-stdout: "^cannot write /x: Read-only file system"
  - run: [/usr/local/bin/probe, write, /home/nonroot/x]
    expect-exit: 1
    expect-stdout: "Read-only file system"
  - run: [/usr/local/bin/probe, write, /tmp/x]
    expect-stdout: "^wrote /tmp/x"
  - run: [/usr/local/bin/probe, exists, /tmp/x]
    expect-stdout: "absent"
  - run: [/usr/local/bin/probe, ifaces]
    expect-stdout: "^lo up\n$"
  - run: [/usr/local/bin/probe, connect, 192.0.2.1]
    expect-exit: 1
    expect-stdout: "Network is unreachable"
  - run: [/usr/local/bin/probe, cwd]
    expect-stdout: "^/home/nonroot\n$"
  - run: [/usr/local/bin/probe, hostname]
    expect-stdout: "^plinth-test\n$"
  - run: [/usr/local/bin/probe, env, GREETING]
    expect-stdout: "^hi\n$"
  - run: [probe, env, PATH]
    expect-stdout: "^/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n$"
  - run: [/usr/local/bin/probe, say, "to stderr", "7"]
    expect-exit: 7
    expect-stdout: "^$"
    expect-stderr: "^to stderr\n$"'
run_plinth test src/sandbox.yaml
t_is "$rc" 0 "the sandbox holds: every probe passes"
[ "$rc" -eq 0 ] || echo "$out" | sed 's/^/# /'
t_is "$(echo "$out" | grep -c '^ok ')" 13 "...all 13 of them"
t_has "$out" "1..13
ok 1 - run: /usr/local/bin/probe id
ok 2 - run: /usr/local/bin/probe caps" "...in order, named by their command line"
# (1) runs as the image's user 65532; (2) without capabilities; (3, 4) the
# root is read-only; (5, 6) /tmp is writable and fresh for each test; (7, 8)
# loopback only; (9-12) the image's WorkingDir, hostname, Env and PATH.

# a test cannot take the host down: its processes are limited, and the
# kernel's riskiest calls (a user namespace, keyrings, BPF...) refused
probe_recipe forky "" '
  - run: [/usr/local/bin/probe, forks, "5000"]
    expect-stdout: "^forks: [0-9]+ limited"
  - run: [/usr/local/bin/probe, unshare]
    expect-exit: 1
    expect-stdout: "^unshare: Operation not permitted"'
run_plinth test src/forky.yaml
t_is "$rc" 0 "a test forking 5000 processes is stopped by the sandbox's limit; seccomp refuses a user namespace"
[ "$rc" -eq 0 ] || echo "$out" | sed 's/^/# /'

probe_recipe rooted "accounts: {run-as: root}" '
  - run: [/usr/local/bin/probe, id]
    expect-stdout: "^uid=0 gid=0\n$"
  - run: [/usr/local/bin/probe, caps]
    expect-stdout: "CapEff:\t0000000020000420\nCapBnd:\t0000000020000420"
  - run: [/usr/local/bin/probe, write, /x]
    expect-exit: 1
    expect-stdout: "Read-only file system"'
printf 'ignore:\n  - {rule: L003, reason: the test runs as root on purpose}\n' >root-ok.yaml
run_plinth test --policy root-ok.yaml src/rooted.yaml
t_is "$rc" 0 "an image that runs as root gets uid 0 with runc's small set of capabilities, root still read-only"
[ "$rc" -eq 0 ] || echo "$out" | sed 's/^/# /'

# ---- failures -----------------------------------------------------------------
probe_recipe failing "" '
  - run: [/usr/local/bin/hello]
    expect-stdout: "^bye"
  - run: [/usr/local/bin/probe, say, "oops # not a directive", "3"]
  - run: [/usr/local/bin/hello, a]
    expect-exit: 0
  - run: [/usr/local/bin/probe, say, "", "0"]
    expect-stderr: "^something$"
  - run: [/no/such/program]'
run_plinth test src/failing.yaml
t_is "$rc" 1 "failing tests exit 1"
t_is "$(echo "$out" | grep -E '^(not )?ok')" "$(printf '%s\n' \
	'not ok 1 - run: /usr/local/bin/hello' \
	'not ok 2 - run: /usr/local/bin/probe say oops \# not a directive 3' \
	'ok 3 - run: /usr/local/bin/hello a' \
	'not ok 4 - run: /usr/local/bin/probe say  0' \
	'not ok 5 - run: /no/such/program')" "each failure is 'not ok', a '#' in a name is escaped"
t_is "$(echo "$out" | sed -n '/^not ok 1 /,/^not ok 2 /p' | sed '$d')" "$(printf '%s\n' \
	'not ok 1 - run: /usr/local/bin/hello' \
	"# stdout does not match '^bye'" \
	'# stdout (2 lines):' \
	'#   hello from plinth' \
	'#   uid=65532 gid=65532' \
	'# stderr: (empty)')" "a wrong stdout shows the regex and the output"
t_has "$out" "
# exit status: expected 0, got 3
# stdout: (empty)
# stderr (1 line):
#   oops # not a directive
" "a wrong exit status shows expected and got, and stderr"
t_like "$out" "# stderr does not match '\^something\\$'" "a wrong stderr shows the regex"
t_like "$(echo "$out" | sed -n '/^not ok 5 /,$p' | tr '\n' ' ')" \
	"# exit status: expected 0, got 1 .*/no/such/program.*no such file or directory" \
	"a program the image lacks fails, runc's reason shown"
t_is "$(left)" "" "...leaving nothing in TMPDIR"

# ---- timeouts -----------------------------------------------------------------
probe_recipe slow "" '
  - run: [/usr/local/bin/probe, sleep, "60"]
    timeout: 1
  - run: [/usr/local/bin/probe, spam]
    timeout: 1
  - run: [/usr/local/bin/probe, sleep, "2"]
    timeout: 5'
start=$(date +%s)
run_plinth test src/slow.yaml
took=$(($(date +%s) - start))
t_is "$rc" 1 "a test past its timeout fails the run"
t_has "$out" "not ok 1 - run: /usr/local/bin/probe sleep 60
# timed out after 1 s: killed
" "it is killed and reported as timed out"
t_has "$out" "not ok 2 - run: /usr/local/bin/probe spam
# timed out after 1 s: killed
# stdout (1 line, cut at 1 MiB):
#   xxxxxxxx" "output without end is cut at 1 MiB, and killed in time"
t_has "$out" "
ok 3 - run: /usr/local/bin/probe sleep 2" "a test within its timeout passes"
t_is "$([ "$took" -lt 20 ] && echo fast)" fast "the killed tests did not run on ($took s)"
run_plinth test src/slow.yaml --timeout 1
t_has "$out" "not ok 3 - run: /usr/local/bin/probe sleep 2
# timed out after 1 s" "--timeout replaces each test's own"
t_is "$(left)$(leftover_containers)" "" "no container or directory is left behind"

# a signal stops the run, kills the container and cleans up
probe_recipe long "" '
  - run: [/usr/local/bin/probe, sleep, "120"]
    timeout: 300'
for sig in TERM INT; do
	"$PLINTH" test src/long.yaml >long.out 2>long.err &
	pid=$!
	for _ in $(seq 50); do [ -n "$(find tmpdir -mindepth 3 -name config.json)" ] && break; sleep 0.1; done
	sleep 0.5
	kill -s "$sig" "$pid"
	rc=0; wait "$pid" || rc=$?
	t_is "$rc:$(cat long.err)" "1:plinth: cancelled by a signal" "SIG$sig stops the run and says so"
	t_is "$(left)$(leftover_containers)" "" "...leaving no container or directory behind"
done

# a reader that goes away does not kill the run before it cleans up
"$PLINTH" test src/failing.yaml 2>pipe.err | head -n 1 >/dev/null
t_is "$(cat pipe.err)" "plinth: cannot write to standard output: Broken pipe" "a closed stdout is reported"
t_is "$(left)$(leftover_containers)" "" "...and leaves no container or directory behind"

# ---- tests stored beside an image -------------------------------------------
# put_blob LAYOUT FILE: store FILE as a blob; prints its digest.
put_blob() {
	local d; d=sha256:$(sha256sum <"$2" | cut -d' ' -f1)
	mkdir -p "$1/blobs/sha256" && cp "$2" "$(blob "$1" "$d")" && echo "$d"
}
# add_tests LAYOUT TAG JSON: store JSON as the tests artifact of the image.
add_tests() {
	local subject size tests empty manifest
	subject=$(manifest_of "$1" "$2")
	size=$(stat -c %s "$(blob "$1" "$subject")")
	printf '%s' "$3" >tests.json
	printf '{}' >empty.json
	tests=$(put_blob "$1" tests.json)
	empty=$(put_blob "$1" empty.json)
	jq -cn --arg s "$subject" --argjson ss "$size" --arg t "$tests" --argjson ts "$(stat -c %s tests.json)" \
		--arg e "$empty" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		artifactType: "application/vnd.dev.plinth.tests.v1+json",
		config: {mediaType: "application/vnd.oci.empty.v1+json", digest: $e, size: 2},
		layers: [{mediaType: "application/vnd.dev.plinth.tests.v1+json", digest: $t, size: $ts}],
		subject: {mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $s, size: $ss}}' >art.json
	manifest=$(put_blob "$1" art.json)
	jq --arg m "$manifest" --argjson ms "$(stat -c %s art.json)" '.manifests += [{mediaType:
		"application/vnd.oci.image.manifest.v1+json", artifactType:
		"application/vnd.dev.plinth.tests.v1+json", digest: $m, size: $ms}]' \
		"$1/index.json" >index.tmp && mv index.tmp "$1/index.json"
}

run_plinth build src/hello.yaml -o img
t_is "$rc" 0 "hello builds into a layout (its test passing in the build's gate)"
t_is "$(jq '[.manifests[] | select(.artifactType == "application/vnd.dev.plinth.tests.v1+json")] | length' img/index.json)" 1 \
	"plinth build stores the recipe's tests beside the image"
run_plinth test oci:img:1.0.0
t_is "$rc:$out" "$(printf '0:1..1\nok 1 - run: /usr/local/bin/hello')" "plinth test oci:DIR:TAG runs them"
sed '/^tests:/,$d' src/hello.yaml >src/untested.yaml
"$PLINTH" build src/untested.yaml -o untested >/dev/null 2>&1
run_plinth test oci:untested:1.0.0
t_is "$rc:$err" "1:plinth: image 'oci:untested:1.0.0' carries no tests (plinth build stores a recipe's tests beside its image; or take them from the recipe with --recipe FILE)" \
	"an image without stored tests fails, saying so and what to do"

# ---- the build's test gate ----------------------------------------------------
before=$(state img)
run_plinth build src/failing.yaml -o img
t_is "$rc" 1 "a recipe whose tests fail does not build"
t_like "$err" "^plinth: tests: 4 of 5 failed, so the build stops:" "the error says how many failed"
t_like "$err" "^# stdout does not match '\^bye'" "...with the TAP report's diagnostics"
t_is "$(state img)" "$before" "and the layout is as it was"
TMPDIR=$TMP/nonexistent run_plinth build src/hello.yaml -o tmpdir-img
t_like "$rc $err" "^1 plinth: tests \(--skip-tests builds without them\): cannot make a directory in '$TMP/nonexistent'" \
	"the build's tests work in \$TMPDIR, as plinth test does"
run_plinth build --skip-tests src/failing.yaml -o img
t_is "$rc" 0 "--skip-tests builds it"
t_is "$(jq -r '.annotations["dev.plinth.tests"]' "$(blob img "$(manifest_of img 1.0.0)")")" "skipped" \
	"...and the image's annotations say its tests were skipped"
t_is "$(jq -r '.annotations["dev.plinth.tests"]' "$(blob untested "$(manifest_of untested 1.0.0)")")" "null" \
	"an image without tests says nothing about them"
"$PLINTH" build src/hello.yaml -o img >/dev/null 2>&1

# the last artifact stored for an image counts
add_tests img 1.0.0 '{"tests":[{"run":["/usr/local/bin/hello","x"],"expect-exit":0,"expect-stdout":"arg: x"},{"run":["/usr/local/bin/hello"],"expect-stdout":"^bye","timeout":5}]}'
run_plinth test oci:img:1.0.0
t_is "$rc" 1 "the stored tests run (one of them fails)"
t_is "$(echo "$out" | grep -E '^(not )?ok|^1\.\.')" "$(printf '%s\n' '1..2' \
	'ok 1 - run: /usr/local/bin/hello x' 'not ok 2 - run: /usr/local/bin/hello')" "...and are reported"
run_plinth test oci:img:1.0.0 --recipe src/hello.yaml
t_is "$rc:$out" "$(printf '0:1..1\nok 1 - run: /usr/local/bin/hello')" "--recipe runs that recipe's tests instead"
run_plinth test src/failing.yaml --json
t_is "$rc" 1 "--json exits 1 when a test fails"
t_is "$(echo "$out" | jq -c '[.[] | [.number, .ok, .exit, .timed_out]]')" \
	'[[1,false,0,false],[2,false,3,false],[3,true,0,false],[4,false,0,false],[5,false,1,false]]' \
	"--json lists each test's number, outcome and exit status"
t_is "$(echo "$out" | jq -r '.[0].stdout')" "$(printf 'hello from plinth\nuid=65532 gid=65532')" \
	"...and what it wrote"

add_tests img 1.0.0 '{"tests":[{"run":["/usr/local/bin/hello"],"timeout":0}]}'
run_plinth test oci:img:1.0.0
t_is "$rc:$err" "1:plinth: image 'oci:img:1.0.0': the tests: tests[0]: 'timeout' must be a whole number from 1 to 3600" \
	"malformed stored tests are refused, naming what is wrong"

# ---- clear errors -------------------------------------------------------------
run_plinth test oci:nowhere:1.0.0
t_is "$rc:$err" "1:plinth: image 'oci:nowhere:1.0.0': cannot open 'nowhere/index.json': No such file or directory" \
	"a missing image is named"
run_plinth test oci:img:2.0.0 --recipe src/hello.yaml
t_like "$rc:$err" "^1:plinth: image 'oci:img:2.0.0': no tag '2.0.0'" "a missing tag is named"
run_plinth test --runc "$TMP/no/runc" src/hello.yaml
t_is "$rc:$err" "1:plinth: cannot run runc '$TMP/no/runc': it is not an executable file" "--runc naming nothing is a clear error"
rc=0; env PATH=/nonexistent "$PLINTH" test src/hello.yaml >/dev/null 2>runc.err || rc=$?
t_is "$rc:$(cat runc.err)" "1:plinth: runc is not installed: no 'runc' in PATH (install runc, or give its path with --runc)" \
	"no runc on PATH is a clear error"

# ---- hand-made images: whiteouts, hostile layers ---------------------------
# mklayer OUT ENTRY...: an uncompressed tar; ENTRY is f:PATH:TEXT, x:PATH:HOSTFILE
# (mode 0755), d:PATH, l:PATH:TARGET, c:PATH (a character device).
mklayer() {
	python3 - "$@" <<'EOF'
import io, sys, tarfile
with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
    for spec in sys.argv[2:]:
        kind, path, *rest = spec.split(":", 2)
        i = tarfile.TarInfo(path)
        data = b""
        if kind == "f":
            data = rest[0].encode()
        elif kind == "x":
            data = open(rest[0], "rb").read()
            i.mode = 0o755
        elif kind == "d":
            i.type, i.mode = tarfile.DIRTYPE, 0o755
        elif kind == "l":
            i.type, i.linkname = tarfile.SYMTYPE, rest[0]
        elif kind == "c":
            i.type, i.devmajor, i.devminor = tarfile.CHRTYPE, 1, 3
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
EOF
}
# mkimage LAYOUT TAG LAYER...: an image of those layers (bottom first), its
# config's "config" $IMAGE_CONFIG (default {}: run as root).
mkimage() {
	local dir=$1 tag=$2 layers="[]" diffs="[]" l d config manifest
	shift 2
	for l in "$@"; do
		d=$(put_blob "$dir" "$l")
		layers=$(echo "$layers" | jq -c --arg d "$d" --argjson s "$(stat -c %s "$l")" \
			'. + [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $d, size: $s}]')
		diffs=$(echo "$diffs" | jq -c --arg d "$d" '. + [$d]')
	done
	jq -cn --arg a "$(dpkg --print-architecture 2>/dev/null || echo amd64)" --argjson d "$diffs" \
		--argjson c "${IMAGE_CONFIG:-{\}}" \
		'{architecture: $a, os: "linux", config: $c, rootfs: {type: "layers", diff_ids: $d}}' >config.json
	config=$(put_blob "$dir" config.json)
	jq -cn --arg c "$config" --argjson cs "$(stat -c %s config.json)" --argjson l "$layers" \
		'{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
		config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs}, layers: $l}' >manifest.json
	manifest=$(put_blob "$dir" manifest.json)
	printf '{"imageLayoutVersion":"1.0.0"}' >"$dir/oci-layout"
	jq -cn --arg m "$manifest" --argjson ms "$(stat -c %s manifest.json)" --arg t "$tag" \
		'{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
		digest: $m, size: $ms, annotations: {"org.opencontainers.image.ref.name": $t}}]}' >"$dir/index.json"
}

mklayer lower.tar d:bin x:bin/probe:src/bin/probe f:gone:x d:dir f:dir/old:old f:keep:kept d:etc
mklayer upper.tar f:.wh.gone: f:dir/.wh..wh..opq: f:dir/new:new f:keep:replaced
mkimage layered 1 lower.tar upper.tar
cat >layered.yaml <<'EOF'
name: layered
version: 1.0.0
tests:
  - run: [/bin/probe, exists, /gone]
    expect-stdout: "absent"
  - run: [/bin/probe, exists, /dir/old]
    expect-stdout: "absent"
  - run: [/bin/probe, exists, /dir/new]
    expect-stdout: "present"
  - run: [/bin/probe, id]
    expect-stdout: "^uid=0 gid=0"
EOF
run_plinth test oci:layered:1 --recipe layered.yaml
t_is "$rc" 0 "a two-layer image made by hand unpacks with its whiteouts honoured"
[ "$rc" -eq 0 ] || echo "$out$err" | sed 's/^/# /'

# the image's User, resolved in its own /etc/passwd and /etc/group
mklayer accounts.tar d:etc "f:etc/passwd:root:x:0:0::/:/x
app:x:1000:1001::/:/x
" "f:etc/group:root:x:0:
grp:x:2000:
"
# (the test fails on purpose, so that the report shows what probe id printed)
printf 'name: id\nversion: 1.0.0\ntests: [{run: [/bin/probe, id], expect-stdout: "^$"}]\n' >id.yaml
for case in 'app=uid=1000 gid=1001' 'app:grp=uid=1000 gid=2000' '1000=uid=1000 gid=1001' \
	'7:8=uid=7 gid=8' '42=uid=42 gid=0' '1000:grp=uid=1000 gid=2000' '=uid=0 gid=0'; do
	IMAGE_CONFIG=$(jq -cn --arg u "${case%%=*}" '{User: $u}') mkimage users 1 lower.tar accounts.tar
	run_plinth test oci:users:1 --recipe id.yaml
	t_like "$out" "^#   ${case#*=}$" "User '${case%%=*}' runs as ${case#*=}"
done
for case in "ghost=the image's user 'ghost' is not in its /etc/passwd" \
	"app:nogroup=the image's user 'app:nogroup': group 'nogroup' is not in its /etc/group"; do
	IMAGE_CONFIG=$(jq -cn --arg u "${case%%=*}" '{User: $u}') mkimage users 1 lower.tar accounts.tar
	run_plinth test oci:users:1 --recipe id.yaml
	t_is "$rc:$err" "1:plinth: ${case#*=}" "User '${case%%=*}' is an error that says why"
done
IMAGE_CONFIG='{"WorkingDir":"rel"}' mkimage users 1 lower.tar accounts.tar
run_plinth test oci:users:1 --recipe id.yaml
t_is "$rc:$err" "1:plinth: the image's WorkingDir 'rel' is not an absolute path" "a relative WorkingDir is an error"
IMAGE_CONFIG='{"User":"app\u001b[2J"}' mkimage users 1 lower.tar accounts.tar
run_plinth test oci:users:1 --recipe id.yaml
t_is "$rc:$err" "1:plinth: the image's User or WorkingDir holds a control character" \
	"a User with a control character is refused without echoing it"
t_is "$(left)" "" "...nothing left behind by the failed runs"

mkdir outside
mklayer escape.tar "l:etc:$TMP/outside" f:etc/pwned:x
mkimage escape 1 lower.tar escape.tar
run_plinth test oci:escape:1 --recipe layered.yaml
t_like "$rc:$err" "^1:plinth: cannot unpack the image into '.*': .*'/etc/pwned': '/etc' is a symlink that leads nowhere in the image" \
	"a layer whose symlink points out of the root cannot write through it"
t_is "$(ls outside)$(left)" "" "...nothing was written outside, nothing is left"

# deeper than a process may hold directories open: still removed
mklayer deep.tar "f:$(printf 'd/%.0s' $(seq 1500))f:x"
mkimage deep 1 lower.tar deep.tar
printf 'name: deep\nversion: 1.0.0\ntests: [{run: [/bin/probe, exists, /d/d/d/d], expect-stdout: present}]\n' >deep.yaml
rc=0; (ulimit -Sn 256 && exec "$PLINTH" test oci:deep:1 --recipe deep.yaml) >deep.out 2>&1 || rc=$?
t_is "$rc" 0 "an image that nests 1500 directories runs with 256 descriptors"
[ "$rc" -eq 0 ] || sed "s/^/# /" deep.out
t_is "$(left)" "" "...and its directory is removed all the same"

mklayer device.tar d:dev c:dev/null
mkimage device 1 lower.tar device.tar
run_plinth test oci:device:1 --recipe layered.yaml
t_like "$rc:$err" "^1:plinth: .*'/dev/null' is a device node, FIFO or socket, which plinth does not unpack$" \
	"a device node is refused, by name"
t_is "$(left)$(leftover_containers)" "" "...and nothing is left behind"

t_done
