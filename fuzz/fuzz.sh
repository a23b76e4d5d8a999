#!/usr/bin/env bash
# Coverage-guided fuzzing of one target with afl++ and SharpFuzz (see README.md beside this file).
# usage: fuzz/fuzz.sh TARGET [SECONDS]    (default 600 s; findings in fuzz/out/TARGET/findings)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
target=${1:?usage: fuzz/fuzz.sh TARGET [SECONDS]}
seconds=${2:-600}

# The assemblies whose branches afl++ sees, per target: the product code and the parser it relies on.
case "$target" in
  PolicyLoader) instrument="GateStream.Policies.dll YamlDotNet.dll" ;;
  OtlpDecoder|KafkaJsonDecoder|NativeBatchReader|FramedSession) instrument="GateStream.Ingest.dll" ;;
  DecisionLogRecovery) instrument="gatestreamd.dll" ;;
  *) echo "unknown target '$target'" >&2; exit 2 ;;
esac

if ! command -v afl-fuzz >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++
fi

out="$here/out/$target"
rm -rf "$out/bin"
mkdir -p "$out"
if ! dotnet publish "$here/GateStream.Fuzz" -c Release -o "$out/bin" -p:TreatWarningsAsErrors=false >"$out/publish.log" 2>&1; then
  cat "$out/publish.log" >&2
  exit 1
fi
(cd "$here" && dotnet tool restore >/dev/null)
for dll in $instrument; do
  (cd "$here" && dotnet sharpfuzz "$out/bin/$dll")
done

# Before afl-fuzz: the corpus must pass on the instrumented build, and must reach instrumented code (afl-fuzz's
# "No instrumentation detected" otherwise, which says nothing about which assembly is missing).
if ! replay=$(dotnet "$out/bin/GateStream.Fuzz.dll" "$target" "$here/corpus/$target"); then
  echo "$replay" >&2; echo "fuzz.sh: corpus/$target fails on the instrumented build (above); fix that first" >&2; exit 1
fi
echo "$replay"
if [ "${replay##*: }" = "0" ]; then
  echo "fuzz.sh: $target ran no code of the instrumented assemblies ($instrument); instrument the one holding its code" >&2; exit 1
fi

# A previous run's queue is resumed with -i -; a fresh one starts from the committed corpus.
input="$here/corpus/$target"
if [ -d "$out/findings/default/queue" ]; then input=-; fi

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
nice -n 10 afl-fuzz -V "$seconds" -i "$input" -o "$out/findings" -t 5000 -m none \
  -- dotnet "$out/bin/GateStream.Fuzz.dll" "$target"

stats="$out/findings/default/fuzzer_stats"
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|saved_crashes|saved_hangs|stability|bitmap_cvg)' "$stats"
