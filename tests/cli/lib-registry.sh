# lib-registry.sh - real registries for CLI tests: Debian's docker-registry
# (github.com/docker/distribution 2.8) on 127.0.0.1, optionally with htpasswd
# authentication or TLS, and regproxy.py in front of one for token
# authentication, injected faults and a byte count.
#
# Source it after lib.sh (and after lib-apt.sh, if both are used):
#     . "$(dirname "$0")/lib.sh"
#     . "$TOP/tests/cli/lib-registry.sh"
#     need_registry
#     registry_start plain                      # then $REG_plain = 127.0.0.1:PORT
#     registry_start locked --htpasswd u:secret
#     registry_start tls --tls                  # then $REG_tls_CA, the CA's PEM
#     proxy_start tok "http://$REG_plain" --bearer u:p   # then $PROXY_tok
#
# Everything of registry NAME lives under $TMP/NAME: config.yml, data/ (the
# storage, also $REG_<NAME>_DATA), log (stdout and stderr, also
# $REG_<NAME>_LOG), htpasswd, and with --tls ca.pem, cert.pem, key.pem.
# NAME must be usable in a shell variable name.  The first registry_start
# or proxy_start chains registry_cleanup in front of whatever EXIT trap is
# set then (lib.sh's, or lib-apt.sh's), so every server started is stopped
# before the temporary directory is removed.  Call the starters directly,
# not in $(...): the variables they set would be lost.
#
# docker-registry's log (Debian's 2.8.2+ds1), both streams in one file:
#  - stdout is the access log, Apache's combined format, one line per
#    request, written after the response has been sent:
#        127.0.0.1 - - [23/Nov/2026:22:42:38 +0000] "GET /v2/ HTTP/1.1" 200 2 "" "curl/7.88.1"
#    i.e. HOST - USER [TIME] "METHOD TARGET PROTO" STATUS BYTES_SENT "REFERER" "AGENT",
#    where TARGET has the query (a cross-repository mount is
#    "POST /v2/NEW/blobs/uploads/?from=OLD&mount=sha256:... HTTP/1.1" 201; a
#    chunk "PATCH /v2/R/blobs/uploads/UUID?_state=... HTTP/1.1" 202; the end of
#    an upload "PUT /v2/R/blobs/uploads/UUID?_state=...&digest=sha256:... HTTP/1.1" 201).
#    USER stays "-" even with htpasswd authentication.
#  - stderr is logrus's logfmt: time="..." level=info msg="response completed"
#    ... http.request.method=GET http.request.uri=/v2/ http.response.status=200
#    (and msg="authorized request" with auth.user.name=... under htpasswd).
# registry_count counts only access-log lines, so a regex such as
#    "(POST|PUT|PATCH) /v2/.*/blobs/uploads
# (the leading quote is the access log's) never counts a request twice.

REG_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REG_PIDS=$TMP/.registry-pids

# need_registry [TOOL...]: skip the whole test when docker-registry is not
# installed; fail it (and exit) when it is but something else it needs, or
# a TOOL, is missing: ci/setup installs them all, so that is a broken setup,
# not a reason to skip.
need_registry() {
	local c missing=""
	command -v docker-registry >/dev/null 2>&1 ||
		t_skip_all "docker-registry is not installed (run ci/setup)"
	for c in python3 openssl htpasswd base64 "$@"; do
		command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
	done
	if [ -n "$missing" ]; then
		t_fail "what the registry test needs is installed" "missing:$missing (run ci/setup)"
		t_done
		exit 1
	fi
}

# reg__die MSG: a fixture failed; say so on stderr and fail the caller.
reg__die() {
	echo "lib-registry: $*" >&2
	return 1
}

# reg__trap: put registry_cleanup in front of the current EXIT trap, once.
reg__trap() {
	local cur words
	cur=$(trap -p EXIT)
	case $cur in *registry_cleanup*) return 0 ;; esac
	if [ -n "$cur" ]; then
		eval "words=($cur)" # trap -- 'COMMAND' EXIT
		# shellcheck disable=SC2064
		trap "registry_cleanup; ${words[2]}" EXIT
	else
		trap 'registry_cleanup' EXIT
	fi
}

