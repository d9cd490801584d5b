"""Mutation testing of the critical modules: ``make mutation`` (mutmut, offline, one module at a time).

For each module below, mutmut changes its code one small way at a time (a flipped comparison, a
constant off by one, a dropped call...) and runs only the module's own tests against each change:
a change that no test notices (a surviving mutant) is a bug those tests would miss. Each module
runs in its own workspace, ``build/mutation/<module>/`` (a copy of ``tweetgen/``, ``tests/`` and
``pyproject.toml`` with a ``[tool.mutmut]`` table for that module alone), so modules never share
results. It prints each module's score and writes ``build/mutation/<module>.md`` with the diff of
every survivor; ``docs/mutation.md`` publishes the scores and explains the survivors.

    python scripts/mutation.py                 # every module (tens of minutes on two cores)
    python scripts/mutation.py notify champion # some of them
    python scripts/mutation.py --list          # the modules and their tests

Not part of ``make test``: it runs the tests hundreds of times.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUILD = REPO / "build" / "mutation"
#: mutmut's statuses: a test failed (or hung, or crashed) on the mutant, or none noticed it.
KILLED = {"killed", "timeout", "segfault", "caught by type check"}
SURVIVED = {"survived", "no tests", "suspicious"}


@dataclass(frozen=True)
class Module:
    """A module under mutation: its file, the functions mutated (mutmut name patterns; all when
    empty) and the test files (or test ids, or pytest's ``--deselect``) that are its tests."""

    source: str
    tests: tuple[str, ...]
    functions: tuple[str, ...] = ()


MODULES: dict[str, Module] = {
    "notify": Module(
        "tweetgen/clients/notify.py",
        # the channels against real servers; of the job-run tests, the two on STARTTLS (the others run whole
        # jobs, whose notifications tests/code/test_notify.py checks channel by channel, in a fraction of the time)
        ("tests/code/test_notify.py",
         "tests/code/test_job_runs.py::test_starttls_with_a_self_signed_certificate_and_a_login",
         "tests/code/test_job_runs.py::test_an_untrusted_certificate_or_no_tls_never_gets_the_password"),
    ),
    "log-scrub": Module(  # the secrets, and every part of a secret URL, that notifications and logs scrub
        "tweetgen/log_scrub.py", ("tests/code/test_notify.py", "tests/reliability/test_log_secrets.py"),
    ),
    "champion": Module(
        "tweetgen/registry/champion.py",
        # the rule is pure: the registry tests about champions and challengers decide it (the broken
        # champions of tests/reliability/test_broken_champion.py come to it as damage sentences)
        ("tests/code/test_registry.py", "-k", "champion or challenger"),
    ),
    "store-upsert": Module(
        "tweetgen/store/local.py",
        ("tests/code/test_store_local.py", "tests/code/test_feature_store_contract.py",
         # the writers in this process (a CLI process would import the mutated code outside mutmut)
         "tests/reliability/test_concurrent_writers.py::test_files_of_a_write_in_flight_survive_another_writer",
         "tests/reliability/test_concurrent_writers.py::test_threads_inserting_the_same_rows_store_them_once"),
        # the upsert: the merge on the primary key, its retries, and the key ranges it merges on
        ("*LocalFeatureStore*_merge*", "*_key_ranges*", "*LocalFeatureStore*insert*"),
    ),
    "x-cursor": Module(
        "tweetgen/sources/x_api.py",
        ("tests/code/test_x_source.py", "tests/code/test_live_pipeline.py",
         # the scripts run in a process of their own, from the repository's root
         "--deselect", "tests/code/test_live_pipeline.py::test_scrape_script_with_no_credentials_runs_the_replay",
         "--deselect", "tests/code/test_live_pipeline.py::test_scrape_script_x_without_a_token_names_the_variable"),
        ("*cursor*", "*Cursor*", "*_Timeline*"),
    ),
    "validation": Module(
        "tweetgen/store/validation.py",
        ("tests/code/test_validation.py", "tests/reliability/test_bad_rows.py",
         "--deselect", "tests/reliability/test_bad_rows.py::test_the_report_says_which_rows_were_rejected_and_which_cleaned"),
    ),
    "query": Module(
        "tweetgen/store/query.py",
        ("tests/code/test_query.py", "tests/reliability/test_query_sandbox.py",
         "--deselect", "tests/reliability/test_query_sandbox.py::test_the_cli_refuses_in_one_sentence_and_writes_nothing",
         "--deselect", "tests/reliability/test_query_sandbox.py::test_the_command_takes_its_bounds_from_the_settings"),
    ),
    "ngram": Module("tweetgen/model/ngram.py", ("tests/model/test_ngram.py",)),
    "request-limits": Module(
        # every rule on the ASGI scope (the same middleware over HTTP, in tests/reliability/test_app_requests.py,
        # starts a Gradio app per mutant: far too slow for a run over every mutant)
        "tweetgen/ui/request_limits.py", ("tests/code/test_request_limits.py",),
    ),
    "api-limits": Module(
        "tweetgen/ui/api.py",
        ("tests/reliability/test_api_requests.py", "tests/code/test_api.py",
         "--deselect", "tests/code/test_api.py::test_the_app_command_serves_page_and_api_and_smoke_passes"),
        # what the API accepts: the request models, the body cap and its time, the refusals' sentences
        ("*_one_line_prompt*", "*_ascii_digits_in_range*", "*_BodyFirst*", "*_validation_sentence*", "*_http_sentence*",
         "*_capped_body*"),
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: all): {', '.join(MODULES)}")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests, then stop")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1: the cores are shared)")
    parser.add_argument("--table", action="store_true", help="print the last scores as a Markdown table, then stop")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table())
        return 0
    if args.list:
        for name, module in MODULES.items():
            print(f"{name:15} {module.source}  <- {' '.join(module.tests)}")
        return 0
    unknown = [name for name in args.modules if name not in MODULES]
    if unknown:
        print(f"No module named {unknown[0]!r}; choose from {', '.join(MODULES)}.", file=sys.stderr)
        return 2
    scores = {}
    for name in args.modules or list(MODULES):
        print(f"== {name}: mutating {MODULES[name].source}", flush=True)
        started = time.monotonic()
        scores[name] = mutate(name, MODULES[name], args.jobs)
        print(f"   {describe(scores[name])} in {time.monotonic() - started:.0f} s", flush=True)
    print("\nmodule          killed  survived  score")
    for name, score in scores.items():
        print(f"{name:15} {score['killed']:6} {score['survived']:9} {score['score']:6.1%}")
    return 0 if all(score["score"] >= 0.9 for score in scores.values()) else 1


