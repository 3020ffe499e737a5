"""setuptools build of the credbroker package (metadata in pyproject.toml). The build generates
the gRPC modules itself (generate.py: the system protoc and /usr/bin/grpc_python_plugin), so
`pip install --no-build-isolation ./clients/python` works from a plain checkout."""

import os
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import generate  # noqa: E402


class BuildPyWithGeneratedCode(build_py):
    def run(self):
        generate.generate()
        # The package-data globs were matched before the generated files existed.
        self.data_files = self._get_data_files()
        super().run()


setup(cmdclass={"build_py": BuildPyWithGeneratedCode})
