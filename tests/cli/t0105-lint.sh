#!/usr/bin/env bash
# plinth lint: each rule fires on a recipe that breaks it, with its id,
# severity and file:line:column, and is silent on one that does not; a
# policy allows bases, changes severities and opts out with a reason; the
# build's lint gate stops on errors.
. "$(dirname "$0")/lib.sh"
need jq

printf 'data\n' >data.txt
sum=$(sha256sum data.txt | cut -d' ' -f1)

# A recipe that breaks no rule: pinned files, safe modes, nonroot.
cat >clean.yaml <<EOF
name: clean
version: 1.0.0
epoch: 1700000000
files:
  - {path: /etc/app/data.txt, source: data.txt, sha256: $sum, mode: "0644"}
directories:
  - {path: /data, mode: "0750"}
  - {path: /scratch, mode: "1777"}
config:
  env: {PASSWORD_FILE: /run/secrets/password, LANG: C.UTF-8}
  labels: {org.opencontainers.image.source: https://example.invalid/clean}
EOF
run_plinth lint clean.yaml
t_is "$rc" 0 "a clean recipe passes"
t_is "$out" "clean: 0 errors, 0 warnings, 0 info" "and has no findings"
run_plinth lint --json clean.yaml
t_is "$(jq -c '[.findings, .passed, .errors]' <<<"$out")" '[[],true,0]' "--json: no findings"

# lint_one NAME YAML-BODY: writes NAME.yaml (name/version prepended).
lint_one() {
	printf 'name: %s\nversion: 1.0.0\n%s\n' "$1" "$2" >"$1.yaml"
	run_plinth lint --json "$1.yaml"
}

# expect RULE LINE:COL SEVERITY EXIT DESC: the one finding of the last lint.
expect() {
	t_is "$(jq -r '[.findings[] | "\(.rule) \(.line):\(.column) \(.severity)"] | join(",")' <<<"$out")" \
		"$1 $2 $3" "$5: $1 at $2, $3"
	t_is "$rc" "$4" "$5: exit $4"
}

lint_one base 'base: static@1
catalog-free: no' >/dev/null 2>&1
# (unknown keys are the parser's business, not lint's)
t_like "$err" "base.yaml:4:1: unknown key 'catalog-free'" "an unknown key is a parse error"

lint_one root 'accounts:
  run-as: root'
expect L003 4:11 error 1 "runs as root"
lint_one nonroot 'accounts:
  users: [{name: app, uid: 1000, gid: 1000}]
  run-as: app'
t_is "$(jq -c .findings <<<"$out") $rc" "[] 0" "runs as another account: fine"

lint_one shellpkg "repositories: [host]
packages: [libc6, bash]"
expect L004 4:19 warning 0 "a shell package"
lint_one shellfile "files:
  - {path: /bin/sh, source: data.txt, sha256: $sum}"
expect L004 4:5 warning 0 "a file installed as /bin/sh"
lint_one shelllink "symlinks:
  - {path: /usr/bin/bash, target: /usr/local/bin/app}"
expect L004 4:5 warning 0 "a symlink installed as a shell"
lint_one pm "repositories: [host]
packages: [apt]"
expect L005 4:12 warning 0 "a package manager"
lint_one sshd "repositories: [host]
packages:
  - openssh-server"
expect L006 5:5 error 1 "an ssh server"

lint_one unpinned "files:
  - {path: /etc/app/data.txt, source: data.txt}"
expect L007 4:5 warning 0 "a file without a sha256 pin"
t_like "$(jq -r '.findings[0].message' <<<"$out")" "'/etc/app/data.txt' is copied from 'data.txt' without a sha256 pin" "the message names the file"

lint_one setuid "files:
  - {path: /usr/bin/tool, source: data.txt, sha256: $sum, mode: \"4755\"}"
expect L008 4:5 error 1 "a setuid file"
lint_one setgid "directories:
  - {path: /srv, mode: \"2755\"}"
expect L008 4:5 error 1 "a setgid directory"

lint_one repo "repositories:
  - uri: http://deb.example.invalid/debian
    suites: [bookworm]
    components: [main]
packages: [libc6]"
expect L009 4:5 error 1 "a repository without a keyring"
lint_one repokey "repositories:
  - uri: http://deb.example.invalid/debian
    suites: [bookworm]
    components: [main]
    keyring: /usr/share/keyrings/debian-archive-keyring.gpg
packages: [libc6]"
t_is "$(jq -c .findings <<<"$out")" "[]" "a repository with its keyring is fine"

lint_one envsecret 'config:
  env:
    LANG: C.UTF-8
    DB_PASSWORD: hunter2'
expect L010 6:5 error 1 "a password in env, by its name"
lint_one labeltoken 'config:
  labels:
    ci.token.note: "ghp_abcdefghijklmnopqrstuvwxyzABCDEF0123"'
expect L010 5:5 error 1 "a GitHub token in a label, by its value"
lint_one awsenv 'config:
  env: {KEY_ID: AKIAQWERTYUIOPASDFGH}'
expect L010 4:9 error 1 "an AWS key id in env"
lint_one awsexample 'config:
  env: {KEY_ID: AKIAIOSFODNN7EXAMPLE}'
t_is "$(jq -c .findings <<<"$out")" "[]" "AWS's documented example key is known test data"

lint_one wwdir 'directories:
  - {path: /drop, mode: "0777"}'
expect L011 4:5 error 1 "a world-writable directory without the sticky bit"
lint_one wwfile "files:
  - {path: /etc/app/data.txt, source: data.txt, sha256: $sum, mode: \"0666\"}"
expect L012 4:5 error 1 "a world-writable file"

# --- the text form -----------------------------------------------------------
run_plinth lint root.yaml
t_is "$out" "root.yaml:4:11: error: L003 runs-as-root: the image runs as root (run-as: root)
root: 1 error, 0 warnings, 0 info" "text: FILE:LINE:COLUMN: SEVERITY: RULE NAME: message"

# --- the catalog: L001 -------------------------------------------------------
"$PLINTH" keygen ops >/dev/null
export PLINTH_STATE=$TMP/state
"$PLINTH" catalog --catalog cat init --key ops.key >/dev/null
lint_one onbase 'base: static@1'
t_is "$(jq -c .findings <<<"$out")" "[]" "without a catalog, the base is not checked"
run_plinth lint --json --catalog cat onbase.yaml
expect L001 3:7 error 1 "a base the catalog does not have"
t_like "$(jq -r '.findings[0].message' <<<"$out")" "base 'static@1': " "the message says why"

# --- policies ------------------------------------------------------------------
cat >policy.yaml <<'EOF'
bases: [scratch, static@1]
severity:
  L007: error
  L005: info
ignore:
  - rule: L003
    reason: binds port 80 as root, reviewed in OPS-12
  - rule: L012
    path: /etc/app/**
    reason: the app rewrites its own config
EOF
run_plinth lint --json --policy policy.yaml root.yaml
t_is "$rc" 0 "an opted-out error does not fail"
t_is "$(jq -r '.findings[0].ignored' <<<"$out")" "binds port 80 as root, reviewed in OPS-12" "the opt-out's reason is reported"
run_plinth lint --policy policy.yaml root.yaml
t_like "$out" "\[opted out: binds port 80" "text shows the opt-out"
run_plinth lint --json --policy policy.yaml unpinned.yaml
expect L007 4:5 error 1 "the policy raises L007 to error"
run_plinth lint --json --policy policy.yaml pm.yaml
expect L005 4:12 info 0 "the policy lowers L005 to info"
run_plinth lint --json --policy policy.yaml wwfile.yaml
t_is "$(jq -r '.findings[0].ignored' <<<"$out") $rc" "the app rewrites its own config 0" "an opt-out by path covers the file"
lint_one wwother "files:
  - {path: /usr/share/data.txt, source: data.txt, sha256: $sum, mode: \"0666\"}"
run_plinth lint --json --policy policy.yaml wwother.yaml
t_is "$(jq -r '.findings[0].ignored' <<<"$out") $rc" "null 1" "...and not a path outside its glob"
run_plinth lint --json --policy policy.yaml onbase.yaml
t_is "$(jq -c .findings <<<"$out")" "[]" "static@1 is allowed"
lint_one onother 'base: other@2'
run_plinth lint --json --policy policy.yaml onother.yaml
expect L002 3:7 error 1 "a base the policy does not allow"
lint_one narrower 'base: static@1.4'
run_plinth lint --json --policy policy.yaml narrower.yaml
t_is "$(jq -c .findings <<<"$out")" "[]" "static@1.4 is within static@1"
lint_one wider 'base: static@2'
run_plinth lint --json --policy policy.yaml wider.yaml
expect L002 3:7 error 1 "static@2 is not"

# bad policies: file:line:column, nothing else happens
printf 'ignore:\n  - rule: L003\n' >p1.yaml
run_plinth lint --policy p1.yaml clean.yaml
t_like "$rc $err" "^1 plinth: p1.yaml:2:5: 'ignore\[\]' needs a 'reason'" "an opt-out without a reason is refused"
printf 'ignore:\n  - {rule: L999, reason: x}\n' >p2.yaml
run_plinth lint --policy p2.yaml clean.yaml
t_like "$err" "p2.yaml:2:12: unknown rule 'L999'" "an unknown rule is refused"
printf 'severity: {L003: critical}\n' >p3.yaml
run_plinth lint --policy p3.yaml clean.yaml
t_like "$err" "p3.yaml:1:18: 'critical' is not a severity of L003 \(error, warning or info\)" "a scan severity for a lint rule is refused"
printf 'bases: [static]\nallow: []\n' >p4.yaml
run_plinth lint --policy p4.yaml clean.yaml
t_like "$err" "p4.yaml:2:1: unknown key 'allow'" "an unknown key is refused"
printf 'bases: [static\n' >p5.yaml
run_plinth lint --policy p5.yaml clean.yaml
t_like "$rc $err" "^1 plinth: p5.yaml:[0-9]+:[0-9]+: " "malformed YAML is refused with its position"
run_plinth lint --policy missing.yaml clean.yaml
t_like "$rc $err" "^1 plinth: policy 'missing.yaml': " "a missing policy is an error"

# --- usage and listing ---------------------------------------------------------
run_plinth lint
t_is "$rc" 2 "no recipe: usage error"
run_plinth lint --rules --json
t_is "$(jq -r '[.[].id] | join(" ")' <<<"$out")" \
	"L001 L002 L003 L004 L005 L006 L007 L008 L009 L010 L011 L012 S001 S002 S003 S004 S005 S006 S007 S008 S009 S010 S011 S012 S013 S014 S100" \
	"--rules lists every rule"

# --- the build gate ------------------------------------------------------------
run_plinth build root.yaml -o out
t_like "$rc $err" "^1 plinth: lint: 1 finding stops the build: root.yaml:4:11: L003 runs-as-root" "build refuses a recipe with a lint error"
t_is "$(ls out 2>/dev/null)" "" "and writes nothing"
run_plinth build unpinned.yaml -o out
t_is "$rc $err" "0 " "a lint warning does not stop the build (plinth lint shows it)"
run_plinth build --policy policy.yaml root.yaml -o out
t_is "$rc" 0 "a policy's opt-out lets the build through"

# ...and of every build of a rebuild storm
mkdir storm && cp root.yaml storm/
run_plinth rebuild --catalog cat --key ops.key --out images storm
t_is "$rc" 1 "a storm's build of a recipe with a lint error fails"
t_like "$out$err" "lint: 1 finding stops the build" "with the lint gate's reason"
run_plinth rebuild --catalog cat --key ops.key --out images --policy policy.yaml storm
t_is "$rc" 0 "rebuild --policy passes the policy to every build"
run_plinth rebuild --catalog cat --key ops.key --out images2 --policy policy.yaml --plan --format make storm
t_like "$out" "^POLICY \?= .*/policy.yaml" "the storm's Makefile names the policy"
t_like "$out" '--policy \$\(POLICY\)$' "and passes it to its builds"

t_done
