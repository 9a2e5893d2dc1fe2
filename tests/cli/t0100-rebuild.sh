#!/usr/bin/env bash
# The rebuild storm.  A base from a signed archive, published in a real
# catalog; 36 recipes under it on three levels (two derived bases with
# dependents of their own, and a third level on a base that is itself
# derived), plus three on another base.  The base is superseded; `plinth
# rebuild` rebuilds exactly what is affected, in order, publishing the
# rebuilt bases with new patch versions; what is not affected stays byte
# for byte; the layer cache gives images identical to clean builds; a
# failure fails only what is built on it; a SIGKILLed storm is finished by
# --resume without building anything twice; the plan comes as text, JSON
# and a Makefile that make -j runs to the same images.
. "$(dirname "$0")/lib.sh"
. "$TOP/tests/cli/lib-apt.sh"
need_apt
need jq make flock

export PLINTH_CACHE=$TMP/cache PLINTH_STATE=$TMP/state SOURCE_DATE_EPOCH=1700000000
unset PLINTH_CATALOG

# ---- an archive, a catalog, and the base ops patches ------------------------
apt_keygen good
apt_deb libbase 1.0 FILE=/usr/lib/x86_64-linux-gnu/libbase.so.1:base >/dev/null
apt_deb basetool 1.0 Depends="libbase (>= 1.0)" FILE=/usr/bin/basetool:tool >/dev/null
apt_deb newpkg 1.0 Depends="libbase" FILE=/usr/share/newpkg/data:new >/dev/null
mkdir srv
apt_archive srv/good stable || exit 1
apt_serve srv || exit 1

"$PLINTH" keygen ops >/dev/null || exit 1
"$PLINTH" catalog init --catalog cat --key ops.key >/dev/null || exit 1
mkdir ops
apt_recipe ops/base '${APT_URL}/good' basetool
sed -i 's/^name: img/name: base/' ops/base.yaml
cp good.gpg ops/
cat >>ops/base.yaml <<'EOF'
files: [{path: /etc/patch-level, source: patch-level}]
EOF
"$PLINTH" lock ops/base.yaml >/dev/null || exit 1

# publish_base N: ops builds base 1.0.N with patch level N (and, from 1 on,
# a symlink to it), signs and publishes it, and supersedes 1.0.(N-1).
publish_base() {
	echo "$1" >ops/patch-level
	sed -i '/^symlinks:/d' ops/base.yaml
	[ "$1" -eq 0 ] || echo 'symlinks: [{path: /etc/level, target: patch-level}]' >>ops/base.yaml
	"$PLINTH" build ops/base.yaml -o "$TMP/ops/img" --image-version "1.0.$1" >/dev/null &&
		"$PLINTH" sign --key ops.key "oci:$TMP/ops/img:1.0.$1" >/dev/null &&
		"$PLINTH" catalog publish --catalog cat --key ops.key "oci:$TMP/ops/img:1.0.$1" >/dev/null || return 1
	if [ "$1" -gt 0 ]; then
		"$PLINTH" catalog supersede --catalog cat --key ops.key "base@1.0.$(($1 - 1))" "base@1.0.$1" >/dev/null || return 1
	fi
}
publish_base 0 || exit 1
mkdir other
printf 'name: other\nversion: 1.0.0\nfiles: [{path: /etc/other, source: other.txt}]\n' >other/other.yaml
echo other >other/other.txt
"$PLINTH" build other/other.yaml -o "$TMP/other/img" >/dev/null &&
	"$PLINTH" sign --key ops.key "oci:$TMP/other/img:1.0.0" >/dev/null &&
	"$PLINTH" catalog publish --catalog cat --key ops.key "oci:$TMP/other/img:1.0.0" >/dev/null || exit 1

