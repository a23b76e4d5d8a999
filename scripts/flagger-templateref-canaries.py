#!/usr/bin/env python3
"""Loads every Flagger Canary that uses templateRef, as written in Flagger's own docs and e2e test scripts, with
`gatestream validate`, each beside the MetricTemplates its source defines (the same file; for a test script without
any, the other scripts of its directory, where the shared helpers create them). Prints one line per Canary and a count.

Usage: scripts/flagger-templateref-canaries.py FLAGGER_GIT_DIR [GATESTREAM_CLI]
  FLAGGER_GIT_DIR: a clone (or bare mirror) of github.com/fluxcd/flagger; its HEAD is read, nothing is checked out.
  GATESTREAM_CLI: default src/GateStream.Cli/bin/Release/net10.0/gatestream (build it first).
The documents are written to a temporary directory only, never into this repository.
"""
import os
import re
import subprocess
import sys
import tempfile
import textwrap

YAML_FENCE = re.compile(r"```ya?ml\n(.*?)```", re.S)
HEREDOC = re.compile(r"<<\s*'?EOF'?[^\n]*\n(.*?)\nEOF", re.S)


def git(repo, *args):
    return subprocess.run(["git", "--git-dir", repo, *args], check=True, capture_output=True, text=True).stdout


def documents(path, text):
    blocks = YAML_FENCE.findall(text) if path.endswith(".md") else HEREDOC.findall(text)
    for block in blocks:
        for doc in re.split(r"^---\s*$", textwrap.dedent(block), flags=re.M):
            if "kind:" in doc:
                yield doc


def kind(doc, name):
    return re.search(rf"^kind:\s*{name}\s*$", doc, re.M) is not None


def main():
    repo = sys.argv[1]
    if os.path.isdir(os.path.join(repo, ".git")):
        repo = os.path.join(repo, ".git")
    cli = sys.argv[2] if len(sys.argv) > 2 else "src/GateStream.Cli/bin/Release/net10.0/gatestream"
    paths = [p for p in git(repo, "ls-tree", "-r", "--name-only", "HEAD", "docs", "test").splitlines()
             if p.endswith((".md", ".sh"))]
    texts = {p: git(repo, "show", f"HEAD:{p}") for p in paths}
    docs = {p: list(documents(p, t)) for p, t in texts.items()}
    loaded = total = 0
    with tempfile.TemporaryDirectory(prefix="flagger-canaries-") as root:
        for path in sorted(docs):
            canaries = [d for d in docs[path] if kind(d, "Canary") and "templateRef" in d]
            templates = [d for d in docs[path] if kind(d, "MetricTemplate")]
            if not templates and path.endswith(".sh"):
                folder = os.path.dirname(path)
                templates = [d for p in sorted(docs) if os.path.dirname(p) == folder and p != path
                             for d in docs[p] if kind(d, "MetricTemplate")]
                # Several scripts may create the same template; kubectl apply keeps one, so keep the first.
                seen, unique = set(), []
                for d in templates:
                    key = re.search(r"name:\s*(\S+)", d).group(1)
                    if key not in seen:
                        seen.add(key)
                        unique.append(d)
                templates = unique
            for i, canary in enumerate(canaries):
                total += 1
                case = os.path.join(root, f"{total:02d}")
                os.makedirs(case)
                with open(os.path.join(case, "canary.yaml"), "w") as f:
                    f.write(canary)
                with open(os.path.join(case, "templates.yaml"), "w") as f:
                    f.write("\n---\n".join(templates))
                run = subprocess.run([cli, "validate", case], capture_output=True, text=True)
                errors = [l.split("error: ", 1)[1] for l in (run.stdout + run.stderr).splitlines() if ": error: " in l]
                loaded += run.returncode == 0
                status = "loads" if run.returncode == 0 else "refused: " + "; ".join(errors)[:200]
                print(f"{path} #{i + 1}: {status}")
    print(f"{loaded} of {total} templateRef Canaries load")


if __name__ == "__main__":
    main()