def mutate(name: str, module: Module, jobs: int) -> dict:
    """Run mutmut over ``module`` in its own workspace; return its counts and survivors."""
    workspace = BUILD / name
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    for folder in ("tweetgen", "tests"):
        shutil.copytree(REPO / folder, workspace / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (workspace / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text() + mutmut_table(module))
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    mutmut = [sys.executable, "-m", "mutmut"]
    patterns = [f"{dotted(module.source)}.*{pattern}" for pattern in module.functions]
    log = workspace / "mutmut.log"
    with log.open("w") as out:
        subprocess.run([*mutmut, "run", "--max-children", str(jobs), *patterns], cwd=workspace, env=environment,
                       stdout=out, stderr=subprocess.STDOUT, check=False)
    statuses = {key: status for key, status in results(mutmut, workspace, environment).items()
                if not patterns or any(fnmatch.fnmatch(key, pattern) for pattern in patterns)}
    if not statuses:
        raise SystemExit(f"mutmut did not finish on {name}; its output is in {log}.")
    unconfirmed = [key for key in spot_check(statuses) if not fails_in_a_fresh_process(key, module, workspace, environment)]
    if unconfirmed:
        raise SystemExit(f"mutmut counted {unconfirmed[0]} as killed, but its tests pass on it in a fresh process: "
                         f"the scores of {name} cannot be trusted; see {log}.")
    survivors = sorted(key for key, status in statuses.items() if status in SURVIVED)
    killed = sum(status in KILLED for status in statuses.values())
    total = killed + len(survivors)
    score = {"module": module.source, "killed": killed, "survived": len(survivors), "total": total,
             "score": killed / total if total else 0.0, "survivors": survivors}
    report = [f"# {name}: {module.source}", "", describe(score), ""]
    for survivor in survivors:
        shown = subprocess.run([*mutmut, "show", survivor], cwd=workspace, env=environment, capture_output=True, text=True, check=False)
        report += [f"## {survivor}", "", "```diff", shown.stdout.strip(), "```", ""]
    (BUILD / f"{name}.md").write_text("\n".join(report))
    (BUILD / f"{name}.json").write_text(json.dumps(score, indent=2))
    return score


def markdown_table() -> str:
    """The last score of each module (``build/mutation/<module>.json``) as a Markdown table."""
    rows = ["| module | file | mutants | killed | survived | score |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for name in MODULES:
        path = BUILD / f"{name}.json"
        if path.is_file():
            score = json.loads(path.read_text())
            rows.append(f"| {name} | `{score['module']}` | {score['total']} | {score['killed']} | {score['survived']} | "
                        f"{score['score']:.1%} |")
        else:
            rows.append(f"| {name} | `{MODULES[name].source}` | not run | | | |")
    return "\n".join(rows)


def spot_check(statuses: dict[str, str], n: int = 2) -> list[str]:
    """A few of the killed mutants, spread over the module, to run again outside mutmut."""
    killed = sorted(key for key, status in statuses.items() if status == "killed")
    return killed[:: max(1, len(killed) // n)][:n]


def fails_in_a_fresh_process(mutant: str, module: Module, workspace: Path, environment: dict[str, str]) -> bool:
    """Whether the module's tests fail on ``mutant`` run by plain pytest in a new process (mutmut's
    trampoline picks the mutant from ``MUTANT_UNDER_TEST``): a kill that is not an artefact of
    mutmut's forked workers."""
    run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *module.tests],
                         cwd=workspace / "mutants", env={**environment, "MUTANT_UNDER_TEST": mutant},
                         capture_output=True, text=True, check=False)
    return run.returncode == 1


def mutmut_table(module: Module) -> str:
    """The ``[tool.mutmut]`` table: this module's file only, its tests only, quietly."""
    tests = ", ".join(json.dumps(test) for test in module.tests)
    return (
        "\n[tool.mutmut]\n"
        'source_paths = ["tweetgen"]\n'
        f'only_mutate = ["{module.source}"]\n'
        f"pytest_add_cli_args_test_selection = [{tests}]\n"
        'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-x"]\n'
        "use_git_change_detection = false\n"
        # Each mutant's tests run in a process forked from a server that has only collected the
        # tests: Delta Lake's runtime (tokio) panics in a process forked after it started, which
        # would fail every test that writes a table and count every mutant as killed.
        'process_isolation = "forkserver"\n'
    )


def results(mutmut: list[str], workspace: Path, environment: dict[str, str]) -> dict[str, str]:
    """Every mutant mutmut made, by name, with its status (``killed``, ``survived``...)."""
    shown = subprocess.run([*mutmut, "results", "--all", "true"], cwd=workspace, env=environment,
                           capture_output=True, text=True, check=False)
    pairs = (line.strip().rsplit(": ", 1) for line in shown.stdout.splitlines() if ": " in line)
    return {key: status for key, status in pairs}


def dotted(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".")


def describe(score: dict) -> str:
    return f"{score['killed']} of {score['total']} mutants killed ({score['score']:.1%}), {score['survived']} survived"


if __name__ == "__main__":
    sys.exit(main())
