"""Bad settings never look like success or like a retryable failure (exit 2, one line, no traceback);
Ctrl-C and SIGTERM stop a run cleanly and a rerun resumes it to the same output."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.cli import main
from curate.lock import RunLock
from curate.recipes import load_recipe

# every fineweb block but extract and language: a few seconds per run, still the real blocks
ONLY_EXTRACT_LANGUAGE = ",".join(n for n in load_recipe("fineweb").block_names if n not in ("extract", "language"))


def one_error_line(capsys: pytest.CaptureFixture[str], code: int, expected: int = 2) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == expected, err
    assert "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("curate: error: "), err
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory, warc_dir: Path, gpt2_tokenizer: Path) -> dict[str, Path]:
    """Real inputs (a WARC, a tokenizer) and the bad files the cases need, written once."""
    d = tmp_path_factory.mktemp("bad")
    out = {"warc": warc_dir / "cc-single-record.warc.gz", "tokenizer": gpt2_tokenizer}
    (d / "syntax.yaml").write_text("blocks:\n  - extract: {extractor: [resiliparse\n")
    (d / "type.yaml").write_text("blocks:\n  - extract\n  - language: {threshold: high}\n")
    (d / "notes.txt").write_text("these are not WARC records\n")
    (d / "page.warc.gz").write_bytes(__import__("gzip").compress(b"<html><body>a saved page</body></html>"))
    (d / "output-file").write_text("a file where the output folder should be")
    (d / "vocab.json").write_text('{"hello": 0, "world": 1}')  # a vocabulary, not a tokenizers JSON
    pq.write_table(pa.table({"body": ["no text column"]}), d / "no-text.parquet")
    for name in ("syntax.yaml", "type.yaml", "notes.txt", "page.warc.gz", "output-file", "vocab.json", "no-text.parquet"):
        out[name] = d / name
    out["dir"] = d
    return out


# (case, arguments after `curate`, text the one line must contain); {name} are paths from `files`
RUN_CASES = [
    ("yaml syntax error", ["--recipe", "{syntax.yaml}"], "not valid YAML"),
    ("wrong value type in yaml", ["--recipe", "{type.yaml}"], "threshold must be a number, got 'high'"),
    ("threshold out of range", ["--language-threshold", "1.5"], "within [0, 1], got 1.5 (--language-threshold)"),
    ("threshold not a number", ["--language-threshold", "high"], "argument --language-threshold: must be a number"),
    ("zero workers", ["--workers", "0"], "argument --workers: must be >= 1, got 0"),
    ("zero pack length", ["--pack", "0"], "argument --pack: must be >= 1, got 0"),
    ("negative timeout", ["--extract-timeout", "-1"], "argument --extract-timeout: must be a number of seconds > 0"),
    ("upper-case language code", ["--languages", "EN"], "'EN' is not a language code of the model lid.176.ftz; did you mean 'en'?"),
    ("language name", ["--languages", "english"], "did you mean 'en'?"),
    ("unknown language code", ["--languages", "en", "xx"], "'xx' is not a language code"),
    ("language model not fastText", ["--language-model", "{vocab.json}"], "is not a fastText model"),
    ("tokenizer not tokenizer json", ["--tokenizer", "{vocab.json}"], "not a tokenizers JSON file"),
    ("tokenizer file missing", ["--tokenizer", "{dir}/nope/tokenizer.json"], "no such file"),
    ("unknown skip", ["--skip", "extrac"], "--skip extrac: not in recipe"),
]  # fmt: skip


def _fill(args: list[str], files: dict[str, Path]) -> list[str]:
    out = []
    for a in args:
        for name, path in files.items():
            a = a.replace("{" + name + "}", str(path))
        out.append(a)
    return out


@pytest.mark.parametrize(("case", "args", "message"), RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_bad_run_setting_exits_2_with_one_line(
    case: str, args: list[str], message: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    skip = ONLY_EXTRACT_LANGUAGE
    if "--tokenizer" in args:  # keep the block the option configures
        skip = ",".join(n for n in skip.split(",") if n != "tokenize")
    argv = ["run", str(files["warc"]), "-o", str(out), "--no-progress", "--skip", skip]
    argv += ["--tokenizer", str(files["tokenizer"])]  # the case's own --tokenizer or --skip comes later and wins
    line = one_error_line(capsys, main(argv + _fill(args, files)))
    assert message in line
    assert not (out / "data").exists()  # nothing ran


@pytest.mark.parametrize(
    ("case", "inputs", "output", "message"),
    [
        ("text file as a shard", ["{notes.txt}"], None, "is not a WARC/WET/WAT file (gzip or plain) nor Parquet"),
        ("gzip that is no WARC", ["{page.warc.gz}"], None, "it starts with (gunzipped) b'<html><body>a sa'"),
        ("parquet named as warc", ["{warc}", "{no-text.parquet}"], None, None),
        ("output path is a file", ["{warc}"], "{output-file}", "is a file, not a folder"),
        ("s3 without s3fs", ["s3://commoncrawl/crawl-data/x.warc.gz"], None, 'pip install "curate[s3]"'),
        ("s3 output without s3fs", ["{warc}"], "s3://my-bucket/out", 'pip install "curate[s3]"'),
    ],
)
def test_bad_input_or_output_exits_2_with_one_line(
    case: str,
    inputs: list[str],
    output: str | None,
    message: str | None,
    files: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if case.startswith("s3") and _installed("s3fs"):
        pytest.skip("s3fs is installed here: the missing-extra case cannot happen")
    if case == "parquet named as warc":  # a Parquet file renamed *.warc.gz would reach the WARC reader
        renamed = tmp_path / "table.warc.gz"
        shutil.copy(files["no-text.parquet"], renamed)
        inputs, message = [str(files["warc"]), str(renamed)], "is a Parquet file: name it *.parquet"
    out = _fill([output], files)[0] if output else str(tmp_path / "out")
    argv = ["run", *_fill(inputs, files), "-o", out, "--no-progress", "--skip", ONLY_EXTRACT_LANGUAGE]
    line = one_error_line(capsys, main([*argv, "--tokenizer", str(files["tokenizer"])]))
    assert message in line
    assert not (tmp_path / "out" / "data").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "2"], "score_threshold must be within [0, 1], got 2.0 (--threshold)"),
        (["--entities", "EMAIL"], "unknown PII entity EMAIL"),
        (["--replacement", "redact"], "unknown PII replacement 'redact'"),
        (["--replacement", "hash"], "needs a key"),
        (["--workers", "0"], "argument --workers: must be >= 1, got 0"),
        (["--batch-size", "0"], "argument --batch-size: must be >= 1"),
        (["--pii-ner-model", "xx_no_such_model_sm"], "is not installed"),
        (["--ner-entities", "CAT"], "are not NER entities"),
        (["--text-column", "text"], "has no column 'text' (--text-column); columns: body"),
    ],
)
def test_bad_pii_option_exits_2_with_one_line(
    args: list[str], message: str, files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("CURATE_PII_HASH_KEY", raising=False)
    line = one_error_line(capsys, main(["pii", str(files["no-text.parquet"]), "-o", str(tmp_path / "o"), *args]))
    assert message in line
    assert not (tmp_path / "o").exists()


def test_pii_refuses_a_non_parquet_input(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(capsys, main(["pii", str(files["notes.txt"]), "-o", str(tmp_path / "o")]))
    assert "is not a Parquet file" in line


def test_estimate_shares_the_checks(files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    line = one_error_line(capsys, main(["estimate", str(files["notes.txt"]), "--tokenizer", str(files["tokenizer"])]))
    assert "nor Parquet" in line
    line = one_error_line(capsys, main(["estimate", str(files["warc"]), "--sample", "0"]))
    assert "argument --sample: must be >= 1" in line


def test_cli_subprocess_prints_one_line_and_no_traceback(files: dict[str, Path], tmp_path: Path) -> None:
    """The real entry point, as a scheduler runs it (also checks logging and argparse paths)."""
    proc = subprocess.run(
        [sys.executable, "-m", "curate.cli", "run", str(files["warc"]), "-o", str(tmp_path / "o"),
         "--languages", "EN", "--tokenizer", str(files["tokenizer"])],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "curate: error: block 'language': languages: 'EN' is not a language code of the model lid.176.ftz; "
        "did you mean 'en'? (--languages)"
    ]


def test_python_api_gets_the_same_checks() -> None:
    from curate.checks import ConfigValueError
    from curate.filters.c4_quality import C4QualityConfig
    from curate.filters.gopher_quality import GopherQualityConfig
    from curate.filters.gopher_repetition import GopherRepetitionConfig
    from curate.filters.language import LanguageConfig, UnknownLanguage
    from curate.filters.pii import PIIConfig
    from curate.filters.tokenize import TokenizeConfig

    with pytest.raises(UnknownLanguage, match="did you mean 'de'"):
        LanguageConfig(languages=("German",))
    with pytest.raises(ConfigValueError, match=r"threshold must be within \[0, 1\]"):
        LanguageConfig(threshold=-0.1)
    with pytest.raises(ConfigValueError, match="min_doc_words must be an integer or null, got '50'"):
        GopherQualityConfig(min_doc_words="50")  # type: ignore[arg-type]
    with pytest.raises(ConfigValueError, match="dup_line_frac must be within"):
        GopherRepetitionConfig(dup_line_frac=3.0)
    with pytest.raises(ConfigValueError, match="must be true or false"):
        C4QualityConfig(filter_policy="yes")  # type: ignore[arg-type]
    with pytest.raises(ConfigValueError, match="batch_size must be >= 1"):
        TokenizeConfig(batch_size=0)
    with pytest.raises(ConfigValueError, match="audit_samples must be >= 0"):
        PIIConfig(audit_samples=-1)
    with pytest.raises(ConfigValueError, match="us are not phone regions"):
        PIIConfig(phone_regions=("us",))
    # what the real model labels: every code the defaults and FineWeb-2 style lists use is accepted
    assert LanguageConfig(languages=("en", "de", "zh", "ja", "fr")).languages == ("en", "de", "zh", "ja", "fr")


def test_language_labels_are_read_from_the_real_model() -> None:
    from curate.filters.language import default_model_path
    from curate.filters.language_labels import model_labels

    labels = model_labels(default_model_path())
    assert len(labels) == 176  # lid.176
    assert {"en", "de", "zh", "ja", "ru", "ceb", "war"} <= labels and "EN" not in labels


def test_stage_failed_and_credentials_map_to_their_exit_codes() -> None:
    """StageFailed: retryable (1, "rerun ... resume"). Credentials: 2 naming them. The credential cases
    cannot run offline without s3fs, so the mapping is tested with botocore's real exception classes."""
    from curate.commands.errors import explain
    from curate.dedup.step import StageFailed

    code, line = explain(StageFailed("minhash_dedup: 1 task(s) of stage 'bands' failed; rerun to resume.\nTraceback"))
    assert code == 1 and "\n" not in line and "rerun" in line
    botocore = pytest.importorskip("botocore.exceptions")
    code, line = explain(botocore.NoCredentialsError())
    assert code == 2 and "AWS_ACCESS_KEY_ID" in line and "Unable to locate credentials" in line
    refused = botocore.ClientError({"Error": {"Code": "InvalidAccessKeyId", "Message": "no such key"}}, "ListObjectsV2")
    wrapped = PermissionError("The AWS Access Key Id you provided does not exist in our records.")
    wrapped.__cause__ = refused  # what s3fs raises: a PermissionError caused by botocore's ClientError
    code, line = explain(wrapped)
    assert code == 2 and "InvalidAccessKeyId" in line and "AWS_SECRET_ACCESS_KEY" in line
    assert explain(RuntimeError("a bug")) is None  # unmapped errors keep their traceback


