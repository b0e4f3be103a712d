#!/usr/bin/env bash
# Do two builds of the experiment programs give the same results? For refactors that promise
# "outputs byte-identical": runs each program on small, quick settings (well under a minute
# each) with both builds and diffs the output trees, masking only wall-clock time, memory (RSS),
# progress lines and the output root.
#
#   bash .ci/same-outputs.sh BEFORE_BIN_DIR AFTER_BIN_DIR [WORK_DIR]
#
# BIN_DIRs hold release builds of the `agentnet-examples` binaries (e.g. target/release of two
# checkouts: `cargo build --release -p agentnet-examples --bins`). Exit 0 when identical.
set -uo pipefail
before=${1:?before bin dir}; after=${2:?after bin dir}; work=${3:-$(mktemp -d)}

run() { # run BIN_DIR OUT_ROOT
  local B=$1 R=$2
  for b in gossip_discovery gossip_scale mg_eigentrust agentic_p2p; do
    mkdir -p "$R/$b"; "$B/$b" --help > "$R/$b/help.txt" 2>&1
  done
  one() { local bin=$1 dir=$2; shift 2
    "$B/$bin" "$@" --out "$R/$bin/$dir" > "$R/$bin/$dir.stdout" 2> "$R/$bin/$dir.stderr"
    echo "rc=$?" >> "$R/$bin/$dir.stdout"; }
  one gossip_discovery a --nodes 100 --requests 60 --duration-secs 40 --warmup-secs 10 --seed 3 --json
  one gossip_discovery b --nodes 30 --topics 2 --providers-per-topic 4 --requests 30 --duration-secs 30 \
      --warmup-secs 10 --interest topic --churn 0.4 --loss 0.05 --seed 5
  one gossip_discovery err --topics 9
  one gossip_scale a --nodes 300 --authors 3 --headers-per-author 3 --seed 2 --json
  one gossip_scale b --nodes 200 --authors 2 --headers-per-author 2 --per-frame-latency --no-flood --mesh-d 4
  one mg_eigentrust a --nodes 30 --seeds 2 --epochs 10 --queries 10 --warmup 3 --threads 1 --json
  one mg_eigentrust b --nodes 30 --seeds 2 --epochs 8 --queries 8 --warmup 2 --sweep malicious \
      --malicious-values 0.1,0.3 --threads 2 --json
  one agentic_p2p a --sweep sybil --nodes 20 --points 0,0.3 --seeds 2 --rounds 5 --threads 2 --json
  one agentic_p2p b --sweep ttl --nodes 20 --points 5,30 --seeds 1 --rounds 5 --discovery gossip --threads 1 --json
}

normalize() { # normalize OUT_ROOT
  local R=$1
  find "$R" -type f \( -name '*.json' -o -name '*.stdout' -o -name '*.stderr' \) -print0 | xargs -0 sed -i -E \
    -e "s#$R/#<R>/#g" \
    -e 's/("[a-z_]*(wall|rss|busy|elapsed)[a-z_]*": ?)(-?[0-9.e+-]+|null)/\1<T>/g' \
    -e 's/^(  peak RSS +).*$/\1<T>/' -e 's/^(  wall: ).*$/\1<T>/'
  find "$R" -type f -name '*.stderr' -print0 | xargs -0 sed -i -E \
    -e '/^\[/d' -e 's/[0-9]+(\.[0-9]+)? ?(s|ms|MiB)\b/<T>/g' -e 's/wall [0-9.]+s/wall <T>/g'
}

rm -rf "$work/before" "$work/after"
echo "running the before build into $work/before" >&2; run "$before" "$work/before"
echo "running the after build into $work/after" >&2; run "$after" "$work/after"
normalize "$work/before"; normalize "$work/after"
if diff -r "$work/before" "$work/after"; then
  echo "same outputs ($(find "$work/after" -type f | wc -l) files)"
else
  echo "outputs differ (see the diff above)" >&2; exit 1
fi
