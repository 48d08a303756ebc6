"""The build step pyproject.toml cannot say: copy the top-level files `serve` and `eval` need
(scraper/resources.py SHIPPED) into the built package as scraper/_data/. Everything else is in
pyproject.toml."""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = runpy.run_path(str(ROOT / "scraper" / "resources.py"))["SHIPPED"]


class BuildPyWithData(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the top-level files themselves
        data = Path(self.build_lib) / "scraper" / "_data"
        for source, target in SHIPPED.items():
            src, dst = ROOT / source, data / target
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(src, dst)


setup(cmdclass={"build_py": BuildPyWithData})
