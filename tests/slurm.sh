#!/usr/bin/env bash
# mmdigits batch as a Slurm array job, on a one-node Slurm cluster started
# here (munged with a generated key, slurmctld -D, slurmd -D, a generated
# slurm.conf, all in a temporary directory and all stopped at the end, also
# on failure):
#  1. a few hundred WAV files (FSDD recordings when the data is there, else
#     espeak-ng digits) go to `sbatch --array=1-4` with --shard;
#  2. one task's part is then lost and only that shard is rerun, as
#     docs/batch.md says (the missing parts are found by name);
#  3. `mmdigits batch --merge` joins the parts, and the result must equal a
#     single-machine run over the same list line for line.
# Usage: slurm.sh MMDIGITS   (exit 77: Slurm or munge not installed)
set -uo pipefail
MM=$(realpath "$1")
SRC=${MMDIGITS_SOURCE_ROOT:-$(dirname "$0")/..}
M=$(realpath "$SRC/models")
# the build tree's plugin, as meson devenv gives it; sbatch passes the
# environment on to the tasks
unset GST_PLUGIN_PATH_1_0
export GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-${MMDIGITS_BUILD_ROOT:-$(dirname "$MM")/..}/plugins}
N_FILES=${MM_SLURM_FILES:-240}
. "$(dirname "$0")/checks.sh"

for p in munged slurmctld slurmd sbatch squeue; do
  command -v "$p" > /dev/null || checks_skip "$p not installed (scripts/deps.sh MM_SLURM_PACKAGES)"
done

T=$(mktemp -d /tmp/mm-slurm.XXXXXX)
chmod 755 "$T"
pids=()
cleanup () {
  local pid
  # our daemons only, by the pids we started
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null
  done
  rm -rf "$T"
}
checks_cleanup () { cleanup; }

# ---- the files ----
mkdir -p "$T/files"
data=${MMDIGITS_DATA:-$SRC/../shared/data}
if [ -d "$data/fsdd/recordings" ]; then
  ls "$data/fsdd/recordings" | grep '\.wav$' | awk 'NR % 10 == 1' | head -n "$N_FILES" \
    | sed "s|^|$data/fsdd/recordings/|" > "$T/list.txt"
  what="FSDD recordings"
