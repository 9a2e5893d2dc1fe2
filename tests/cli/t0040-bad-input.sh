#!/usr/bin/env bash
# Bad input: one clear message, exit 1, and the output layout unchanged.
. "$(dirname "$0")/lib.sh"
need cc jq

make_hello src
"$PLINTH" build src/hello.yaml -o out >/dev/null || t_fail "the reference build failed"
before=$(state out)

# expect_fail DESC MESSAGE RECIPE [ARGS...]: build RECIPE into out; it must
# fail with exactly MESSAGE on stderr and leave out as it was.
expect_fail() {
	local desc=$1 msg=$2 recipe=$3; shift 3
	run_plinth build "$recipe" -o out "$@"
	t_is "$rc" 1 "$desc: exit 1"
	t_is "$err" "$msg" "$desc: the message"
	t_is "$(state out)" "$before" "$desc: the layout is unchanged"
}

# recipe NAME BODY: src/NAME.yaml = the hello header + BODY
recipe() {
	printf 'name: hello\nversion: 1.0.0\n%s\n' "$2" >"src/$1.yaml"
}

recipe malformed 'files: [{path: /x, source: bin/hello}'
expect_fail "malformed YAML" \
	"plinth: src/malformed.yaml:4:1: did not find expected ',' or ']' while parsing a flow sequence" src/malformed.yaml

recipe unknown 'fils: []'
expect_fail "an unknown key" \
	"plinth: src/unknown.yaml:3:1: unknown key 'fils' (did you mean 'files'?)" src/unknown.yaml

recipe type 'files: {path: /x}'
expect_fail "a wrong type" "plinth: src/type.yaml:3:8: 'files' must be a list, not a mapping" src/type.yaml

recipe mode 'files: [{path: /x, source: bin/hello, mode: "0999"}]'
expect_fail "a bad octal mode" \
	"plinth: src/mode.yaml:3:45: 'mode' must be an octal mode such as \"0755\", not '0999'" src/mode.yaml

recipe relative 'symlinks: [{path: usr/bin/x, target: y}]'
expect_fail "a relative in-image path" \
	"plinth: src/relative.yaml:3:19: 'path' must be an absolute path, not 'usr/bin/x'" src/relative.yaml

recipe dup $'files: [{path: /x, source: bin/hello}]\ndirectories: [{path: /x}]'
expect_fail "a duplicate path" \
	"plinth: src/dup.yaml:4:15: duplicate path '/x' (already declared at line 3, column 9)" src/dup.yaml

recipe missing 'files: [{path: /x, source: bin/nope}]'
expect_fail "a missing source" \
	"plinth: src/missing.yaml:3:28: source 'bin/nope' does not exist" src/missing.yaml

ln -s /etc/hostname src/escape
recipe escape 'files: [{path: /x, source: escape}]'
expect_fail "a source symlink pointing outside the recipe's tree" \
	"plinth: src/escape.yaml:3:28: source 'escape' resolves to '/etc/hostname', outside the recipe's directory '$TMP/src'" src/escape.yaml

recipe dotdot 'files: [{path: /x, source: ../../../../../../../../../../etc/hostname}]'
expect_fail "a source path leaving the recipe's tree" \
	"plinth: src/dotdot.yaml:3:28: source '../../../../../../../../../../etc/hostname' resolves to '/etc/hostname', outside the recipe's directory '$TMP/src'" src/dotdot.yaml

recipe pin 'files: [{path: /x, source: bin/hello, sha256: 0000000000000000000000000000000000000000000000000000000000000000}]'
expect_fail "a sha256 mismatch" \
	"plinth: src/pin.yaml:3:9: sha256 mismatch for '$TMP/src/bin/hello': the recipe pins 0000000000000000000000000000000000000000000000000000000000000000, the file has $(sha256sum src/bin/hello | cut -d' ' -f1)" src/pin.yaml

mkdir -p src/withfifo && mkfifo src/withfifo/pipe
recipe fifo 'files: [{path: /x, source: withfifo}]'
expect_fail "a fifo inside a directory source" \
	"plinth: src/fifo.yaml:3:28: '$TMP/src/withfifo/pipe' is a fifo; only files, directories and symlinks can be copied" src/fifo.yaml

