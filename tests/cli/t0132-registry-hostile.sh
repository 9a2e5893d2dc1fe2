#!/usr/bin/env bash
# Registries that misbehave (fakereg.py), and a real one that fails half
# way: credentials never reach a storage host a registry redirects to, an
# upload whose registry stalls ends with an error instead of looping, a
# referrers API that fails fails the pull, a tag list that sends its next
# page elsewhere is refused, a broken signature manifest fails the pull
# and leaks nothing (under ASan), and a push whose signature cannot be
# stored leaves no tag on the image.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-registry.sh"
need_registry

export HOME=$TMP/home XDG_RUNTIME_DIR=$TMP/run
unset REGISTRY_AUTH_FILE DOCKER_CONFIG
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"

make_hello src
"$PLINTH" build src/hello.yaml -o lay --tag v1 --skip-tests >/dev/null || exit 1
"$PLINTH" keygen k >/dev/null && "$PLINTH" sign --key k.key oci:lay:v1 >/dev/null || exit 1

# fake_start NAME MODE [OTHER]: fakereg.py serving lay; sets FAKE_<NAME>.
fake_start() {
	local name=$1 pid port
	reg__trap
	python3 "$TOP/tests/cli/fakereg.py" "$2" "$TMP/lay" ${3:+"$3"} >"$TMP/$name.port" 2>"$TMP/$name.err" &
	pid=$!
	echo "$pid" >>"$REG_PIDS"
	for _ in $(seq 100); do
		[ -s "$TMP/$name.port" ] && break
		sleep 0.05
	done
	port=$(head -n 1 "$TMP/$name.port")
	[ -n "$port" ] || { echo "fakereg did not start: $(cat "$TMP/$name.err")" >&2; return 1; }
	printf -v "FAKE_$name" '%s' "127.0.0.1:$port"
}

# ---- a storage host gets no credentials --------------------------------------
fake_start storage storage || exit 1
fake_start redir redirect "http://$FAKE_storage" || exit 1
auth_file auth.json "$FAKE_redir" alice 's3cret-Pa55'
run_plinth pull --insecure "$FAKE_redir" --insecure "$FAKE_storage" --auth-file auth.json --retries 0 \
	"$FAKE_redir/x:v1" oci:out:v1
t_is "$rc" 1 "a pull whose blobs redirect to a storage host that wants credentials fails"
t_like "$err" "registry '$FAKE_redir': GET /v2/x/blobs/sha256:[0-9a-f]+: answered 401$" \
	"its 401 is an error, not a challenge to answer"
t_is "$(grep -c . fakereg-storage.log)" "$(grep -c '^GET /storage/v2/x/blobs/sha256:[0-9a-f]* -$' fakereg-storage.log)" \
	"the storage host got no Authorization header and no token request"
t_ok "nothing was written" test ! -e out

# ---- a stalling upload ends --------------------------------------------------
fake_start stall range-stall || exit 1
run_plinth push --insecure "$FAKE_stall" --chunk-size 65536 -j 1 oci:lay:v1 "$FAKE_stall/x:1"
t_is "$rc" 1 "a chunked push to a registry whose upload does not move fails"
t_like "$err" "after bytes 0-65535 of a blob, its upload does not hold them \(Range '0-0'\)" "and says why"
t_ok "after one PATCH" test "$(grep -c '^PATCH ' fakereg-range-stall.log)" -eq 1

# ---- a referrers API that fails -----------------------------------------------
fake_start refs referrers-503 || exit 1
run_plinth pull --insecure "$FAKE_refs" --retries 1 "$FAKE_refs/x:v1" oci:out:v1
t_is "$rc" 1 "a pull whose registry's referrers API fails fails"
t_like "$err" "referrers/sha256:[0-9a-f]+: answered 503" "and says why"
t_ok "nothing was written" test ! -e out

# ---- tags: the next page elsewhere --------------------------------------------
fake_start tags tags-elsewhere "http://127.0.0.2:9" || exit 1
run_plinth tags --insecure "$FAKE_tags" "$FAKE_tags/x"
t_is "$rc" 1 "a tag list whose next page is on another host is refused"
t_like "$err" "sends the next page of tags elsewhere" "and says why"

# ---- a broken signature manifest -----------------------------------------------
fake_start badsig badsig || exit 1
run_plinth pull --insecure "$FAKE_badsig" "$FAKE_badsig/x:v1" oci:out:v1
t_is "$rc" 1 "a pull whose signature manifest is not schemaVersion 2 fails"
t_like "$err" "sha256-[0-9a-f]+\.sig.*schemaVersion is not 2" "and says why"

# ---- a push that fails half way leaves no tag -------------------------------------
registry_start r || exit 1
proxy_start p "http://$REG_r" || exit 1
printf 'PUT /manifests/sha256-[0-9a-f]+\\.sig 400 100\n' >"$PROXY_p_FAULTS"
run_plinth push --insecure "$PROXY_p" oci:lay:v1 "$PROXY_p/half:1"
t_is "$rc" 1 "a push whose signature the registry refuses fails"
run_plinth tags --insecure "$REG_r" "$REG_r/half"
t_is "$(printf '%s\n' "$out" | grep -cx 1)" 0 "and leaves no tag on the image"
: >"$PROXY_p_FAULTS"
run_plinth push --insecure "$PROXY_p" oci:lay:v1 "$PROXY_p/half:1"
t_is "$rc" 0 "pushed again, it is whole"
run_plinth tags --insecure "$REG_r" "$REG_r/half"
t_is "$(printf '%s\n' "$out" | grep -cx 1)" 1 "with its tag"

t_done
