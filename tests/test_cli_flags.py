"""One flag style across every CLI: each parser is `m3w_builder.options.ArgumentParser`, so
`--a_b` and `--a-b` are the same flag everywhere; every CLI has a console script."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

from m3w_builder.options import SPELLING_NOTE, ArgumentParser

ROOT = Path(__file__).resolve().parents[1]
# (module, function taking argv) of every command line
CLIS = [("pipelines.m3w", "run"), ("pipelines.pairs", "run"), ("pipelines.report", "main"), ("model.train", "main"),
        ("model.eval", "main"), ("model.generate", "main"), ("m3w_builder.extract.__main__", "main"),
        ("m3w_builder.export_hf", "main"), ("m3w_builder.output.mmc4", "main"), ("m3w_builder.show", "main"),
        ("m3w_builder.read.commoncrawl", "main"), ("m3w_builder.demo.crawl", "main"),
        ("m3w_builder.demo.pairs", "main")]
# (module, function, the flag in the spelling the CLI does not use, its declared spelling): a bad
# value makes argparse name the flag it matched
RESPELLED = [("pipelines.m3w", "run", "--samples-per-shard", "--samples_per_shard"),
             ("pipelines.pairs", "run", "--samples-per-shard", "--samples_per_shard"),
             ("pipelines.report", "main", "--max-windows", "--max_windows"),
             ("model.train", "main", "--batch_size", "--batch-size"),
             ("model.eval", "main", "--batch_size", "--batch-size"),
             ("model.generate", "main", "--max_new_tokens", "--max-new-tokens"),
             ("m3w_builder.export_hf", "main", "--rows-per-file", "--rows_per_file"),
             ("m3w_builder.output.mmc4", "main", "--min-shards", "--min_shards")]


def _call(module: str, function: str, argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exit_info:
        getattr(importlib.import_module(module), function)(argv)
    return exit_info.value.code


@pytest.mark.parametrize("module,function", CLIS)
def test_every_cli_parser_takes_both_spellings(module, function, capsys):
    assert _call(module, function, ["--help"]) == 0
    assert SPELLING_NOTE.strip() in capsys.readouterr().out


@pytest.mark.parametrize("module,function,other,declared", RESPELLED)
def test_the_other_spelling_reaches_the_declared_flag(module, function, other, declared, capsys):
    assert _call(module, function, [other, "not-a-number"]) == 2
    assert f"argument {declared}: invalid int value: 'not-a-number'" in capsys.readouterr().err


def test_respelling_rules():
    parser = ArgumentParser(prog="x")
    parser.add_argument("--max-tokens", type=int)
    parser.add_argument("--batch_size", type=int)
    args, rest = parser.parse_known_args(["--max_tokens=3", "--batch-size", "4", "--runner=Direct", "--no-such", "--",
                                          "--batch-size"])
    assert (args.max_tokens, args.batch_size) == (3, 4)
    assert rest == ["--runner=Direct", "--no-such", "--", "--batch-size"]  # unknown flags and after `--` untouched
    assert parser.parse_args(["--max_tok", "5"]).max_tokens == 5  # abbreviations in either spelling
    assert parser.parse_args(["--batch_size", "6"]).batch_size == 6


def test_console_scripts_cover_the_jobs_exporters_and_model():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert {"m3w-build", "m3w-pairs", "m3w-report", "m3w-extract", "m3w-mmc4", "m3w-export-hf", "m3w-show",
            "m3w-train", "m3w-eval", "m3w-generate"} <= set(scripts)
    for target in scripts.values():
        module, function = target.split(":")
        assert callable(getattr(importlib.import_module(module), function)), target