# ---- the recipes ------------------------------------------------------------
# recipe DIR NAME VERSION BASE [EXTRA-YAML]: a recipe adding one file of its own
recipe() {
	mkdir -p "r/$1"
	echo "$2 payload" >"r/$1/$2.txt"
	printf 'name: %s\nversion: %s\nbase: %s\nfiles: [{path: /srv/%s, source: %s.txt}]\n%s' \
		"$2" "$3" "$4" "$2" "$2" "${5:-}" >"r/$1/$2.yaml"
}
# level 1: two derived bases (mid-a installs a package), ten leaves on base
recipe mids mid-a 2.1.0 base@1 "repositories: [{uri: '\${APT_URL}/good', suites: [stable], components: [main], keyring: ../../good.gpg}]
packages: [newpkg]
"
recipe mids mid-b 1.0.0 base@1.0
for i in $(seq 1 9); do recipe leaves "leaf-$i" 0.1.0 base@1; done
# a leaf that adds a symlink the patch adds to the base too: on the patched
# base its layer leaves it out, so the patch changes its layer
recipe leaves leaf-link 0.1.0 base@1 'symlinks: [{path: /etc/level, target: patch-level}]
'
# level 2: top-a (a base too) and eight apps on mid-a, eight on mid-b
recipe a top-a 3.0.0 mid-a@2
for i in $(seq 1 8); do recipe a "app-a-$i" 1.0.0 mid-a@2.1; done
for i in $(seq 1 8); do recipe b "app-b-$i" 1.0.0 mid-b@1; done
# level 3: four on top-a
for i in $(seq 1 4); do recipe t "app-t-$i" 1.0.0 top-a@3; done
# three on the other base, which is not patched
for i in $(seq 1 3); do recipe o "o-$i" 1.0.0 other@1; done
"$PLINTH" lock r/mids/mid-a.yaml --catalog cat >/dev/null || exit 1
total=$(find r -name '*.yaml' | wc -l)
t_is "$total" 36 "36 recipes on three levels"

storm() { run_plinth rebuild --catalog cat --key ops.key --out D r "$@"; }
journal() { cat D/.plinth/journal; }
# base_digest_of NAME: the base digest the current output of NAME names
tag_of() { jq -r --arg n "$1" '.affected[], .unchanged[] | select(.name == $n) | .version' plan.json | head -n 1; }
annotation() { # LAYOUT TAG KEY
	jq -r --arg k "$3" '.annotations[$k] // empty' "$(blob "$1" "$(manifest_of "$1" "$2")")"
}
catalog_digest() { "$PLINTH" catalog resolve --catalog cat --json "$1" | jq -r .digest; }

# ---- what cannot be built is reported before anything is ----------------------
mkdir -p bad/cycle bad/missing
printf 'name: p\nversion: 1.0.0\nbase: q@1\n' >bad/cycle/p.yaml
printf 'name: q\nversion: 1.0.0\nbase: p@1\n' >bad/cycle/q.yaml
run_plinth rebuild --catalog cat --key ops.key --out bad-out bad/cycle
t_is "$rc" 1 "a cycle of bases fails the storm"
t_like "$err" "cycle.*p \(.*p.yaml\) -> q \(.*q.yaml\) -> p" "...naming the recipes in the cycle"
printf 'name: m\nversion: 1.0.0\nbase: nosuch@1\n' >bad/missing/m.yaml
printf 'name: n\nversion: 1.0.0\nbase: base@7\n' >bad/missing/n.yaml
printf 'name: ok\nversion: 1.0.0\nbase: scratch\n' >bad/missing/ok.yaml
run_plinth rebuild --catalog cat --key ops.key --out bad-out bad/missing
t_is "$rc" 1 "missing bases fail the storm"
t_like "$err" "2 recipes cannot be built, nothing was" "...before anything is built"
t_like "$err" "m.yaml': base 'nosuch@1': .*no recipe here is named so" "...naming a base nobody has"
t_like "$err" "n.yaml': base 'base@7'" "...and a range the catalog cannot meet"
t_is "$(ls bad-out 2>/dev/null)" "" "nothing was built, not even the recipe that could be"

# ---- the first storm builds everything ------------------------------------------
storm -j2
t_is "$rc" 0 "the first storm builds every image"
t_like "$out" "rebuild: 36 rebuilt .* 0 failed.*3 bases published" "...and says so, publishing the three bases"
t_is "$(journal | jq -r 'select(.event == "built") | .name' | sort | uniq | wc -l)" 36 "the journal records 36 builds"
t_is "$("$PLINTH" catalog list --catalog cat --json | jq -r '[.entries[] | .name + "@" + .version] | sort | join(" ")')" \
	"base@1.0.0 mid-a@2.1.0 mid-b@1.0.0 other@1.0.0 top-a@3.0.0" "mid-a, mid-b and top-a are in the catalog"
