"""The command line, run as a user would: a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters
from PIL import Image

from imagegen_mcp.errors import ConfigError
from imagegen_mcp.server.settings import load_settings


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "imagegen_mcp", *args],
        capture_output=True,
        stdin=subprocess.DEVNULL,  # serve over stdio ends at once if it ever starts
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAGEGEN_", "EVOLINK_"))}
    env["IMAGEGEN_HOME"] = str(tmp_path / "home")
    return env


def test_generate_with_sandbox_saves_real_files_and_prints_paths(tmp_path: Path) -> None:
    proc = run(
        "generate", "a paper boat", "-n", "2", "--size", "2:3", "--sandbox", env=clean_env(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    paths = [Path(line) for line in proc.stdout.splitlines()]
    assert len(paths) == 2
    for path in paths:
        assert path.is_relative_to(tmp_path / "home")
        with Image.open(path) as img:
            assert img.size == (1024, 1536)
    assert "completed" in proc.stderr


def test_generate_takes_any_catalog_model_with_its_resolution_and_options(tmp_path: Path) -> None:
    proc = run(
        "generate",
        "two kites",
        "--model",
        "doubao-seedream-4.0",
        "--size",
        "16:9",
        "--resolution",
        "1K",
        "-n",
        "2",
        "--option",
        "prompt_priority=fast",
        "--sandbox",
        env=clean_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    paths = [Path(line) for line in proc.stdout.splitlines()]
    assert len(paths) == 2
    for path in paths:
        with Image.open(path) as img:
            assert img.size == (1280, 720)  # Seedream's documented 16:9 at 1K


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--model", "z-image-turbo", "--resolution", "2K"), ["no resolution tiers"]),
        (("--model", "krea-2-turbo", "--option", "seed"), ["KEY=VALUE"]),
        (("--model", "krea-2-turbo", "--option", "style=x"), ["seed, nsfw_check"]),
        (("--model", "nano-banana"), ["Unknown model", "nano-banana-beta"]),
        (
            ("--model", "z-image-turbo", "--ref", "https://example.com/a.png"),
            ["text-to-image only", "`imagegen-mcp models --capability edit`"],
        ),
    ],
)
def test_a_choice_the_model_does_not_take_is_one_line_before_anything_runs(
    tmp_path: Path, args: tuple[str, ...], words: list[str]
) -> None:
    proc = run("generate", "x", *args, "--sandbox", env=clean_env(tmp_path))
    assert_one_line_failure(proc, *words)


def test_an_unknown_default_model_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEGEN_DEFAULT_MODEL", "gpt-5-image")
    with pytest.raises(ConfigError, match="IMAGEGEN_DEFAULT_MODEL"):
        load_settings()


def test_missing_key_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    proc = run("generate", "x", env=clean_env(tmp_path))
    assert proc.returncode == 2
    assert "EVOLINK_API_KEY" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""


def test_serve_without_a_key_names_the_sandbox_flag_serve_has(tmp_path: Path) -> None:
    proc = run("serve", env=clean_env(tmp_path))
    assert_one_line_failure(proc, "EVOLINK_API_KEY", "imagegen-mcp serve --sandbox")


def test_ui_without_a_key_names_the_sandbox_flag_for_ui_too(tmp_path: Path) -> None:
    proc = run("ui", "--no-browser", env=clean_env(tmp_path))
    assert_one_line_failure(proc, "EVOLINK_API_KEY", "or ui, generate, edit ... --sandbox")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_serve_with_sandbox_over_stdio_needs_no_key_and_saves_under_the_sandbox_home(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)
    assert "EVOLINK_API_KEY" not in env
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "imagegen_mcp", "serve", "--sandbox"], env=env
    )
    with anyio.fail_after(60):
        async with Client(params) as client:
            result = await client.call_tool("generate_image", {"prompt": "no key at all"})
    assert not result.is_error, result.content
    data = result.structured_content
    assert data is not None and data["status"] == "completed"
    paths = [Path(img["path"]) for img in data["images"]]
    assert len(paths) == 1
    assert paths[0].is_file()
    assert paths[0].is_relative_to(tmp_path / "home" / "sandbox" / "images")


def test_where_prints_each_folder_on_a_labelled_line_without_a_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **clean_env(tmp_path),
        "IMAGEGEN_ALLOWED_DIRS": os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]),
    }
    proc = run("where", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"state folder:    {home}",
        f"state database:  {home / 'state.db'}",
        f"output folder:   {home / 'images'}",
        f"allowed folder:  {tmp_path / 'a'}",
        f"allowed folder:  {tmp_path / 'b'}",
    ]


def test_where_with_sandbox_prints_the_sandbox_s_own_folders(tmp_path: Path) -> None:
    sandbox_home = tmp_path / "home" / "sandbox"
    proc = run("where", "--sandbox", env=clean_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    # Without IMAGEGEN_ALLOWED_DIRS, inputs may come from the user's home and the output folder.
    assert proc.stdout.splitlines() == [
        f"state folder:    {sandbox_home}",
        f"state database:  {sandbox_home / 'state.db'}",
        f"output folder:   {sandbox_home / 'images'}",
        f"allowed folder:  {Path.home().resolve()}",
        f"allowed folder:  {sandbox_home / 'images'}",
    ]
    assert not (tmp_path / "home").exists()


@pytest.mark.parametrize("verb", ["serve", "sandbox", "generate", "edit", "where", "models"])
def test_every_verb_has_help(verb: str) -> None:
    proc = run(verb, "--help")
    assert proc.returncode == 0
    assert "usage:" in proc.stdout


def test_settings_read_paths_absolute_and_split_allowed_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMAGEGEN_HOME", "rel-home")
    monkeypatch.setenv("IMAGEGEN_ALLOWED_DIRS", os.pathsep.join([str(tmp_path / "a"), "~/b"]))
    settings = load_settings()
    assert settings.home == tmp_path / "rel-home"
    assert settings.images_dir == tmp_path / "rel-home" / "images"
    assert settings.input_dirs == (tmp_path / "a", Path("~/b").expanduser().resolve())


def test_invalid_setting_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEGEN_WAIT_SECONDS", "500")
    with pytest.raises(ConfigError, match="IMAGEGEN_WAIT_SECONDS"):
        load_settings()


def serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**clean_env(tmp_path), "EVOLINK_API_KEY": "x", **extra}


def assert_one_line_failure(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("imagegen-mcp: ")
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_a_damaged_state_database_stops_serve_with_one_line_and_the_fix(
    tmp_path: Path, transport: str
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "state.db").write_bytes(b"not a database, just bytes " * 200)
    proc = run("serve", "--transport", transport, "--port", "0", env=serve_env(tmp_path))
    assert_one_line_failure(proc, str(home / "state.db"), "damaged", "IMAGEGEN_HOME")


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_an_unusable_output_folder_stops_serve_with_one_line_naming_the_setting(
    tmp_path: Path, transport: str
) -> None:
    # A regular file where a folder should be: refused even to root, which ignores chmod.
    (tmp_path / "a-file").write_text("x")
    env = serve_env(tmp_path, IMAGEGEN_OUTPUT_DIR=str(tmp_path / "a-file" / "images"))
    proc = run("serve", "--transport", transport, "--port", "0", env=env)
    assert_one_line_failure(proc, str(tmp_path / "a-file" / "images"), "IMAGEGEN_OUTPUT_DIR")