# reg__free_port: a TCP port on 127.0.0.1 nobody listens on now.
reg__free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# reg__wait URL [CA]: wait (20 s at most) until GET URL is answered at all
# (any status: 401 is an answer); fails with the reason otherwise.
reg__wait() {
	python3 - "$@" <<'EOF'
import ssl, sys, time, urllib.error, urllib.request
url, ca = sys.argv[1], (sys.argv[2] if len(sys.argv) > 2 else None)
ctx = ssl.create_default_context(cafile=ca) if ca else None
end, why = time.monotonic() + 20, "no attempt"
while time.monotonic() < end:
    try:
        urllib.request.urlopen(url, timeout=2, context=ctx).read()
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception as e:  # refused, not yet listening, TLS not ready
        why = str(e)
    time.sleep(0.1)
sys.exit(f"{url} did not answer within 20 s: {why}")
EOF
}

# reg__tls DIR: a CA (DIR/ca.pem) and a server certificate it signed for
# 127.0.0.1 and localhost (DIR/cert.pem, DIR/key.pem).
reg__tls() {
	local d=$1
	printf '%s\n' basicConstraints=CA:FALSE keyUsage=critical,digitalSignature \
		extendedKeyUsage=serverAuth subjectAltName=IP:127.0.0.1,DNS:localhost >"$d/server.ext"
	if ! openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=plinth test CA" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>"$d/openssl.err" ||
		! openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/CN=127.0.0.1" -keyout "$d/key.pem" -out "$d/server.csr" 2>>"$d/openssl.err" ||
		! openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/cert.pem" 2>>"$d/openssl.err"; then
		reg__die "openssl failed: $(tail -n 5 "$d/openssl.err")"
		return
	fi
}

# registry_start NAME [--htpasswd USER:PASS] [--tls]: start docker-registry
# NAME on a free port of 127.0.0.1 and wait until it answers GET /v2/.
# Sets REG_<NAME> (127.0.0.1:PORT), REG_<NAME>_DATA (its storage),
# REG_<NAME>_LOG, REG_<NAME>_URL (http://... or https://...) and, with
# --tls, REG_<NAME>_CA.  Started again after registry_stop, it keeps its
# port and storage.
registry_start() {
	local name=$1 auth="" tls="" d port pid url
	shift
	case $name in '' | *[!A-Za-z0-9_]*) reg__die "bad registry name '$name'" || return ;; esac
	while [ $# -gt 0 ]; do
		case $1 in
		--htpasswd) auth=$2; shift 2 ;;
		--tls) tls=1; shift ;;
		*) reg__die "registry_start: unknown option '$1'" || return ;;
		esac
	done
	reg__trap
	d=$TMP/$name
	mkdir -p "$d/data"
	if [ -n "$auth" ] && [ ! -f "$d/htpasswd" ]; then
		# docker-registry reads bcrypt entries only.
		htpasswd -Bbn "${auth%%:*}" "${auth#*:}" >"$d/htpasswd" 2>"$d/htpasswd.err" ||
			reg__die "htpasswd failed: $(cat "$d/htpasswd.err")" || return
	fi
	if [ -n "$tls" ] && [ ! -f "$d/cert.pem" ]; then
		reg__tls "$d" || return
	fi
	for _ in 1 2 3; do
		port=$(cat "$d/port" 2>/dev/null) || port=$(reg__free_port) || return
		{
			cat <<EOF
version: 0.1
log:
  level: info
  accesslog:
    disabled: false
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $d/data
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: plinth-test-$name
EOF
			if [ -n "$tls" ]; then
				printf '  tls:\n    certificate: %s\n    key: %s\n' "$d/cert.pem" "$d/key.pem"
			fi
			if [ -n "$auth" ]; then
				printf 'auth:\n  htpasswd:\n    realm: plinth-test\n    path: %s\n' "$d/htpasswd"
			fi
		} >"$d/config.yml"
		docker-registry serve "$d/config.yml" >>"$d/log" 2>&1 </dev/null &
		pid=$!
		echo "$pid" >"$d/pid"
		echo "$pid" >>"$REG_PIDS"
		url=http://127.0.0.1:$port
		[ -z "$tls" ] || url=https://127.0.0.1:$port
		if reg__wait "$url/v2/" ${tls:+"$d/ca.pem"} 2>"$d/wait.err"; then
			echo "$port" >"$d/port"
			break
		fi
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
		rm -f "$d/pid"
		# Someone took the port between the probe and the bind: another one.
		if [ ! -f "$d/port" ] && grep -q 'address already in use' "$d/log"; then
			continue
		fi
		reg__die "docker-registry '$name' did not start: $(cat "$d/wait.err"): $(tail -n 5 "$d/log")" || return
	done
	[ -f "$d/pid" ] || reg__die "docker-registry '$name' found no free port" || return
	printf -v "REG_$name" '%s' "127.0.0.1:$port"
	printf -v "REG_${name}_DATA" '%s' "$d/data"
	printf -v "REG_${name}_LOG" '%s' "$d/log"
	printf -v "REG_${name}_URL" '%s' "$url"
	[ -z "$tls" ] || printf -v "REG_${name}_CA" '%s' "$d/ca.pem"
	return 0
}