run_plinth verify --key ops.pub "oci:D/app-t-4:1.0.0"
t_is "$rc" 0 "the images are signed"
t_is "$(annotation D/app-t-4 1.0.0 org.opencontainers.image.base.digest)" "$(catalog_digest top-a@3)" \
	"a third-level image is built on the published top-a"

storm
t_is "$rc" 0 "running again succeeds"
t_is "$out" "nothing to rebuild: all 36 images are current" "...rebuilds nothing, and says so"
for d in D/*/; do echo "$d $(state "$d")"; done >before.state
for d in D/o-*/; do state "$d"; done >o.before

# ---- ops supersedes the base: the plan ----------------------------------------------
publish_base 1 || exit 1
old_base=$("$PLINTH" catalog show --catalog cat --json base@1.0.0 | jq -r '.entries[0].digest')
new_base=$(catalog_digest base@1)
storm --plan
t_is "$rc" 0 "--plan succeeds"
t_like "$out" "^33 of 36 images to rebuild, in this order:" "--plan counts the affected images"
t_like "$out" "mid-a 2.1.1: its base is now base@1.0.1 sha256:[0-9a-f]{12} \(was base:1.0.0 .*\[base: publish, superseding 2.1.0\]" \
	"...says why, and that mid-a becomes 2.1.1, superseding 2.1.0"
t_like "$out" "app-t-1 1.0.0: its base top-a@3.0.1 is rebuilt first" "...and what waits for a rebuilt base"
order=$(echo "$out" | awk '/^  /{print $1}' | tr '\n' ' ')
pos() { echo "$order" | tr ' ' '\n' | grep -nx "$1" | cut -d: -f1; }
t_ok "bases come before what is built on them" test "$(pos mid-a)" -lt "$(pos top-a)" -a "$(pos top-a)" -lt "$(pos app-t-1)" -a "$(pos mid-b)" -lt "$(pos app-b-8)"
storm --plan --json
echo "$out" >plan.json
t_is "$(jq -r '.affected | length' plan.json) $(jq -r '[.unchanged[].name] | join(" ")' plan.json)" "33 o-1 o-2 o-3" \
	"--plan --json lists the 33 affected and the 3 unchanged"
t_is "$(jq -r --arg o "$old_base" --arg n "$new_base" '.affected[] | select(.name == "leaf-3") | [.current.digest == null, .old_base.digest == $o, .new_base.digest == $n, .reason] | map(tostring) | join(" ")' plan.json)" \
	"false true true base changed" "...each with its current digest, old base and new base"
t_is "$(jq -r '.affected[] | select(.name == "app-a-1") | [.new_base.name, (.new_base.digest | tostring), .after] | join(" ")' plan.json)" \
	"mid-a@2.1.1 null mid-a" "...and, for an image on a rebuilt base, that base (its digest still unknown)"
storm --plan --format make
t_is "$rc" 0 "--plan --format make writes a Makefile"
echo "$out" >storm.mk
t_like "$(grep -A1 '^image-app-t-2:' storm.mk)" "^image-app-t-2: image-top-a" "...whose targets follow the bases"
t_like "$(grep -A4 '^image-mid-a:' storm.mk)" "catalog --catalog \\\$\(CATALOG\) supersede --key \\\$\(KEY\) mid-a@2.1.0 mid-a@2.1.1" \
	"...and publish and supersede rebuilt bases"
