"""The README and CI entry point say what the project really does."""

import re

from scraper.cli import build_parser
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands():
    first_block = re.search(r"```sh\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["make demo", "make test"]
    assert README.index("make demo") < README.index("## ")


def test_ci_runs_the_readme_test_command_and_nothing_else():
    lines = [l for l in (ROOT / ".ci" / "run").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert lines[-1] == "make test"
    assert all(l.startswith(("set ", "cd ")) for l in lines[:-1])


def test_every_cli_command_is_documented_and_every_documented_one_exists():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    real = set(sub.choices)
    documented = set(re.findall(r"^\| `fdatrack ([a-z-]+)", README, re.M))
    assert real == documented


def test_makefile_targets_named_in_the_readme_exist():
    makefile = (ROOT / "Makefile").read_text()
    for target in set(re.findall(r"`make (\w+)`", README)) | {"demo", "test"}:
        assert re.search(rf"^{target}:", makefile, re.M), target


def _anchors(text):
    """GitHub's heading anchors of a markdown text."""
    return {
        re.sub(r"[^\w\- ]", "", m.strip().lower()).replace(" ", "-") for m in re.findall(r"^#{1,6} (.*)$", text, re.M)
    }


def test_every_link_between_the_readme_and_docs_resolves():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    assert len(pages) > 5
    for page in pages:
        text = page.read_text()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            assert linked.exists(), f"{page.name}: {target}"
            if anchor and linked.suffix == ".md":
                assert anchor in _anchors(linked.read_text()), f"{page.name}: {target}"
