"""The README's command list and exit-code table match the program."""

from __future__ import annotations

import pathlib
import re

from vnsearch import errors
from vnsearch.cli import cli

README = (pathlib.Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.S | re.M)
    assert match, f"README has no '## {title}' section"
    return match.group(1)


def _shell_blocks() -> str:
    lines, inside, lang = [], False, ""
    for line in README.splitlines():
        if line.startswith("```"):
            inside, lang = not inside, line[3:].strip()
        elif inside and lang in ("sh", "bash", ""):
            lines.append(line)
    return "\n".join(lines)


def test_every_command_the_readme_shows_exists_and_every_command_is_shown():
    blocks = _shell_blocks()
    shown = set(re.findall(r"(?:^|&& |\| )vnsearch ([a-z][a-z-]*)", blocks, re.M))
    assert shown, "no `vnsearch COMMAND` in the README's shell blocks"
    assert shown <= set(cli.commands), f"README shows unknown commands: {shown - set(cli.commands)}"
    assert set(cli.commands) <= shown, (
        f"commands the README never shows: {set(cli.commands) - shown}"
    )


def test_the_exit_code_table_is_the_programs_exit_codes():
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", _section("Exit codes"), re.M)
    documented = {int(code) for code, _ in rows}
    defined = {value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert documented == defined
    assert len(rows) == len(documented), "a code listed twice"