for d in D/*/; do echo "$d $(state "$d")"; done >after-plan.state
t_ok "planning changed nothing" cmp before.state after-plan.state

# the Makefile run by make -j2 on a copy of everything (another machine)
cp -a D D-make && cp -a cat cat-make && cp -a state state-make
PLINTH_STATE=$TMP/state-make make -s -f storm.mk -j2 PLINTH="$PLINTH" OUT="$TMP/D-make" \
	CATALOG="$TMP/cat-make" >make.log 2>&1
t_is "$?" 0 "make -j2 runs the storm" || sed 's/^/#   /' make.log

# ---- the storm ------------------------------------------------------------------
storm -j2 --json
t_is "$rc" 0 "the storm succeeds"
echo "$out" >run.json
t_is "$(jq -r '.summary | [.rebuilt, .unchanged, .failed, .published] | map(tostring) | join(" ")' run.json)" "33 3 0 3" \
	"33 rebuilt, 3 unchanged, 3 bases published"
t_is "$(jq -r '[.affected[] | select(.layer_reused | not) | .name] | sort | join(" ")' run.json)" \
	"leaf-link mid-a mid-b top-a" \
	"every layer came from the cache but leaf-link's (the patch added its symlink to the base) and the bases' (their version is in their os-release)"
t_is "$(jq -r '.summary.reused' run.json)" 29 "...which the summary counts"
bad=
for name in $(jq -r '.affected[].name' plan.json); do
	v=$(jq -r --arg n "$name" '.affected[] | select(.name == $n) | .version' run.json)
	spec=$(awk '/^base:/{print $2}' "$(jq -r --arg n "$name" '.affected[] | select(.name == $n) | .recipe' run.json)")
	[ "$(annotation "D/$name" "$v" org.opencontainers.image.base.digest)" = "$(catalog_digest "$spec")" ] || bad="$bad $name"
	"$PLINTH" verify --key ops.pub "oci:D/$name:$v" >/dev/null 2>&1 || bad="$bad $name(unsigned)"
done
t_is "$bad" "" "every affected image is signed and built on what its base resolves to now"
t_is "$(annotation D/leaf-1 0.1.0 org.opencontainers.image.base.digest)" "$new_base" "...the patched base for level 1"
t_is "$("$PLINTH" catalog list --catalog cat --json | jq -r '[.entries[] | select(.status == "approved") | .name + "@" + .version] | sort | join(" ")')" \
	"base@1.0.1 mid-a@2.1.1 mid-b@1.0.1 other@1.0.0 top-a@3.0.1" "the rebuilt bases are approved with new patch versions"
t_is "$("$PLINTH" catalog show --catalog cat --json mid-a@2.1.0 | jq -r '.entries[0].status')" superseded \
	"...superseding the old ones"
for d in D/o-*/; do state "$d"; done >o.after
t_ok "the unaffected images are byte-identical" cmp o.before o.after

# what make built is what the storm built
bad=
for name in $(jq -r '.affected[].name' run.json); do
	v=$(jq -r --arg n "$name" '.affected[] | select(.name == $n) | .version' run.json)
	m=$(manifest_of "D/$name" "$v")
	[ -n "$m" ] && [ "$m" = "$(manifest_of "D-make/$name" "$v")" ] || bad="$bad $name"
done
t_is "$bad" "" "make -j2 on the Makefile built the same 33 images"

# layer reuse gives what a clean build gives
for name in mid-a app-a-1 app-t-1 leaf-link leaf-1; do
	v=$(jq -r --arg n "$name" '.affected[] | select(.name == $n) | .version' run.json)
	recipe=$(jq -r --arg n "$name" '.affected[] | select(.name == $n) | .recipe' run.json)
	"$PLINTH" build "$recipe" -o "clean-$name" --catalog cat --image-version "$v" >/dev/null 2>&1
	t_is "$(manifest_of "clean-$name" "$v") $v" "$(manifest_of "D/$name" "$v") $v" \
		"$name from the storm is byte-identical to a clean build on the new base"
	[ -n "$v" ] || t_fail "$name is in the storm's report"
done

storm
t_is "$out" "nothing to rebuild: all 36 images are current" "a second run rebuilds nothing"

# ---- a failure fails what is built on it, nothing else ---------------------------------
publish_base 2 || exit 1
mv r/mids/mid-b.txt mid-b.txt.away
storm -j2 --json
t_is "$rc" 1 "a storm with a failed build exits 1"
echo "$out" >fail.json
t_is "$(jq -r '[.affected[] | select(.state == "failed") | .name] | join(" ")' fail.json)" "mid-b" "mid-b failed"
t_like "$(jq -r '.affected[] | select(.name == "mid-b") | .error' fail.json)" "source 'mid-b.txt' does not exist" "...saying why"
t_is "$(jq -r '[.affected[] | select(.state == "dependency-failed") | .name] | sort | join(" ")' fail.json)" \
	"app-b-1 app-b-2 app-b-3 app-b-4 app-b-5 app-b-6 app-b-7 app-b-8" "its dependents are reported as failed"