def test_a_block_that_drops_everything_is_named(warc_dir: Path, tmp_path: Path, gpt2_tokenizer: Path) -> None:
    """Exit 0 but a warning: Japanese only over an English crawl keeps nothing."""
    proc = subprocess.run(
        [sys.executable, "-m", "curate.cli", "run", str(warc_dir / "wget-2024-sample-0000.warc.gz"), "-o",
         str(tmp_path / "o"), "--recipe", "fast", "--languages", "ja", "--no-progress", "--skip",
         ",".join(n for n in load_recipe("fast").block_names if n not in ("extract", "language"))],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    lang = next(b for b in stats["blocks"] if b["name"] == "language")
    assert lang["docs_in"] >= 20 and lang["docs_out"] == 0
    assert proc.stderr.strip().splitlines() == [
        f"curate: warning: block 'language' dropped all {lang['docs_in']} documents it received "
        "(top reason: language_mismatch)"
    ]


# --- interruption -----------------------------------------------------------------------------


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module")
def shards(tmp_path_factory: pytest.TempPathFactory, warc_dir: Path) -> Path:
    """Five real shards (copies of two real wget crawls under distinct names), ~1 s each."""
    folder = tmp_path_factory.mktemp("shards")
    for i in range(5):
        shutil.copy(warc_dir / f"wget-2024-sample-000{i % 2}.warc.gz", folder / f"part-{i}.warc.gz")
    return folder


def _run_args(shards: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "curate.cli", "run", str(shards / "*.warc.gz"), "-o", str(out), "--workers", "1",
            "--no-progress", "--skip", ONLY_EXTRACT_LANGUAGE]  # fmt: skip


def _outputs(out: Path) -> dict[str, list[tuple[str, str]]]:
    return {
        p.name: sorted(zip(*pq.read_table(p, columns=["id", "text"]).to_pydict().values(), strict=True))
        for p in sorted((out / "data").glob("*.parquet"))
    }


@pytest.fixture(scope="module")
def undisturbed(shards: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str]]]:
    out = tmp_path_factory.mktemp("undisturbed") / "out"
    proc = subprocess.run(_run_args(shards, out), capture_output=True, text=True, timeout=300, env=_env())
    assert proc.returncode == 0, proc.stderr
    return _outputs(out)


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1"}


