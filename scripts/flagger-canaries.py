#!/usr/bin/env python3
"""How many Flagger Canary documents from Flagger's own repository load in GateStream.

Usage: scripts/flagger-canaries.py <path to a fluxcd/flagger checkout or bare clone> <gatestream binary>

Extracts every `kind: Canary` document (apiVersion flagger.app) with a spec from docs/**/*.md (```yaml blocks),
test/**/*.sh (heredocs ending in EOF) and docs|test YAML files at the repository's HEAD, runs
`gatestream validate` on each, alone, and sorts the refusals: 'incomplete' (a snippet without metadata, targetRef or
analysis), 'templateRef' (only errors about MetricTemplates, which this script does not load beside the Canary:
scripts/flagger-templateref-canaries.py does), 'other'.
"""
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def documents(repo):
    names = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", "HEAD"], capture_output=True, text=True, check=True).stdout.split()
    for name in names:
        if not re.match(r"^(docs|test)/", name) or not re.search(r"\.(md|sh|ya?ml)$", name):
            continue
        text = subprocess.run(["git", "-C", repo, "show", "HEAD:" + name], capture_output=True, text=True, check=True).stdout
        if name.endswith(".md"):
            blocks = re.findall(r"```ya?ml\n(.*?)```", text, re.S)
        elif name.endswith(".sh"):
            blocks = re.findall(r"<<\s*'?EOF'?[^\n]*\n(.*?)\nEOF", text, re.S)
        else:
            blocks = [text]
        for block in blocks:
            for doc in re.split(r"^---\s*$", block, flags=re.M):
                if re.search(r"^kind:\s*Canary\s*$", doc, re.M) and "flagger.app" in doc and re.search(r"^spec:", doc, re.M):
                    yield name, doc.strip() + "\n"


def main():
    repo, binary = sys.argv[1], sys.argv[2]
    counts = {"loaded": 0, "incomplete": 0, "templateRef": 0, "other": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for i, (name, doc) in enumerate(documents(repo)):
            path = Path(tmp) / f"{i:03d}-{name.replace('/', '_')}.yaml"
            path.write_text(doc)
            run = subprocess.run([binary, "validate", str(path)], capture_output=True, text=True)
            errors = [line for line in (run.stdout + run.stderr).splitlines() if ": error:" in line]
            if run.returncode == 0:
                kind = "loaded"
            elif any("is required" in e for e in errors):
                kind = "incomplete"
            elif all("MetricTemplate" in e for e in errors):
                kind = "templateRef"
            else:
                kind = "other"
            counts[kind] += 1
            if kind == "other":
                print(f"other: {name}: {errors[0] if errors else run.stdout.strip()}")
    total = sum(counts.values())
    print(f"{total} Canary documents; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"complete (not 'incomplete'): {total - counts['incomplete']}, of which loaded {counts['loaded']}")


if __name__ == "__main__":
    main()