t_is "$(jq -r '.affected[] | select(.name == "app-b-1") | .error' fail.json)" "mid-b" "...naming the base that failed"
t_is "$(jq -r '[.affected[] | select(.state == "done")] | length' fail.json)" 24 "all the others succeed"
t_like "$err" "1 image failed to build, 8 more on them were not built" "the error counts them"
mv mid-b.txt.away r/mids/mid-b.txt
storm -j2
t_is "$rc" 0 "fixed, the next run finishes the rest"
t_like "$out" "rebuild: 9 rebuilt" "...the nine left"

# ---- SIGKILL in the middle, then --resume ------------------------------------------------
publish_base 3 || exit 1
rm -rf D/.plinth/layers # builds that compress take longer: room to kill
run=$(( $(journal | jq -r .run | sort -n | tail -n 1) + 1 ))
"$PLINTH" rebuild --catalog cat --key ops.key --out D r -j1 >kill.out 2>&1 &
pid=$!
for _ in $(seq 1 2000); do
	[ "$(journal | jq -r --argjson r "$run" 'select(.run == $r and .event == "done") | .name' | wc -l)" -ge 4 ] && break
	sleep 0.005
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
done_before=$(journal | jq -r --argjson r "$run" 'select(.run == $r and .event == "done") | .name' | wc -l)
t_ok "the storm was killed in the middle" test "$done_before" -ge 4 -a "$done_before" -lt 33
sleep 0.2
t_is "$(pgrep -f "out D r -j1" | xargs -r -n1 sh -c 'readlink /proc/$0/cwd' | grep -c "^$TMP\$")" 0 \
	"no build outlives it"
storm -j2 --resume
t_is "$rc" 0 "--resume finishes the storm"
t_like "$err" "resuming run $run, which did not finish" "...saying what it resumes"
t_like "$out" "rebuild: ($((33 - done_before - 1))|$((33 - done_before))) rebuilt" "...building only what was left"
twice=$(journal | jq -r --argjson r "$run" 'select(.run >= $r and .event == "built") | .name' | sort | uniq -d)
t_is "$twice" "" "the journal shows no image built twice"
# (a kill right after a build's commit can lose its "built" event: that
# image is then only signed on resuming, so one may be missing)
t_ok "...and every affected image built once" test "$(journal | jq -r --argjson r "$run" 'select(.run >= $r and .event == "built") | .name' | sort -u | wc -l)" -ge 32
bad=
for name in $(jq -r '.affected[].name' plan.json); do
	v=$("$PLINTH" rebuild --catalog cat --key ops.key --out D r --plan --json | jq -r --arg n "$name" '.unchanged[] | select(.name == $n) | .version')
	spec=$(awk '/^base:/{print $2}' "$(jq -r --arg n "$name" '.affected[] | select(.name == $n) | .recipe' plan.json)")
	[ "$(annotation "D/$name" "$v" org.opencontainers.image.base.digest)" = "$(catalog_digest "$spec")" ] || bad="$bad $name"
	"$PLINTH" verify --key ops.pub "oci:D/$name:$v" >/dev/null 2>&1 || bad="$bad $name(unsigned)"
done
t_is "$bad" "" "every image ends correct: signed, on its current base"
t_is "$("$PLINTH" catalog list --catalog cat --json | jq -r '[.entries[] | select(.status == "approved") | .name + "@" + .version] | sort | join(" ")')" \
	"base@1.0.3 mid-a@2.1.3 mid-b@1.0.3 other@1.0.0 top-a@3.0.3" "the catalog has one approved version of each base"
run_plinth catalog verify --catalog cat
t_is "$rc" 0 "...and its history verifies"
run_plinth admit --catalog cat oci:D/app-t-1:1.0.0
t_is "$rc" 0 "a third-level image is admitted"

# ---- a cancel: SIGTERM stops the storm cleanly; the next run finishes ------------
publish_base 4 || exit 1
rm -rf D/.plinth/layers
run=$(( $(journal | jq -r .run | sort -n | tail -n 1) + 1 ))
"$PLINTH" rebuild --catalog cat --key ops.key --out D r -j1 >cancel.out 2>&1 &
pid=$!
for _ in $(seq 1 2000); do
	[ "$(journal | jq -r --argjson r "$run" 'select(.run == $r and .event == "done") | .name' | wc -l)" -ge 3 ] && break
	sleep 0.005