else
  command -v espeak-ng > /dev/null || checks_skip "no data and no espeak-ng"
  words=(zero one two three four five six seven eight nine)
  for i in $(seq 0 $((N_FILES - 1))); do
    d=$((i % 10))
    espeak-ng -s $((140 + i % 40)) -p $((30 + i % 50)) -w "$T/files/$d-$i.wav" "${words[$d]}"
  done
  ls "$T/files"/*.wav > "$T/list.txt"
  what="espeak-ng WAVs"
fi
n=$(wc -l < "$T/list.txt")

# ---- the cluster ----
free_port () {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
host=$(hostname -s)
dd if=/dev/urandom of="$T/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge.key"
mkdir -p "$T/state" "$T/spool" "$T/munge" && chmod 755 "$T/munge"
# --force: root owns everything here, which munged would otherwise refuse
munged --foreground --force --key-file="$T/munge.key" --socket="$T/munge/munge.sock" \
  --pid-file="$T/munge/munged.pid" --log-file="$T/munge/munged.log" \
  --seed-file="$T/munge/munged.seed" > "$T/munge/munged.out" 2>&1 &
pids+=($!)
cat > "$T/slurm.conf" <<EOF
ClusterName=mmdigits-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$T/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
NodeName=mmnode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=mmnode Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
for _ in $(seq 50); do [ -S "$T/munge/munge.sock" ] && break; sleep 0.1; done
slurmctld -D -i -f "$SLURM_CONF" > "$T/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -N mmnode -f "$SLURM_CONF" > "$T/slurmd.out" 2>&1 &
pids+=($!)
up=0
for _ in $(seq 300); do
  if sinfo -h -n mmnode -o '%T' 2> /dev/null | grep -Eq '^(idle|mixed|allocated)'; then up=1; break; fi
  sleep 0.2
done
if [ $up -eq 0 ]; then
  fail "the one-node cluster did not come up"
  tail -n 20 "$T/slurmctld.log" "$T/slurmd.log" "$T"/*.out "$T/munge/munged.log" 2> /dev/null
  checks_done
fi
ok "one-node Slurm cluster up (munged, slurmctld -D, slurmd -D) for $n $what"

# ---- the array job (the script of docs/batch.md) ----
mkdir -p "$T/out"
cat > "$T/job.sh" <<EOF
#!/bin/bash
#SBATCH --job-name=mmdigits-batch
#SBATCH --cpus-per-task=1
#SBATCH --output=$T/out/slurm-%A_%a.log
set -euo pipefail
N=\$1    # the number of shards: fixed for the whole array, reruns included
exec "$MM" batch --files-from "$T/list.txt" --model "$M" --jobs \$SLURM_CPUS_PER_TASK \\
  --shard \$SLURM_ARRAY_TASK_ID/\$N --resume --out "$T/out/part-\$SLURM_ARRAY_TASK_ID.jsonl"
EOF
chmod +x "$T/job.sh"

wait_job () {
  local id=$1
  for _ in $(seq 1200); do
    [ -z "$(squeue -h -j "$id" 2> /dev/null)" ] && return 0
    sleep 0.5
  done
  return 1
}

start=$(date +%s)
job=$(sbatch --parsable --array=1-4 "$T/job.sh" 4) || { fail "sbatch refused the job"; checks_done; }
wait_job "$job" || fail "array job $job still queued or running after 10 min"
parts=$(ls "$T/out"/part-*.jsonl 2> /dev/null | wc -l)
[ "$parts" -eq 4 ] \
  && ok "sbatch --array=1-4: 4 parts in $(($(date +%s) - start)) s" \
  || { fail "sbatch --array=1-4 wrote $parts parts: $(cat "$T/out"/slurm-*.log 2> /dev/null | tail -5)"; checks_done; }

# the single-machine run
"$MM" batch --files-from "$T/list.txt" --model "$M" --out "$T/single.jsonl" 2> "$T/single.err" \
  || { fail "single-machine batch: $(cat "$T/single.err")"; checks_done; }

# a task whose part was lost: find the missing shards, rerun only those
cp "$T/out/part-3.jsonl" "$T/part-3.before"
rm "$T/out/part-3.jsonl"
missing=()
for i in 1 2 3 4; do [ -f "$T/out/part-$i.jsonl" ] || missing+=("$i"); done
job2=$(sbatch --parsable --array="$(IFS=,; echo "${missing[*]}")" "$T/job.sh" 4)
wait_job "$job2" || fail "rerun of shard ${missing[*]} did not finish"
cmp -s "$T/part-3.before" "$T/out/part-3.jsonl" \
  && ok "rerunning only the missing shard (--array=${missing[*]}) gives the same part" \
  || fail "the rerun shard 3 differs from the first run's"

"$MM" batch --merge --files-from "$T/list.txt" --out "$T/merged.jsonl" "$T/out"/part-*.jsonl \
  2> "$T/merge.err" || fail "merge: $(cat "$T/merge.err")"
if cmp -s "$T/merged.jsonl" "$T/single.jsonl"; then
  ok "merged parts equal the single-machine run line for line ($(wc -l < "$T/single.jsonl") lines, $n files)"
else
  fail "merged parts differ from the single-machine run: $(diff "$T/merged.jsonl" "$T/single.jsonl" | head -3)"
fi
files_seen=$(python3 -c 'import json,sys; print(len({json.loads(l)["file"] for l in open(sys.argv[1])}))' "$T/merged.jsonl")
[ "$files_seen" -eq "$n" ] && ok "every file has its lines in the merged output ($n)" \
  || fail "merged output names $files_seen files of $n"

# a merge with a part missing fails and writes nothing
"$MM" batch --merge --files-from "$T/list.txt" --out "$T/bad.jsonl" "$T/out"/part-[124].jsonl \
  2> "$T/merge.err"
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/bad.jsonl" ] && grep -q "in no part" "$T/merge.err" \
  && ok "merge without part 3: exit 1, nothing written: $(cat "$T/merge.err")" \
  || fail "merge without part 3: rc $rc $(cat "$T/merge.err")"

checks_done
