"""``command-help``: a command's ``--help`` text, as the installed package prints it.

```{command-help} minialexnet.train
```

runs ``python -m minialexnet.train --help`` at build time (80 columns) and shows its output, so
the reference of the commands cannot drift from their parsers. A command that fails fails the build.
"""

from __future__ import annotations

import os
import subprocess
import sys

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


class CommandHelp(SphinxDirective):
    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        module = self.arguments[0]
        command = [sys.executable, "-m", module, "--help"]
        environment = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
        result = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300, check=False)
        if result.returncode != 0:
            raise self.error(f"python -m {module} --help exited with {result.returncode}: {result.stderr.strip()[-500:]}")
        text = f"$ python -m {module} --help\n{result.stdout.rstrip()}"
        block = nodes.literal_block(text, text, language="text")
        self.set_source_info(block)
        return [block]


def setup(app: Sphinx) -> dict[str, object]:
    app.add_directive("command-help", CommandHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