done
kill -TERM "$pid"
wait "$pid"
t_is "$?" 1 "a storm stopped by SIGTERM exits 1"
t_like "$(cat cancel.out)" "interrupted: [0-9]+ of 33 images not done; run again to finish" "...saying how much is left"
t_is "$(journal | jq -r --argjson r "$run" 'select(.run == $r) | .event' | grep -c -x -e failed -e dependency-failed)" 0 \
	"...failing nothing"
t_is "$(journal | jq -r --argjson r "$run" 'select(.run == $r) | .event' | tail -n 1)" interrupted "...and the journal says so"
storm -j2
t_is "$rc" 0 "the next run finishes the storm"

# ---- a storm cut short between build and publish, or publish and supersede --------
# (as a SIGKILL at those points leaves it, made by hand): the next run
# finishes the job, and what is built on the base follows
# mid-b 1.0.5, built and signed but never published
"$PLINTH" build r/mids/mid-b.yaml -o D/mid-b --catalog cat --image-version 1.0.5 >/dev/null 2>&1
"$PLINTH" sign --key ops.key oci:D/mid-b:1.0.5 >/dev/null
# top-a 3.0.5, published but not superseding 3.0.4
"$PLINTH" build r/a/top-a.yaml -o D/top-a --catalog cat --image-version 3.0.5 >/dev/null 2>&1
"$PLINTH" sign --key ops.key oci:D/top-a:3.0.5 >/dev/null
"$PLINTH" catalog publish --catalog cat --key ops.key oci:D/top-a:3.0.5 >/dev/null
storm --plan --json
t_is "$(echo "$out" | jq -r '[.affected[] | .name + ":" + .reason] | join(" ")' | tr ' ' '\n' | grep -E '^(mid-b|top-a):')" \
	"$(printf 'mid-b:unpublished\ntop-a:unsuperseded')" "the plan finishes the base left unpublished and the one left unsuperseded"
t_is "$(echo "$out" | jq -r '[.affected[] | select(.name == "app-b-1" or .name == "app-t-1") | .reason] | join(" ")')" \
	"base rebuilt base rebuilt" "...and what is built on them follows (app-t-1 moves to top-a 3.0.5)"
storm -j2
t_is "$rc" 0 "the storm finishes them"
t_is "$("$PLINTH" catalog list --catalog cat --json | jq -r '[.entries[] | select(.status == "approved") | .name + "@" + .version] | sort | join(" ")')" \
	"base@1.0.4 mid-a@2.1.4 mid-b@1.0.5 other@1.0.0 top-a@3.0.5" "...each base has one approved version"
t_is "$(annotation D/app-b-3 1.0.0 org.opencontainers.image.base.digest)" "$(catalog_digest mid-b@1)" \
	"...and app-b-3 is on mid-b 1.0.5"

# a file a recipe copies changes: that image (only) is rebuilt
echo "app-a-2 fixed" >r/a/app-a-2.txt
storm --plan
t_like "$out" "^1 of 36 images to rebuild" "a changed host file makes its image affected, and only it"
t_like "$out" "app-a-2 1.0.0: a file it copies changed since 1.0.0 was built" "...saying why"
storm
t_like "$out" "rebuild: 1 rebuilt" "...which the storm rebuilds"
t_is "$(tar -xOf "$(blob D/app-a-2 "$(jq -r '.layers[-1].digest' "$(blob D/app-a-2 "$(manifest_of D/app-a-2 1.0.0)")")")" srv/app-a-2 2>/dev/null)" \
	"app-a-2 fixed" "...with the new file"

# a new patch line of a base recipe: mid-b's recipe goes to 1.0.9
sed -i 's/^version: 1.0.0/version: 1.0.9/' r/mids/mid-b.yaml
storm -j2 --json
t_is "$rc" 0 "a base recipe's new version is rebuilt"
t_is "$(echo "$out" | jq -r '.affected[] | select(.name == "mid-b") | [.reason, .version, (.supersedes | join(","))] | join(" ")')" \
	"new 1.0.9 1.0.5" "...as its version (a new image), superseding the older one"
t_is "$(echo "$out" | jq -r '[.affected[] | select(.name | startswith("app-b-")) | .state] | unique | join(" ")')" \
	"done" "...and what is built on it follows"