# registry_stop NAME: stop registry (or proxy) NAME and wait until it is gone.
registry_stop() {
	local d=$TMP/$1 pid
	pid=$(cat "$d/pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -f "$d/pid"
	return 0
}

# registry_cleanup: stop every registry and proxy; safe to run twice.
registry_cleanup() {
	local pid
	if [ -f "$REG_PIDS" ]; then
		while read -r pid; do
			# (a server killed exits 143: not a failure of the caller's)
			kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || :
		done <"$REG_PIDS"
		rm -f "$REG_PIDS"
	fi
	return 0
}

# registry_blob_path NAME DIGEST: where the registry keeps the blob's bytes.
registry_blob_path() {
	local hex=${2#sha256:}
	echo "$TMP/$1/data/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data"
}

# registry_count NAME REGEX: how many access-log lines of registry NAME match
# the extended REGEX.  The registry writes a line after it has answered, so
# the count is taken again until it stops changing (a client that has just
# exited may not be in the log yet).
registry_count() {
	local log=$TMP/$1/log a b
	b=$(grep -E '^[^ ]+ - [^ ]+ \[' "$log" 2>/dev/null | grep -Ec -- "$2")
	while :; do
		sleep 0.2
		a=$b
		b=$(grep -E '^[^ ]+ - [^ ]+ \[' "$log" 2>/dev/null | grep -Ec -- "$2")
		[ "$a" = "$b" ] && break
	done
	echo "$b"
}

# proxy_start NAME UPSTREAM-URL [regproxy.py options]: regproxy.py in front of
# UPSTREAM-URL.  Sets PROXY_<NAME> (127.0.0.1:PORT), PROXY_<NAME>_LOG (its
# request log, $TMP/NAME/requests) and PROXY_<NAME>_FAULTS (the fault file
# it reads, $TMP/NAME/faults; see regproxy.py).  Its stderr is $TMP/NAME/err.
proxy_start() {
	local name=$1 upstream=$2 d pid port
	shift 2
	case $name in '' | *[!A-Za-z0-9_]*) reg__die "bad proxy name '$name'" || return ;; esac
	reg__trap
	d=$TMP/$name
	mkdir -p "$d"
	python3 "$REG_LIB/regproxy.py" --log "$d/requests" --faults "$d/faults" "$@" "$upstream" \
		>"$d/port" 2>>"$d/err" </dev/null &
	pid=$!
	echo "$pid" >"$d/pid"
	echo "$pid" >>"$REG_PIDS"
	for _ in $(seq 200); do
		[ -s "$d/port" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	port=$(head -n 1 "$d/port")
	[ -n "$port" ] || reg__die "regproxy.py did not start: $(tail -n 5 "$d/err")" || return
	printf -v "PROXY_$name" '%s' "127.0.0.1:$port"
	printf -v "PROXY_${name}_LOG" '%s' "$d/requests"
	printf -v "PROXY_${name}_FAULTS" '%s' "$d/faults"
	return 0
}

# proxy_count NAME REGEX: how many lines of proxy NAME's request log
# ("METHOD PATH STATUS BYTES_IN BYTES_OUT") match the extended REGEX.
proxy_count() {
	if [ -f "$TMP/$1/requests" ]; then grep -Ec -- "$2" "$TMP/$1/requests"; else echo 0; fi
}

# auth_file FILE HOST USER PASS: a containers-auth.json(5) file that gives
# HOST the credentials USER:PASS.
auth_file() {
	python3 - "$@" <<'EOF'
import base64, json, sys
path, host, user, password = sys.argv[1:]
auth = base64.b64encode(f"{user}:{password}".encode()).decode()
with open(path, "w") as f:
    json.dump({"auths": {host: {"auth": auth}}}, f)
EOF
}