@pytest.mark.parametrize(("signum", "whole_group"), [(signal.SIGINT, True), (signal.SIGTERM, False)], ids=["ctrl-c", "sigterm"])
def test_interrupted_run_stops_cleanly_and_a_rerun_completes_it(
    signum: int, whole_group: bool, shards: Path, tmp_path: Path, undisturbed: dict[str, list[tuple[str, str]]]
) -> None:
    """Ctrl-C reaches every process of the terminal's group (workers too); a scheduler's SIGTERM the driver."""
    out = tmp_path / "out"
    proc = subprocess.Popen(
        _run_args(shards, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while not list((out / "_done").glob("*.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before its first shard committed; the test needs more shards"
    if whole_group:
        os.killpg(proc.pid, signum)
    else:
        proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    committed = len(list((out / "_done").glob("*.json")))
    assert lines[0] == f"curate: interrupted; rerun the same command to resume ({committed} shard(s) committed)"
    assert 1 <= committed < len(undisturbed)
    _no_process_left(proc.pid)
    lock = RunLock(str(out))  # free: a new run can take the folder (not exit 3)
    lock.acquire()
    lock.release()
    rerun = subprocess.run(_run_args(shards, out), capture_output=True, text=True, timeout=300, env=_env())
    assert rerun.returncode == 0, rerun.stderr
    assert _outputs(out) == undisturbed


def _no_process_left(pgid: int) -> None:
    """Every process of the run's group (driver and workers) is gone within a few seconds."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError(f"processes of the interrupted run are still alive (group {pgid})")


def test_unreachable_host_is_retryable_not_a_bad_setting(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``.invalid`` never resolves (RFC 2606), online or not: a network failure exits 1 (rerun), one line."""
    if not (_installed("aiohttp") and _installed("requests")):
        pytest.skip("https:// inputs need the http extra (aiohttp, requests)")
    argv = ["run", "https://curate-test.invalid/x.warc.gz", "-o", str(tmp_path / "o"), "--tokenizer", str(files["tokenizer"])]
    line = one_error_line(capsys, main(argv), expected=1)
    assert line.startswith("curate: error: network error: ") and "rerun the same command to retry" in line


def test_missing_protocol_package_names_what_to_install(files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """fsspec's own ImportError for a protocol without its package (gcsfs here): exit 2, what to install."""
    if _installed("gcsfs"):
        pytest.skip("gcsfs is installed here")
    argv = ["run", "gs://bucket/x.warc.gz", "-o", str(tmp_path / "o"), "--tokenizer", str(files["tokenizer"])]
    line = one_error_line(capsys, main(argv))
    assert line.endswith("pip install gcsfs")