# ---- what the storm leaves alone, and what it replaces ----------------------------
# ops bans the current mid-a: the storm replaces it with a new version
"$PLINTH" catalog ban --catalog cat --key ops.key mid-a@2.1.4 --reason "test ban" >/dev/null
storm --plan --json
t_is "$(echo "$out" | jq -r '.affected[] | select(.name == "mid-a") | [.reason, .version] | join(" ")')" \
	"banned 2.1.5" "a base whose image was banned is rebuilt as a new version"
# a hotfix of mid-b that ops published from elsewhere is not the storm's to supersede
"$PLINTH" build r/mids/mid-b.yaml -o "$TMP/hotfix" --catalog cat --image-version 1.0.10 >/dev/null 2>&1
"$PLINTH" sign --key ops.key "oci:$TMP/hotfix:1.0.10" >/dev/null
"$PLINTH" catalog publish --catalog cat --key ops.key "oci:$TMP/hotfix:1.0.10" >/dev/null
# and ops deprecated top-a 3.0.5, which the storm replaces
"$PLINTH" catalog deprecate --catalog cat --key ops.key top-a@3.0.5 --reason "moving to 4.x" >/dev/null
storm -j2
t_is "$rc" 0 "the storm runs"
t_is "$("$PLINTH" catalog show --catalog cat --json top-a@3.0.6 | jq -r '.entries[0] | [.status, .reason] | join(" ")')" \
	"deprecated moving to 4.x" "the version replacing a deprecated one is deprecated, for the same reason"
t_is "$("$PLINTH" catalog list --catalog cat --json | jq -r '[.entries[] | select(.name == "mid-a" or .name == "mid-b") | select(.status == "approved") | .name + "@" + .version] | sort | join(" ")')" \
	"mid-a@2.1.5 mid-b@1.0.10 mid-b@1.0.9" "...publishing mid-a 2.1.5, and leaving ops' hotfix of mid-b as it is"
t_is "$(annotation D/app-b-1 1.0.0 org.opencontainers.image.base.name)" "mid-b:1.0.10" "...as the catalog resolves it"
# an output rebuilt by plain plinth build with other files is not
# mistaken for a changed one by the storm's record of the old files
echo "leaf-2 by hand" >r/leaves/leaf-2.txt
"$PLINTH" build r/leaves/leaf-2.yaml -o D/leaf-2 --catalog cat >/dev/null 2>&1
"$PLINTH" sign --key ops.key oci:D/leaf-2:0.1.0 >/dev/null
storm --plan
t_is "$out" "nothing to rebuild: all 36 images are current" "an output built by hand since the storm is taken as it is"

# an exact pin through a long chain of supersedes (a base rebuilt 70 times)
printf 'name: chain\nversion: 1.0.0\nfiles: [{path: /c, source: c.txt}]\n' >chain.yaml
echo c >c.txt
for i in $(seq 0 70); do
	"$PLINTH" build chain.yaml -o chain-img --image-version "1.0.$i" >/dev/null &&
		"$PLINTH" sign --key ops.key "oci:chain-img:1.0.$i" >/dev/null &&
		"$PLINTH" catalog publish --catalog cat --key ops.key "oci:chain-img:1.0.$i" >/dev/null || break
	[ "$i" -eq 0 ] || "$PLINTH" catalog supersede --catalog cat --key ops.key "chain@1.0.$((i - 1))" "chain@1.0.$i" >/dev/null || break
done
run_plinth catalog resolve --catalog cat chain@1.0.0
t_like "$out$err" "chain@1.0.70" "an exact pin follows 70 supersedes to the newest"