mkdir -p src/latin1 && echo x >"src/latin1/caf$(printf '\351')"
recipe latin1 'files: [{path: /x, source: latin1}]'
expect_fail "a file name that is not UTF-8" \
	"plinth: src/latin1.yaml:3:28: a name in '$TMP/src/latin1' is not valid UTF-8" src/latin1.yaml

recipe clash $'files: [{path: /usr/local/bin/hello/x, source: bin/hello}]\nsymlinks: [{path: /usr/local/bin/hello, target: y}]'
expect_fail "a file below a symlink" \
	"plinth: src/clash.yaml:3:9: path '/usr/local/bin/hello/x' needs '/usr/local/bin/hello' to be a directory, but it is a symlink declared at src/clash.yaml:4:12" src/clash.yaml

# An unreadable source (root reads everything, so run as nobody).
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	mkdir -p priv/out && cp -a src priv/ && chmod 000 priv/src/bin/hello
	chmod -R a+rwX priv && chmod 000 priv/src/bin/hello && chmod a+x "$TMP"
	prev=$(state priv/out)
	rc=0
	msg=$(cd priv && setpriv --reuid=65534 --regid=65534 --clear-groups "$PLINTH" build src/hello.yaml -o out 2>&1 >/dev/null) || rc=$?
	t_is "$rc" 1 "an unreadable source: exit 1"
	t_is "$msg" "plinth: src/hello.yaml:11:13: cannot read source 'bin/hello': Permission denied" "an unreadable source: the message"
	t_is "$(state priv/out)" "$prev" "an unreadable source: the layout is unchanged"
else
	t_skip "needs root and setpriv"; t_skip "needs root and setpriv"; t_skip "needs root and setpriv"
fi

# Output directories that are not layouts.
mkdir -p notlayout/.plinth-backup && echo precious >notlayout/file && echo keep >notlayout/.plinth-backup/keep
prev=$(state notlayout)
run_plinth build src/hello.yaml -o notlayout
t_is "$rc" 1 "a non-empty directory that is not a layout: exit 1"
t_is "$err" "plinth: 'notlayout' is not an OCI image layout (no oci-layout file) and not empty" "a non-empty directory that is not a layout: the message"
t_is "$(state notlayout)" "$prev" "a non-empty directory that is not a layout is unchanged (even names like plinth's staging)"

echo file >afile
run_plinth build src/hello.yaml -o afile
t_is "$err" "plinth: cannot open layout 'afile': Not a directory" "a file as the output: the message"
t_is "$(cat afile)" "file" "a file as the output is unchanged"

cp -a out broken && echo '{"manifests": [' >broken/index.json
prev=$(state broken)
run_plinth build src/hello.yaml -o broken
t_is "$err" "plinth: 'broken/index.json': line 2, column 0: ']' expected near end of file" "a layout with a broken index.json: the message"
t_is "$(state broken)" "$prev" "a layout with a broken index.json is unchanged"

cp -a out dupkeys && echo '{"schemaVersion":2,"schemaVersion":2,"manifests":[]}' >dupkeys/index.json
run_plinth build src/hello.yaml -o dupkeys
t_is "$err" "plinth: 'dupkeys/index.json': line 1, column 34: duplicate object key near '\"schemaVersion\"'" "a layout whose index.json repeats a key is refused"

cp -a out fifo && rm fifo/index.json && mkfifo fifo/index.json
rc=0; err=$(timeout 10 "$PLINTH" build src/hello.yaml -o fifo 2>&1 >/dev/null) || rc=$?
t_is "$rc" 1 "a layout whose index.json is a fifo is refused, without hanging"
t_is "$err" "plinth: layout 'fifo': 'index.json' is not a regular file" "a fifo index.json: the message"

run_plinth build src/hello.yaml -o no/such/parent
t_is "$err" "plinth: cannot create layout 'no/such/parent': parent 'no/such': No such file or directory" "a missing parent directory: the message"
t_is "$(state no)" "absent" "a missing parent directory is not created"

t_done