# ---- a patch of the base's packages: layers that install packages are reused ------
# (an image on base@1 that installs newpkg, which depends on the base's libbase)
recipe p2 leaf-pkg 1.0.0 base@1 "repositories: [{uri: '\${APT_URL}/good', suites: [stable], components: [main], keyring: ../../good.gpg}]
packages: [newpkg]
"
mkdir r2 && mv r/p2 r2/p
"$PLINTH" lock r2/p/leaf-pkg.yaml --catalog cat >/dev/null || exit 1
run_plinth rebuild --catalog cat --key ops.key --out D2 r2
t_is "$rc" 0 "an image with packages of its own is built"
# (and one whose package conflicts with the basetool to come)
apt_deb compat 1.0 Conflicts="basetool (>= 1.1)" FILE=/usr/share/compat/data:c >/dev/null
apt_archive srv/good stable || exit 1
mkdir r3
printf 'name: compat\nversion: 1.0.0\nbase: base@1\nrepositories: [{uri: "${APT_URL}/good", suites: [stable], components: [main], keyring: ../good.gpg}]\npackages: [compat]\n' >r3/compat.yaml
"$PLINTH" lock r3/compat.yaml --catalog cat >/dev/null || exit 1
# ops patches basetool: base 1.0.5 has basetool 1.1
apt_deb basetool 1.1 Depends="libbase (>= 1.0)" FILE=/usr/bin/basetool:tool-fixed >/dev/null
apt_archive srv/good stable || exit 1
rm ops/base.lock.json
"$PLINTH" lock ops/base.yaml >/dev/null || exit 1
publish_base 5 || exit 1
t_is "$(jq -r '.packages[] | select(.name == "basetool") | .version' ops/base.lock.json)" 1.1 "the patched base has basetool 1.1"
run_plinth rebuild --catalog cat --key ops.key --out D2 r2 --json
t_is "$(echo "$out" | jq -r '.affected[0] | [.reason, .state, (.layer_reused | tostring)] | join(" ")')" \
	"base changed done true" "its layer is reused on a base whose packages changed"
"$PLINTH" build r2/p/leaf-pkg.yaml -o clean-pkg --catalog cat >/dev/null 2>&1
t_is "$(manifest_of clean-pkg 1.0.0)" "$(manifest_of D2/leaf-pkg 1.0.0)" "...byte-identical to a clean build"
run_plinth build r3/compat.yaml -o compat-img --catalog cat --layer-cache lc3
t_like "$err" "lock 'r3/compat.lock.json' is stale: package 'compat' conflicts with 'basetool \(>= 1.1\)', which the base 'base@1.0.5' has" \
	"a locked package that conflicts with the patched base's is a stale lock"
# ops moves basetool to libbase-ng, which ships the very files libbase did:
# nothing the layer looks at changes, but libbase, which newpkg needs, is
# gone.  The layer is the cache's (no .deb is fetched), and the lock check
# fails it as it fails a clean build.
apt_deb libbase-ng 1.0 FILE=/usr/lib/x86_64-linux-gnu/libbase.so.1:base >/dev/null
apt_deb basetool 1.2 Depends="libbase-ng" FILE=/usr/bin/basetool:tool-fixed >/dev/null
apt_archive srv/good stable || exit 1
rm ops/base.lock.json
"$PLINTH" lock ops/base.yaml >/dev/null || exit 1
publish_base 6 || exit 1
t_is "$(jq -r '[.packages[].name] | join(" ")' ops/base.lock.json)" "basetool libbase-ng" "the base now has libbase-ng, not libbase"
rm -rf "$PLINTH_CACHE"
fetched=$(grep -c 'newpkg' "$APT_LOG")
run_plinth rebuild --catalog cat --key ops.key --out D2 r2 --json
t_is "$rc" 1 "on a base without what its packages need, the storm fails the image"
t_like "$(echo "$out" | jq -r '.affected[0].error')" "lock '.*leaf-pkg.lock.json' is stale: package 'newpkg' depends on 'libbase'" \
	"...as a stale lock"
t_is "$(grep -c 'newpkg' "$APT_LOG")" "$fetched" "...having taken the layer from the cache (newpkg was not fetched)"
run_plinth build r2/p/leaf-pkg.yaml -o clean-pkg2 --catalog cat
t_like "$err" "lock '.*leaf-pkg.lock.json' is stale: package 'newpkg' depends on 'libbase'" "...as a clean build does"

# ---- one run at a time; usage ------------------------------------------------------
flock D/.plinth/lock sleep 3 &
holder=$!
sleep 0.3
publish_base 7 || exit 1
storm
t_is "$rc" 1 "a second storm on the same output is refused"
t_like "$err" "another plinth rebuild is running on 'D'" "...saying why"
wait "$holder"
run_plinth rebuild --catalog cat --key ops.key r
t_is "$rc" 2 "--out is required"
run_plinth rebuild --catalog cat --key ops.key --out D r --format make
t_is "$rc" 2 "--format goes with --plan"
run_plinth rebuild --catalog cat --key ops.key --out D r -j 0
t_is "$rc" 2 "-j 0 is refused"
run_plinth rebuild --help
t_like "$out" "^usage: plinth rebuild" "--help shows the usage"

t_done
